"""Dice and Jaccard per image, overall and per diagnosis, with lesion-grouped 95 % intervals.

Figures are means of per-image scores (the ISIC 2018 challenge's convention for Jaccard), so
a small lesion counts as much as a large one. Intervals resample whole lesions with
``training.metrics.bootstrap_intervals``, as the classifier's report does.
"""

from __future__ import annotations

import numpy as np

from training.metrics import bootstrap_intervals


def overlap_scores(predicted: np.ndarray, truth: np.ndarray) -> tuple[float, float]:
    """(Dice, Jaccard) of two boolean masks; two empty masks agree perfectly."""
    predicted, truth = predicted.astype(bool), truth.astype(bool)
    inter = np.logical_and(predicted, truth).sum()
    total = predicted.sum() + truth.sum()
    if total == 0:
        return 1.0, 1.0
    union = total - inter
    return float(2 * inter / total), float(inter / union)


def segmentation_report(
    dice: np.ndarray,
    jaccard: np.ndarray,
    labels: list[str],
    groups: np.ndarray,
    *,
    bootstrap_rounds: int = 1000,
) -> dict:
    """Means overall and per class; intervals for Dice, Jaccard and each class's Dice."""
    dice, jaccard = np.asarray(dice, float), np.asarray(jaccard, float)
    labels_array = np.asarray(labels)
    classes = sorted(set(labels))
    per_class = {
        c: {
            "images": int((labels_array == c).sum()),
            "dice": float(dice[labels_array == c].mean()),
            "jaccard": float(jaccard[labels_array == c].mean()),
        }
        for c in classes
    }
    report = {
        "images": int(len(dice)),
        "lesions": int(len(np.unique(groups))),
        "dice": float(dice.mean()),
        "jaccard": float(jaccard.mean()),
        "dice_median": float(np.median(dice)),
        "dice_below_0_8": float((dice < 0.8).mean()),
        "per_class": per_class,
    }
    if bootstrap_rounds:

        def statistic(rows: np.ndarray) -> dict:
            figures = {"dice": dice[rows].mean(), "jaccard": jaccard[rows].mean()}
            for c in classes:
                chosen = rows[labels_array[rows] == c]
                figures[f"dice_{c}"] = dice[chosen].mean() if len(chosen) else None
            return figures

        intervals = bootstrap_intervals(statistic, groups, rounds=bootstrap_rounds)
        report["intervals_95"] = {"dice": intervals["dice"], "jaccard": intervals["jaccard"]}
        for c in classes:
            per_class[c]["dice_interval_95"] = intervals.get(f"dice_{c}")
    return report
