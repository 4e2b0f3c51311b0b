"""A patient with two lesions over two visits, finished results and a confirmed diagnosis."""

from __future__ import annotations

from dataclasses import dataclass

from lesions import services
from lesions.models import Analysis, BodySite, Lesion, LesionImage, Modality, Patient, User
from lesions.tests.factories import LesionFactory, LesionImageFactory, days_ago
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish


@dataclass
class Record:
    patient: Patient
    back: Lesion
    face: Lesion
    images: list[LesionImage]
    analyses: list[Analysis]


def clinical_record(clinician: User) -> Record:
    back = LesionFactory(patient__clinic=clinician.clinic, body_site=BodySite.BACK)
    face = LesionFactory(patient=back.patient, body_site=BodySite.FACE, label="Left cheek")
    first, second = days_ago(40), days_ago(10)
    images = [
        LesionImageFactory(lesion=back, captured_on=first, uploaded_by=clinician),
        LesionImageFactory(lesion=back, captured_on=second, uploaded_by=clinician),
        LesionImageFactory(
            lesion=face,
            captured_on=second,
            uploaded_by=clinician,
            modality=Modality.CLINICAL,
            image_bytes=jpeg_bytes(seed=77),
        ),
    ]
    analyses = [finish(image, task_id=f"task-{image.pk}") for image in images]
    services.record_review(
        analysis=analyses[1],
        reviewer=clinician,
        agrees_with_model=True,
        basis="histopathology",
        management="excise",
        note="Excised; histology confirms.",
    )
    back.refresh_from_db()
    return Record(back.patient, back, face, images, analyses)
