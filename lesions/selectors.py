"""Reads for the pages and the API. Every lookup is scoped to the user's clinic, so a
record of another clinic is indistinguishable from one that does not exist (404)."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models import Count, Max, QuerySet
from django.shortcuts import get_object_or_404

from lesions.models import Lesion, LesionImage, Patient, User


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
