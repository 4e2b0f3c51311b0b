"""Reads for the pages and the API. Every lookup is scoped to the user's clinic, so a
record of another clinic is indistinguishable from one that does not exist (404)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet
from django.shortcuts import get_object_or_404

from lesions.models import Analysis, Lesion, LesionImage, Patient, User


def patients_for(user: User, *, query: str = "") -> QuerySet[Patient]:
    return (
        Patient.objects.visible_to(user)
        .search(query)
        .annotate(lesion_count=Count("lesions"))
        .order_by("name", "pk")  # Meta.ordering does not apply to aggregated queries
    )


def get_patient_for(user: User, patient_pk: int) -> Patient:
    return get_object_or_404(Patient.objects.visible_to(user), pk=patient_pk)


def get_lesion_for(user: User, lesion_pk: int) -> Lesion:
    return get_object_or_404(
        Lesion.objects.visible_to(user).select_related("patient"), pk=lesion_pk
    )


def get_image_for(user: User, image_pk: int) -> LesionImage:
    return get_object_or_404(
        LesionImage.objects.visible_to(user).select_related("lesion__patient"), pk=image_pk
    )


def lesions_of(patient: Patient) -> QuerySet[Lesion]:
    """The patient's lesions with what the body map and the list need about their images."""
    return patient.lesions.annotate(
        image_count=Count("images"), last_captured_on=Max("images__captured_on")
    ).order_by("first_noted_on", "pk")


@dataclass(frozen=True)
class TimelineEntry:
    image: LesionImage
    days_since_previous: int | None  # None for the first image
    days_since_first: int


def lesion_timeline(lesion: Lesion) -> list[TimelineEntry]:
    """The lesion's images in capture order, with the intervals a follow-up visit looks at."""
    images = list(lesion.images.in_capture_order().select_related("uploaded_by"))
    entries = []
    for index, image in enumerate(images):
        previous = images[index - 1] if index else None
        entries.append(
            TimelineEntry(
                image=image,
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
        Analysis.objects.visible_to(user).select_related("image__lesion", "model_version"),
        pk=analysis_pk,
    )


@dataclass(frozen=True)
class ImageAnalysis:
    image: LesionImage
    analysis: Analysis | None  # the image's newest analysis; None if it was never analysed


def image_analyses(lesion: Lesion) -> list[ImageAnalysis]:
    """Each image of the lesion, newest capture first, with the analysis the page shows."""
    newest = {
        analysis.image_id: analysis
        for analysis in Analysis.objects.filter(image__lesion=lesion)
        .latest_per_image()
        .select_related("model_version")
    }
    images = lesion.images.order_by("-captured_on", "-created_at", "-pk")
    return [ImageAnalysis(image=image, analysis=newest.get(image.pk)) for image in images]


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
