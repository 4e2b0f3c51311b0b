from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q


class AlertKind(models.TextChoices):
    """What left its documented bounds (docs/monitoring.md, "Alerts")."""

    NOT_ASSESSABLE_ROSE = "not_assessable_rose", "Not-assessable share doubled"
    HIGH_SHARE_MOVED = "high_share_moved", "High share moved"
    DRIFT_SHIFTED = "drift_shifted", "Images shifted from validation"
    MELANOMA_MISSED = "melanoma_missed", "Confirmed melanoma rated Low"


class AlertQuerySet(models.QuerySet["Alert"]):
    def open(self) -> AlertQuerySet:
        """Raised, not resolved by a later check and not acknowledged by staff."""
        return self.filter(resolved_at__isnull=True, acknowledged_at__isnull=True)

    def for_clinics(self, clinic_ids) -> AlertQuerySet:
        return self.filter(clinic_id__in=clinic_ids)


class Alert(models.Model):
    """A condition the periodic check found, recorded once while it lasts.

    ``key`` names the condition (kind, model, and for a missed melanoma the analysis); while
    an alert with the same clinic and key is unresolved, later checks only move
    ``last_seen_at``, so an hourly check does not pile up copies. Figures are aggregates:
    an alert carries no patient identifier.
    """

    clinic = models.ForeignKey("lesions.Clinic", on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=32, choices=AlertKind.choices)
    key = models.CharField(max_length=200)
    model_label = models.CharField("model", max_length=200, blank=True)
    message = models.TextField()
    figures = models.JSONField(default=dict, blank=True)
    raised_at = models.DateTimeField(db_index=True)
    last_seen_at = models.DateTimeField()
    resolved_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = AlertQuerySet.as_manager()

    class Meta:
        ordering = ["-raised_at", "-pk"]
        permissions = [("view_monitoring", "Can see the monitoring pages of their clinic")]
        constraints = [
            models.UniqueConstraint(
                fields=["clinic", "key"],
                condition=Q(resolved_at__isnull=True),
                name="one_unresolved_alert_per_condition",
            )
        ]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} ({self.clinic_id}, {self.raised_at:%Y-%m-%d})"

    @property
    def is_open(self) -> bool:
        return self.resolved_at is None and self.acknowledged_at is None
