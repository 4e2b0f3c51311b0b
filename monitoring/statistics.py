"""The arithmetic of monitoring: proportions with exact intervals, and drift against val.

Plain functions on numbers (no Django), so every formula of docs/monitoring.md is here once
and tested directly. The bounds that turn figures into words are constants in this module.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import beta, rankdata

# Below these counts a figure is "too few cases to say" (docs/monitoring.md, "Minimum counts").
MIN_POSITIVES = 10  # sensitivity needs this many confirmed positives
MIN_NEGATIVES = 10  # specificity needs this many confirmed negatives
MIN_AUC_EACH = 10  # an AUC needs this many of both
MIN_CALIBRATION_CASES = 30  # ECE needs this many confirmed cases in the model's classes
MIN_DRIFT_ANALYSES = 30  # a drift verdict needs this many gate distances

# Drift verdict bounds (docs/monitoring.md, "Drift").
KS_CRITICAL_COEFFICIENT = 1.36  # one-sample Kolmogorov-Smirnov, 5 % level: 1.36 / sqrt(n)
KS_SHIFTED = 0.15  # a significant KS distance at least this large is "shifted"
REFERENCE_LEVEL = "0.95"  # the share above val's 95th percentile is reported beside KS


@dataclass(frozen=True)
class Proportion:
    """k of n, with its exact (Clopper-Pearson) 95 % interval; None below the minimum."""

    successes: int
    total: int
    value: float | None
    low: float | None
    high: float | None
    enough: bool

    def to_dict(self) -> dict:
        return asdict(self)


def clopper_pearson(successes: int, total: int, *, confidence: float = 0.95) -> tuple[float, float]:
    """The exact binomial interval of successes / total (both ends inside [0, 1])."""
    if total <= 0:
        return (0.0, 1.0)
    alpha = 1 - confidence
    low = 0.0 if successes == 0 else float(beta.ppf(alpha / 2, successes, total - successes + 1))
    high = (
        1.0
        if successes == total
        else float(beta.ppf(1 - alpha / 2, successes + 1, total - successes))
    )
    return (low, high)


def proportion(successes: int, total: int, *, minimum: int = 1) -> Proportion:
    """The share with its interval, or only the counts when ``total`` is below ``minimum``."""
    enough = total >= max(minimum, 1)
    if not enough:
        return Proportion(successes, total, None, None, None, False)
    low, high = clopper_pearson(successes, total)
    return Proportion(successes, total, successes / total, low, high, True)


def auc(positive: np.ndarray, score: np.ndarray) -> float | None:
    """ROC AUC as the Mann-Whitney U (ties count one half); None without both classes.

    The same number as sklearn's roc_auc_score, without its input checks: the bootstrap
    calls it a thousand times per page.
    """
    positive = np.asarray(positive, dtype=bool)
    n_pos, n_neg = int(positive.sum()), int((~positive).sum())
    if not n_pos or not n_neg:
        return None
    ranks = rankdata(score)
    return float((ranks[positive].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


@dataclass(frozen=True)
class Drift:
    """How far a clinic's gate distances sit from val's (docs/monitoring.md, "Drift")."""

    analyses: int
    ks: float | None  # max |F_clinic(q_p) - p| over val's recorded quantiles q_p
    ks_critical: float | None  # 1.36 / sqrt(n)
    above_val_p95: Proportion | None  # share of distances above val's 95th percentile
    verdict: str  # "stable", "watch", "shifted", "too few", "no reference"
    words: str

    def to_dict(self) -> dict:
        data = asdict(self)
        data["above_val_p95"] = self.above_val_p95.to_dict() if self.above_val_p95 else None
        return data


VERDICT_WORDS = {
    "stable": "Stable: this clinic's images sit where the validation images did.",
    "watch": (
        "Watch: a small but measurable difference from the validation images; "
        "the card's figures may not hold exactly here."
    ),
    "shifted": (
        "Shifted: this clinic's images are measurably unlike the validation images "
        "(another device, population or way of imaging); do not rely on the card's figures here."
    ),
    "too few": f"Too few analyses to say (fewer than {MIN_DRIFT_ANALYSES} with a gate distance).",
    "no reference": (
        "No reference: the model's card records no validation distances "
        "(calibrate_model --record-distances adds them)."
    ),
}


def drift_against(distances: list[float], reference: dict[str, float] | None) -> Drift:
    """Compare ``distances`` with val's recorded quantiles {"0.05": q, …} of the same model."""
    n = len(distances)
    if not reference:
        return Drift(n, None, None, None, "no reference", VERDICT_WORDS["no reference"])
    if n < MIN_DRIFT_ANALYSES:
        return Drift(n, None, None, None, "too few", VERDICT_WORDS["too few"])
    values = np.sort(np.asarray(distances, dtype=np.float64))
    levels = sorted((float(level), float(q)) for level, q in reference.items())
    # The empirical distribution function at each of val's quantiles, against its level.
    ks = max(abs(np.searchsorted(values, q, side="right") / n - level) for level, q in levels)
    critical = KS_CRITICAL_COEFFICIENT / math.sqrt(n)
    above = None
    if REFERENCE_LEVEL in reference:
        count = int((values > reference[REFERENCE_LEVEL]).sum())
        above = proportion(count, n)
    expected_above = 1 - float(REFERENCE_LEVEL)
    tail_heavier = above is not None and above.low is not None and above.low > expected_above
    if ks > critical and ks >= KS_SHIFTED:
        verdict = "shifted"
    elif ks > critical or tail_heavier:
        verdict = "watch"
    else:
        verdict = "stable"
    return Drift(n, float(ks), critical, above, verdict, VERDICT_WORDS[verdict])
