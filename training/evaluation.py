"""Scoring a model as it is served: the card's temperature, thresholds and gate.

Nothing is fitted on the evaluated images. The figures: the classification metrics,
lesion-grouped bootstrap 95 % intervals, the operating point's sensitivity and
specificity, the risk policy's confusion (how many melanomas, malignant and benign
lesions ended in each result state) and the not-assessable rate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from sklearn.metrics import roc_auc_score

from classifier.calibration import assess_uncertainty, combine_views
from classifier.gate import FeatureGate
from classifier.labels import MALIGNANT
from classifier.model_card import ModelCard
from classifier.operating_point import (
    MELANOMA_CODES,
    OperatingPoint,
    class_scores,
    sensitivity_specificity,
)
from classifier.preprocessing import DataConfig, PreprocessConfig
from classifier.risk import STATES, assess_result
from training import plots
from training.cache import build_image_cache
from training.data import DataError, LabelledData
from training.metrics import (
    balanced_accuracy,
    classification_metrics,
    expected_calibration_error,
    json_safe,
)
from training.served import ServedOutputs

BOOTSTRAP_ROUNDS = 1000


def split_arrays(
    data: LabelledData,
    split: str,
    *,
    classes: list[str],
    preprocessing: PreprocessConfig,
    data_config: DataConfig,
    cache_dir: Path | None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cached uint8 images and class indices of one split ("all" = every sample)."""
    samples = data.in_split(split)
    index = {code: i for i, code in enumerate(classes)}
    unknown = sorted({s.label for s in samples} - set(index))
    if unknown:
        raise DataError(f"classes {', '.join(unknown)} are not among the model's {classes}")
    images = build_image_cache(
        samples,
        preprocessing=preprocessing,
        size=data_config.input_size,
        interpolation=data_config.interpolation,
        cache_dir=cache_dir,
        progress=progress,
    )
    labels = np.array([index[s.label] for s in samples], dtype=np.int64)
    return images, labels


def not_assessable(outputs: ServedOutputs, gate: FeatureGate | None) -> np.ndarray:
    """(N,) bool: the image fails the quality checks or the feature gate."""
    failed = outputs.quality != ""
    if gate is not None and len(outputs):
        failed |= gate.rejects(outputs.features)
    return failed


def result_states(
    probs: np.ndarray,
    rejected: np.ndarray,
    *,
    classes: list[str],
    card: ModelCard,
    operating_point: OperatingPoint,
) -> np.ndarray:
    """(N,) the state each image would be served with (classifier.risk's policy)."""
    states = []
    for row, failed in zip(probs, rejected, strict=True):
        probabilities = {code: float(p) for code, p in zip(classes, row, strict=True)}
        uncertainty = assess_uncertainty(
            row,
            confidence_threshold=card.confidence_threshold,
            entropy_threshold=card.entropy_threshold,
        )
        result = assess_result(
            probabilities,
            label=classes[int(row.argmax())],
            operating_point=operating_point,
            uncertain=uncertainty.uncertain,
            not_assessable_reason="not assessable" if failed else "",
        )
        states.append(result.state)
    return np.array(states, dtype=str)


def operating_point_figures(
    probs: np.ndarray,
    labels: np.ndarray,
    rejected: np.ndarray,
    *,
    classes: list[str],
    operating_point: OperatingPoint,
) -> dict:
    """Sensitivity/specificity of both thresholds as served (a rejected image is not flagged)."""
    scores = class_scores(probs, classes)
    is_mel = np.isin(labels, scores["melanoma_index"])
    is_mal = np.isin(labels, scores["malignant_index"])
    mel = np.where(rejected, -np.inf, scores["melanoma"])
    mal = np.where(rejected, -np.inf, scores["malignant"])
    return {
        "melanoma_high": sensitivity_specificity(mel, is_mel, operating_point.t_mel),
        "malignant_moderate_or_high": sensitivity_specificity(
            np.where(mel >= operating_point.t_mel, np.inf, mal), is_mal, operating_point.t_mal
        ),
    }


