"""Writes for analyses: requesting one (upload, retry, re-analysis) and the worker's steps.

Exactly-once results come from the database, not from timing: a worker *claims* a row
(queued -> running) in one conditional UPDATE, the claim increments ``attempts``, and the
result is written by a second conditional UPDATE that only matches while the row is still
running under that same attempt. A duplicate or redelivered task therefore either finds
nothing to claim or loses the race to write; it never adds a second result.
"""

from __future__ import annotations

import datetime
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from classifier.risk import REVIEW_ACTION
from lesions.follow_up.worklist_cache import clinic_of_image, forget_worklist_counts
from lesions.models import (
    PENDING_STATUSES,
    Analysis,
    AnalysisStatus,
    LesionImage,
    Modality,
    ResultState,
    User,
)
from lesions.pipeline import dispatch

if TYPE_CHECKING:
    from lesions.pipeline.inference import ServedModelInfo

logger = logging.getLogger(__name__)

# Longer reasons are cut: they are shown on the page and in the admin, not stored as logs.
MAX_REASON_LENGTH = 2000


def request_analysis(*, image: LesionImage, requested_by: User | None = None) -> Analysis:
    """Queue an analysis of ``image``; the task is sent once the transaction commits.

    An image that already has an analysis queued or running gets that one back: asking
    twice does not run the model twice. Called inside ``add_lesion_image``'s transaction,
    so an upload and its queued analysis are written together or not at all.
    """
    with transaction.atomic():
        # The image row is the lock: two requests at once do not queue two analyses.
        list(LesionImage.objects.select_for_update().filter(pk=image.pk).values_list("pk"))
        pending = image.analyses.pending().newest_first().first()
        if pending is not None:
            return pending
        analysis = Analysis(
            image=image, requested_by=requested_by, enqueued_at=timezone.now(), is_latest=True
        )
        # The new row is the image's newest: the flag moves to it in this transaction, under
        # the image's lock (one flagged row per image, a unique partial index says so).
        image.analyses.filter(is_latest=True).update(is_latest=False)
        analysis.full_clean()
        analysis.save()
        forget_worklist_counts(clinic_id=clinic_of_image(image))
        transaction.on_commit(partial(send_analysis_task, analysis.pk))
    return analysis


def reanalyse_images(
    *, images: Iterable[LesionImage], requested_by: User | None = None
) -> list[Analysis]:
    """A new analysis for each image (earlier results are kept; pages show the newest)."""
    return [request_analysis(image=image, requested_by=requested_by) for image in images]


def send_analysis_task(analysis_pk: int) -> bool:
    """Put the analysis on the inference queue. False (and a log line) if the broker is down.

    Never raises: the upload that triggered it has committed and must succeed; the row is
    left ``queued`` and the sweeper sends it again once the broker is reachable.
    """
    try:
        dispatch.send_task(dispatch.RUN_ANALYSIS, analysis_pk)
    except Exception:  # kombu/redis raise several unrelated types for "broker unreachable"
        logger.warning(
            "Could not send analysis %s to the broker; the sweeper will retry.",
            analysis_pk,
            exc_info=True,
        )
        return False
    return True


# --- the worker's steps ---------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    analysis: Analysis
    attempt: int  # the fencing token for writing the result


def claim_analysis(*, analysis_pk: int, task_id: str) -> Claim | None:
    """Mark the analysis running for this task; None if there is nothing to do.

    Claimable: a queued row, or a running row claimed by this very task id (a Celery retry,
    or the broker redelivering the message of a worker that was killed). A finished row,
    or one running under another task, is left alone.
    """
    claimable = Q(status=AnalysisStatus.QUEUED) | Q(status=AnalysisStatus.RUNNING, task_id=task_id)
    claimed = (
        Analysis.objects.filter(claimable, pk=analysis_pk).update(
            status=AnalysisStatus.RUNNING,
            task_id=task_id,
            started_at=timezone.now(),
            attempts=F("attempts") + 1,
        )
        == 1
    )
    if not claimed:
        return None
    analysis = Analysis.objects.select_related("image").get(pk=analysis_pk)
    limit = settings.DERMASCAN_ANALYSIS_MAX_ATTEMPTS
    if analysis.attempts > limit:
        fail_analysis(
            analysis_pk=analysis_pk,
            attempt=analysis.attempts,
            reason=(
                f"Gave up after {limit} attempts: the worker was lost, timed out, or the "
                "database or storage was unavailable each time. Try again later."
            ),
        )
        return None
    return Claim(analysis=analysis, attempt=analysis.attempts)


# A model trained on dermoscopy has not learnt what a clinical close-up looks like.
OUTSIDE_DOMAIN_REASON = (
    "The image is not dermoscopic: it is outside the model's training domain (dermoscopic "
    "images), so the result is at best Inconclusive."
)


def result_state_of(result: dict, *, modality: str = Modality.DERMOSCOPIC) -> dict[str, str]:
    """The one message of a result: the engine's state, lowered for a non-dermoscopic image.

    The engine decides not assessable / high / moderate / inconclusive / low from its gate,
    thresholds and uncertainty (``classifier.risk``). It knows nothing about the upload,
    so the image's modality is applied here: a clinical photo is at best Inconclusive
    (never Low) and always carries "outside the model's training domain". A result from an
    engine without states falls back to: uncertain -> inconclusive, else the risk level.
    Returns the fields to store (``risk_level``/``recommended_action`` only when changed).
    """
    if result.get("result_state"):
        state, reason = result["result_state"], result.get("state_reason", "")
    elif result["uncertain"]:
        state, reason = ResultState.INCONCLUSIVE, result["uncertainty_message"]
    else:
        state, reason = result["risk_level"], ""
    fields = {"result_state": state, "state_reason": reason}
    if modality != Modality.DERMOSCOPIC and state != ResultState.NOT_ASSESSABLE:
        fields["state_reason"] = " ".join(part for part in (OUTSIDE_DOMAIN_REASON, reason) if part)
        if state == ResultState.LOW:
            fields |= {
                "result_state": ResultState.INCONCLUSIVE,
                "risk_level": "",
                "recommended_action": REVIEW_ACTION,
            }
    return fields


