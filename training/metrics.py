"""Classification, screening and calibration metrics from probabilities and true labels."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from sklearn.metrics import (
    accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
    roc_curve,
)

from classifier import calibration

MELANOMA_CODES = ("mel", "melanoma")


def balanced_accuracy(labels: np.ndarray, predicted: np.ndarray) -> float:
    """Mean recall over the classes present in ``labels`` (sklearn's definition, no warnings
    when a prediction names a class absent from ``labels``)."""
    labels, predicted = np.asarray(labels), np.asarray(predicted)
    present = np.unique(labels)
    if len(present) == 0:
        return float("nan")
    return float(np.mean([(predicted[labels == c] == c).mean() for c in present]))


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, *, bins: int = 15) -> float:
    """Top-label ECE with equal-width confidence bins (the engine's own definition)."""
    if len(labels) == 0:
        return float("nan")
    return calibration.expected_calibration_error(probs, labels, bins=bins)


def reliability_bins(probs: np.ndarray, labels: np.ndarray, *, bins: int = 15) -> list[dict]:
    confidence = probs.max(axis=1)
    correct = probs.argmax(axis=1) == labels
    edges = np.linspace(0.0, 1.0, bins + 1)
    rows = []
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > low) & (confidence <= high)
        rows.append(
            {
                "low": float(low),
                "high": float(high),
                "count": int(in_bin.sum()),
                "accuracy": float(correct[in_bin].mean()) if in_bin.any() else None,
                "confidence": float(confidence[in_bin].mean()) if in_bin.any() else None,
            }
        )
    return rows


def json_safe(value):
    """Metrics as strict JSON: NaN and infinities (e.g. roc_curve's first threshold) -> None."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    if isinstance(value, np.integer):
        return int(value)
    return value


def operating_points(scores: np.ndarray, positive: np.ndarray) -> dict:
    """Sensitivity at >= 80 % specificity and specificity at >= 90 % sensitivity."""
    if positive.all() or not positive.any():
        return {"sensitivity_at_specificity_80": None, "specificity_at_sensitivity_90": None}
    fpr, tpr, thresholds = roc_curve(positive, scores)
    specificity = 1 - fpr
    ok_spec = specificity >= 0.80
    ok_sens = tpr >= 0.90
    return {
        "sensitivity_at_specificity_80": float(tpr[ok_spec].max()),
        "threshold_at_specificity_80": float(thresholds[ok_spec][np.argmax(tpr[ok_spec])]),
        "specificity_at_sensitivity_90": float(specificity[ok_sens].max()),
        "threshold_at_sensitivity_90": float(thresholds[ok_sens][np.argmax(specificity[ok_sens])]),
    }


def classification_metrics(probs: np.ndarray, labels: np.ndarray, classes: list[str]) -> dict:
    """Everything the card and evaluate_model report, from calibrated probabilities."""
    num_classes = len(classes)
    predicted = probs.argmax(axis=1)
    class_ids = list(range(num_classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        labels, predicted, labels=class_ids, zero_division=0
    )
    per_class = {}
    for index, code in enumerate(classes):
        positive = labels == index
        auc = None
        if positive.any() and not positive.all():
            auc = float(roc_auc_score(positive, probs[:, index]))
        per_class[code] = {
            "precision": float(precision[index]),
            "recall": float(recall[index]),
            "f1": float(f1[index]),
            "support": int(support[index]),
            "auc": auc,
        }
    present = [i for i in class_ids if (labels == i).any()]
    aucs = [per_class[classes[i]]["auc"] for i in present if per_class[classes[i]]["auc"]]
    metrics = {
        "images": int(len(labels)),
        "accuracy": float(accuracy_score(labels, predicted)),
        "balanced_accuracy": balanced_accuracy(labels, predicted) if len(labels) else None,
        "macro_f1": float(np.mean([f1[i] for i in present])) if present else None,
        "macro_auc": float(np.mean(aucs)) if aucs else None,
        "per_class": per_class,
        "confusion_matrix": confusion_matrix(labels, predicted, labels=class_ids).tolist(),
    }
    melanoma = next((classes.index(c) for c in MELANOMA_CODES if c in classes), None)
    if melanoma is not None:
        positive = labels == melanoma
        metrics["melanoma"] = {
            "auc": per_class[classes[melanoma]]["auc"],
            **operating_points(probs[:, melanoma], positive),
        }
    return metrics


def bootstrap_intervals(
    statistic: Callable[[np.ndarray], dict[str, float | None]],
    groups: np.ndarray,
    *,
    rounds: int = 1000,
    seed: int = 0,
) -> dict[str, list[float] | None]:
    """95 % percentile intervals of the figures ``statistic(rows)`` returns, over resamples.

    Whole groups are drawn with replacement (a lesion's images stay together, as in
    training.evaluation.grouped_bootstrap); pass one group per image where every image is
    a different lesion. A draw in which a figure is undefined (None: an AUC without both
    classes) is left out of that figure's interval only.
    """
    _, group_index = np.unique(np.asarray(groups), return_inverse=True)
    members = [np.flatnonzero(group_index == g) for g in range(group_index.max(initial=-1) + 1)]
    rng = np.random.default_rng(seed)
    draws: dict[str, list[float]] = {}
    for _ in range(rounds):
        chosen = rng.integers(0, len(members), len(members))
        rows = np.concatenate([members[g] for g in chosen]) if members else np.zeros(0, int)
        for name, value in statistic(rows).items():
            values = draws.setdefault(name, [])
            if value is not None and np.isfinite(value):
                values.append(float(value))
    return {
        name: [float(np.percentile(values, 2.5)), float(np.percentile(values, 97.5))]
        if values
        else None
        for name, values in draws.items()
    }
