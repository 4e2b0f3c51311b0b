"""The periodic check runs in a real Celery worker, sent by a real beat, and records each
alert once however often it runs."""

from __future__ import annotations

import pytest

from lesions.tests.workers import PROCESS_DEADLINE, requires_worker_stack, wait_until
from monitoring.models import Alert, AlertKind
from monitoring.tests.data import analysed_case

pytestmark = [pytest.mark.django_db(transaction=True), *requires_worker_stack()]

TASK = "monitoring.tasks.check_alerts"


def test_beat_records_a_missed_melanoma_once(worker_stack, pipeline_media, clinic):
    missed = analysed_case(clinic, "low", diagnosis="mel")
    worker = worker_stack.start_worker("monitoring")
    worker_stack.start_beat(DERMASCAN_MONITORING_INTERVAL="1")

    alert = wait_until(Alert.objects.first, timeout=PROCESS_DEADLINE)

    def ran_three_times() -> bool:
        """the check to run three times"""
        return worker.log().count(f"Task {TASK}[") >= 6  # "received" and "succeeded" each

    wait_until(ran_three_times, timeout=PROCESS_DEADLINE)
    assert alert.kind == AlertKind.MELANOMA_MISSED and alert.clinic_id == clinic.pk
    assert f"analysis {missed.pk}" in alert.message
    assert Alert.objects.count() == 1  # later runs saw it again, added nothing
    assert Alert.objects.get().last_seen_at > alert.raised_at
    assert "Traceback" not in worker.log()
