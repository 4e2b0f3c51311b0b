"""Fit what serving needs beyond the weights: temperature, operating point, gate; score test.

Run by ``train_model`` on a new artifact and by ``calibrate_model`` on an existing one;
the weights are never touched (their sha256 stays valid). On the val split: the
temperature (NLL of the served TTA mean), the gate's threshold (at most ``reject_share``
of val rejected) and the thresholds ``t_mel`` / ``t_mal`` for the target sensitivities.
The gate's class means and covariance come from the train split's features. The test
split, and the non-lesion corpus, are then scored exactly as served.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.artifact import sha256_of, temp_path, write_card
from classifier.calibration import combine_views, fit_temperature
from classifier.gate import GATE_FILE, QUALITY_LIMITS, FeatureGate, distance_quantiles
from classifier.model_card import ModelCard
from classifier.nonlesion import nonlesion_corpus
from classifier.operating_point import (
    DEFAULT_MALIGNANT_SENSITIVITY,
    DEFAULT_MELANOMA_SENSITIVITY,
    choose_operating_point,
)
from classifier.predictor import Predictor
from training.data import DataError, LabelledData
from training.evaluation import not_assessable, operating_point_figures, served_metrics
from training.served import ServedOutputs, served_outputs, split_outputs

DEFAULT_REJECT_SHARE = 0.02
GATE_COMPONENTS = 64


@dataclass(frozen=True)
class CalibrationTargets:
    melanoma_sensitivity: float = DEFAULT_MELANOMA_SENSITIVITY
    malignant_sensitivity: float = DEFAULT_MALIGNANT_SENSITIVITY
    reject_share: float = DEFAULT_REJECT_SHARE


def calibrate_artifact(
    directory: Path,
    *,
    data: LabelledData,
    targets: CalibrationTargets = CalibrationTargets(),
    cache_dir: Path | None = None,
    figures: bool = False,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> ModelCard:
    """Refit the artifact in ``directory`` on ``data``'s splits and rewrite its card."""
    directory = Path(directory)
    predictor = Predictor.from_artifact(directory, backend="torch")
    classes = list(predictor.classes)
    index = {code: i for i, code in enumerate(classes)}

    def outputs_of(split: str, views: tuple[str, ...]) -> tuple[ServedOutputs, np.ndarray, list]:
        samples = data.in_split(split)
        unknown = sorted({s.label for s in samples} - set(index))
        if unknown:
            raise DataError(f"classes {', '.join(unknown)} are not among the model's {classes}")
        outputs = split_outputs(
            predictor, samples, views=views, cache_dir=cache_dir, progress=progress, desc=split
        )
        return outputs, np.array([index[s.label] for s in samples], dtype=np.int64), samples

    served_views = predictor.card.served_views  # scored as the workers will serve it
    val, val_labels, _ = outputs_of("val", served_views)
    if len(val_labels) == 0:
        raise DataError(f"{data.root}: calibration needs a val split, and it is empty")
    train, train_labels, _ = outputs_of("train", ("identity",))
    if len(train_labels) == 0:
        log("no train split: the gate's statistics are fitted on val")
        train, train_labels = val, val_labels

    temperature = fit_temperature(val.logits, val_labels)
    log(f"temperature {temperature:.4f} (fitted on {len(val_labels)} val images)")
    fitted = FeatureGate.fit(train.features, train_labels, components=GATE_COMPONENTS)
    gate_bytes = fitted.to_bytes()
    gate = FeatureGate.from_bytes(gate_bytes)  # as it will be served (float16 statistics)
    passes_quality = val.quality == ""
    gate.set_threshold(val.features[passes_quality], reject_share=targets.reject_share)
    val_rejected = not_assessable(val, gate)
    # Rejected images are never flagged when served, so they count as missed here too:
    # the thresholds then reach the target sensitivity over *all* val images.
    val_probs = combine_views(val.logits, temperature)
    scored = np.where(val_rejected[:, None], -np.inf, val_probs)
    try:
        operating_point = choose_operating_point(
            np.nan_to_num(scored, neginf=-1.0),
            val_labels,
            classes,
            melanoma_sensitivity=targets.melanoma_sensitivity,
            malignant_sensitivity=targets.malignant_sensitivity,
        )
    except ValueError as exc:
        raise DataError(f"{data.root}: cannot choose the operating point: {exc}") from None
    log(f"operating point: t_mel {operating_point.t_mel:.4f}, t_mal {operating_point.t_mal:.4f}")

    corpus = nonlesion_corpus()
    corpus_outputs = served_outputs(
        predictor,
        [image for _, image in corpus],
        views=served_views,
        progress=progress,
        desc="corpus",
    )
    corpus_rejected = not_assessable(corpus_outputs, gate)

    card = predictor.card
    card.temperature = temperature
    card.operating_point = operating_point.to_dict() | {
        "val": operating_point_figures(
            val_probs, val_labels, val_rejected, classes=classes, operating_point=operating_point
        )
    }
    card.gate = {
        "file": GATE_FILE,
        "method": (
            "class-conditional Mahalanobis distance, shared covariance (probabilistic-PCA "
            f"form: top {GATE_COMPONENTS} directions + pooled residual), on the penultimate "
            "features averaged over the TTA views; class means and covariance from the train "
            "split, threshold on val"
        ),
        "threshold": gate.threshold,
        "target_val_reject_share": targets.reject_share,
        "quality_limits": QUALITY_LIMITS,
        "val_not_assessable_rate": float(val_rejected.mean()),
        # The reference distribution monitoring measures drift against (docs/monitoring.md).
        "val_distance_quantiles": distance_quantiles(gate.score(val.features)),
        "corpus_not_assessable_rate": float(corpus_rejected.mean()),
        "corpus_images": len(corpus),
        "corpus_missed": [
            name for (name, _), r in zip(corpus, corpus_rejected, strict=True) if not r
        ],
    }
    metrics = dict(card.metrics or {})
    test_samples = data.in_split("test")
    if test_samples:
        test, test_labels, samples = outputs_of("test", served_views)
        # The card's temperature and thresholds are served from here on; score test with them.
        card.metrics = metrics
        test_metrics = served_metrics(
            test,
            test_labels,
            np.array([s.group for s in samples]),
            card=card,
            gate=gate,
            split="test",
            report_dir=directory if figures else None,
        )
        metrics["test"] = test_metrics
        card.operating_point["test"] = {
            k: test_metrics["operating_point"][k]
            for k in ("melanoma_high", "malignant_moderate_or_high")
        }
        card.operating_point["test_intervals_95"] = test_metrics.get("intervals_95")
        card.gate["test_not_assessable_rate"] = test_metrics["not_assessable_rate"]
        metrics["summary"] = headline(test_metrics)
    card.metrics = metrics
    if card.training:
        from training.card import LIMITATIONS

        card.training = card.training | {"limitations": LIMITATIONS}  # they name the gate now

    gate_tmp = temp_path(directory, GATE_FILE)
    try:
        gate_tmp.write_bytes(gate_bytes)
        card.gate["sha256"] = sha256_of(gate_tmp)
        gate_tmp.replace(directory / GATE_FILE)
    finally:
        gate_tmp.unlink(missing_ok=True)
    write_card(card, directory)
    from training.card import write_markdown

    write_markdown(card, directory)
    return card


