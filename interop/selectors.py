"""Reads for exports and sends, scoped to the user's clinic like every lesions selector: a
record of another clinic is indistinguishable from one that does not exist (404)."""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db.models import QuerySet

from interop.models import PacsSend
from lesions import selectors
from lesions.models import (
    Analysis,
    AnalysisStatus,
    Lesion,
    LesionImage,
    Patient,
    Review,
    ReviewBasis,
    User,
)


@dataclass
class ExportScope:
    """What one export holds: a patient and the lesions, images and finished analyses chosen.

    ``analyses`` maps an image's pk to the analysis exported for it (its newest finished
    one, or the one asked for); ``confirmations`` a lesion's pk to the histopathology review
    that confirmed its diagnosis, when there is one.
    """

    patient: Patient
    lesions: list[Lesion]
    images: list[LesionImage]
    analyses: dict[int, Analysis] = field(default_factory=dict)
    confirmations: dict[int, Review] = field(default_factory=dict)
    whole_record: bool = False

    def visit_dates(self) -> list[datetime.date]:
        return sorted({image.captured_on for image in self.images})


def patient_scope_for(user: User, patient_pk: int) -> ExportScope:
    patient = selectors.get_patient_for(user, patient_pk)
    return patient_scope(patient)


def patient_scope(patient: Patient, *, captured_on: datetime.date | None = None) -> ExportScope:
    """The whole record (or one visit of it). Also used by the PACS task, which has no user."""
    lesions = list(Lesion.objects.filter(patient=patient).order_by("number"))
    images = LesionImage.objects.filter(lesion__patient=patient)
    if captured_on is not None:
        images = images.filter(captured_on=captured_on)
    return _filled(patient, lesions, list(images.in_capture_order()), whole=captured_on is None)


def lesion_scope_for(user: User, lesion_pk: int) -> ExportScope:
    lesion = selectors.get_lesion_for(user, lesion_pk)
    images = list(LesionImage.objects.filter(lesion=lesion).in_capture_order())
    return _filled(lesion.patient, [lesion], images)


def analysis_scope_for(user: User, analysis_pk: int) -> ExportScope:
    """One analysis with its image and lesion; a pending or failed one exports no result."""
    analysis = selectors.get_analysis_for(user, analysis_pk)
    image = analysis.image
    scope = _filled(image.lesion.patient, [image.lesion], [image], newest=False)
    if analysis.status == AnalysisStatus.DONE:
        scope.analyses = {image.pk: analysis}
    return scope


def _filled(
    patient: Patient,
    lesions: list[Lesion],
    images: list[LesionImage],
    *,
    whole: bool = False,
    newest: bool = True,
) -> ExportScope:
    by_pk = {lesion.pk: lesion for lesion in lesions}
    for image in images:
        image.lesion = by_pk[image.lesion_id]  # no query per image for its lesion
        image.lesion.patient = patient
    scope = ExportScope(patient=patient, lesions=lesions, images=images, whole_record=whole)
    if newest:
        scope.analyses = newest_results_of(images)
    scope.confirmations = confirming_reviews(lesions)
    return scope


def newest_results_of(images: list[LesionImage]) -> dict[int, Analysis]:
    """Each image's newest finished analysis (the result the pages show), with its model."""
    done = (
        Analysis.objects.filter(image__in=images, status=AnalysisStatus.DONE)
        .with_model_version()
        .prefetch_related(selectors.reviews_prefetch())
        .order_by("image_id", "-created_at", "-pk")
    )
    newest: dict[int, Analysis] = {}
    for analysis in done:
        newest.setdefault(analysis.image_id, analysis)
    return newest


def confirming_reviews(lesions: list[Lesion]) -> dict[int, Review]:
    """Per lesion with a confirmed diagnosis, the newest histopathology review that set it."""
    confirmed = [lesion for lesion in lesions if lesion.confirmed_diagnosis]
    reviews = (
        Review.objects.current()
        .filter(analysis__image__lesion__in=confirmed, basis=ReviewBasis.HISTOPATHOLOGY)
        .select_related("reviewer", "analysis__image")
        .order_by("-created_at", "-pk")
    )
    found: dict[int, Review] = {}
    for review in reviews:
        found.setdefault(review.analysis.image.lesion_id, review)
    return found


def sends_of(patient: Patient) -> QuerySet[PacsSend]:
    return PacsSend.objects.filter(patient=patient).select_related("requested_by")


def latest_send_of(patient: Patient) -> PacsSend | None:
    return sends_of(patient).first()
