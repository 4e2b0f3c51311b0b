"""/api/v1/predict/: the seeds' quick check, run by a real worker, nothing stored."""

from __future__ import annotations

import time

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from lesions.models import Analysis, LesionImage, Patient
from lesions.tests.api.conftest import assert_error
from lesions.tests.images import sample_bytes
from lesions.tests.workers import needs_worker_stack

PREDICT = reverse("api:predict")
SEED_FIELDS = {
    "uncertain",
    "prediction",
    "confidence",
    "probabilities",
    "recommendation",
    "tta_used",
    "model",
    "heatmap",
}


def predict(api, data: bytes, **fields):
    payload = {"image": SimpleUploadedFile("x.jpg", data), **fields}
    return api.post(PREDICT, payload, format="multipart")


@pytest.mark.django_db
def test_not_an_image_is_refused_before_reaching_a_worker(api):
    assert_error(predict(api, b"not an image"), 400, fields=["image"])


@pytest.mark.django_db
def test_predict_is_throttled_per_user(api, throttle_rates):
    throttle_rates(predict="1/min")
    predict(api, b"x")
    assert_error(predict(api, b"x"), 429, "throttled")


@needs_worker_stack
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("fields", "tta_used", "with_heatmap"),
    [({}, True, False), ({"use_tta": "false", "heatmap": "true"}, False, True)],
    ids=["defaults", "no-tta-with-heatmap"],
)
def test_predict_answers_the_seed_fields_from_a_real_worker(
    api, inference_worker, fields, tta_used, with_heatmap
):
    response = predict(api, sample_bytes("nv"), **fields)
    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) >= SEED_FIELDS
    assert body["tta_used"] is tta_used
    assert set(body["recommendation"]) == {"severity", "action", "description"}
    assert sum(body["probabilities"].values()) == pytest.approx(1, abs=1e-3)
    assert body["prediction_code"] in body["probabilities"]
    assert body["model"].startswith("untrained-")
    if with_heatmap:
        assert body["heatmap"].startswith("data:image/png;base64,")
    else:
        assert body["heatmap"] is None
    assert body["notice"].startswith("Not a diagnostic device")
    # A quick check stores nothing about a patient.
    assert not (
        Patient.objects.exists() or LesionImage.objects.exists() or Analysis.objects.exists()
    )


@needs_worker_stack
@pytest.mark.django_db(transaction=True)
def test_a_slow_check_answers_202_with_a_status_url(api, inference_worker, settings):
    settings.DERMASCAN_PREDICT_WAIT = 0  # answer at once
    response = predict(api, sample_bytes("mel"))
    assert response.status_code == 202
    status_url = response.json()["status_url"]
    assert response["Location"] == status_url
    deadline = time.monotonic() + 60
    while (answer := api.get(status_url)).status_code == 202 and time.monotonic() < deadline:
        time.sleep(0.3)
    assert answer.status_code == 200 and "prediction" in answer.json()