def policy_confusion(states: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """How many melanomas, malignant and benign lesions ended in each state."""
    codes = np.array(classes)[labels]
    groups = {
        "melanoma": np.isin(codes, MELANOMA_CODES),
        "malignant": np.isin(codes, list(MALIGNANT)),
        "benign": ~np.isin(codes, list(MALIGNANT)),
    }
    return {
        name: {state: int((states[members] == state).sum()) for state in STATES}
        | {"total": int(members.sum())}
        for name, members in groups.items()
    }


def grouped_bootstrap(
    probs: np.ndarray,
    labels: np.ndarray,
    groups: np.ndarray,
    rejected: np.ndarray,
    *,
    classes: list[str],
    operating_point: OperatingPoint,
    rounds: int = BOOTSTRAP_ROUNDS,
    seed: int = 0,
) -> dict:
    """95 % percentile intervals, resampling whole lesions (their images stay together)."""
    _, group_index = np.unique(groups, return_inverse=True)
    members = [np.flatnonzero(group_index == g) for g in range(group_index.max() + 1)]
    rng = np.random.default_rng(seed)
    scores = class_scores(probs, classes)
    mel_index = scores["melanoma_index"]
    draws: dict[str, list[float]] = {
        "balanced_accuracy": [],
        "melanoma_auc": [],
        "melanoma_high_sensitivity": [],
        "melanoma_high_specificity": [],
        "malignant_moderate_or_high_sensitivity": [],
        "malignant_moderate_or_high_specificity": [],
    }
    predicted = probs.argmax(axis=1)
    for _ in range(rounds):
        rows = np.concatenate([members[g] for g in rng.integers(0, len(members), len(members))])
        y = labels[rows]
        draws["balanced_accuracy"].append(balanced_accuracy(y, predicted[rows]))
        is_mel = np.isin(y, mel_index)
        if is_mel.any() and not is_mel.all():
            draws["melanoma_auc"].append(roc_auc_score(is_mel, scores["melanoma"][rows]))
        figures = operating_point_figures(
            probs[rows], y, rejected[rows], classes=classes, operating_point=operating_point
        )
        for name, values in (
            ("melanoma_high", figures["melanoma_high"]),
            ("malignant_moderate_or_high", figures["malignant_moderate_or_high"]),
        ):
            for kind in ("sensitivity", "specificity"):
                if values[kind] is not None:
                    draws[f"{name}_{kind}"].append(values[kind])
    return {
        name: [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]
        if values
        else None
        for name, values in draws.items()
    }


def served_metrics(
    outputs: ServedOutputs,
    labels: np.ndarray,
    groups: np.ndarray,
    *,
    card: ModelCard,
    gate: FeatureGate | None,
    split: str,
    temperature: float | None = None,
    bootstrap_rounds: int = BOOTSTRAP_ROUNDS,
    report_dir: Path | None = None,
) -> dict:
    """Every figure of the card for one set of images, scored as the card serves them."""
    classes = list(card.classes)
    if len(labels) == 0:
        raise DataError(f"the {split!r} images are empty: nothing to evaluate")
    temperature = float(card.temperature if temperature is None else temperature)
    operating_point = OperatingPoint.from_card(card.operating_point)
    before = combine_views(outputs.logits, 1.0)
    probs = combine_views(outputs.logits, temperature)
    rejected = not_assessable(outputs, gate)
    states = result_states(
        probs, rejected, classes=classes, card=card, operating_point=operating_point
    )
    metrics = classification_metrics(probs, labels, classes)
    rows = np.arange(len(labels))
    metrics.update(
        {
            "split": split,
            "tta_views": int(outputs.logits.shape[1]),
            "temperature": temperature,
            "ece_before_temperature": expected_calibration_error(before, labels),
            "ece_after_temperature": expected_calibration_error(probs, labels),
            "nll_before_temperature": float(-np.log(before[rows, labels] + 1e-12).mean()),
            "nll_after_temperature": float(-np.log(probs[rows, labels] + 1e-12).mean()),
            "lesions": int(len(np.unique(groups))),
            "operating_point": {
                "t_mel": operating_point.t_mel,
                "t_mal": operating_point.t_mal,
                "measured": operating_point.measured,
                **operating_point_figures(
                    probs, labels, rejected, classes=classes, operating_point=operating_point
                ),
            },
            "policy_confusion": policy_confusion(states, labels, classes),
            "not_assessable_rate": float(rejected.mean()),
            "not_assessable": int(rejected.sum()),
        }
    )
    if bootstrap_rounds:
        metrics["intervals_95"] = grouped_bootstrap(
            probs,
            labels,
            groups,
            rejected,
            classes=classes,
            operating_point=operating_point,
            rounds=bootstrap_rounds,
        )
        metrics["intervals_95"]["method"] = (
            f"lesion-grouped bootstrap, {bootstrap_rounds} rounds, percentile, seed 0"
        )
    if report_dir is not None:
        write_figures(before, probs, labels, classes, metrics, Path(report_dir))
    return json_safe(metrics)


def write_figures(
    before: np.ndarray,
    probs: np.ndarray,
    labels: np.ndarray,
    classes: list[str],
    metrics: dict,
    report_dir: Path,
) -> None:
    plots.plot_confusion_matrix(
        metrics["confusion_matrix"], classes, report_dir / plots.CONFUSION_FILE
    )
    plots.plot_roc_curves(probs, labels, classes, report_dir / plots.ROC_FILE)
    plots.plot_reliability(
        before,
        probs,
        labels,
        report_dir / plots.RELIABILITY_FILE,
        ece_before=metrics["ece_before_temperature"],
        ece_after=metrics["ece_after_temperature"],
        temperature=metrics["temperature"],
    )
