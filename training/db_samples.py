"""--from-db: clinic images whose diagnosis a clinician confirmed, as extra samples.

The images are copied out of Django's storage (local folder or S3) into a
folder under var/, because training reads files many times. A patient's
images stay together: the split is fixed by a hash of the patient's id, so no
patient is in two splits (their lesions look alike, their skin and camera too),
and adding new cases never moves an old one between train, val and test. The
``test`` part is each clinic's held-out set (monitoring's champion/challenger).
"""

from __future__ import annotations

import hashlib
from pathlib import Path

from classifier.labels import CLASS_SETS
from training.data import DataError, LabelledData, Sample, _map_label

DIAGNOSIS_FIELD = "confirmed_diagnosis"


def split_for_lesion(lesion_key: str) -> str:
    """Stable 70/15/15 assignment from a hash of the lesion key."""
    bucket = int(hashlib.sha256(lesion_key.encode()).hexdigest()[:8], 16) % 100
    if bucket < 15:
        return "test"
    if bucket < 30:
        return "val"
    return "train"


def split_for_patient(patient_id: int) -> str:
    return split_for_lesion(f"db-patient-{patient_id}")


def confirmed_samples(*, labels: str, export_dir: Path) -> LabelledData:
    """Samples for every image of a lesion with a confirmed diagnosis in ``labels``' set."""
    from django.apps import apps

    try:
        lesion_model = apps.get_model("lesions", "Lesion")
        image_model = apps.get_model("lesions", "LesionImage")
    except LookupError:
        raise DataError("--from-db needs the lesions app (Lesion, LesionImage)") from None
    field_names = {f.name for f in lesion_model._meta.get_fields()}
    if DIAGNOSIS_FIELD not in field_names:
        raise DataError(
            f"--from-db needs Lesion.{DIAGNOSIS_FIELD} (the diagnosis a clinician confirmed); "
            "this installation's lesions app does not record it"
        )
    export_dir = Path(export_dir)
    export_dir.mkdir(parents=True, exist_ok=True)
    images = (
        image_model.objects.select_related("lesion", "lesion__patient")
        .exclude(**{f"lesion__{DIAGNOSIS_FIELD}": ""})
        .exclude(**{f"lesion__{DIAGNOSIS_FIELD}__isnull": True})
        .order_by("pk")
    )
    samples, excluded = [], {}
    for image in images:
        code = str(getattr(image.lesion, DIAGNOSIS_FIELD)).strip().lower()
        label = _map_label(code, labels, image_id=f"db-{image.pk}", isic={})
        if not label:  # None: not in this class set; "": unknown code
            excluded[code] = excluded.get(code, 0) + 1
            continue
        suffix = Path(image.file.name).suffix or ".jpg"
        path = export_dir / f"db-image-{image.pk}{suffix}"
        if not path.is_file():
            with image.file.open("rb") as source:
                path.write_bytes(source.read())
        group = f"db-lesion-{image.lesion_id}"
        split = split_for_patient(image.lesion.patient_id)
        samples.append(Sample(path, label, group, split, f"db-{image.pk}"))
    return LabelledData(
        classes=CLASS_SETS[labels],
        samples=samples,
        layout="database (confirmed diagnoses)",
        root="database",
        excluded=excluded,
    )
