"""/api/v1/analyses/{id}/ (with ETag polling), its heatmap, and re-analysing an image."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.models import Analysis
from lesions.tests.api.conftest import assert_error
from lesions.tests.factories import LesionFactory, LesionImageFactory
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db


@pytest.fixture
def image(clinician):
    return LesionImageFactory(lesion__patient__clinic=clinician.clinic)


def detail(analysis) -> str:
    return reverse("api:analysis-detail", kwargs={"analysis_pk": analysis.pk})


def test_a_finished_analysis_shows_the_whole_result(api, image):
    analysis = finish(image, uncertain=True)
    body = api.get(detail(analysis)).json()
    assert body["status"] == "done"
    assert body["result_state"] == "inconclusive" and body["state_reason"]
    assert body["top_class"] == "mel" and body["top_class_display"] == "Melanoma"
    assert body["confidence"] == pytest.approx(0.55)
    assert sum(body["probabilities"].values()) == pytest.approx(1.0)
    assert body["uncertain"] is True and body["uncertainty_message"]
    assert body["risk_level"] == "high" and body["recommended_action"]
    assert body["malignant_probability"] == pytest.approx(0.6)
    assert body["model"] == {"version": None, "model_id": "test-model", "sha256": "ab" * 32}
    assert body["heatmap_url"].endswith(f"/analyses/{analysis.pk}/heatmap/")
    assert body["notice"].startswith("Not a diagnostic device")


def test_a_pending_analysis_has_no_result_yet(api, image):
    body = api.get(detail(image.analyses.get())).json()
    assert body["status"] == "queued"
    assert body["result_state"] is None and body["top_class"] == "" and body["confidence"] is None
    assert body["heatmap_url"] is None and body["model"] is None


def test_polling_with_the_etag_answers_304_until_it_changes(api, image):
    analysis = image.analyses.get()
    first = api.get(detail(analysis))
    etag = first["ETag"]
    again = api.get(detail(analysis), HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304 and again.content == b""
    finish(image)
    changed = api.get(detail(analysis), HTTP_IF_NONE_MATCH=etag)
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert changed.json()["status"] == "done"


def test_heatmap_is_private_and_404_until_done(api, image):
    analysis = image.analyses.get()
    url = reverse("api:analysis-heatmap", kwargs={"analysis_pk": analysis.pk})
    assert_error(api.get(url), 404, "not_found")
    finish(image)
    response = api.get(url)
    assert response.status_code == 200 and response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content)[:2] == b"\xff\xd8"


def test_reanalyse_queues_a_new_analysis_and_keeps_the_old(api, image):
    url = reverse("api:image-analyses", kwargs={"image_pk": image.pk})
    pending = image.analyses.get()
    # While one is pending, asking again answers that one.
    assert api.post(url).json()["id"] == pending.pk
    finish(image)
    response = api.post(url)
    assert response.status_code == 202 and response.json()["status"] == "queued"
    assert Analysis.objects.filter(image=image).count() == 2
    listed = api.get(url).json()["results"]
    assert [a["status"] for a in listed] == ["queued", "done"]  # newest first


@pytest.mark.parametrize("rows", [1, 50])
def test_history_query_count_does_not_grow(api, clinician, rows, django_assert_max_num_queries):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    for seed in range(rows):
        LesionImageFactory(lesion=lesion, image_bytes=jpeg_bytes(seed=300 + seed))
    # Constant: token (1 + last use), lesion, images, their newest analyses, their reviews.
    with django_assert_max_num_queries(6):
        response = api.get(reverse("api:lesion-history", kwargs={"lesion_pk": lesion.pk}))
    assert response.json()["count"] == rows and len(response.json()["results"]) == min(rows, 25)


def test_model_describes_the_served_model(api, settings, model_artifact):
    settings.DERMASCAN_DEFAULT_MODEL = model_artifact
    body = api.get(reverse("api:model")).json()
    assert body["model_id"].startswith("untrained-") and body["version"] is None
    assert [c["code"] for c in body["classes"]][:2] == ["akiec", "bcc"]
    assert "confidence_threshold" in body["thresholds"]["uncertainty"]
    assert body["notice"].startswith("Not a diagnostic device")
