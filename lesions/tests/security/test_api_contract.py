"""What a mobile developer tripped on, kept as regressions: the same request each time."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.tests.api.conftest import assert_error
from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db
PATIENTS = reverse("api:patient-list")


def test_bad_page_and_page_size_are_400(api):
    for params in ({"page_size": "0"}, {"page_size": "abc"}, {"page": "0"}, {"page": "-1"}):
        assert_error(api.get(PATIENTS, params), 400, fields=list(params))


def test_unknown_filter_values_and_orderings_are_400(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    lesions = reverse("api:patient-lesions", kwargs={"patient_pk": lesion.patient_id})
    assert_error(api.get(lesions, {"evolving": "maybe"}), 400, fields=["evolving"])
    assert_error(api.get(lesions, {"status": "gone"}), 400, fields=["status"])
    assert_error(api.get(PATIENTS, {"ordering": "password"}), 400, fields=["ordering"])
    assert api.get(PATIENTS, {"ordering": "-family_name"}).status_code == 200


def test_patching_a_read_only_field_is_a_400(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    url = reverse("api:lesion-detail", kwargs={"lesion_pk": lesion.pk})
    response = api.patch(url, {"confirmed_diagnosis": "mel", "label": "new"}, format="json")
    assert_error(response, 400, "read_only", fields=["confirmed_diagnosis"])
    lesion.refresh_from_db()
    assert lesion.label != "new"


def test_history_devices_and_worklist_sections_are_paginated(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    for seed in range(3):
        finish(LesionImageFactory(lesion=lesion, image_bytes=jpeg_bytes(seed=seed)))
    history = reverse("api:lesion-history", kwargs={"lesion_pk": lesion.pk})
    page = api.get(history, {"page_size": 2}).json()
    assert page["count"] == 3 and len(page["results"]) == 2 and page["next"]
    assert set(api.get(reverse("api:device-list")).json()) >= {"count", "results"}
    section = api.get(reverse("api:worklist")).json()["sections"][0]
    assert section["key"] == "review" and section["count"] == 3
    rows = api.get(section["url"], {"page_size": 2}).json()
    assert rows["count"] == 3 and len(rows["results"]) == 2 and rows["next"]
    assert_error(api.get(reverse("api:worklist-section", args=["nonsense"])), 404)


def test_the_upload_answers_its_analysis(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    url = reverse("api:lesion-images", kwargs={"lesion_pk": lesion.pk})
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("m.jpg", jpeg_bytes(seed=7), content_type="image/jpeg")
    response = api.post(url, {"file": upload}, format="multipart")
    assert response.status_code == 201, response.content
    analysis = response.json()["analysis"]
    assert analysis["status"] == "queued"
    assert analysis["status_url"] == reverse("api:analysis-detail", args=[analysis["id"]])
    assert response["Location"] == reverse("api:image-detail", args=[response.json()["id"]])


def test_weak_and_strong_etags_both_get_304(api, clinician):
    analysis = finish(LesionImageFactory(lesion__patient__clinic=clinician.clinic))
    url = reverse("api:analysis-detail", kwargs={"analysis_pk": analysis.pk})
    etag = api.get(url)["ETag"]
    for sent in (etag, f"W/{etag}", f'"other", W/{etag}'):
        assert api.get(url, HTTP_IF_NONE_MATCH=sent).status_code == 304, sent


def test_no_browsable_api_without_debug(api, settings):
    settings.DEBUG = False
    response = api.get(PATIENTS, HTTP_ACCEPT="text/html")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    settings.DEBUG = True
    assert api.get(PATIENTS, HTTP_ACCEPT="text/html")["Content-Type"].startswith("text/html")


def test_health_schema_declares_the_detailed_answer(api):
    schema = api.get("/api/schema/?format=json").json()
    health = schema["components"]["schemas"]["HealthStatus"]["properties"]
    detailed = api.get("/api/health/").json()
    assert set(detailed) <= set(health), set(detailed) - set(health)


def test_a_patient_read_is_unchanged_by_the_contract(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    assert api.get(reverse("api:patient-detail", args=[patient.pk])).status_code == 200
