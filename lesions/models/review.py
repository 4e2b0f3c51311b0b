from __future__ import annotations

from typing import TYPE_CHECKING

from django.conf import settings
from django.db import models
from django.db.models import Exists, OuterRef, Q

from .analysis import Analysis
from .lesion import ConfirmedDiagnosis

if TYPE_CHECKING:
    from .user import User

OTHER_DIAGNOSIS = "other"


class ReviewDiagnosis(models.TextChoices):
    """What the reviewer says the lesion is: a class the model knows, or something else."""

    AKIEC = ConfirmedDiagnosis.AKIEC.value, ConfirmedDiagnosis.AKIEC.label
    BCC = ConfirmedDiagnosis.BCC.value, ConfirmedDiagnosis.BCC.label
    BKL = ConfirmedDiagnosis.BKL.value, ConfirmedDiagnosis.BKL.label
    DF = ConfirmedDiagnosis.DF.value, ConfirmedDiagnosis.DF.label
    MEL = ConfirmedDiagnosis.MEL.value, ConfirmedDiagnosis.MEL.label
    NV = ConfirmedDiagnosis.NV.value, ConfirmedDiagnosis.NV.label
    SCC = ConfirmedDiagnosis.SCC.value, ConfirmedDiagnosis.SCC.label
    VASC = ConfirmedDiagnosis.VASC.value, ConfirmedDiagnosis.VASC.label
    OTHER = OTHER_DIAGNOSIS, "Other (describe)"


class ReviewBasis(models.TextChoices):
    HISTOPATHOLOGY = "histopathology", "Histopathology"
    CLINICAL = "clinical", "Clinical examination"
    FOLLOW_UP = "follow_up", "Dermoscopic follow-up"
    CONSENSUS = "consensus", "Expert consensus"


class ManagementDecision(models.TextChoices):
    MONITOR = "monitor", "Monitor"
    SHORT_TERM_RECHECK = "short_term_recheck", "Short-term recheck"
    EXCISE = "excise", "Excise"
    REFER = "refer", "Refer"
    DISCHARGE = "discharge", "Discharge"


class ReviewQuerySet(models.QuerySet["Review"]):
    def visible_to(self, user: User) -> ReviewQuerySet:
        if not getattr(user, "is_authenticated", False) or user.clinic_id is None:
            return self.none()
        return self.filter(analysis__image__lesion__patient__clinic_id=user.clinic_id)

    def current(self) -> ReviewQuerySet:
        """Reviews no later review has superseded (one per reviewed analysis)."""
        return self.exclude(Exists(Review.objects.filter(supersedes=OuterRef("pk"))))


class Review(models.Model):
    """A clinician's sign-off of one analysis. Never edited: a new review supersedes it.

    ``agrees_with_model`` is stored rather than derived because the model's top class of
    the reviewed analysis is fixed; the admin's agreement figures read it directly.
    """

    analysis = models.ForeignKey(Analysis, on_delete=models.CASCADE, related_name="reviews")
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="reviews"
    )
    agrees_with_model = models.BooleanField()
    diagnosis = models.CharField(max_length=16, choices=ReviewDiagnosis.choices)
    diagnosis_other = models.CharField(
        "other diagnosis", max_length=200, blank=True, help_text="Only when the diagnosis is other."
    )
    basis = models.CharField(max_length=16, choices=ReviewBasis.choices)
    management = models.CharField(
        "management decision", max_length=24, choices=ManagementDecision.choices
    )
    note = models.TextField(blank=True)
    supersedes = models.OneToOneField(
        "self",
        null=True,
        blank=True,
        on_delete=models.CASCADE,  # only ever deleted together, with their analysis
        related_name="superseded_by",
        help_text="The earlier review of the same analysis that this one replaces.",
    )
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    objects = ReviewQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=~Q(diagnosis=OTHER_DIAGNOSIS) | ~Q(diagnosis_other=""),
                name="review_other_diagnosis_is_described",
                violation_error_message="Describe the other diagnosis.",
            ),
        ]

    def __str__(self) -> str:
        return f"Review {self.pk} of analysis {self.analysis_id}"

    def save(self, *args, **kwargs) -> None:
        # Sign-offs are medico-legal records: a correction is a new, superseding review.
        if self.pk is not None:
            raise ValueError("A review is never changed; record a new review instead.")
        super().save(*args, **kwargs)

    @property
    def diagnosis_display(self) -> str:
        if self.diagnosis == OTHER_DIAGNOSIS:
            return self.diagnosis_other
        return self.get_diagnosis_display()
