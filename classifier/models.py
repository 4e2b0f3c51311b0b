"""The model registry: every trained artifact registered as a version; at most one active."""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models
from django.db.models import Q


class ModelVersionQuerySet(models.QuerySet["ModelVersion"]):
    def active(self) -> ModelVersionQuerySet:
        return self.filter(is_active=True)

    def newest_first(self) -> ModelVersionQuerySet:
        return self.order_by("-number")


class ModelVersion(models.Model):
    """A trained classifier artifact (a directory with weights and card.json)."""

    number = models.PositiveIntegerField(
        unique=True, help_text="1, 2, 3… in order of registration."
    )
    name = models.CharField(max_length=100, unique=True)
    artifact_path = models.CharField(
        max_length=500,
        help_text="Where the artifact was registered from; relative paths are resolved from "
        "the project root.",
    )
    store_path = models.CharField(
        max_length=300,
        blank=True,
        help_text="Prefix of the artifact's files in the model store (STORAGES['models']); "
        "empty for versions registered before the store, which load from the artifact path.",
    )
    manifest = models.JSONField(
        default=dict,
        blank=True,
        help_text="{file name: {sha256, size}} of every file in the model store.",
    )
    arch = models.CharField("architecture", max_length=100)
    classes = models.JSONField(help_text="Class codes in the order of the model's outputs.")
    metrics = models.JSONField(default=dict, blank=True)
    card = models.JSONField(default=dict, blank=True, help_text="card.json as registered.")
    sha256 = models.CharField("weights SHA-256", max_length=64)
    is_active = models.BooleanField(default=False, help_text="Served by the inference workers.")
    activated_at = models.DateTimeField(null=True, blank=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = ModelVersionQuerySet.as_manager()

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_active"],
                condition=Q(is_active=True),
                name="at_most_one_active_model_version",
                violation_error_message="Only one model version can be active.",
            ),
        ]

    def __str__(self) -> str:
        return f"v{self.number} {self.name}{' (active)' if self.is_active else ''}"

    @property
    def is_stored(self) -> bool:
        """Served from the model store (a local copy per machine), not from artifact_path."""
        return bool(self.store_path and self.manifest)

    @property
    def directory(self) -> Path:
        """The origin directory (artifact_path); see registry.version_directory for loading."""
        path = Path(self.artifact_path)
        return path if path.is_absolute() else Path(settings.BASE_DIR) / path

    @property
    def headline_metrics(self) -> dict:
        return self.metrics.get("summary", {}) if isinstance(self.metrics, dict) else {}
