from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from lesions.follow_up.worklist_cache import clinic_of_lesion, forget_worklist_counts
from lesions.models import AuditAction, Lesion, LesionStatus, Patient, User

from ._changes import apply_changes
from .audit import record_event
from .images import delete_lesion_image

LESION_EDITABLE_FIELDS = (
    "label",
    "body_site",
    "body_view",
    "map_x",
    "map_y",
    "status",
    "first_noted_on",
    "notes",
)
# The confirmed diagnosis is set by a review with histopathology as its basis
# (lesions.services.reviews), never edited directly.


def create_lesion(
    *,
    patient: Patient,
    created_by: User | None,
    label: str,
    body_site: str,
    body_view: str,
    map_x: float,
    map_y: float,
    status: str = LesionStatus.MONITORING,
    first_noted_on: datetime.date | None = None,
    notes: str = "",
) -> Lesion:
    lesion = Lesion(
        patient=patient,
        number=0,  # given out below, under the patient's row lock
        label=label.strip(),
        body_site=body_site,
        body_view=body_view,
        map_x=map_x,
        map_y=map_y,
        status=status,
        first_noted_on=first_noted_on or timezone.localdate(),
        notes=notes.strip(),
    )
    with transaction.atomic():
        lesion.full_clean(exclude=["number"])
        lesion.check_noted_after_birth()
        lesion.number = allocate_lesion_number(patient)
        lesion.save()
        record_event(actor=created_by, action=AuditAction.CREATED, target=lesion)
    return lesion


def allocate_lesion_number(patient: Patient) -> int:
    """The patient's next lesion number (never reused). Locks the patient's row, so two
    lesions added at once get different numbers (the lock lasts as long as the caller's
    transaction, so the number and the lesion are committed together)."""
    with transaction.atomic():
        locked = Patient.objects.select_for_update().only("last_lesion_number").get(pk=patient.pk)
        locked.last_lesion_number += 1
        Patient.objects.filter(pk=patient.pk).update(last_lesion_number=locked.last_lesion_number)
    patient.last_lesion_number = locked.last_lesion_number
    return locked.last_lesion_number


def update_lesion(*, lesion: Lesion, changed_by: User | None, **changes: Any) -> Lesion:
    """Change the given fields (see LESION_EDITABLE_FIELDS); a lesion never changes patient."""
    with transaction.atomic():
        changed = apply_changes(lesion, changes, editable=LESION_EDITABLE_FIELDS)
        lesion.full_clean()
        if "first_noted_on" in changed:
            lesion.check_noted_after_birth()
            lesion.check_noted_before_first_image()
        if changed:
            lesion.save()
            record_event(
                actor=changed_by, action=AuditAction.CHANGED, target=lesion, changed_fields=changed
            )
            forget_worklist_counts(clinic_id=clinic_of_lesion(lesion.pk))
    return lesion


def delete_lesion(*, lesion: Lesion, deleted_by: User | None) -> None:
    with transaction.atomic():
        for image in lesion.images.all():
            delete_lesion_image(image=image, deleted_by=deleted_by)
        record_event(actor=deleted_by, action=AuditAction.DELETED, target=lesion)
        forget_worklist_counts(clinic_id=clinic_of_lesion(lesion.pk))
        lesion.delete()
