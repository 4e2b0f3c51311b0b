"""Celery tasks: run an analysis (inference queue) and sweep up analyses whose task was lost.

Reliability comes from Celery's own settings (see settings: acks_late, reject on worker
lost, prefetch 1, routes) plus an idempotent task: ``claim_analysis`` decides in the
database whether this delivery has anything to do.
"""

from __future__ import annotations

import logging
import time

from celery import shared_task
from celery.exceptions import SoftTimeLimitExceeded
from celery.signals import worker_process_init
from django.conf import settings
from django.db import InterfaceError, OperationalError, connections

from lesions.services import analyses as services

logger = logging.getLogger(__name__)


def _transient_errors() -> tuple[type[BaseException], ...]:
    """Errors worth retrying: the database or the storage backend is briefly unreachable."""
    errors: list[type[BaseException]] = [OperationalError, InterfaceError, OSError]
    try:
        from botocore.exceptions import BotoCoreError  # S3 storage, when installed

        errors.append(BotoCoreError)
    except ImportError:
        pass
    return tuple(errors)


TRANSIENT_ERRORS = _transient_errors()


@shared_task(
    bind=True,
    name="lesions.tasks.run_analysis",
    acks_late=True,
    reject_on_worker_lost=True,
    soft_time_limit=settings.DERMASCAN_ANALYSIS_SOFT_TIME_LIMIT,
    time_limit=settings.DERMASCAN_ANALYSIS_TIME_LIMIT,
    autoretry_for=TRANSIENT_ERRORS,
    max_retries=3,
    retry_backoff=2,
    retry_backoff_max=60,
    retry_jitter=True,
)
def run_analysis(self, analysis_pk: int) -> str:
    """Analyse one image; returns what happened ("done", "failed" or "skipped")."""
    claim = services.claim_analysis(analysis_pk=analysis_pk, task_id=self.request.id)
    if claim is None:
        return "skipped"  # already finished, or running under another task
    try:
        return _analyse(claim, self.request.hostname or "")
    except SoftTimeLimitExceeded:
        limit = settings.DERMASCAN_ANALYSIS_SOFT_TIME_LIMIT
        services.fail_analysis(
            analysis_pk=analysis_pk,
            attempt=claim.attempt,
            reason=f"The analysis took longer than {limit} s and was stopped. Try again.",
        )
        return "failed"


def _analyse(claim: services.Claim, hostname: str = "") -> str:
    from classifier.errors import EngineError, ImageError
    from lesions.pipeline.inference import ModelUnavailable, current_model, heatmap_jpeg

    started = time.monotonic()
    analysis = claim.analysis

    def fail(reason: str) -> str:
        services.fail_analysis(analysis_pk=analysis.pk, attempt=claim.attempt, reason=reason)
        return "failed"

    try:
        loaded = current_model()
    except ModelUnavailable as exc:
        return fail(str(exc))
    _report_served_model(hostname, loaded)
    stored = analysis.image.file
    try:
        with stored.storage.open(stored.name, "rb") as handle:
            data = handle.read()
    except FileNotFoundError:
        return fail("The image file is missing from storage.")
    try:
        prediction = loaded.predictor.predict(data, tta=True, heatmap=True)
    except ImageError as exc:
        logger.warning("Analysis %s: unreadable image %s: %s", analysis.pk, stored.name, exc)
        return fail(
            "The stored file could not be read as an image (it is damaged or not a "
            "photograph). Delete it and upload the image again."
        )
    except EngineError as exc:
        logger.warning("Analysis %s: engine error: %s", analysis.pk, exc)
        return fail(f"The model could not analyse this image: {exc}")
    written = services.complete_analysis(
        claim=claim,
        result=prediction.to_dict(),
        heatmap_jpeg=heatmap_jpeg(prediction.heatmap),
        model=loaded.info,
        inference_ms=round((time.monotonic() - started) * 1000),
    )
    return "done" if written else "skipped"


@shared_task(name="lesions.tasks.sweep_stale_analyses", soft_time_limit=60, time_limit=90)
def sweep_stale_analyses() -> int:
    """Run by celery beat: re-send analyses left queued or running past their timeout."""
    return services.resend_stale_analyses()


_reported_key = ""  # the model this process last told the heartbeat row about


def _report_served_model(hostname: str, loaded) -> None:
    """Tell the health check which model and backend this worker serves (once per load)."""
    global _reported_key
    if not hostname or loaded.key == _reported_key:
        return
    from lesions.pipeline.heartbeat import record_served_model

    record_served_model(
        hostname, backend=loaded.predictor.backend_name, model_id=loaded.predictor.model_id
    )
    _reported_key = loaded.key


@worker_process_init.connect
def load_model_in_worker_process(sender: str = "", **kwargs: object) -> None:
    """Load the served model in each new worker process, before its first task.

    Runs after the fork, so CUDA (when present) is initialised in the process that uses
    it. A failure is logged, not raised: the process stays up and each analysis then
    fails with the reason instead of the worker restarting in a loop.
    """
    from celery import current_app

    queues = current_app.amqp.queues
    consumed = set(queues.consume_from or queues)
    if "inference" not in consumed:
        return  # a worker for other queues (e.g. the sweeper only) needs no model
    from lesions.pipeline.inference import ModelUnavailable, current_model

    try:
        _report_served_model(str(sender or ""), current_model())
    except ModelUnavailable:
        pass  # already logged with the reason
    except Exception:
        logger.exception("Loading the model in a new worker process failed")
    finally:
        # The parent must not share this process's connection; the first task opens its own.
        connections.close_all()


@shared_task(
    name="lesions.tasks.predict_image",
    ignore_result=False,  # the API waits for this result (a bounded wait)
    soft_time_limit=settings.DERMASCAN_ANALYSIS_SOFT_TIME_LIMIT,
    time_limit=settings.DERMASCAN_ANALYSIS_TIME_LIMIT,
)
def predict_image(image_base64: str, tta: bool = True, heatmap: bool = False) -> dict:
    """The API's quick check: predict an image sent in the message; nothing is stored."""
    import base64

    from lesions.pipeline.quick_check import quick_prediction

    return quick_prediction(base64.b64decode(image_base64), tta=tta, heatmap=heatmap)
