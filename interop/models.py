"""One send of a patient's (or one visit's) DICOM objects to the PACS, with its status."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Q

from lesions.models import Patient

if TYPE_CHECKING:
    from lesions.models import User


class SendStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    SENDING = "sending", "Sending"
    SENT = "sent", "Sent"
    FAILED = "failed", "Failed"


class PacsSendQuerySet(models.QuerySet["PacsSend"]):
    def visible_to(self, user: User) -> PacsSendQuerySet:
        if not getattr(user, "is_authenticated", False) or user.clinic_id is None:
            return self.none()
        return self.filter(patient__clinic_id=user.clinic_id)


class PacsSend(models.Model):
    """``queued`` -> ``sending`` (a worker took it) -> ``sent`` once the PACS confirmed every
    object, or ``failed`` with a reason. A retried attempt goes back through ``sending``;
    ``sent`` is never written for a send the PACS did not confirm in full."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="pacs_sends")
    captured_on = models.DateField(
        null=True, blank=True, help_text="The visit sent; empty when every visit was sent."
    )
    status = models.CharField(max_length=8, choices=SendStatus.choices, default=SendStatus.QUEUED)
    failure_reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="pacs_sends",
    )
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    instances_total = models.PositiveIntegerField(default=0)
    instances_stored = models.PositiveIntegerField(
        default=0, help_text="Objects the PACS confirmed in the latest attempt."
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    objects = PacsSendQuerySet.as_manager()

    class Meta:
        verbose_name = "PACS send"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(status=SendStatus.FAILED) | ~Q(failure_reason=""),
                name="pacs_send_failed_has_reason",
                violation_error_message="A failed send must say why.",
            ),
            models.CheckConstraint(
                condition=~Q(status=SendStatus.SENT)
                | Q(instances_stored=models.F("instances_total")),
                name="pacs_send_sent_is_complete",
                violation_error_message="A send is only sent when every object was stored.",
            ),
        ]

    def __str__(self) -> str:
        scope = f"visit {self.captured_on:%Y-%m-%d}" if self.captured_on else "all visits"
        return f"PACS send {self.pk} of patient {self.patient_id}, {scope} ({self.status})"

    @property
    def is_pending(self) -> bool:
        return self.status in (SendStatus.QUEUED, SendStatus.SENDING)
