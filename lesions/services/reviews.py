"""Recording a clinician's review (sign-off) of an analysis."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction

from lesions.models import (
    Analysis,
    AnalysisStatus,
    AuditAction,
    Lesion,
    LesionStatus,
    ManagementDecision,
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
    Agreeing with a High or Moderate result but deciding to monitor or discharge needs
    the reason in the note. The lesion's status follows the management decision.
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
        check_reason_given(
            result_state=analysis.result_state,
            agrees_with_model=agrees_with_model,
            management=management,
            note=note,
        )
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
        _follow_decision(lesion, status_after(management=management, basis=basis), reviewer)
        refresh_follow_up(lesion_id=lesion.pk)
    return review


# Agreeing that a result is worrying and then deciding to watch or let go contradicts
# itself unless the clinician says why (e.g. "unchanged for 3 years on dermoscopy").
CONCERNING_STATES = {"high": "High", "moderate": "Moderate"}
RELAXED_DECISIONS = {ManagementDecision.MONITOR, ManagementDecision.DISCHARGE}


def reason_required(*, result_state: str, agrees_with_model: bool | None, management: str) -> bool:
    return (
        bool(agrees_with_model)
        and result_state in CONCERNING_STATES
        and management in RELAXED_DECISIONS
    )


def check_reason_given(
    *, result_state: str, agrees_with_model: bool | None, management: str, note: str
) -> None:
    """Refuse a High/Moderate agreement with Monitor or Discharge that gives no reason."""
    if not reason_required(
        result_state=result_state, agrees_with_model=agrees_with_model, management=management
    ):
        return
    if note.strip():
        return
    risk = CONCERNING_STATES[result_state]
    decision = ManagementDecision(management).label
    raise ValidationError(
        {
            "note": (
                f"You agree with a {risk}-risk result but chose “{decision}”: "
                "write the reason in the note."
            )
        },
        code="reason_required",
    )


def status_after(*, management: str, basis: str) -> str:
    """The lesion's status a decision leads to. "Excise" with histopathology as the basis
    means the excision has been done (the pathology came back); otherwise it is planned."""
    if management == ManagementDecision.EXCISE:
        if basis == ReviewBasis.HISTOPATHOLOGY:
            return LesionStatus.EXCISED
        return LesionStatus.EXCISION_PLANNED
    return {
        ManagementDecision.REFER: LesionStatus.REFERRED,
        ManagementDecision.DISCHARGE: LesionStatus.DISCHARGED,
    }.get(management, LesionStatus.MONITORING)


def _follow_decision(lesion: Lesion, status: str, reviewer: User) -> None:
    # An archived lesion stays archived: archiving is a records decision, not a clinical one.
    if lesion.status in (status, LesionStatus.ARCHIVED):
        return
    lesion.status = status
    lesion.save(update_fields=["status", "updated_at"])
    record_event(
        actor=reviewer, action=AuditAction.CHANGED, target=lesion, changed_fields=["status"]
    )


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
