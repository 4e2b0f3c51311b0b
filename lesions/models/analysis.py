from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Case, F, IntegerField, Q, Value, When

from classifier.labels import display_name

from .lesion_image import LesionImage

if TYPE_CHECKING:
    from .user import User


class AnalysisStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"


PENDING_STATUSES = (AnalysisStatus.QUEUED, AnalysisStatus.RUNNING)


class ResultState(models.TextChoices):
    """The one message a finished analysis gives (DESIGN.md, "Result states").

    Exactly one per done analysis, in the page, the API and the admin. ``not_assessable``
    carries no class and no risk; ``inconclusive`` is never shown as Low.
    """

    NOT_ASSESSABLE = "not_assessable", "Not assessable"
    INCONCLUSIVE = "inconclusive", "Inconclusive"
    HIGH = "high", "High risk"
    MODERATE = "moderate", "Moderate risk"
    LOW = "low", "Low risk"


# The order in which results wait for review: the ones a clinician should see first come
# first. Shared by the worklist's ORDER BY and the index that serves it (same expression).
REVIEW_PRIORITY = Case(
    When(result_state="high", then=Value(0)),
    When(result_state="inconclusive", then=Value(1)),
    When(result_state="moderate", then=Value(2)),
    When(result_state="not_assessable", then=Value(3)),
    default=Value(4),
    output_field=IntegerField(),
)


def opaque_heatmap_name(instance: Analysis, filename: str) -> str:
    return f"analysis-heatmaps/{uuid.uuid4().hex}.jpg"


class AnalysisQuerySet(models.QuerySet["Analysis"]):
    def visible_to(self, user: User) -> AnalysisQuerySet:
        if not getattr(user, "is_authenticated", False) or user.clinic_id is None:
            return self.none()
        return self.filter(image__lesion__patient__clinic_id=user.clinic_id)

    def pending(self) -> AnalysisQuerySet:
        return self.filter(status__in=PENDING_STATUSES)

    def newest_first(self) -> AnalysisQuerySet:
        return self.order_by("-created_at", "-pk")

    def latest_per_image(self) -> AnalysisQuerySet:
        """Only each image's newest analysis (the one the pages show): the row flagged
        ``is_latest`` by ``request_analysis``, read through the partial indexes below."""
        return self.filter(is_latest=True)

    def with_model_version(self) -> AnalysisQuerySet:
        """Each analysis's model version joined in, as much of it as an analysis shows.

        Its card, metrics, manifest and classes are JSON of tens of kilobytes (the default
        card alone is 16 kB): loading them with every analysis cost a lesion history of 10
        images 3 ms of CPU to read and parse what no analysis view shows.
        """
        bulky = ("manifest", "classes", "metrics", "card")
        return self.select_related("model_version").defer(
            *(f"model_version__{name}" for name in bulky)
        )


