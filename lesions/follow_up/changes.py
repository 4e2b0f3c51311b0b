"""Change across visits and the follow-up date it suggests: pure functions, no database.

A *visit* is one image of the lesion (in capture order) with its newest finished analysis.
How the result states rank for "the risk level goes up":

- low < moderate < high;
- ``inconclusive`` ranks with moderate: it is never Low, and it asks for the same 3-month
  follow-up, so low -> inconclusive is a rise, inconclusive -> high is a rise too;
- ``not_assessable`` carries no class and no risk: such a visit is not compared; the next
  visit is compared with the last assessable one before it.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from dataclasses import dataclass

from classifier.labels import MALIGNANT, display_name

RISK_RANK = {"low": 0, "moderate": 1, "inconclusive": 1, "high": 2}
NOT_ASSESSABLE = "not_assessable"
SHORT_INTERVAL = datetime.timedelta(days=91)  # "3 months"
LONG_INTERVAL = datetime.timedelta(days=365)  # "12 months"


@dataclass(frozen=True)
class Visit:
    analysis_id: int
    captured_on: datetime.date
    finished_on: datetime.date  # the day the result came (what "review now" means)
    result_state: str
    top_class: str
    malignant_probability: float | None
    probabilities: dict[str, float]

    @property
    def assessable(self) -> bool:
        return self.result_state in RISK_RANK


@dataclass(frozen=True)
class Change:
    """What got worse between two visits; empty ``reasons`` means nothing did."""

    previous: Visit
    current: Visit
    reasons: tuple[str, ...]

    @property
    def evolving(self) -> bool:
        return bool(self.reasons)

    @property
    def description(self) -> str:
        between = f"between {_day(self.previous.captured_on)} and {_day(self.current.captured_on)}"
        return f"{'; '.join(self.reasons)} {between}"

    @property
    def summary(self) -> str:
        """The change in one sentence that agrees with the numbers shown beside it: "no
        worsening" only when the malignant probability did not rise either."""
        if self.evolving:
            return f"Worse: {self.description}."
        before, after = self.previous.malignant_probability, self.current.malignant_probability
        since = f"since {_day(self.previous.captured_on)}"
        if before is None or after is None:
            return f"No worsening {since}."
        points = round(100 * after) - round(100 * before)
        numbers = f"{round(100 * before)} % → {round(100 * after)} % ({points:+d} points)"
        if points > 0:
            return (
                f"The malignant probability rose {numbers} {since}: below the evolving margin, "
                "so not flagged as worse; compare the images."
            )
        numbers = f"malignant probability {numbers}"
        return f"No worsening {since}: {numbers}."


def compare_visits(previous: Visit, current: Visit, *, margin: float) -> Change:
    """Each rule of the evolving flag, applied to two consecutive assessable visits."""
    reasons = []
    before, after = previous.malignant_probability, current.malignant_probability
    if before is not None and after is not None and after - before > margin:
        reasons.append(f"malignant probability {before:.2f} → {after:.2f}")
    if RISK_RANK[current.result_state] > RISK_RANK[previous.result_state]:
        reasons.append(f"risk {_state(previous)} → {_state(current)}")
    if previous.top_class not in MALIGNANT and current.top_class in MALIGNANT:
        reasons.append(
            f"top class {display_name(previous.top_class)} → {display_name(current.top_class)}"
        )
    return Change(previous=previous, current=current, reasons=tuple(reasons))


def changes_between_visits(visits: Sequence[Visit], *, margin: float) -> list[Change]:
    """Every assessable visit compared with the assessable visit before it."""
    assessable = [visit for visit in visits if visit.assessable]
    return [
        compare_visits(previous, current, margin=margin)
        for previous, current in zip(assessable, assessable[1:], strict=False)
    ]


def latest_evolution(visits: Sequence[Visit], *, margin: float) -> Change | None:
    """The most recent change that flags the lesion evolving, if any.

    A lesion that changed once stays flagged (the change is part of its history); the
    worklist shows it until someone reviews a result after the change.
    """
    changes = changes_between_visits(visits, margin=margin)
    flagged = [change for change in changes if change.evolving]
    return flagged[-1] if flagged else None


@dataclass(frozen=True)
class ReviewFacts:
    """What a suggestion needs from the current review of the latest visit's result."""

    management: str
    reviewed_on: datetime.date
    management_display: str


@dataclass(frozen=True)
class Suggestion:
    next_review_on: datetime.date | None
    reason: str


def suggest_next_review(
    latest: Visit | None, *, evolving_unreviewed: bool, review: ReviewFacts | None
) -> Suggestion:
    """The next-review date for a lesion, from its latest result and its review.

    A review of the latest result is the clinician's decision and wins over the model's
    state; an evolving change nobody has reviewed yet means now.
    """
    if latest is None:
        return Suggestion(None, "")
    if review is not None:
        decision = review.management
        if decision == "discharge":
            return Suggestion(None, "Discharged at review")
        if decision == "short_term_recheck":
            return Suggestion(review.reviewed_on + SHORT_INTERVAL, "Short-term recheck (review)")
        if decision in ("excise", "refer"):
            return Suggestion(review.reviewed_on, f"{review.management_display} (review)")
        # Counted from the review, not the capture: an old image signed off today must not
        # get a date that has already passed.
        interval = LONG_INTERVAL if latest.result_state == "low" else SHORT_INTERVAL
        return Suggestion(review.reviewed_on + interval, "Monitor (review)")
    if latest.result_state == NOT_ASSESSABLE:
        return Suggestion(latest.finished_on, "Not assessable: retake the image")
    if evolving_unreviewed:
        return Suggestion(latest.finished_on, "Evolving")
    if latest.result_state == "high":
        return Suggestion(latest.finished_on, "High risk")
    if latest.result_state == "low":
        return Suggestion(_not_before(latest, LONG_INTERVAL), "Low risk: 12 months")
    label = "Inconclusive" if latest.result_state == "inconclusive" else "Moderate risk"
    return Suggestion(_not_before(latest, SHORT_INTERVAL), f"{label}: 3 months")


def _not_before(visit: Visit, interval: datetime.timedelta) -> datetime.date:
    """The interval from the capture, but never before the result came: an old image
    uploaded late is due now, not on a date that has already passed."""
    return max(visit.captured_on + interval, visit.finished_on)


def _day(day: datetime.date) -> str:
    return f"{day.day} {day:%b %Y}"


def _state(visit: Visit) -> str:
    return {"inconclusive": "Inconclusive"}.get(visit.result_state, visit.result_state.capitalize())
