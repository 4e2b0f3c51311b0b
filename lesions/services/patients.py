from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from lesions.models import AuditAction, Clinic, Patient, Sex, User
from lesions.models.patient import split_full_name
from lesions.services.text import clean_name

from ._changes import apply_changes
from .audit import record_event
from .lesions import delete_lesion

PATIENT_EDITABLE_FIELDS = (
    "medical_record_number",
    "family_name",
    "given_names",
    "date_of_birth",
    "sex",
    "fitzpatrick_skin_type",
    "notes",
)


def create_patient(
    *,
    clinic: Clinic,
    created_by: User | None,
    medical_record_number: str,
    family_name: str = "",
    given_names: str = "",
    name: str = "",
    date_of_birth: datetime.date,
    sex: str = Sex.UNKNOWN,
    fitzpatrick_skin_type: int | None = None,
    notes: str = "",
) -> Patient:
    """``name`` (one string, "Given Family" or "Family, Given") is accepted for callers
    written before the name was split; ``family_name``/``given_names`` win when given."""
    if name and not family_name:
        given_names, family_name = split_full_name(clean_name(name))
    patient = Patient(
        clinic=clinic,
        medical_record_number=clean_name(medical_record_number),
        family_name=clean_name(family_name),
        given_names=clean_name(given_names),
        date_of_birth=date_of_birth,
        sex=sex,
        fitzpatrick_skin_type=fitzpatrick_skin_type,
        notes=notes,
    )
    with transaction.atomic():
        patient.full_clean()
        patient.save()
        record_event(actor=created_by, action=AuditAction.CREATED, target=patient)
    return patient


def update_patient(*, patient: Patient, changed_by: User | None, **changes: Any) -> Patient:
    """Change the given fields (see PATIENT_EDITABLE_FIELDS); the clinic never changes here."""
    if isinstance(changes.get("name"), str):  # one-string name from an older caller
        full_name = clean_name(changes.pop("name"))
        changes["given_names"], changes["family_name"] = split_full_name(full_name)
    for field in ("family_name", "given_names", "medical_record_number"):
        if isinstance(changes.get(field), str):
            changes[field] = clean_name(changes[field])
    with transaction.atomic():
        changed = apply_changes(patient, changes, editable=PATIENT_EDITABLE_FIELDS)
        patient.full_clean()
        if changed:
            patient.save()
            record_event(
                actor=changed_by, action=AuditAction.CHANGED, target=patient, changed_fields=changed
            )
    return patient


def delete_patient(*, patient: Patient, deleted_by: User | None) -> None:
    """Delete the patient with all lesions and images; every deletion is audited."""
    with transaction.atomic():
        for lesion in patient.lesions.all():
            delete_lesion(lesion=lesion, deleted_by=deleted_by)
        record_event(actor=deleted_by, action=AuditAction.DELETED, target=patient)
        patient.delete()
