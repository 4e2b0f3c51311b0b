"""Template helpers of the clinical pages: result-state words, a result's headline, intervals
in plain words."""

from __future__ import annotations

from django import template

from lesions.follow_up.headline import SPECIALIST, Headline, headline_for

register = template.Library()

RISK_LABELS = {
    "high": "High risk",
    "moderate": "Moderate risk",
    "low": "Low risk",
    "inconclusive": "Inconclusive",
    "not_assessable": "Not assessable",
}


@register.filter
def risk_label(state: str | None) -> str:
    """A result state in words (what the badge says), "No result" for none."""
    if not state:
        return "No result"
    return RISK_LABELS.get(state, str(state))


@register.simple_tag(takes_context=True)
def result_headline(context: template.Context, analysis: object) -> Headline | None:
    """The analysis's one headline, worded for the audience of the reader's clinic
    (specialist when the page has no signed-in clinician, e.g. a PDF built offline)."""
    if analysis is None or getattr(analysis, "status", "") != "done":
        return None
    audience = context.get("audience")
    if not audience:
        user = getattr(context.get("request"), "user", None)
        clinic = getattr(user, "clinic", None) if user is not None else None
        audience = getattr(clinic, "audience", SPECIALIST)
    return headline_for(analysis, audience)


@register.filter
def interval(days: int | None) -> str:
    """A follow-up interval as a clinician says it: days up to 8 weeks, then months
    (of 30.4 days), then years and months."""
    if days is None:
        return ""
    days = abs(int(days))
    if days == 0:
        return "same day"
    if days < 7 * 8:
        return f"{days} day{'s' if days != 1 else ''}"
    months = round(days / 30.44)
    if months < 12:
        return f"{months} month{'s' if months != 1 else ''}"
    years, rest = divmod(months, 12)
    text = f"{years} year{'s' if years != 1 else ''}"
    return text + (f" {rest} month{'s' if rest != 1 else ''}" if rest else "")
