"""The operating point: probability thresholds chosen on val for target sensitivities.

Two thresholds on the calibrated probabilities decide the risk level:

- High: melanoma probability >= ``t_mel``;
- at least Moderate: malignant probability (every malignant class summed) >= ``t_mal``.

Each is the *largest* threshold that still flags at least the target share of the
positives of the split it is chosen on (val), so specificity is as high as the target
sensitivity allows. The card records them with the sensitivity and specificity they
give on val and test; a card without them serves :data:`UNMEASURED` (0.5 / 0.5, the
escalation used before thresholds were measured) and says so.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np

from classifier.labels import MALIGNANT

MELANOMA_CODES = ("mel", "melanoma")
DEFAULT_MELANOMA_SENSITIVITY = 0.80
DEFAULT_MALIGNANT_SENSITIVITY = 0.95


@dataclass(frozen=True)
class OperatingPoint:
    t_mel: float
    t_mal: float
    target_melanoma_sensitivity: float | None = None
    target_malignant_sensitivity: float | None = None
    chosen_on: str = ""  # "" = not measured

    @property
    def measured(self) -> bool:
        return bool(self.chosen_on)

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_card(cls, entry: dict | None) -> OperatingPoint:
        """The card's ``operating_point`` entry (thresholds plus their figures), or UNMEASURED."""
        if not entry or "t_mel" not in entry or "t_mal" not in entry:
            return UNMEASURED
        return cls(
            t_mel=float(entry["t_mel"]),
            t_mal=float(entry["t_mal"]),
            target_melanoma_sensitivity=entry.get("target_melanoma_sensitivity"),
            target_malignant_sensitivity=entry.get("target_malignant_sensitivity"),
            chosen_on=str(entry.get("chosen_on", "")),
        )


UNMEASURED = OperatingPoint(t_mel=0.5, t_mal=0.5)


def as_percent(threshold: float) -> str:
    """How a threshold is written for people, everywhere (actions, the README, the card):
    one decimal, so that 0.1008 reads 10.1 %, not a rounded 10 % that disagrees elsewhere."""
    return f"{threshold * 100:.1f} %"


def threshold_for_sensitivity(scores: np.ndarray, positive: np.ndarray, target: float) -> float:
    """The largest t with mean(scores[positive] >= t) >= target.

    With n positives that is the ceil(target * n)-th highest positive score: every
    positive at or above it is flagged, and no higher threshold flags enough of them.
    """
    if not 0 < target <= 1:
        raise ValueError(f"target sensitivity must be in (0, 1], got {target}")
    positives = np.sort(np.asarray(scores, dtype=np.float64)[np.asarray(positive, bool)])[::-1]
    if positives.size == 0:
        raise ValueError("no positive examples to choose a threshold on")
    needed = max(1, math.ceil(target * positives.size - 1e-9))
    return float(positives[needed - 1])


def sensitivity_specificity(
    scores: np.ndarray, positive: np.ndarray, threshold: float
) -> dict[str, float | None]:
    """Share of positives flagged (score >= threshold) and of negatives not flagged."""
    scores = np.asarray(scores, dtype=np.float64)
    positive = np.asarray(positive, bool)
    flagged = scores >= threshold
    sens = float(flagged[positive].mean()) if positive.any() else None
    spec = float((~flagged[~positive]).mean()) if (~positive).any() else None
    return {"sensitivity": sens, "specificity": spec}


def class_scores(probabilities: np.ndarray, classes: list[str] | tuple[str, ...]) -> dict:
    """(N, K) probabilities -> melanoma and malignant scores (N,), and which classes count."""
    p = np.asarray(probabilities, dtype=np.float64)
    mel = [i for i, code in enumerate(classes) if code in MELANOMA_CODES]
    mal = [i for i, code in enumerate(classes) if code in MALIGNANT]
    return {
        "melanoma": p[:, mel].sum(axis=1) if mel else np.zeros(len(p)),
        "malignant": p[:, mal].sum(axis=1) if mal else np.zeros(len(p)),
        "melanoma_index": mel,
        "malignant_index": mal,
    }


def choose_operating_point(
    probabilities: np.ndarray,
    labels: np.ndarray,
    classes: list[str] | tuple[str, ...],
    *,
    melanoma_sensitivity: float = DEFAULT_MELANOMA_SENSITIVITY,
    malignant_sensitivity: float = DEFAULT_MALIGNANT_SENSITIVITY,
    chosen_on: str = "val",
) -> OperatingPoint:
    """Thresholds on (N, K) calibrated probabilities with true class indices ``labels``."""
    scores = class_scores(probabilities, classes)
    labels = np.asarray(labels)
    is_mel = np.isin(labels, scores["melanoma_index"])
    is_mal = np.isin(labels, scores["malignant_index"])
    if not is_mel.any() or not is_mal.any():
        raise ValueError(f"the {chosen_on} split needs melanomas and malignant lesions")
    return OperatingPoint(
        t_mel=threshold_for_sensitivity(scores["melanoma"], is_mel, melanoma_sensitivity),
        t_mal=threshold_for_sensitivity(scores["malignant"], is_mal, malignant_sensitivity),
        target_melanoma_sensitivity=melanoma_sensitivity,
        target_malignant_sensitivity=malignant_sensitivity,
        chosen_on=chosen_on,
    )
