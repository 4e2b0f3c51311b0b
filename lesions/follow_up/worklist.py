"""The clinician's worklist (the home page): what needs someone to act, for one clinic.

Each section is one query with everything its rows show joined in, so the page costs the
same number of queries for 3 rows or 300. Each reads a partial index in its own order
(the newest analyses flagged ``is_latest``; followed lesions), so its first rows cost the
same at 100 or 100,000 analyses; the totals of long sections come from the per-clinic
cache of ``worklist_cache``.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from lesions.follow_up.worklist_cache import cached_worklist_counts
from lesions.models import (
    REVIEW_PRIORITY,
    Analysis,
    AnalysisStatus,
    Lesion,
    LesionStatus,
    Review,
    User,
)
from lesions.selectors import latest_result_state

ROWS_PER_SECTION = 50


def results_awaiting_review(user: User) -> QuerySet[Analysis]:
    """Each image's newest finished analysis that nobody has reviewed, High and uncertain first."""
    return (
        Analysis.objects.visible_to(user)
        .latest_per_image()
        .filter(status=AnalysisStatus.DONE)
        .exclude(image__lesion__status=LesionStatus.ARCHIVED)  # excised ones still need sign-off
        .exclude(Exists(Review.objects.filter(analysis=OuterRef("pk"))))
        .select_related("image__lesion__patient")
        .order_by(REVIEW_PRIORITY, "-finished_at", "-pk")
    )


def evolving_lesions(user: User) -> QuerySet[Lesion]:
    """Followed lesions flagged evolving that nobody has reviewed since the change."""
    reviewed_since = Review.objects.filter(
        analysis__image__lesion=OuterRef("pk"), created_at__gte=OuterRef("evolving_since")
    )
    return (
        Lesion.objects.visible_to(user)
        .followed_up()
        .filter(evolving=True)
        .exclude(Exists(reviewed_since))
        .select_related("patient")
        .annotate(latest_state=latest_result_state())
        .order_by("-evolving_since", "-pk")
    )


def follow_ups_due(user: User) -> QuerySet[Lesion]:
    """Followed lesions whose next review is today or overdue, most overdue first."""
    return (
        Lesion.objects.visible_to(user)
        .followed_up()
        .filter(next_review_on__lte=timezone.localdate())
        .select_related("patient")
        .annotate(latest_state=latest_result_state())
        .order_by("next_review_on", "pk")
    )


def failed_analyses(user: User) -> QuerySet[Analysis]:
    """Images whose newest analysis failed (retry or retake)."""
    return (
        Analysis.objects.visible_to(user)
        .latest_per_image()
        .filter(status=AnalysisStatus.FAILED)
        .select_related("image__lesion__patient")
        .order_by("-finished_at", "-pk")
    )


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    rows: list
    count: int


# The sections in the home page's order: key, title, the query of all its rows.
SECTIONS = {
    "review": ("Results waiting for review", results_awaiting_review),
    "evolving": ("Evolving lesions", evolving_lesions),
    "due": ("Follow-ups due or overdue", follow_ups_due),
    "failed": ("Failed analyses", failed_analyses),
}


def section_rows(user: User, key: str) -> QuerySet:
    """Every row of one section, in its order (the API pages through them)."""
    return SECTIONS[key][1](user)


def worklist_for(user: User) -> list[Section]:
    """The four sections of the home page, each with its first rows and its total."""
    result = []
    totals: dict[str, int] | None = None
    for key, (title, query) in SECTIONS.items():
        rows = query(user)
        shown = list(rows[:ROWS_PER_SECTION])
        if len(shown) < ROWS_PER_SECTION:
            count = len(shown)
        else:  # a long section: its total is the cached count (counted once for all four)
            totals = totals if totals is not None else worklist_counts(user)
            count = max(totals[key], len(shown))
        result.append(Section(key=key, title=title, rows=shown, count=count))
    return result


def worklist_counts(user: User) -> dict[str, int]:
    """How many items each section holds (the navigation's counts), cached per clinic."""
    return cached_worklist_counts(getattr(user, "clinic_id", None), lambda: count_sections(user))


def count_sections(user: User) -> dict[str, int]:
    """The four sections' totals, counted now."""
    return {
        "review": results_awaiting_review(user).order_by().count(),
        "evolving": evolving_lesions(user).order_by().count(),
        "due": follow_ups_due(user).order_by().count(),
        "failed": failed_analyses(user).order_by().count(),
    }
