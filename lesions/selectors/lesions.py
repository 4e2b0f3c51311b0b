"""Reads of lesions: one lesion, a patient's lesions, its timeline, visits and their changes.

Every lookup is scoped to the user's clinic, so a record of another clinic is
indistinguishable from one that does not exist (404)."""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Count,
    Max,
    OuterRef,
    QuerySet,
    Subquery,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from lesions.follow_up.changes import Change, Visit, changes_between_visits
from lesions.models import (
    Analysis,
    AnalysisStatus,
    Lesion,
    LesionImage,
    Patient,
    User,
)
from lesions.selectors.reviews import reviews_prefetch


def get_lesion_for(user: User, lesion_pk: int) -> Lesion:
    return get_object_or_404(
        Lesion.objects.visible_to(user).select_related("patient"), pk=lesion_pk
    )


def get_lesion_overview_for(user: User, lesion_pk: int) -> Lesion:
    """A lesion with its image count and last capture date, in one query."""
    lesions = Lesion.objects.visible_to(user).select_related("patient")
    return get_object_or_404(
        lesions.annotate(image_count=Count("images"), last_captured_on=Max("images__captured_on")),
        pk=lesion_pk,
    )


def latest_result_state() -> Subquery:
    """For annotating lesions: the result state of the newest visit's finished analysis."""
    newest = (
        Analysis.objects.latest_per_image()
        .filter(image__lesion=OuterRef("pk"), status=AnalysisStatus.DONE)
        .order_by("-image__captured_on", "-image__created_at", "-image__pk")
        .values("result_state")[:1]
    )
    return Subquery(newest)


def lesions_of(patient: Patient) -> QuerySet[Lesion]:
    """The patient's lesions with what the body map and the list need about their images."""
    return patient.lesions.annotate(
        image_count=Count("images"),
        last_captured_on=Max("images__captured_on"),
        latest_state=latest_result_state(),
    ).order_by("number")


@dataclass(frozen=True)
class TimelineEntry:
    image: LesionImage
    analysis: Analysis | None  # the image's newest analysis; None if it was never analysed
    days_since_previous: int | None  # None for the first image
    days_since_first: int


def lesion_timeline(lesion: Lesion) -> list[TimelineEntry]:
    """The lesion's images in capture order, each with its newest analysis (and that one's
    reviews), and the intervals a follow-up visit looks at: three queries, however many."""
    newest = newest_analyses_of(lesion)
    images = list(lesion.images.in_capture_order())
    entries = []
    for index, image in enumerate(images):
        previous = images[index - 1] if index else None
        entries.append(
            TimelineEntry(
                image=image,
                analysis=newest.get(image.pk),
                days_since_previous=(image.captured_on - previous.captured_on).days
                if previous
                else None,
                days_since_first=(image.captured_on - images[0].captured_on).days,
            )
        )
    return entries


def newest_analyses_of(lesion: Lesion) -> dict[int, Analysis]:
    """Each analysed image's newest analysis by image id, with its model version and its
    reviews newest first (two queries)."""
    return {
        analysis.image_id: analysis
        for analysis in Analysis.objects.filter(image__lesion=lesion)
        .latest_per_image()
        .with_model_version()
        .prefetch_related(reviews_prefetch())
    }


@dataclass(frozen=True)
class ImageAnalysis:
    image: LesionImage
    analysis: Analysis | None  # the image's newest analysis; None if it was never analysed


def image_analyses(lesion: Lesion) -> list[ImageAnalysis]:
    """Each image of the lesion, newest capture first, with the analysis the page shows
    (and its reviews, newest first, for the review panel)."""
    newest = newest_analyses_of(lesion)
    images = lesion.images.select_related("uploaded_by").order_by(
        "-captured_on", "-created_at", "-pk"
    )
    return [ImageAnalysis(image=image, analysis=newest.get(image.pk)) for image in images]


@dataclass(frozen=True)
class VisitRow:
    """One visit on the lesion page: the image, its result, and the change since the
    previous visit (the image captured before it)."""

    image: LesionImage
    analysis: Analysis | None
    previous: LesionImage | None
    days_since_previous: int | None
    change: Change | None  # None for a first visit or one without a comparable result

    @property
    def malignant_change_points(self) -> float | None:
        if self.change is None:
            return None
        before = self.change.previous.malignant_probability
        after = self.change.current.malignant_probability
        if before is None or after is None:
            return None
        return 100 * (after - before)


def visit_rows(lesion: Lesion, changes: dict[int, Change]) -> list[VisitRow]:
    """The lesion's visits, newest first, each image beside its own result.

    ``changes`` is ``lesion_changes(lesion)`` (the page has it already for the review panel).
    """
    entries = image_analyses(lesion)  # newest first
    rows = []
    for index, entry in enumerate(entries):
        previous = entries[index + 1].image if index + 1 < len(entries) else None
        rows.append(
            VisitRow(
                image=entry.image,
                analysis=entry.analysis,
                previous=previous,
                days_since_previous=(entry.image.captured_on - previous.captured_on).days
                if previous
                else None,
                change=changes.get(entry.analysis.pk) if entry.analysis else None,
            )
        )
    return rows


def lesion_visits(lesion: Lesion) -> list[Visit]:
    """The lesion's visits in capture order: each image whose newest analysis finished."""
    analyses = (
        Analysis.objects.filter(image__lesion=lesion)
        .latest_per_image()
        .filter(status=AnalysisStatus.DONE)
        .select_related("image")
        .order_by("image__captured_on", "image__created_at", "image__pk")
    )
    return [visit_of(analysis) for analysis in analyses]


def visit_of(analysis: Analysis) -> Visit:
    return Visit(
        analysis_id=analysis.pk,
        captured_on=analysis.image.captured_on,
        finished_on=timezone.localdate(analysis.finished_at),
        result_state=analysis.result_state,
        top_class=analysis.top_class,
        malignant_probability=analysis.malignant_probability,
        probabilities=dict(analysis.probabilities),
    )


def lesion_changes(lesion: Lesion) -> dict[int, Change]:
    """Each visit's change since the previous assessable visit, by the later analysis id."""
    changes = changes_between_visits(
        lesion_visits(lesion), margin=settings.DERMASCAN_EVOLVING_MARGIN
    )
    return {change.current.analysis_id: change for change in changes}
