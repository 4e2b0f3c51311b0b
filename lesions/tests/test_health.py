"""GET /health/ reports the database, the broker, live workers and the served model."""

from __future__ import annotations

import json

import pytest
from django.urls import reverse

from lesions.tests.factories import LesionImageFactory
from lesions.tests.workers import REDIS_SERVER, RedisServer, celery_app_broker, free_port

pytestmark = pytest.mark.django_db


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
    server.start()
    with celery_app_broker(server.url):
        yield server
    server.stop()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_healthy_when_a_worker_answers(client, served_model, inference_worker, clinician):
    LesionImageFactory(lesion__patient__clinic=clinician.clinic)  # something in the queue

    response = client.get(reverse("health"))

    body = response.json()
    assert response.status_code == 200, body
    assert body["status"] == "ok"
    assert body["database"]["status"] == "ok" and body["broker"]["status"] == "ok"
    assert any(name.startswith("shared@") for name in body["workers"])
    assert body["model"]["status"] == "ok" and body["model"]["source"] == "default"
    assert body["model"]["model_id"].startswith("untrained-")
    assert set(body["analyses"]) == {"queued", "running", "oldest_queued_seconds"}


def test_no_worker_answering_is_unhealthy(client, served_model, idle_broker):
    response = client.get(reverse("health"))
    assert response.status_code == 503
    body = response.json()
    assert body["broker"]["status"] == "ok" and body["workers"] == []


def test_broker_down_is_unhealthy(client, served_model):
    with celery_app_broker(f"redis://127.0.0.1:{free_port()}/0"):
        response = client.get(reverse("health"))
    assert response.status_code == 503
    assert response.json()["broker"]["status"] == "error"


def test_unreadable_model_is_unhealthy(client, settings, tmp_path, idle_broker):
    settings.DERMASCAN_DEFAULT_MODEL = tmp_path / "no-model-here"
    body = client.get(reverse("health")).json()
    assert body["model"]["status"] == "error"


def test_reveals_no_patient_data(client, served_model, idle_broker, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    patient = image.lesion.patient
    text = json.dumps(client.get(reverse("health")).json())
    for private in (patient.name, patient.medical_record_number, image.lesion.label):
        assert private not in text
