"""The worklist's counts, cached per clinic for a short time.

The navigation shows the worklist's total on every page, and counting the review backlog
reads every waiting result of the clinic: at 100,000 analyses that cost more than the rest
of a page. The counts are the same for every clinician of a clinic, so they are cached per
clinic, and every write that can change them (an analysis requested, finished or failed, a
review, a lesion changed or deleted, an image or patient deleted) forgets them. The short
lifetime covers what no write announces: a follow-up date becoming due at midnight.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from django.core.cache import cache
from django.db import transaction

from lesions.models import LesionImage, Patient

logger = logging.getLogger(__name__)

WORKLIST_COUNTS_SECONDS = 60


def _key(clinic_id: int) -> str:
    return f"worklist-counts:v1:{clinic_id}"


def cached_worklist_counts(
    clinic_id: int | None, count: Callable[[], dict[str, int]]
) -> dict[str, int]:
    """The clinic's counts from the cache, or ``count()`` (then kept for a minute)."""
    if clinic_id is None:
        return count()
    try:
        counts = cache.get(_key(clinic_id))
    except Exception:  # the cache is an optimisation: without Redis, count every time
        logger.warning("Worklist counts cache unavailable; counting.", exc_info=True)
        return count()
    if counts is None:
        counts = count()
        try:
            cache.set(_key(clinic_id), counts, WORKLIST_COUNTS_SECONDS)
        except Exception:
            logger.warning("Could not cache the worklist counts.", exc_info=True)
    return counts


def forget_worklist_counts(*, clinic_id: int | None) -> None:
    """Drop the clinic's cached counts now and again once the transaction commits (a page
    counted meanwhile, before the write was visible, would otherwise cache the old figure)."""
    if clinic_id is None:
        return

    def forget() -> None:
        try:
            cache.delete(_key(clinic_id))
        except Exception:
            logger.warning("Could not forget the worklist counts.", exc_info=True)

    forget()
    transaction.on_commit(forget)


def clinic_of_image(image: LesionImage | None) -> int | None:
    if image is None:
        return None
    return (
        Patient.objects.filter(lesions__images=image.pk).values_list("clinic_id", flat=True).first()
    )


def clinic_of_lesion(lesion_id: int) -> int | None:
    return Patient.objects.filter(lesions=lesion_id).values_list("clinic_id", flat=True).first()
