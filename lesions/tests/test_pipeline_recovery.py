"""The pipeline survives a worker killed mid-task and a broker that is down during an upload.

Each test has its own Redis server and worker processes, so it can kill and stop them.
"""

from __future__ import annotations

import time

import psycopg
import pytest
from django.urls import reverse

from lesions.models import Analysis, AnalysisStatus, LesionImage
from lesions.tests.factories import LesionFactory, LesionImageFactory, days_ago
from lesions.tests.images import sample_bytes, sample_path
from lesions.tests.workers import (
    PROCESS_DEADLINE,
    database_url_of_tests,
    requires_worker_stack,
    wait_until,
)

pytestmark = [pytest.mark.django_db(transaction=True), *requires_worker_stack()]


def wait_for_status(analysis_pk: int, statuses: set[str], *, timeout: float) -> Analysis:
    def reached() -> Analysis | None:
        """the analysis to reach the status"""
        analysis = Analysis.objects.get(pk=analysis_pk)
        return analysis if analysis.status in statuses else None

    return wait_until(reached, timeout=timeout, interval=0.1)


def test_worker_killed_mid_task_leaves_the_analysis_to_be_done_exactly_once(
    worker_stack, pipeline_media, clinician
):
    image = LesionImageFactory(
        lesion__patient__clinic=clinician.clinic,
        uploaded_by=clinician,
        image_bytes=sample_bytes("mel"),
    )
    analysis = image.analyses.get()  # queued; its task waits in Redis (no worker yet)
    # Hold the analysis row locked: the worker takes the message and then blocks in its
    # claim, so it is killed mid-task, with the message taken and not acknowledged.
    blocker = psycopg.connect(database_url_of_tests())
    try:
        blocker.execute("SELECT id FROM lesions_analysis WHERE id = %s FOR UPDATE", [analysis.pk])
        first = worker_stack.start_worker("first")

        def worker_is_blocked() -> bool:
            """the worker to wait for the row lock"""
            waiting = blocker.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                "AND wait_event_type = 'Lock' AND query ILIKE 'UPDATE %%lesions_analysis%%'"
            ).fetchone()[0]
            return waiting > 0

        wait_until(worker_is_blocked, timeout=PROCESS_DEADLINE)
        first.kill()  # SIGKILL to the main process and its pool child: no cleanup at all
    finally:
        blocker.rollback()
        blocker.close()

    # The dead worker's claim still reaches the database: the row is left running,
    # owned by nobody, exactly as if the worker had died later in the task.
    orphan = wait_for_status(analysis.pk, {AnalysisStatus.RUNNING}, timeout=PROCESS_DEADLINE)
    assert orphan.attempts == 1
    time.sleep(1)
    assert Analysis.objects.get(pk=analysis.pk).status == AnalysisStatus.RUNNING

    second = worker_stack.start_worker("second")
    # Redis hands the unacknowledged message out again after the visibility timeout.
    done = wait_for_status(
        analysis.pk, {AnalysisStatus.DONE, AnalysisStatus.FAILED}, timeout=PROCESS_DEADLINE
    )

    assert done.status == AnalysisStatus.DONE, done.failure_reason
    assert done.attempts == 2  # claimed by the killed worker, then by the new one
    assert done.task_id == orphan.task_id  # the same message, redelivered
    assert sum(done.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert Analysis.objects.filter(image=image).count() == 1
    assert second.log().count("succeeded in") == 1 and "'done'" in second.log()
    assert len(list((pipeline_media / "analysis-heatmaps").glob("*"))) >= 1
    assert Analysis.objects.exclude(heatmap="").count() == 1


def test_upload_while_redis_is_down_is_analysed_after_redis_is_back(
    worker_stack, pipeline_media, clinician, clinician_client
):
    worker = worker_stack.start_worker("sweeping")
    beat = worker_stack.start_beat()
    lesion = LesionFactory(patient__clinic=clinician.clinic)

    worker_stack.redis.stop()
    started = time.monotonic()
    with sample_path("bcc").open("rb") as upload:
        response = clinician_client.post(
            reverse("lesions:image-upload", kwargs={"lesion_pk": lesion.pk}),
            {"file": upload, "captured_on": days_ago(1).isoformat(), "modality": "dermoscopic"},
        )
    upload_seconds = time.monotonic() - started

    # The upload succeeded, quickly, with its analysis queued for later.
    assert response.status_code == 302, response.content[:500]
    assert upload_seconds < 10
    image = LesionImage.objects.get(lesion=lesion)
    analysis = image.analyses.get()
    assert analysis.status == AnalysisStatus.QUEUED

    time.sleep(2)  # the outage lasts a little
    assert Analysis.objects.get(pk=analysis.pk).status == AnalysisStatus.QUEUED
    worker_stack.redis.start()  # same port, empty: the task that was never sent is not there

    done = wait_for_status(
        analysis.pk, {AnalysisStatus.DONE, AnalysisStatus.FAILED}, timeout=PROCESS_DEADLINE
    )

    assert done.status == AnalysisStatus.DONE, done.failure_reason
    assert done.attempts == 1
    assert "sweep-stale-analyses" in beat.log()
    assert "Sweeper re-sent 1 of 1 stale analyses" in worker.log()
