"""Recording a clinician's review (sign-off) of an analysis."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from lesions.models import (
    Analysis,
    AnalysisStatus,
    AuditAction,
    Lesion,
    Review,
    ReviewBasis,
    ReviewDiagnosis,
    User,
)

from .audit import record_event
from .follow_up import refresh_follow_up


def record_review(
    *,
    analysis: Analysis,
    reviewer: User,
    agrees_with_model: bool,
    basis: str,
    management: str,
    diagnosis: str = "",
    diagnosis_other: str = "",
    note: str = "",
) -> Review:
    """Sign off a finished analysis. A second review of it supersedes the first; both stay.

    Agreeing takes the model's top class as the diagnosis. With histopathology as the
    basis, the diagnosis becomes the lesion's confirmed diagnosis (what ``train_model
    --from-db`` learns from), unless it is "other", which no class of the model names.
    """
    with transaction.atomic():
        # The analysis row is the lock: two reviews at once cannot supersede the same one.
        analysis = Analysis.objects.select_for_update().select_related("image").get(pk=analysis.pk)
        if analysis.status != AnalysisStatus.DONE:
            raise ValidationError("Only a finished analysis can be reviewed.", code="not_done")
        if agrees_with_model:
            if analysis.top_class not in ReviewDiagnosis.values:
                raise ValidationError(
                    "The model's class is not one a review can confirm; choose a diagnosis.",
                    code="unknown_class",
                )
            diagnosis, diagnosis_other = analysis.top_class, ""
        elif diagnosis == analysis.top_class:
            agrees_with_model = True  # choosing the model's own class is agreeing with it
        if diagnosis != ReviewDiagnosis.OTHER:
            diagnosis_other = ""
        review = Review(
            analysis=analysis,
            reviewer=reviewer,
            agrees_with_model=agrees_with_model,
            diagnosis=diagnosis,
            diagnosis_other=diagnosis_other.strip(),
            basis=basis,
            management=management,
            note=note.strip(),
            supersedes=analysis.reviews.current().first(),
        )
        review.full_clean()
        review.save()
        lesion = Lesion.objects.select_related("patient").get(pk=analysis.image.lesion_id)
        record_event(actor=reviewer, action=AuditAction.CREATED, target=review)
        if basis == ReviewBasis.HISTOPATHOLOGY and diagnosis != ReviewDiagnosis.OTHER:
            _confirm_diagnosis(lesion, diagnosis, reviewer)
        refresh_follow_up(lesion_id=lesion.pk)
    return review


def _confirm_diagnosis(lesion: Lesion, diagnosis: str, reviewer: User) -> None:
    """Histopathology settles the lesion's diagnosis (what ``train_model --from-db`` learns)."""
    if lesion.confirmed_diagnosis == diagnosis:
        return
    lesion.confirmed_diagnosis = diagnosis
    lesion.full_clean()
    lesion.save(update_fields=["confirmed_diagnosis", "updated_at"])
    record_event(
        actor=reviewer,
        action=AuditAction.CHANGED,
        target=lesion,
        changed_fields=["confirmed_diagnosis"],
    )
