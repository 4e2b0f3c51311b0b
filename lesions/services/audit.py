"""Writes the audit trail. Every service that creates, changes or deletes a clinical record
calls ``record_event`` inside its own transaction, so the event and the change commit together.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from lesions.models import (
    AuditAction,
    AuditEvent,
    AuditTarget,
    Lesion,
    LesionImage,
    Patient,
    Review,
    User,
)

AuditedRecord = Patient | Lesion | LesionImage | Review

# The API device the current request came from. Set by the API around each request, so the
# services (shared with the pages and the admin) need no extra argument to record it.
_acting_device: ContextVar[str] = ContextVar("acting_device", default="")


@contextmanager
def acting_device(name: str) -> Iterator[None]:
    """Events recorded inside this block name ``name`` as the device they came from."""
    token = _acting_device.set(name[:100])
    try:
        yield
    finally:
        _acting_device.reset(token)


def record_event(
    *,
    actor: User | None,
    action: AuditAction,
    target: AuditedRecord,
    changed_fields: Iterable[str] = (),
) -> AuditEvent:
    patient = _patient_of(target)
    return AuditEvent.objects.create(
        actor=actor,
        action=action,
        target_type=_target_type(target),
        target_id=target.pk,
        target_repr=str(target)[:300],
        clinic_id=patient.clinic_id,
        patient_id=patient.pk,
        changed_fields=sorted(changed_fields),
        device=_acting_device.get(),
    )


def record_view(*, actor: User, target: AuditedRecord) -> AuditEvent:
    """Called by the detail views: reading health data is audited like changing it."""
    return record_event(actor=actor, action=AuditAction.VIEWED, target=target)


def record_report(*, actor: User, patient: Patient) -> AuditEvent:
    """A generated patient report (page or PDF) is a disclosure of the whole record."""
    return record_event(actor=actor, action=AuditAction.EXPORTED, target=patient)


def _target_type(target: AuditedRecord) -> AuditTarget:
    if isinstance(target, Patient):
        return AuditTarget.PATIENT
    if isinstance(target, Lesion):
        return AuditTarget.LESION
    if isinstance(target, LesionImage):
        return AuditTarget.IMAGE
    if isinstance(target, Review):
        return AuditTarget.REVIEW
    raise TypeError(f"{type(target).__name__} is not an audited record")


def _patient_of(target: AuditedRecord) -> Patient:
    if isinstance(target, Patient):
        return target
    if isinstance(target, Lesion):
        return target.patient
    if isinstance(target, Review):
        return target.analysis.image.lesion.patient
    return target.lesion.patient
