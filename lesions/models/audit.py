from django.conf import settings
from django.db import models

from .clinic import Clinic


class AuditAction(models.TextChoices):
    VIEWED = "viewed", "Viewed"
    CREATED = "created", "Created"
    CHANGED = "changed", "Changed"
    DELETED = "deleted", "Deleted"
    EXPORTED = "exported", "Exported (report)"


class AuditTarget(models.TextChoices):
    PATIENT = "patient", "Patient"
    LESION = "lesion", "Lesion"
    IMAGE = "image", "Image"
    REVIEW = "review", "Review"


class AuditEvent(models.Model):
    """Who did what to which clinical record, and when. Written by services, never edited.

    The target is kept by type and id rather than a foreign key so that the event
    outlives the record it describes (deletions are audited too).
    """

    occurred_at = models.DateTimeField(auto_now_add=True, db_index=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="audit_events",
        help_text="Empty for actions of the system itself (e.g. a management command).",
    )
    action = models.CharField(max_length=16, choices=AuditAction.choices)
    target_type = models.CharField(max_length=16, choices=AuditTarget.choices)
    target_id = models.BigIntegerField()
    target_repr = models.CharField("target", max_length=300)
    clinic = models.ForeignKey(
        Clinic, null=True, on_delete=models.PROTECT, related_name="audit_events"
    )
    patient_id = models.BigIntegerField(
        null=True, db_index=True, help_text="The patient the target belongs to, for filtering."
    )
    device = models.CharField(
        max_length=100,
        blank=True,
        help_text="The API device the action came from; empty for the web pages and the admin.",
    )
    # Names only, not values: the audit trail must not become a second copy of health data.
    changed_fields = models.JSONField(default=list, blank=True)

    class Meta:
        ordering = ["-occurred_at", "-pk"]
        indexes = [models.Index(fields=["target_type", "target_id"])]

    def __str__(self) -> str:
        who = self.actor or "system"
        return f"{who} {self.action} {self.target_type} {self.target_id}"
