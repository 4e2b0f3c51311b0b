"""Risk level and recommended action for a prediction (decision support, not diagnosis)."""

from __future__ import annotations

from dataclasses import dataclass

from classifier.labels import MALIGNANT

HIGH, MODERATE, LOW = "high", "moderate", "low"
LEVEL_ORDER = {LOW: 0, MODERATE: 1, HIGH: 2}

# When the malignant classes together hold at least this much probability, a benign
# top class is not reassuring enough for "routine monitoring".
MALIGNANT_ESCALATION = 0.5


@dataclass(frozen=True)
class RiskRule:
    level: str
    action: str


_MELANOMA = RiskRule(
    HIGH,
    "Immediate dermatologist referral: suspected melanoma, excision biopsy to be considered.",
)
_KERATINOCYTE_CANCER = RiskRule(
    MODERATE,
    "Dermatologist referral (moderate to high risk): suspected keratinocyte cancer or "
    "precursor; biopsy or treatment is usually needed.",
)
_BENIGN = RiskRule(
    LOW,
    "Routine monitoring: re-image at the next skin check, sooner if the lesion changes "
    "in size, shape or colour, bleeds or itches.",
)
_ESCALATED = RiskRule(
    MODERATE,
    "Dermatologist review advised: the top class is benign, but malignant classes together "
    "are likely.",
)

RULES: dict[str, RiskRule] = {
    "mel": _MELANOMA,
    "melanoma": _MELANOMA,
    "bcc": _KERATINOCYTE_CANCER,
    "basal_cell_carcinoma": _KERATINOCYTE_CANCER,
    "akiec": _KERATINOCYTE_CANCER,
    "ak": _KERATINOCYTE_CANCER,
    "scc": _KERATINOCYTE_CANCER,
    "bkl": _BENIGN,
    "df": _BENIGN,
    "nv": _BENIGN,
    "vasc": _BENIGN,
    "benign": _BENIGN,
}


@dataclass(frozen=True)
class RiskAssessment:
    level: str
    action: str
    malignant_probability: float


def malignant_probability(probabilities: dict[str, float]) -> float:
    return float(sum(p for code, p in probabilities.items() if code in MALIGNANT))


def assess_risk(label: str, probabilities: dict[str, float]) -> RiskAssessment:
    """Risk from the predicted class, raised to moderate when malignancy is likely overall.

    Unknown classes are treated as moderate: an unmapped class must never read as "low".
    """
    rule = RULES.get(label, RiskRule(MODERATE, "Dermatologist review advised."))
    total = malignant_probability(probabilities)
    if LEVEL_ORDER[rule.level] < LEVEL_ORDER[MODERATE] and total >= MALIGNANT_ESCALATION:
        rule = _ESCALATED
    return RiskAssessment(level=rule.level, action=rule.action, malignant_probability=total)


DISCLAIMER = "Decision support only, not a diagnosis: a clinician must interpret every result."
