"""Scoring the served model on images from other clinics, as melanoma vs nevus.

An external folder is laid out like ``../shared/data/external-dev``: ``labels.csv`` with
``image_id,dx`` (``dx`` is ``mel`` or ``nv``; other columns are ignored) and
``images/<image_id>.jpg``. It is for evaluation only: the images run through the same
Predictor and backend a worker uses, with the card's temperature, thresholds and gate, and
nothing is fitted on them. Each image is taken to be a different lesion, so the bootstrap
resamples images; on HAM10000 the same figures resample lesions.
"""

from __future__ import annotations

import csv
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier.artifact import read_card, write_card
from classifier.calibration import combine_views
from classifier.gate import FeatureGate
from classifier.model_card import ModelCard
from classifier.operating_point import OperatingPoint, class_scores
from classifier.predictor import Predictor
from classifier.risk import HIGH, INCONCLUSIVE, LOW, MODERATE, NOT_ASSESSABLE, STATES
from training.card import write_markdown
from training.data import DataError, Sample, portable_path
from training.evaluation import BOOTSTRAP_ROUNDS, not_assessable, result_states
from training.metrics import bootstrap_intervals, json_safe, operating_points
from training.served import ServedOutputs

LABELS_FILE = "labels.csv"
IMAGES_DIR = "images"
MELANOMA, NEVUS = "mel", "nv"
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


@dataclass(frozen=True)
class ExternalSet:
    root: Path
    samples: list[Sample]  # label "mel" or "nv"; group = image_id (one lesion per image)

    @property
    def name(self) -> str:
        return self.root.resolve().name

    @property
    def melanoma(self) -> np.ndarray:
        return np.array([s.label == MELANOMA for s in self.samples], dtype=bool)

    @property
    def groups(self) -> np.ndarray:
        return np.array([s.group for s in self.samples])