def record_val_distances(
    directory: Path,
    *,
    data: LabelledData,
    cache_dir: Path | None = None,
    progress: bool = True,
) -> ModelCard:
    """Add ``gate.val_distance_quantiles`` to a calibrated card; nothing else changes.

    For artifacts calibrated before the quantiles were recorded: the val images are scored
    with the stored gate (as calibration does), so the threshold and the weights stay as
    they are and the quantiles describe exactly the served gate.
    """
    directory = Path(directory)
    predictor = Predictor.from_artifact(directory, backend="torch")
    if predictor.gate is None:
        raise DataError(f"{directory}: the artifact has no gate statistics to measure")
    samples = data.in_split("val")
    if not samples:
        raise DataError(f"{data.root}: recording val distances needs a val split")
    val = split_outputs(
        predictor,
        samples,
        views=predictor.card.served_views,
        cache_dir=cache_dir,
        progress=progress,
        desc="val",
    )
    card = predictor.card
    card.gate = dict(card.gate or {}) | {
        "val_distance_quantiles": distance_quantiles(predictor.gate.score(val.features))
    }
    write_card(card, directory)
    return card


def headline(metrics: dict) -> dict:
    """The card's summary: the figures people quote."""
    mel = metrics.get("melanoma") or {}
    point = metrics.get("operating_point") or {}
    return {
        "split": metrics.get("split"),
        "accuracy": metrics.get("accuracy"),
        "balanced_accuracy": metrics.get("balanced_accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "melanoma_auc": mel.get("auc"),
        "melanoma_sensitivity_at_specificity_80": mel.get("sensitivity_at_specificity_80"),
        "melanoma_specificity_at_sensitivity_90": mel.get("specificity_at_sensitivity_90"),
        "melanoma_high_sensitivity": (point.get("melanoma_high") or {}).get("sensitivity"),
        "malignant_flagged_sensitivity": (point.get("malignant_moderate_or_high") or {}).get(
            "sensitivity"
        ),
        "not_assessable_rate": metrics.get("not_assessable_rate"),
        "ece_before_temperature": metrics.get("ece_before_temperature"),
        "ece_after_temperature": metrics.get("ece_after_temperature"),
        "temperature": metrics.get("temperature"),
    }
