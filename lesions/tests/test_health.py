"""GET /health/ and /api/health/: read the workers' heartbeats, tell strangers only the status."""

from __future__ import annotations

import datetime
import json
import time

import pytest
from django.urls import reverse
from django.utils import timezone

from dermascan_site import health
from lesions.models import DeviceToken, WorkerHeartbeat
from lesions.tests.factories import LesionImageFactory
from lesions.tests.workers import (
    PROCESS_DEADLINE,
    REDIS_SERVER,
    RedisServer,
    celery_app_broker,
    free_port,
    needs_worker_stack,
    wait_until,
)

pytestmark = pytest.mark.django_db

DETAIL_KEYS = {"database", "broker", "workers", "model", "analyses", "checked_in_ms"}


@pytest.fixture(autouse=True)
def fresh_checks():
    """The heartbeat read, broker and model checks are remembered a while; not across tests."""
    checks = (health.remembered_database, health.remembered_broker, health.remembered_model)
    for check in checks:
        check.forget()
    yield
    for check in checks:
        check.forget()


@pytest.fixture
def served_model(settings, model_artifact):
    settings.DERMASCAN_DEFAULT_MODEL = model_artifact
    return model_artifact


@pytest.fixture
def idle_broker(tmp_path):
    """A Redis broker that no worker listens to."""
    if REDIS_SERVER is None:
        pytest.skip("redis-server is not installed")
    server = RedisServer(tmp_path)
    try:
        server.start()
        with celery_app_broker(server.url):
            yield server
    finally:
        server.stop()


def beat(hostname="w1@host", queues="celery,inference", seconds_ago=0):
    return WorkerHeartbeat.objects.create(
        hostname=hostname,
        queues=queues,
        beat_at=timezone.now() - datetime.timedelta(seconds=seconds_ago),
    )


@pytest.fixture
def token_header(clinician):
    _, key = DeviceToken.objects.create(user=clinician, device_name="ops phone")
    return {"HTTP_AUTHORIZATION": f"Token {key}"}


@pytest.mark.parametrize("url_name", ["health", "api-health"])
def test_anonymous_caller_gets_the_status_only(client, served_model, idle_broker, url_name):
    beat()
    response = client.get(reverse(url_name))
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["Cache-Control"] == "no-store"


def test_token_holder_gets_the_components(client, served_model, idle_broker, token_header):
    beat(hostname="inference-1@gpu-node")
    body = client.get(reverse("api-health"), **token_header).json()
    assert body["status"] == "ok" and set(body) >= DETAIL_KEYS
    assert body["workers"][0]["name"] == "inference-1@gpu-node"
    assert body["database"]["status"] == "ok" and body["broker"]["status"] == "ok"
    assert body["model"]["model_id"].startswith("untrained-")
    assert set(body["analyses"]) == {"queued", "running", "oldest_queued_seconds"}


def test_staff_session_gets_the_components(staff_client, served_model, idle_broker):
    beat()
    assert set(staff_client.get(reverse("health")).json()) >= DETAIL_KEYS


def test_clinician_session_without_token_gets_the_status_only(
    clinician_client, served_model, idle_broker
):
    beat()
    assert clinician_client.get(reverse("health")).json() == {"status": "ok"}


def test_no_heartbeat_is_unhealthy(client, served_model, idle_broker, staff_client):
    response = client.get(reverse("health"))
    assert response.status_code == 503 and response.json() == {"status": "unhealthy"}
    assert staff_client.get(reverse("health")).json()["workers"] == []


def test_a_silent_worker_counts_as_gone(client, served_model, idle_broker, settings):
    beat(seconds_ago=health.MISSED_BEATS * settings.DERMASCAN_HEARTBEAT_INTERVAL + 5)
    assert client.get(reverse("health")).status_code == 503


def test_a_worker_without_the_inference_queue_is_not_enough(client, served_model, idle_broker):
    beat(queues="celery")
    assert client.get(reverse("health")).status_code == 503


