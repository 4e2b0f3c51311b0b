"""Champion/challenger: a candidate version against the served one, on the same images.

Both models score each image set exactly as served (card temperature, thresholds, gate:
``training.external.served_states``). Per set: melanoma sensitivity at the operating point
(share of melanomas rated High) and the not-assessable share, for both, and the paired
difference candidate - champion with a 95 % bootstrap interval that resamples the same
lesions (or patients) for both. The candidate is *worse beyond the intervals* on a figure
when the whole interval of the difference lies on the bad side of zero.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.labels import class_set_of
from classifier.operating_point import MELANOMA_CODES
from classifier.predictor import Predictor
from classifier.risk import HIGH, NOT_ASSESSABLE
from training.data import DataError, Sample, load_dataset, portable_path
from training.evaluation import BOOTSTRAP_ROUNDS
from training.external import load_external, served_states
from training.metrics import bootstrap_intervals, json_safe
from training.served import split_outputs

FIGURES = ("melanoma_sensitivity", "not_assessable")
# Worse is lower for sensitivity, higher for the not-assessable share.
WORSE_IF = {"melanoma_sensitivity": "lower", "not_assessable": "higher"}


@dataclass(frozen=True)
class ImageSet:
    name: str
    samples: list[Sample]
    groups: np.ndarray  # the bootstrap unit: lesion (test), image (external), patient (clinic)


def _figures(states: np.ndarray, melanoma: np.ndarray) -> dict[str, float | None]:
    return {
        "melanoma_sensitivity": float((states[melanoma] == HIGH).mean())
        if melanoma.any()
        else None,
        "not_assessable": float((states == NOT_ASSESSABLE).mean()) if len(states) else None,
    }


def compare_states(
    candidate: np.ndarray,
    champion: np.ndarray,
    melanoma: np.ndarray,
    groups: np.ndarray,
    *,
    rounds: int = BOOTSTRAP_ROUNDS,
) -> dict:
    """Both models' figures, their paired differences with intervals, and what is worse."""

    def paired(rows: np.ndarray) -> dict[str, float | None]:
        mine, theirs = (
            _figures(candidate[rows], melanoma[rows]),
            _figures(champion[rows], melanoma[rows]),
        )
        out: dict[str, float | None] = {}
        for name in FIGURES:
            out[f"candidate_{name}"], out[f"champion_{name}"] = mine[name], theirs[name]
            both = mine[name] is not None and theirs[name] is not None
            out[f"difference_{name}"] = mine[name] - theirs[name] if both else None
        return out

    report: dict = {
        "images": int(len(melanoma)),
        "melanomas": int(melanoma.sum()),
        **paired(np.arange(len(melanoma))),
    }
    intervals = bootstrap_intervals(paired, groups, rounds=rounds) if rounds and len(groups) else {}
    report["intervals_95"] = intervals
    worse = []
    for name in FIGURES:
        interval = intervals.get(f"difference_{name}")
        if interval is None:
            continue
        if (WORSE_IF[name] == "lower" and interval[1] < 0) or (
            WORSE_IF[name] == "higher" and interval[0] > 0
        ):
            worse.append(name)
    report["worse_on"] = worse
    return report


def score_set(
    image_set: ImageSet,
    candidate: Predictor,
    champion: Predictor,
    *,
    cache_dir: Path | None,
    rounds: int,
) -> dict:
    melanoma = np.array([s.label in MELANOMA_CODES for s in image_set.samples], dtype=bool)
    states = []
    for predictor in (candidate, champion):
        outputs = split_outputs(
            predictor,
            image_set.samples,
            views=predictor.card.served_views,
            cache_dir=cache_dir,
            progress=False,
            desc=image_set.name,
        )
        states.append(served_states(outputs, card=predictor.card, gate=predictor.gate)[1])
    return compare_states(states[0], states[1], melanoma, image_set.groups, rounds=rounds)


def held_out_test_set(data_dir: Path, classes: list[str], *, max_images: int | None) -> ImageSet:
    data = load_dataset(data_dir, labels=class_set_of(classes))
    samples = data.in_split("test")[:max_images] if max_images else data.in_split("test")
    if not samples:
        raise DataError(f"{data_dir}: the test split has no images")
    return ImageSet(
        f"test ({portable_path(data_dir)})", samples, np.array([s.group for s in samples])
    )


def external_set(directory: Path, *, max_images: int | None) -> ImageSet:
    external = load_external(directory)
    samples = external.samples[:max_images] if max_images else external.samples
    return ImageSet(f"external ({external.name})", samples, np.array([s.group for s in samples]))


def compare_models(
    candidate: Predictor,
    champion: Predictor,
    sets: list[ImageSet],
    *,
    cache_dir: Path | None = None,
    rounds: int = BOOTSTRAP_ROUNDS,
    log: Callable[[str], None] = print,
) -> dict:
    """The report over every set; ``worse_on`` names each (figure, set) the guard refuses on."""
    report: dict = {
        "candidate": candidate.model_id,
        "champion": champion.model_id,
        "method": (
            "both models as served on the same images; paired bootstrap of candidate - "
            f"champion, {rounds} rounds, percentile 95 %, seed 0"
        ),
        "sets": {},
    }
    worse: list[str] = []
    for image_set in sets:
        if not image_set.samples:
            continue
        log(f"scoring {image_set.name}: {len(image_set.samples)} image(s)")
        result = score_set(image_set, candidate, champion, cache_dir=cache_dir, rounds=rounds)
        report["sets"][image_set.name] = result
        worse += [f"{figure} on {image_set.name}" for figure in result["worse_on"]]
    report["worse_on"] = worse
    return json_safe(report)