class Analysis(models.Model):
    """One run of the classifier on one image. Never overwritten: re-analysing adds a row.

    Life cycle: ``queued`` (row written with the upload) -> ``running`` (claimed by a
    worker) -> ``done`` with the result, or ``failed`` with a reason. ``attempts`` counts
    claims; it is also the fencing token that lets only the latest claim write a result.
    """

    image = models.ForeignKey(LesionImage, on_delete=models.CASCADE, related_name="analyses")
    status = models.CharField(
        max_length=8, choices=AnalysisStatus.choices, default=AnalysisStatus.QUEUED
    )
    failure_reason = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requested_analyses",
        help_text="Empty when the system asked (e.g. a bulk re-analysis without a user).",
    )

    # Delivery bookkeeping (the sweeper and the workers' claims use these).
    task_id = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    enqueued_at = models.DateTimeField(help_text="When the task was last sent to the queue.")
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    inference_ms = models.PositiveIntegerField(
        null=True, blank=True, help_text="Time the worker spent on the image (load to result)."
    )

    # Which model produced the result (recorded by the worker that ran it).
    model_version = models.ForeignKey(
        "classifier.ModelVersion",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="analyses",
        help_text="Empty when the default model shipped with the code was served.",
    )
    model_id = models.CharField("model", max_length=200, blank=True)
    model_sha256 = models.CharField("model weights SHA-256", max_length=64, blank=True)

    # The result.
    probabilities = models.JSONField(default=dict, blank=True)
    top_class = models.CharField(max_length=32, blank=True)
    top_class_display = models.CharField(max_length=100, blank=True)
    confidence = models.FloatField(null=True, blank=True)
    uncertain = models.BooleanField(default=False)
    uncertainty_message = models.TextField(blank=True)
    entropy = models.FloatField(null=True, blank=True)
    risk_level = models.CharField(max_length=16, blank=True)
    recommended_action = models.TextField(blank=True)
    malignant_probability = models.FloatField(null=True, blank=True)
    tta_views = models.PositiveSmallIntegerField(null=True, blank=True)
    tta_spread = models.JSONField(default=dict, blank=True)
    gate_distance = models.FloatField(
        null=True,
        blank=True,
        help_text="The gate's feature-space distance of the image (larger = less like the "
        "training images); empty for results recorded before it was kept. Monitoring "
        "compares its distribution with val's.",
    )
    heatmap = models.FileField(upload_to=opaque_heatmap_name, max_length=200, blank=True)

    # The one message of a finished analysis; empty while pending or failed.
    result_state = models.CharField(
        max_length=16, choices=ResultState.choices, blank=True, db_index=True
    )
    state_reason = models.TextField(
        blank=True,
        help_text="Why the result is not assessable or inconclusive, in words for the clinician.",
    )
    # The image's newest analysis (the one every page shows), kept by request_analysis in
    # the transaction that adds the newer row. Kept on the analysis rather than as a
    # reference on the image so that the worklist's partial indexes, which must hold the
    # status, state and finish time of the very rows they select, can say "WHERE is_latest".
    is_latest = models.BooleanField(default=False, editable=False)

    objects = AnalysisQuerySet.as_manager()

    class Meta:
        verbose_name_plural = "analyses"
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "enqueued_at"]),
            # The worklist's "waiting for review": newest finished results, in its order.
            models.Index(
                REVIEW_PRIORITY,
                F("finished_at").desc(),
                F("id").desc(),
                name="analysis_latest_done_idx",
                condition=Q(is_latest=True, status=AnalysisStatus.DONE),
            ),
            # Its "failed analyses", newest first.
            models.Index(
                F("finished_at").desc(),
                F("id").desc(),
                name="analysis_latest_failed_idx",
                condition=Q(is_latest=True, status=AnalysisStatus.FAILED),
            ),
        ]
        constraints = [
            # At most one newest analysis per image; also the index of "an image's newest".
            models.UniqueConstraint(
                fields=["image"], condition=Q(is_latest=True), name="analysis_one_latest_per_image"
            ),
            models.CheckConstraint(
                condition=~Q(status=AnalysisStatus.DONE) | ~Q(top_class=""),
                name="analysis_done_has_result",
                violation_error_message="A finished analysis must have a result.",
            ),
            models.CheckConstraint(
                condition=~Q(status=AnalysisStatus.FAILED) | ~Q(failure_reason=""),
                name="analysis_failed_has_reason",
                violation_error_message="A failed analysis must say why.",
            ),
        ]

    def __str__(self) -> str:
        return f"Analysis {self.pk} of image {self.image_id} ({self.status})"

    @property
    def class_shown(self) -> str:
        """The top class as the pages and the API show it: none for a not-assessable image.

        The engine still records its top class (kept for audit), but an image the model
        cannot judge must not read as a diagnosis anywhere.
        """
        if self.result_state == ResultState.NOT_ASSESSABLE:
            return ""
        return self.top_class_display

    @property
    def is_pending(self) -> bool:
        return self.status in PENDING_STATUSES

    @property
    def probabilities_ranked(self) -> list[dict]:
        """Classes by probability, highest first, with the names the result card shows."""
        ranked = sorted(self.probabilities.items(), key=lambda item: item[1], reverse=True)
        return [
            {"code": code, "name": display_name(code), "probability": p, "percent": 100 * p}
            for code, p in ranked
        ]

    @property
    def duration_ms(self) -> int | None:
        """Upload (or re-analysis request) to result, as the clinician waited for it."""
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.created_at).total_seconds() * 1000)