def test_broker_down_is_unhealthy(staff_client, served_model):
    beat()
    with celery_app_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = staff_client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["broker"]["status"] == "error"


def test_unreadable_model_is_unhealthy(staff_client, settings, tmp_path, idle_broker):
    beat()
    settings.DERMASCAN_DEFAULT_MODEL = tmp_path / "no-model-here"
    response = staff_client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["model"]["status"] == "error"


def test_heartbeats_are_read_at_most_once_a_second_however_often_asked(
    client, served_model, idle_broker, django_assert_num_queries
):
    beat()
    assert client.get(reverse("health")).status_code == 200
    WorkerHeartbeat.objects.all().delete()  # the worker stops
    with django_assert_num_queries(0):
        for _ in range(5):
            assert client.get(reverse("api-health")).status_code == 200
    time.sleep(health.DATABASE_REMEMBER_SECONDS + 0.1)
    with django_assert_num_queries(1):
        assert client.get(reverse("health")).status_code == 503


def test_never_pings_workers(client, served_model, idle_broker, monkeypatch):
    def ping(*args, **kwargs):
        raise AssertionError("the health check must not ping workers")

    monkeypatch.setattr(health.celery_app.control, "ping", ping)
    beat()
    assert client.get(reverse("health")).status_code == 200


def test_reveals_no_patient_data(staff_client, served_model, idle_broker, clinician):
    beat()
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    patient = image.lesion.patient
    text = json.dumps(staff_client.get(reverse("health")).json())
    for private in (patient.name, patient.medical_record_number, image.lesion.label):
        assert private not in text


@needs_worker_stack
@pytest.mark.django_db(transaction=True)
def test_a_real_worker_writes_its_heartbeat(client, served_model, inference_worker, staff_client):
    def healthy() -> bool:
        """the worker's heartbeat makes the check healthy"""
        health.remembered_broker.forget()
        health.remembered_database.forget()
        return client.get(reverse("health")).status_code == 200

    wait_until(healthy, timeout=PROCESS_DEADLINE, interval=0.5)
    body = staff_client.get(reverse("health")).json()
    assert any(worker["name"].startswith("shared@") for worker in body["workers"])
    assert any("inference" in worker["queues"] for worker in body["workers"])


@needs_worker_stack
def test_a_worker_reports_the_backend_its_processes_serve(staff_client, settings, worker_stack):
    # A worker of its own: the shared one reported at its start, and the tables are emptied
    # between transactional tests.
    settings.DERMASCAN_DEFAULT_MODEL = worker_stack.model_dir
    worker_stack.start_worker("fresh")

    def reported() -> list[dict]:
        """the worker's process has loaded the model and said on which backend"""
        health.remembered_broker.forget()
        health.remembered_database.forget()
        workers = staff_client.get(reverse("health")).json()["workers"]
        return [w for w in workers if w["name"].startswith("fresh@") and w["backend"]]

    [worker] = wait_until(reported, timeout=PROCESS_DEADLINE, interval=0.5)
    from classifier.artifact import read_card

    # A CPU worker serves the artifact's ONNX export, without PyTorch
    assert worker["backend"] == "onnx"
    assert worker["model_id"] == read_card(worker_stack.model_dir).model_id


def test_details_list_each_workers_backend(staff_client, served_model, idle_broker):
    beat()
    beat(hostname="w2@host")
    from lesions.pipeline.heartbeat import record_served_model

    record_served_model("w1@host", backend="onnx-int8", model_id="m-1")
    body = staff_client.get(reverse("health")).json()
    by_name = {worker["name"]: worker for worker in body["workers"]}
    assert by_name["w1@host"]["backend"] == "onnx-int8" and by_name["w1@host"]["model_id"] == "m-1"
    assert by_name["w2@host"]["backend"] == ""  # no process has loaded the model yet
    assert by_name["w1@host"]["queues"] == ["celery", "inference"]  # the beat's queues kept
