"""Reads for the pages and the API. Every lookup is scoped to the user's clinic, so a
record of another clinic is indistinguishable from one that does not exist (404)."""

from __future__ import annotations

import datetime
import functools
from dataclasses import dataclass

from django.conf import settings
from django.db.models import (
    Count,
    Func,
    IntegerField,
    Max,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
)
from django.shortcuts import get_object_or_404
from django.utils import timezone

from lesions.follow_up import Change, Visit, changes_between_visits
from lesions.models import (
    Analysis,
    AnalysisStatus,
    Lesion,
    LesionImage,
    LesionStatus,
    Patient,
    Review,
    User,
)


def patients_for(user: User, *, query: str = "") -> QuerySet[Patient]:
    """The clinic's patients by name, with what the list shows about their lesions."""
    return (
        Patient.objects.visible_to(user)
        .search(query)
        .annotate(**patient_figures())
        .order_by("family_name", "given_names", "pk")
    )


@functools.cache
def patient_figures() -> dict[str, Subquery]:
    """For annotating patients: lesion counts and visit dates.

    Each is a subquery of the patient's own rows, not a join with GROUP BY: a page costs its
    25 patients' lookups whatever the clinic's size, and counting the pages needs no join
    at all. Built once (they name no user; every use copies them): building them cost a
    list request more than half a millisecond.
    """
    lesions = Lesion.objects.filter(patient=OuterRef("pk"))
    followed = lesions.followed_up()
    return {
        "lesion_count": count_of(lesions),
        "evolving_count": count_of(followed.filter(evolving=True)),
        "last_visit_on": Subquery(
            LesionImage.objects.filter(lesion__patient=OuterRef("pk"))
            .order_by("-captured_on")
            .values("captured_on")[:1]
        ),
        # A patient's next visit is the earliest next review of their followed lesions.
        "next_visit_on": Subquery(
            followed.filter(next_review_on__isnull=False)
            .order_by("next_review_on")
            .values("next_review_on")[:1]
        ),
    }


def count_of(rows: QuerySet) -> Subquery:
    """For annotating: how many ``rows`` (filtered on ``OuterRef``) there are."""
    counted = rows.order_by().values(n=Func("pk", function="COUNT", output_field=IntegerField()))
    return Subquery(counted, output_field=IntegerField())


# Which latest result speaks for a patient in the list: the most concerning one.
STATE_CONCERN = {"high": 4, "inconclusive": 3, "moderate": 3, "not_assessable": 2, "low": 1}


def with_latest_risk(patients: list[Patient]) -> list[Patient]:
    """Set ``latest_risk`` on each patient (one query for the page): the most concerning
    latest result state among the lesions still followed, "" when none has a result."""
    states: dict[int, str] = {}
    rows = (
        Lesion.objects.filter(patient__in=patients)
        .followed_up()
        .annotate(latest_state=latest_result_state())
        .values_list("patient_id", "latest_state")
    )
    for patient_id, state in rows:
        if state and STATE_CONCERN.get(state, 0) > STATE_CONCERN.get(states.get(patient_id), 0):
            states[patient_id] = state
    for patient in patients:
        patient.latest_risk = states.get(patient.pk, "")
    return patients


def get_patient_for(user: User, patient_pk: int) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(user), pk=patient_pk)


def get_patient_overview_for(user: User, patient_pk: int) -> Patient:
    """A patient with the figures the list shows (lesion counts, visits) in one query."""
    return get_object_or_404(patients_for(user), pk=patient_pk)


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


def get_image_for(user: User, image_pk: int) -> LesionImage:
    return get_object_or_404(
        LesionImage.objects.visible_to(user).select_related("lesion__patient"), pk=image_pk
    )


def next_visit_of(lesions: list[Lesion]) -> datetime.date | None:
    """A patient's next visit: the earliest next review of their followed lesions."""
    dates = [
        lesion.next_review_on
        for lesion in lesions
        if lesion.status == LesionStatus.MONITORING and lesion.next_review_on
    ]
    return min(dates, default=None)


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


# --- analyses ---------------------------------------------------------------------------


def get_analysis_for(user: User, analysis_pk: int) -> Analysis:
    return get_object_or_404(
        Analysis.objects.visible_to(user).select_related("image__lesion").with_model_version(),
        pk=analysis_pk,
    )


def reviews_prefetch() -> Prefetch:
    """For analyses: their reviews newest (the current one) first, with what each shows
    (reviewer, and whether a later review replaced it) joined in."""
    return Prefetch(
        "reviews",
        queryset=Review.objects.select_related("reviewer", "superseded_by").order_by(
            "-created_at", "-pk"
        ),
    )


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


