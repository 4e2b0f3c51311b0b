"""The analysis services: queued with the upload, sent on commit, claimed once, swept."""

from __future__ import annotations

import datetime
import json

import pytest
import redis
from django.db import transaction
from django.utils import timezone

from lesions.models import Analysis, AnalysisStatus
from lesions.services import delete_lesion_image, request_analysis
from lesions.services.analyses import (
    claim_analysis,
    complete_analysis,
    fail_analysis,
    resend_stale_analyses,
)
from lesions.tests.factories import LesionImageFactory
from lesions.tests.pipeline_data import DEFAULT_MODEL, finish, heatmap_bytes, result_dict
from lesions.tests.workers import REDIS_SERVER, RedisServer, celery_app_broker

pytestmark = pytest.mark.django_db


@pytest.fixture
def broker(tmp_path):
    """A private Redis server as the broker, with no worker: sent tasks stay in the queue."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    server.start()
    client = redis.Redis.from_url(server.url)
    with celery_app_broker(server.url):
        yield client
    server.stop()


def test_upload_queues_an_analysis_in_the_same_transaction(clinician):
    with pytest.raises(RuntimeError), transaction.atomic():
        LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
        assert Analysis.objects.count() == 1
        raise RuntimeError("the request fails after the upload")
    assert Analysis.objects.count() == 0  # rolled back together with the image

    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    analysis = image.analyses.get()
    assert (analysis.status, analysis.requested_by, analysis.attempts) == ("queued", clinician, 0)


def test_task_goes_to_the_inference_queue_only_after_commit(
    clinician, broker, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
        assert broker.llen("inference") == 0  # not before the commit
    # The task, and forgetting the clinic's cached worklist counts once committed.
    assert len(callbacks) == 2
    assert broker.llen("inference") == 1
    headers = json.loads(broker.lindex("inference", 0))["headers"]
    assert headers["task"] == "lesions.tasks.run_analysis"
    assert headers["argsrepr"] == f"({image.analyses.get().pk},)"


def test_upload_succeeds_when_the_broker_is_down(
    clinician, broker, django_capture_on_commit_callbacks
):
    broker.shutdown(nosave=True)
    with django_capture_on_commit_callbacks(execute=True):
        image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    assert image.pk and image.analyses.get().status == AnalysisStatus.QUEUED


def test_requesting_twice_while_pending_does_not_queue_twice(clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    first = image.analyses.get()
    assert request_analysis(image=image, requested_by=clinician) == first
    assert image.analyses.count() == 1


def test_a_claim_is_taken_once_and_only_its_own_task_can_take_it_again(clinician):
    analysis = LesionImageFactory(lesion__patient__clinic=clinician.clinic).analyses.get()

    claim = claim_analysis(analysis_pk=analysis.pk, task_id="task-a")
    assert claim is not None and claim.attempt == 1
    assert Analysis.objects.get(pk=analysis.pk).status == AnalysisStatus.RUNNING
    assert claim_analysis(analysis_pk=analysis.pk, task_id="task-b") is None  # a duplicate
    again = claim_analysis(analysis_pk=analysis.pk, task_id="task-a")  # redelivered / retried
    assert again is not None and again.attempt == 2


def test_only_the_latest_attempt_writes_a_result(clinician, media_root):
    analysis = LesionImageFactory(lesion__patient__clinic=clinician.clinic).analyses.get()
    stale = claim_analysis(analysis_pk=analysis.pk, task_id="task-a")
    current = claim_analysis(analysis_pk=analysis.pk, task_id="task-a")

    kwargs = {"result": result_dict(), "model": DEFAULT_MODEL, "inference_ms": 5}
    lost = complete_analysis(claim=stale, heatmap_jpeg=heatmap_bytes(), **kwargs)
    assert lost is False
    assert not list((media_root / "analysis-heatmaps").glob("*"))  # its heatmap was removed
    assert complete_analysis(claim=current, heatmap_jpeg=heatmap_bytes(), **kwargs) is True
    assert complete_analysis(claim=current, heatmap_jpeg=None, **kwargs) is False  # once only

    done = Analysis.objects.get(pk=analysis.pk)
    assert done.status == AnalysisStatus.DONE and done.top_class == "mel"
    assert len(list((media_root / "analysis-heatmaps").glob("*"))) == 1


def test_too_many_attempts_fail_the_analysis(clinician, settings):
    settings.DERMASCAN_ANALYSIS_MAX_ATTEMPTS = 2
    analysis = LesionImageFactory(lesion__patient__clinic=clinician.clinic).analyses.get()
    assert claim_analysis(analysis_pk=analysis.pk, task_id="t")
    assert claim_analysis(analysis_pk=analysis.pk, task_id="t")
    assert claim_analysis(analysis_pk=analysis.pk, task_id="t") is None

    failed = Analysis.objects.get(pk=analysis.pk)
    assert failed.status == AnalysisStatus.FAILED
    assert "Gave up after 2 attempts" in failed.failure_reason


def test_fail_analysis_keeps_finished_ones_as_they_are(clinician):
    done = finish(LesionImageFactory(lesion__patient__clinic=clinician.clinic))
    assert fail_analysis(analysis_pk=done.pk, reason="late failure") is False
    assert Analysis.objects.get(pk=done.pk).status == AnalysisStatus.DONE


def test_sweeper_resends_stale_queued_and_running_analyses(clinician, broker, settings):
    settings.DERMASCAN_ANALYSIS_QUEUED_TIMEOUT = 60
    settings.DERMASCAN_ANALYSIS_RUNNING_TIMEOUT = 120
    now = timezone.now()
    images = [LesionImageFactory(lesion__patient__clinic=clinician.clinic) for _ in range(4)]
    fresh, old_queued, old_running, fresh_running = (image.analyses.get() for image in images)
    ago = datetime.timedelta
    Analysis.objects.filter(pk=old_queued.pk).update(enqueued_at=now - ago(seconds=61))
    for analysis, age in ((old_running, 121), (fresh_running, 30)):
        claim_analysis(analysis_pk=analysis.pk, task_id=f"t{analysis.pk}")
        Analysis.objects.filter(pk=analysis.pk).update(started_at=now - ago(seconds=age))
    broker.delete("inference")

    assert resend_stale_analyses(now=now) == 2

    assert broker.llen("inference") == 2
    states = dict(Analysis.objects.values_list("pk", "status"))
    assert states == {
        fresh.pk: "queued",
        old_queued.pk: "queued",
        old_running.pk: "queued",  # back in the queue: the lost attempt can no longer write
        fresh_running.pk: "running",  # still within its time limit: left alone
    }
    assert resend_stale_analyses(now=now) == 0  # enqueued_at was renewed


def test_deleting_an_image_deletes_its_heatmaps(
    clinician, media_root, django_capture_on_commit_callbacks
):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    finish(image)
    assert list((media_root / "analysis-heatmaps").glob("*"))
    with django_capture_on_commit_callbacks(execute=True):
        delete_lesion_image(image=image, deleted_by=clinician)
    assert not list((media_root / "analysis-heatmaps").glob("*"))
    assert not Analysis.objects.exists()
