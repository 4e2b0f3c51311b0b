"""Celery task: send a patient's (or a visit's) DICOM objects to the PACS.

Retried with exponential backoff while the PACS is unavailable (down, timing out, 5xx); a
refusal fails at once. Idempotent: the objects' UIDs are derived from the records, so a
redelivered or retried task stores the same instances again, never copies.
"""

from __future__ import annotations

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from django.conf import settings

from interop import services
from interop.pacs import PacsError, PacsUnavailable

TIME_LIMIT = 900  # a whole record of large images over a slow link


@shared_task(
    bind=True,
    name="interop.tasks.send_to_pacs",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=TIME_LIMIT - 30,
    time_limit=TIME_LIMIT,
    max_retries=None,  # counted against DERMASCAN_PACS_MAX_RETRIES below
)
def send_to_pacs(self, send_pk: int) -> str:
    """Returns what happened: "sent", "retrying", "failed" or "skipped"."""
    send = services.claim_send(send_pk=send_pk, task_id=self.request.id or "")
    if send is None:
        return "skipped"  # already sent or failed: a redelivery has nothing to do
    try:
        services.deliver(send)
    except PacsUnavailable as exc:
        retries = self.request.retries
        limit = settings.DERMASCAN_PACS_MAX_RETRIES
        if retries >= limit:
            services.fail_send(send_pk=send_pk, reason=f"{exc} Gave up after {limit + 1} tries.")
            return "failed"
        services.retry_send(send_pk=send_pk, reason=str(exc), retry=retries + 1, of=limit)
        delay = settings.DERMASCAN_PACS_RETRY_DELAY * 2**retries
        raise self.retry(exc=exc, countdown=delay) from exc
    except PacsError as exc:
        services.fail_send(send_pk=send_pk, reason=str(exc))
        return "failed"
    except SoftTimeLimitExceeded:
        services.fail_send(send_pk=send_pk, reason="The send took too long and was stopped.")
        return "failed"
    except Exception as exc:
        # Anything else (a missing file, a broken record): failed with the reason, not left
        # "sending" for ever; re-raised so the worker logs the traceback.
        services.fail_send(send_pk=send_pk, reason=f"The objects could not be sent: {exc}")
        raise
    return "sent"
