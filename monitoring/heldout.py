"""Each clinic's held-out confirmed cases: the ``test`` split of ``train_model --from-db``.

The split is fixed per patient (``training.db_samples``), so a patient's lesions are all
held out or all trained on, and a case held out once stays held out as more arrive.
"""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import numpy as np

from lesions.models import LesionImage
from monitoring.comparison import ImageSet
from training.db_samples import confirmed_samples


def clinic_sets(*, labels: str, export_dir: Path) -> list[ImageSet]:
    """One image set per clinic with held-out confirmed images; grouped by patient."""
    held_out = [
        s
        for s in confirmed_samples(labels=labels, export_dir=export_dir).samples
        if s.split == "test"
    ]
    image_pks = [int(s.image_id.removeprefix("db-")) for s in held_out]
    owners = {
        pk: (clinic_id, name, patient_id)
        for pk, clinic_id, name, patient_id in LesionImage.objects.filter(
            pk__in=image_pks
        ).values_list(
            "pk",
            "lesion__patient__clinic_id",
            "lesion__patient__clinic__name",
            "lesion__patient_id",
        )
    }
    by_clinic: dict[tuple[int, str], list] = defaultdict(list)
    for sample, pk in zip(held_out, image_pks, strict=True):
        clinic_id, name, patient_id = owners[pk]
        by_clinic[(clinic_id, name)].append((sample, patient_id))
    return [
        ImageSet(
            f"clinic {clinic_id} ({name}) held-out",
            [sample for sample, _ in rows],
            np.array([patient for _, patient in rows]),
        )
        for (clinic_id, name), rows in sorted(by_clinic.items())
    ]