def complete_analysis(
    *,
    claim: Claim,
    result: dict,
    heatmap_jpeg: bytes | None,
    model: ServedModelInfo,
    inference_ms: int,
) -> bool:
    """Store the heatmap and the result. False if this attempt no longer owns the row.

    ``result`` holds the fields of ``classifier.predictor.Prediction.to_dict()``.
    """
    analysis = claim.analysis
    fields = {
        "status": AnalysisStatus.DONE,
        "finished_at": timezone.now(),
        "inference_ms": inference_ms,
        "model_version_id": model.model_version_id,
        "model_id": model.model_id[:200],
        "model_sha256": model.sha256,
        "probabilities": result["probabilities"],
        "top_class": result["label"],
        "top_class_display": result["label_display"][:100],
        "confidence": result["confidence"],
        "uncertain": result["uncertain"],
        "uncertainty_message": result["uncertainty_message"],
        "entropy": result["entropy"],
        "risk_level": result["risk_level"],
        "recommended_action": result["recommended_action"],
        "malignant_probability": result["malignant_probability"],
        "tta_views": result["tta_views"],
        "tta_spread": result["tta_spread"],
        # Absent from engines without gate statistics (and older result dicts).
        "gate_distance": result.get("ood_score"),
        **result_state_of(result, modality=analysis.image.modality),
    }
    for name, value in fields.items():
        setattr(analysis, name, value)
    analysis.full_clean(exclude=["heatmap", "image", "requested_by", "model_version"])
    saved_heatmap = ""
    if heatmap_jpeg is not None:
        # Written before the row: a row never points at a missing file.
        analysis.heatmap.save("heatmap.jpg", ContentFile(heatmap_jpeg), save=False)
        saved_heatmap = fields["heatmap"] = analysis.heatmap.name
    written = (
        Analysis.objects.filter(
            pk=analysis.pk, status=AnalysisStatus.RUNNING, attempts=claim.attempt
        ).update(**fields)
        == 1
    )
    if not written:
        if saved_heatmap:
            analysis.heatmap.storage.delete(saved_heatmap)
        logger.info("Analysis %s was taken over by another attempt; result dropped.", analysis.pk)
        return written
    from .follow_up import refresh_follow_up  # follow_up -> selectors -> this module

    forget_worklist_counts(clinic_id=clinic_of_image(analysis.image))
    try:
        refresh_follow_up(lesion_id=analysis.image.lesion_id)
    except Exception:  # the result is stored; the flag catches up with the next refresh
        logger.exception("Could not update the follow-up of lesion %s.", analysis.image.lesion_id)
    return written


def fail_analysis(*, analysis_pk: int, reason: str, attempt: int | None = None) -> bool:
    """Mark a queued or running analysis failed with a reason the clinician can read."""
    rows = Analysis.objects.filter(pk=analysis_pk, status__in=PENDING_STATUSES)
    if attempt is not None:
        rows = rows.filter(attempts=attempt)
    reason = (reason.strip() or "The analysis failed.")[:MAX_REASON_LENGTH]
    failed = (
        rows.update(status=AnalysisStatus.FAILED, failure_reason=reason, finished_at=timezone.now())
        == 1
    )
    if failed:
        image = LesionImage.objects.filter(analyses=analysis_pk).only("pk").first()
        forget_worklist_counts(clinic_id=clinic_of_image(image))
    return failed


def resend_stale_analyses(*, now: datetime.datetime | None = None, limit: int = 500) -> int:
    """Send again the analyses whose task was lost; returns how many were sent.

    Stale: queued since longer than DERMASCAN_ANALYSIS_QUEUED_TIMEOUT (the broker was down,
    or the message vanished), or running past the hard time limit plus a margin (the worker
    died). Running ones go back to queued, so the old attempt can no longer write.
    """
    now = now or timezone.now()
    queued_before = now - datetime.timedelta(seconds=settings.DERMASCAN_ANALYSIS_QUEUED_TIMEOUT)
    running_before = now - datetime.timedelta(seconds=settings.DERMASCAN_ANALYSIS_RUNNING_TIMEOUT)
    stale = Q(status=AnalysisStatus.QUEUED, enqueued_at__lt=queued_before) | Q(
        status=AnalysisStatus.RUNNING, started_at__lt=running_before
    )
    with transaction.atomic():
        # skip_locked: two sweeps at once (two beat instances) split the work, never block.
        pks = list(
            Analysis.objects.select_for_update(skip_locked=True)
            .filter(stale)
            .order_by("enqueued_at")
            .values_list("pk", flat=True)[:limit]
        )
        Analysis.objects.filter(pk__in=pks).update(
            status=AnalysisStatus.QUEUED, enqueued_at=now, task_id=""
        )
    sent = sum(send_analysis_task(pk) for pk in pks)
    if pks:
        logger.info("Sweeper re-sent %s of %s stale analyses.", sent, len(pks))
    return sent


def reanalyse_outdated_images(*, requested_by: User | None = None) -> list[Analysis]:
    """Re-analyse every image whose newest result came from another model than the served one."""
    from lesions.selectors import images_analysed_by_older_models

    images = images_analysed_by_older_models().select_related("lesion")
    return reanalyse_images(images=images, requested_by=requested_by)
