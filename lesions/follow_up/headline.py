"""One headline per result: the risk, what it means, what to do; then the class line.

Every page that shows a finished analysis (the result card, the visit row, compare, the
report) words it through ``headline_for``, so a result speaks with one voice. The class
line never contradicts the headline: "Most likely" is used only when the top class agrees
with the risk; when a benign class has the highest probability but the melanoma (or the
malignant) probability drove a High (Moderate) risk, that probability comes first and the
class is only the "highest-probability class".
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from classifier.labels import MALIGNANT
from classifier.operating_point import MELANOMA_CODES
from classifier.risk import RETAKE_ACTION, melanoma_probability

if TYPE_CHECKING:
    from lesions.models import Analysis

SPECIALIST, PRIMARY_CARE = "specialist", "primary_care"
TITLES = {
    "high": "High risk",
    "moderate": "Moderate risk",
    "low": "Low risk",
    "inconclusive": "Inconclusive",
    "not_assessable": "Not assessable",
}
RETAKE_HINT = "A retake (in focus, lesion centred, no glare) may help."
# What to do, by state and audience. A dermatologist decides; primary care refers.
ACTIONS = {
    ("high", SPECIALIST): "Examine with dermoscopy; excision biopsy to be considered.",
    ("high", PRIMARY_CARE): (
        "Refer urgently to a dermatologist (suspected melanoma); excision biopsy to be considered."
    ),
    ("keratinocyte", SPECIALIST): "Confirm clinically; biopsy or treatment is usually needed.",
    ("keratinocyte", PRIMARY_CARE): (
        "Refer to a dermatologist: biopsy or treatment is usually needed."
    ),
    ("moderate", SPECIALIST): (
        "Examine with dermoscopy; decide between biopsy and short-term monitoring."
    ),
    ("moderate", PRIMARY_CARE): "Refer to a dermatologist for assessment.",
    ("inconclusive", SPECIALIST): f"Your examination decides. {RETAKE_HINT}",
    ("inconclusive", PRIMARY_CARE): (
        f"Have a dermatologist examine the lesion: malignancy is not ruled out. {RETAKE_HINT}"
    ),
    ("low", SPECIALIST): "Routine monitoring: re-image at the next skin check.",
    ("low", PRIMARY_CARE): (
        "Routine monitoring: re-image at the next skin check; refer if the lesion changes in "
        "size, shape or colour, bleeds or itches."
    ),
}


@dataclass(frozen=True)
class Headline:
    state: str
    title: str  # the risk: "High risk"
    meaning: str  # what it means, with the number that decided it
    action: str  # what to do, for the clinic's audience
    driver: str  # the probability that drove a risk the top class does not explain
    class_label: str  # "Most likely", "Highest-probability class" or "" (none shown)
    class_name: str
    class_percent: float | None
    show_probabilities: bool

    @property
    def class_line(self) -> str:
        if not self.class_label:
            return ""
        return f"{self.class_label}: {self.class_name} {self.class_percent:.0f} %"


def headline_for(analysis: Analysis, audience: str = SPECIALIST) -> Headline:
    """The headline of a finished analysis, worded for ``audience``."""
    state = analysis.result_state or "inconclusive"
    audience = audience if audience in (SPECIALIST, PRIMARY_CARE) else SPECIALIST
    if state == "not_assessable":
        return Headline(
            state, TITLES[state], analysis.state_reason, RETAKE_ACTION, "", "", "", None, False
        )
    top = analysis.top_class
    mel = 100 * melanoma_probability(analysis.probabilities or {})
    mal = 100 * (analysis.malignant_probability or 0.0)
    keratinocyte = state == "moderate" and top in MALIGNANT and top not in MELANOMA_CODES
    meaning, driver, agrees = _meaning(state, analysis, mel=mel, mal=mal, keratinocyte=keratinocyte)
    action = ACTIONS[("keratinocyte" if keratinocyte else state, audience)]
    if state == "inconclusive":
        label = ""
    else:
        label = "Most likely" if agrees else "Highest-probability class"
    return Headline(
        state=state,
        title=TITLES.get(state, state),
        meaning=meaning,
        action=action,
        driver="" if agrees else driver,
        class_label=label,
        class_name=analysis.top_class_display,
        class_percent=None if analysis.confidence is None else 100 * analysis.confidence,
        show_probabilities=True,
    )


def _meaning(
    state: str, analysis: Analysis, *, mel: float, mal: float, keratinocyte: bool
) -> tuple[str, str, bool]:
    """What the state means, the probability that drove it, and whether the top class
    agrees with it (so that "Most likely" cannot read as reassurance)."""
    top = analysis.top_class
    if state == "high":
        return (
            f"Melanoma probability {mel:.0f} % is at or above the High threshold: melanoma "
            "must be ruled out.",
            f"Melanoma probability {mel:.0f} %",
            top in MELANOMA_CODES,
        )
    if state == "moderate":
        if keratinocyte:
            meaning = f"Suspected keratinocyte cancer or precursor (malignant classes {mal:.0f} %)."
        else:
            meaning = (
                f"The malignant classes together reach {mal:.0f} %, at or above the Moderate "
                "threshold."
            )
        return meaning, f"Malignant classes together {mal:.0f} %", top in MALIGNANT
    if state == "inconclusive":
        reason = analysis.state_reason or "The model could not classify this image confidently."
        return f"{reason} Malignancy is not ruled out.", "", True
    return "Neither risk threshold is reached and the prediction is confident.", "", True
