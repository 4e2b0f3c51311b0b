"""Keeps each lesion's evolving flag and next-review date in step with its results.

Called after every finished analysis, recorded review and deleted image, so the pages
and lists read stored fields. A new result or review suggests the date again; the
clinician may then choose their own (``set_next_review``), which later results and reviews
never replace: they only store their suggestion beside it, and the lesion page says when
the two differ until the clinician takes the suggestion (``use_suggested_review``).
"""

from __future__ import annotations

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from lesions.follow_up.changes import ReviewFacts, latest_evolution, suggest_next_review
from lesions.follow_up.worklist_cache import clinic_of_lesion, forget_worklist_counts
from lesions.models import Analysis, AuditAction, Lesion, Review, User

from .audit import record_event

FOLLOW_UP_FIELDS = [
    "evolving",
    "evolving_reason",
    "evolving_since",
    "next_review_on",
    "next_review_reason",
    "suggested_review_on",
    "suggested_review_reason",
]
HAND_SET_REASON = "Set by a clinician"
NONE_BY_HAND_REASON = "No further review, set by a clinician"


def refresh_follow_up(*, lesion_id: int) -> Lesion | None:
    """Recompute the lesion's evolving flag and suggested next review; None if it is gone."""
    from lesions.selectors import lesion_visits

    with transaction.atomic():
        lesion = Lesion.objects.select_for_update().filter(pk=lesion_id).first()
        if lesion is None:
            return None
        visits = lesion_visits(lesion)
        change = latest_evolution(visits, margin=settings.DERMASCAN_EVOLVING_MARGIN)
        lesion.evolving = change is not None
        lesion.evolving_reason = change.description[:300] if change else ""
        lesion.evolving_since = _finished_at(change.current.analysis_id) if change else None
        latest = visits[-1] if visits else None
        review = _current_review_of(latest.analysis_id) if latest else None
        reviewed_since_change = (
            Review.objects.filter(
                analysis__image__lesion=lesion, created_at__gte=lesion.evolving_since
            ).exists()
            if change
            else False
        )
        suggestion = suggest_next_review(
            latest,
            evolving_unreviewed=change is not None and not reviewed_since_change,
            review=review,
        )
        lesion.suggested_review_on = suggestion.next_review_on
        lesion.suggested_review_reason = suggestion.reason
        if not lesion.next_review_set_by_hand:
            lesion.next_review_on = suggestion.next_review_on
            lesion.next_review_reason = suggestion.reason
        lesion.save(update_fields=[*FOLLOW_UP_FIELDS, "updated_at"])
        forget_worklist_counts(clinic_id=clinic_of_lesion(lesion.pk))
    return lesion


def set_next_review(
    *, lesion: Lesion, next_review_on: datetime.date | None, changed_by: User
) -> Lesion:
    """The clinician's own date (or none). A date in the past is refused: it would put the
    lesion on the worklist as overdue the moment it is saved."""
    if next_review_on is not None and next_review_on < timezone.localdate():
        raise ValidationError(
            {"next_review_on": "The next review cannot be in the past."}, code="in_past"
        )
    with transaction.atomic():
        lesion.next_review_on = next_review_on
        lesion.next_review_reason = HAND_SET_REASON if next_review_on else NONE_BY_HAND_REASON
        lesion.next_review_set_by_hand = True
        lesion.full_clean()
        lesion.save(
            update_fields=[
                "next_review_on",
                "next_review_reason",
                "next_review_set_by_hand",
                "updated_at",
            ]
        )
        record_event(
            actor=changed_by,
            action=AuditAction.CHANGED,
            target=lesion,
            changed_fields=["next_review_on"],
        )
        forget_worklist_counts(clinic_id=clinic_of_lesion(lesion.pk))
    return lesion


def use_suggested_review(*, lesion: Lesion, changed_by: User) -> Lesion:
    """Give the date back to the suggestions: the latest one now, and each later one."""
    with transaction.atomic():
        lesion.next_review_set_by_hand = False
        lesion.save(update_fields=["next_review_set_by_hand", "updated_at"])
        lesion = refresh_follow_up(lesion_id=lesion.pk)
        record_event(
            actor=changed_by,
            action=AuditAction.CHANGED,
            target=lesion,
            changed_fields=["next_review_on", "next_review_set_by_hand"],
        )
    return lesion


def _finished_at(analysis_id: int) -> datetime.datetime:
    return Analysis.objects.values_list("finished_at", flat=True).get(pk=analysis_id)


def _current_review_of(analysis_id: int) -> ReviewFacts | None:
    review = Review.objects.filter(analysis_id=analysis_id).current().first()
    if review is None:
        return None
    return ReviewFacts(
        management=review.management,
        reviewed_on=timezone.localdate(review.created_at),
        management_display=review.get_management_display(),
    )