def served_model_sha256() -> str | None:
    """Weights hash of the model the workers serve now (None if it cannot be read)."""
    from classifier.artifact import read_card
    from classifier.errors import ArtifactError
    from classifier.registry import served_model

    served = served_model()
    if served.version is not None:
        return served.version.sha256
    try:
        return read_card(served.directory).weights_sha256
    except ArtifactError:
        return None


def images_analysed_by_older_models() -> QuerySet[LesionImage]:
    """Images whose newest analysis is a result of another model than the one served now."""
    current = served_model_sha256()
    if current is None:
        return LesionImage.objects.none()
    outdated = (
        Analysis.objects.latest_per_image()
        .filter(status="done")
        .exclude(model_sha256=current)
        .values("image_id")
    )
    return LesionImage.objects.filter(pk__in=outdated)


# --- follow-up ---------------------------------------------------------------------------


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


def get_analysis_with_reviews(analysis_pk: int) -> Analysis:
    """An analysis (already checked visible) with its reviews, as the review panel needs."""
    return (
        Analysis.objects.select_related("image")
        .prefetch_related(reviews_prefetch())
        .get(pk=analysis_pk)
    )


def reviews_of(analysis: Analysis) -> QuerySet[Review]:
    """Every review of the analysis, newest (the current one) first."""
    return analysis.reviews.select_related("reviewer", "supersedes", "superseded_by").order_by(
        "-created_at", "-pk"
    )


def reviews_for(user: User) -> QuerySet[Review]:
    return Review.objects.visible_to(user).select_related(
        "reviewer", "superseded_by", "analysis__image__lesion__patient"
    )


def newest_result_of(image: LesionImage) -> Analysis | None:
    """The image's newest analysis if it finished (what compare and the report show)."""
    newest = image.analyses.newest_first().with_model_version().first()
    return newest if newest is not None and newest.status == AnalysisStatus.DONE else None


@dataclass(frozen=True)
class ComparedImage:
    image: LesionImage
    analysis: Analysis | None  # its newest analysis if finished


@dataclass(frozen=True)
class Comparison:
    earlier: ComparedImage
    later: ComparedImage
    interval_days: int
    class_changes: list[dict]  # per class: name, before, after, change (percentage points)
    different_modalities: bool


def compare_images(first: LesionImage, second: LesionImage) -> Comparison:
    """Two images of a lesion, earlier capture first whatever order they were picked in."""
    earlier, later = sorted(
        (first, second), key=lambda image: (image.captured_on, image.created_at, image.pk)
    )
    before, after = newest_result_of(earlier), newest_result_of(later)
    rows = []
    if before is not None and after is not None and before.probabilities and after.probabilities:
        from classifier.labels import display_name

        codes = sorted(
            set(before.probabilities) | set(after.probabilities),
            key=lambda code: -after.probabilities.get(code, 0.0),
        )
        for code in codes:
            p_before = 100 * before.probabilities.get(code, 0.0)
            p_after = 100 * after.probabilities.get(code, 0.0)
            rows.append(
                {
                    "code": code,
                    "name": display_name(code),
                    "before": p_before,
                    "after": p_after,
                    "change": p_after - p_before,
                }
            )
    return Comparison(
        earlier=ComparedImage(earlier, before),
        later=ComparedImage(later, after),
        interval_days=(later.captured_on - earlier.captured_on).days,
        class_changes=rows,
        different_modalities=earlier.modality != later.modality,
    )


def review_agreement(reviews: QuerySet[Review] | None = None) -> dict[str, list[dict]]:
    """How often reviewers agreed with the model, per model version and per predicted class.

    ``reviews`` limits what is counted (the admin passes the reviews its user may see).
    Only current reviews count (a superseded review was a reading later corrected).
    """
    from classifier.labels import display_name

    current = (Review.objects.all() if reviews is None else reviews).current()

    def rows(group_by: list[str]) -> list[dict]:
        grouped = (
            current.values(*group_by)
            .annotate(reviews=Count("pk"), agreed=Count("pk", filter=Q(agrees_with_model=True)))
            .order_by(*group_by)
        )
        return [{**row, "rate": row["agreed"] / row["reviews"]} for row in grouped]

    by_model = rows(["analysis__model_version__number", "analysis__model_id"])
    for row in by_model:
        number = row["analysis__model_version__number"]
        row["model"] = (
            f"v{number} {row['analysis__model_id']}"
            if number
            else (f"{row['analysis__model_id']} (default)")
        )
    by_class = rows(["analysis__top_class"])
    for row in by_class:
        row["class_name"] = display_name(row["analysis__top_class"])
    return {"by_model": by_model, "by_class": by_class}
