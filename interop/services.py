"""Writes of the interop app: PACS sends and their status, and audited exports.

A send's status only moves forward through conditional UPDATEs, so a redelivered task or a
late retry cannot turn a failed send into a sent one without storing everything again.
"""

from __future__ import annotations

import datetime
import logging

from celery import current_app
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from interop import dicom, selectors
from interop.models import PacsSend, SendStatus
from interop.pacs import PacsConfig, PacsError, store_instances
from lesions.models import AuditAction, Lesion, LesionImage, Patient, User
from lesions.services.audit import record_event

logger = logging.getLogger(__name__)

SEND_TO_PACS = "interop.tasks.send_to_pacs"
# Objects per STOW-RS request: bounds the request's size (images are up to ~20 MB each).
BATCH_SIZE = 8
PENDING = (SendStatus.QUEUED, SendStatus.SENDING)


def record_export(*, actor: User, target: Patient | Lesion | LesionImage) -> None:
    """A FHIR export discloses the record like the PDF report does: audited as exported."""
    record_event(actor=actor, action=AuditAction.EXPORTED, target=target)


def request_pacs_send(
    *, patient: Patient, requested_by: User, captured_on: datetime.date | None = None
) -> PacsSend:
    """Queue a send of the patient's record (or one visit); an identical pending send is
    returned instead of a second one. The task is sent once the request has committed."""
    if PacsConfig.from_settings() is None:
        raise ValidationError("No PACS is configured for this installation.", code="pacs_off")
    with transaction.atomic():
        Patient.objects.select_for_update().filter(pk=patient.pk).first()  # one at a time
        pending = PacsSend.objects.filter(
            patient=patient, captured_on=captured_on, status__in=PENDING
        ).first()
        if pending is not None:
            return pending
        send = PacsSend(patient=patient, captured_on=captured_on, requested_by=requested_by)
        scope = selectors.patient_scope(patient, captured_on=captured_on)
        if not scope.images:
            raise ValidationError("There are no images to send.", code="nothing_to_send")
        send.instances_total = dicom.count_objects(scope)
        send.full_clean()
        send.save()
        record_event(actor=requested_by, action=AuditAction.EXPORTED, target=patient)
        transaction.on_commit(lambda: dispatch_send(send.pk))
    return send


def dispatch_send(send_pk: int) -> None:
    """Publish the task; with the broker down the send stays queued and says so."""
    try:
        current_app.send_task(SEND_TO_PACS, args=(send_pk,), ignore_result=True)
    except Exception as exc:  # noqa: BLE001 (any broker error: the request itself succeeded)
        logger.warning("PACS send %s not queued: %s", send_pk, exc)
        PacsSend.objects.filter(pk=send_pk, status=SendStatus.QUEUED).update(
            failure_reason="Waiting for the task queue (it could not be reached)."
        )


def claim_send(*, send_pk: int, task_id: str) -> PacsSend | None:
    """Mark the send ``sending`` for this delivery; ``None`` when it is already finished."""
    claimed = PacsSend.objects.filter(pk=send_pk, status__in=PENDING).update(
        status=SendStatus.SENDING,
        task_id=task_id[:64],
        attempts=F("attempts") + 1,
        started_at=timezone.now(),
        instances_stored=0,
    )
    if not claimed:
        return None
    return PacsSend.objects.select_related("patient__clinic").get(pk=send_pk)


def deliver(send: PacsSend) -> None:
    """One attempt: build every object of the send and store them in batches. Raises
    ``PacsError`` unless the PACS confirmed each one; then the send is marked sent."""
    config = PacsConfig.from_settings()
    if config is None:
        raise PacsError("No PACS is configured any more.")
    scope = selectors.patient_scope(send.patient, captured_on=send.captured_on)
    total = dicom.count_objects(scope)
    PacsSend.objects.filter(pk=send.pk).update(instances_total=total)
    batch: dict[str, bytes] = {}
    stored = 0
    for dataset in dicom.objects_for(scope):
        batch[str(dataset.SOPInstanceUID)] = dicom.to_bytes(dataset)
        if len(batch) == BATCH_SIZE:
            stored = _store(config, batch, send.pk, stored)
    if batch:
        stored = _store(config, batch, send.pk, stored)
    if not complete_send(send_pk=send.pk, stored=stored):
        raise PacsError(f"Only {stored} of {total} objects were confirmed by the PACS.")


def _store(config: PacsConfig, batch: dict[str, bytes], send_pk: int, stored: int) -> int:
    store_instances(config, batch)
    stored += len(batch)
    batch.clear()
    PacsSend.objects.filter(pk=send_pk).update(instances_stored=stored)
    return stored


def complete_send(*, send_pk: int, stored: int) -> bool:
    """``sent`` only when the count confirmed equals the count built (a database check too)."""
    return bool(
        PacsSend.objects.filter(
            pk=send_pk, status=SendStatus.SENDING, instances_total=stored
        ).update(
            status=SendStatus.SENT,
            instances_stored=stored,
            failure_reason="",
            finished_at=timezone.now(),
        )
    )


def retry_send(*, send_pk: int, reason: str, retry: int, of: int) -> None:
    """Back to ``queued`` until the retry runs, with the reason it is waiting."""
    PacsSend.objects.filter(pk=send_pk, status=SendStatus.SENDING).update(
        status=SendStatus.QUEUED, failure_reason=f"Retry {retry} of {of} after: {reason}"
    )


def fail_send(*, send_pk: int, reason: str) -> None:
    PacsSend.objects.filter(pk=send_pk, status__in=PENDING).update(
        status=SendStatus.FAILED, failure_reason=reason[:2000], finished_at=timezone.now()
    )


def describe(error: Exception) -> str:
    return str(error) if isinstance(error, PacsError) else f"{type(error).__name__}: {error}"
