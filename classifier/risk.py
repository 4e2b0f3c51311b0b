"""The result policy: one state per prediction, and the action that goes with it.

Decision support, not diagnosis. The state is decided in this order:

1. **not assessable**: the image failed the quality or out-of-distribution gate; no class
   and no risk level are given, only the reason and "retake the image";
2. **high**: melanoma probability >= the operating point's ``t_mel``;
3. **moderate**: malignant probability (the malignant classes summed) >= ``t_mal``;
4. **inconclusive**: neither threshold is reached but the prediction is uncertain (the
   confidence/entropy rule): it is never shown as Low;
5. **low**: neither threshold is reached, and the prediction is confident and assessable.

An uncertain prediction that reaches a threshold keeps High or Moderate: the measured
sensitivities hold for every assessable image, and both states already ask for a
dermatologist. The engine knows nothing about patients; the caller may lower a Low to
Inconclusive for its own reasons (e.g. a non-dermoscopic image).
"""

from __future__ import annotations

from dataclasses import dataclass

from classifier.labels import DISPLAY_NAMES, MALIGNANT
from classifier.operating_point import MELANOMA_CODES, UNMEASURED, OperatingPoint, as_percent

NOT_ASSESSABLE, INCONCLUSIVE = "not_assessable", "inconclusive"
HIGH, MODERATE, LOW = "high", "moderate", "low"
STATES = (NOT_ASSESSABLE, INCONCLUSIVE, HIGH, MODERATE, LOW)
LEVEL_ORDER = {LOW: 0, MODERATE: 1, HIGH: 2}

RETAKE_ACTION = (
    "Retake the image: a sharp, well-lit dermoscopic image with the lesion centred and "
    "filling most of the frame."
)
REVIEW_ACTION = (
    "Clinician review: the model cannot rule malignancy out here; have a dermatologist "
    "examine the lesion. Retaking the image (in focus, lesion centred, no glare) may help."
)
ROUTINE_ACTION = (
    "Routine monitoring: re-image at the next skin check, sooner if the lesion changes in "
    "size, shape or colour, bleeds or itches."
)
KERATINOCYTE_ACTION = (
    "Dermatologist referral (moderate to high risk): suspected keratinocyte cancer or "
    "precursor; biopsy or treatment is usually needed."
)


@dataclass(frozen=True)
class RiskAssessment:
    state: str
    reason: str  # why not assessable / inconclusive; "" otherwise
    level: str  # high / moderate / low; "" when not assessable or inconclusive (never Low)
    action: str
    melanoma_probability: float
    malignant_probability: float


def malignant_probability(probabilities: dict[str, float]) -> float:
    return float(sum(p for code, p in probabilities.items() if code in MALIGNANT))


def melanoma_probability(probabilities: dict[str, float]) -> float:
    return float(sum(p for code, p in probabilities.items() if code in MELANOMA_CODES))


def risk_level(
    probabilities: dict[str, float], operating_point: OperatingPoint = UNMEASURED
) -> str:
    """High / moderate / low from the two thresholds (uncertainty and the gate aside)."""
    if melanoma_probability(probabilities) >= operating_point.t_mel:
        return HIGH
    if malignant_probability(probabilities) >= operating_point.t_mal:
        return MODERATE
    return LOW


def assess_result(
    probabilities: dict[str, float],
    *,
    label: str,
    operating_point: OperatingPoint = UNMEASURED,
    uncertain: bool = False,
    uncertainty_message: str = "",
    not_assessable_reason: str = "",
) -> RiskAssessment:
    """The one state of a prediction, its reason and the recommended action."""
    mel = melanoma_probability(probabilities)
    mal = malignant_probability(probabilities)
    if not_assessable_reason:
        return RiskAssessment(NOT_ASSESSABLE, not_assessable_reason, "", RETAKE_ACTION, mel, mal)
    level = risk_level(probabilities, operating_point)
    if level == LOW and label not in DISPLAY_NAMES:
        level = MODERATE  # a class the policy does not know must never read as low
    if level == HIGH:
        action = (
            f"Immediate dermatologist referral: melanoma probability {as_percent(mel)} is at or "
            f"above the High threshold ({as_percent(operating_point.t_mel)}); excision biopsy "
            "to be considered."
        )
        return RiskAssessment(HIGH, "", HIGH, action, mel, mal)
    if level == MODERATE:
        action = (
            KERATINOCYTE_ACTION
            if label in MALIGNANT and label not in MELANOMA_CODES
            else (
                f"Dermatologist referral: the malignant classes together reach "
                f"{as_percent(mal)}, at or above the Moderate threshold "
                f"({as_percent(operating_point.t_mal)})."
            )
        )
        return RiskAssessment(MODERATE, "", MODERATE, action, mel, mal)
    if uncertain:
        reason = uncertainty_message or "The model could not classify this image confidently."
        return RiskAssessment(INCONCLUSIVE, reason, "", REVIEW_ACTION, mel, mal)
    return RiskAssessment(LOW, "", LOW, ROUTINE_ACTION, mel, mal)


DISCLAIMER = "Decision support only, not a diagnosis: a clinician must interpret every result."