def load_external(directory: str | Path) -> ExternalSet:
    """Read an external folder; every problem is a DataError naming the file and value."""
    root = Path(directory)
    if not root.is_dir():
        raise DataError(f"external folder not found: {root}")
    labels_path, image_dir = root / LABELS_FILE, root / IMAGES_DIR
    if not labels_path.is_file():
        raise DataError(f"{root}: no {LABELS_FILE} (needs image_id,dx beside an images/ folder)")
    if not image_dir.is_dir():
        raise DataError(f"{root}: {LABELS_FILE} found but no {IMAGES_DIR}/ folder beside it")
    try:
        with open(labels_path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise DataError(f"{labels_path}: cannot read ({exc})") from None
    columns = set(rows[0]) if rows else set()
    if not {"image_id", "dx"} <= columns:
        raise DataError(
            f"{labels_path}: needs the columns image_id and dx "
            f"(found {', '.join(sorted(columns)) or 'none'})"
        )
    samples, unknown, absent, seen = [], Counter(), [], set()
    for line, row in enumerate(rows, start=2):
        image_id = (row.get("image_id") or "").strip()
        dx = (row.get("dx") or "").strip().lower()
        if not image_id or not dx:
            raise DataError(f"{labels_path}, line {line}: empty image_id or dx")
        if image_id in seen:
            raise DataError(f"{labels_path}, line {line}: image_id {image_id} appears twice")
        seen.add(image_id)
        if dx not in (MELANOMA, NEVUS):
            unknown[dx] += 1
            continue
        candidates = (image_dir / f"{image_id}{suffix}" for suffix in IMAGE_SUFFIXES)
        path = next((candidate for candidate in candidates if candidate.is_file()), None)
        if path is None:
            absent.append(image_id)
            continue
        samples.append(Sample(path, dx, image_id, None, image_id))
    if unknown:
        names = ", ".join(f"{k!r} ({v} rows)" for k, v in sorted(unknown.items()))
        raise DataError(
            f"{labels_path}: unknown dx {names}; an external folder is scored as melanoma vs "
            f"nevus, so dx must be {MELANOMA} or {NEVUS}"
        )
    if absent:
        shown = ", ".join(absent[:5]) + (" …" if len(absent) > 5 else "")
        raise DataError(f"{image_dir}: {len(absent)} image file(s) missing: {shown}")
    counts = Counter(s.label for s in samples)
    if not counts[MELANOMA] or not counts[NEVUS]:
        raise DataError(
            f"{labels_path}: melanoma vs nevus needs both ({counts[MELANOMA]} {MELANOMA}, "
            f"{counts[NEVUS]} {NEVUS})"
        )
    return ExternalSet(root=root, samples=samples)


def _share(states: np.ndarray, *wanted: str) -> float | None:
    return float(np.isin(states, wanted).mean()) if len(states) else None


def served_figures(score: np.ndarray, melanoma: np.ndarray, states: np.ndarray) -> dict:
    """Melanoma-vs-nevus figures of one (re)sample: the score's ranking and the served states.

    A not-assessable image counts in every denominator (it is not flagged, as on test).
    """
    both = bool(melanoma.any() and (~melanoma).any())
    assessable = states != NOT_ASSESSABLE
    y_ok = melanoma[assessable]
    return {
        "melanoma_auc": float(roc_auc_score(melanoma, score)) if both else None,
        "melanoma_auc_assessable": float(roc_auc_score(y_ok, score[assessable]))
        if y_ok.any() and (~y_ok).any()
        else None,
        "sensitivity_at_specificity_80": operating_points(score, melanoma)[
            "sensitivity_at_specificity_80"
        ],
        "melanoma_high": _share(states[melanoma], HIGH),
        "melanoma_high_or_moderate": _share(states[melanoma], HIGH, MODERATE),
        "nevus_high": _share(states[~melanoma], HIGH),
        "nevus_high_or_moderate": _share(states[~melanoma], HIGH, MODERATE),
        "nevus_low": _share(states[~melanoma], LOW),
        "not_assessable": _share(states, NOT_ASSESSABLE),
        "inconclusive": _share(states, INCONCLUSIVE),
    }


def served_states(
    outputs: ServedOutputs, *, card: ModelCard, gate: FeatureGate | None
) -> tuple[np.ndarray, np.ndarray]:
    """(N,) melanoma probability and (N,) result state of each image, as a worker serves them."""
    classes = list(card.classes)
    operating_point = OperatingPoint.from_card(card.operating_point)
    probs = combine_views(outputs.logits, float(card.temperature))
    states = result_states(
        probs,
        not_assessable(outputs, gate),
        classes=classes,
        card=card,
        operating_point=operating_point,
    )
    return class_scores(probs, classes)["melanoma"], states


def melanoma_vs_nevus(
    score: np.ndarray,
    states: np.ndarray,
    melanoma: np.ndarray,
    groups: np.ndarray,
    *,
    bootstrap_rounds: int = BOOTSTRAP_ROUNDS,
    bootstrap_unit: str = "image",
) -> dict:
    """The figures with 95 % intervals, resampling ``groups`` (images, or lesions)."""
    melanoma = np.asarray(melanoma, dtype=bool)
    report = {
        "images": int(len(melanoma)),
        "melanomas": int(melanoma.sum()),
        "nevi": int((~melanoma).sum()),
        # No threshold is recorded: these images are for evaluation only, and a threshold
        # read off them must never find its way into an operating point.
        **served_figures(score, melanoma, states),
        "states": {
            name: {state: int((states[rows] == state).sum()) for state in STATES}
            for name, rows in (("melanoma", melanoma), ("nevus", ~melanoma))
        },
    }
    if bootstrap_rounds:
        intervals = bootstrap_intervals(
            lambda rows: served_figures(score[rows], melanoma[rows], states[rows]),
            groups,
            rounds=bootstrap_rounds,
        )
        intervals["method"] = (
            f"{bootstrap_unit}-level bootstrap, {bootstrap_rounds} rounds, percentile, seed 0"
        )
        report["intervals_95"] = intervals
    return report


def gate_distances(outputs: ServedOutputs, gate: FeatureGate | None) -> np.ndarray | None:
    return gate.score(outputs.features) if gate is not None and len(outputs) else None


def external_report(
    predictor: Predictor,
    external: ExternalSet,
    outputs: ServedOutputs,
    *,
    bootstrap_rounds: int = BOOTSTRAP_ROUNDS,
) -> dict:
    """The report of ``evaluate_model --external``: summary, provenance and per-image rows."""
    card, gate = predictor.card, predictor.gate
    score, states = served_states(outputs, card=card, gate=gate)
    summary = melanoma_vs_nevus(
        score, states, external.melanoma, external.groups, bootstrap_rounds=bootstrap_rounds
    )
    distance = gate_distances(outputs, gate)
    point = OperatingPoint.from_card(card.operating_point)
    report = {
        "external": external.name,
        "source": portable_path(external.root),
        "model_id": predictor.model_id,
        "backend": predictor.backend_name,
        "tta_views": int(outputs.logits.shape[1]),
        "temperature": float(card.temperature),
        "t_mel": point.t_mel,
        "t_mal": point.t_mal,
        "score": "melanoma probability (calibrated, mean of the TTA views), as served",
        **summary,
        "quality_failed": int((outputs.quality != "").sum()),
    }
    if distance is not None:
        report["gate_distance"] = {
            "threshold": float(gate.threshold),
            "median": float(np.median(distance)),
            "q90": float(np.quantile(distance, 0.9)),
            "above_threshold": float((distance > gate.threshold).mean()),
        }
    # One row per image, to check or inspect the summary (not stored in the card).
    report["per_image"] = [
        {
            "image_id": sample.image_id,
            "dx": sample.label,
            "melanoma_probability": float(score[i]),
            "state": str(states[i]),
            "gate_distance": None if distance is None else float(distance[i]),
            "quality_problem": str(outputs.quality[i]),
        }
        for i, sample in enumerate(external.samples)
    ]
    return json_safe(report)


def write_to_card(directory: Path, report: dict) -> ModelCard:
    """Store the summary (not the per-image rows) in card.json and re-render card.md.

    ``card.metrics["external"][<folder name>]``; a domain comparison goes to
    ``card.metrics["domain_comparison"]``. Weights and exports are not touched.
    """
    card = read_card(directory)
    summary = {k: v for k, v in report.items() if k not in ("per_image", "domain_comparison")}
    metrics = dict(card.metrics or {})
    metrics["external"] = {**(metrics.get("external") or {}), report["external"]: summary}
    if report.get("domain_comparison"):
        metrics["domain_comparison"] = report["domain_comparison"]
    card.metrics = metrics
    write_card(card, directory)
    write_markdown(card, directory)
    return card
