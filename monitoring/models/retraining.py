from __future__ import annotations

from django.conf import settings
from django.db import models


class ChallengerReport(models.Model):
    """A candidate model version compared with the served one (monitoring.comparison).

    Stored with the candidate; ``worse_on`` lists what the activation guard refuses on
    (melanoma sensitivity, not-assessable share), empty when the candidate is not worse
    beyond the intervals anywhere it was measured.
    """

    candidate = models.ForeignKey(
        "classifier.ModelVersion", on_delete=models.CASCADE, related_name="challenger_reports"
    )
    champion_label = models.CharField(max_length=200)
    report = models.JSONField(default=dict)
    worse_on = models.JSONField(default=list, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        verdict = "worse" if self.worse_on else "not worse"
        return f"{self.candidate} vs {self.champion_label}: {verdict}"


class ActivationOverride(models.Model):
    """A superuser's written reason to activate a candidate its report calls worse (audited)."""

    version = models.ForeignKey(
        "classifier.ModelVersion", on_delete=models.CASCADE, related_name="activation_overrides"
    )
    report = models.ForeignKey(ChallengerReport, on_delete=models.CASCADE, related_name="+")
    reason = models.TextField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"Override for {self.version} by {self.created_by} ({self.created_at:%Y-%m-%d})"
