"""/api/v1/patients/{id}/lesions/, /api/v1/lesions/{id}/ and a lesion's history."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.models import AuditAction, AuditEvent, Lesion
from lesions.tests.api.conftest import assert_error
from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory, days_ago
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db

NEW = {
    "label": "left shoulder",
    "body_site": "back",
    "body_view": "back",
    "map_x": 0.6,
    "map_y": 0.2,
}


def lesions_of(patient) -> str:
    return reverse("api:patient-lesions", kwargs={"patient_pk": patient.pk})


def detail(lesion) -> str:
    return reverse("api:lesion-detail", kwargs={"lesion_pk": lesion.pk})


def test_create_places_a_lesion_on_the_body_map(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    response = api.post(lesions_of(patient), NEW)
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["patient"] == patient.pk and body["status"] == "monitoring"
    assert body["image_count"] == 0 and body["last_captured_on"] is None
    assert AuditEvent.objects.get(target_id=body["id"], action=AuditAction.CREATED).device


def test_notes_are_kept_and_changed(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    body = api.post(lesions_of(patient), {**NEW, "notes": "Itches since spring."}).json()
    assert body["notes"] == "Itches since spring."
    lesion = Lesion.objects.get(pk=body["id"])
    changed = api.patch(detail(lesion), {"notes": "Bled once."}, format="json")
    assert changed.status_code == 200 and changed.json()["notes"] == "Bled once."
    lesion.refresh_from_db()
    assert lesion.notes == "Bled once."


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"map_x": 1.5}, "map_x"),
        ({"body_site": "wing"}, "body_site"),
        ({"label": ""}, "label"),
        ({"notes": "x" * 10_001}, "notes"),
    ],
)
def test_create_refuses_bad_input(api, clinician, change, field):
    patient = PatientFactory(clinic=clinician.clinic)
    assert_error(api.post(lesions_of(patient), {**NEW, **change}), 400, fields=[field])
    assert not Lesion.objects.exists()


def test_list_filters_by_status(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    LesionFactory(patient=patient, status="excised")
    kept = LesionFactory(patient=patient)
    ids = [
        row["id"]
        for row in api.get(lesions_of(patient), {"status": "monitoring"}).json()["results"]
    ]
    assert ids == [kept.pk]


@pytest.mark.parametrize("rows", [1, 50])
def test_list_query_count_does_not_grow_with_rows(
    api, clinician, rows, django_assert_max_num_queries
):
    patient = PatientFactory(clinic=clinician.clinic)
    LesionFactory.create_batch(rows, patient=patient)
    with django_assert_max_num_queries(7):
        response = api.get(lesions_of(patient), {"page_size": 100})
    assert len(response.json()["results"]) == rows


def test_patch_status_and_delete(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    assert api.patch(detail(lesion), {"status": "excised"}).json()["status"] == "excised"
    assert_error(api.patch(detail(lesion), {"status": "gone"}), 400, fields=["status"])
    assert api.delete(detail(lesion)).status_code == 204
    assert not Lesion.objects.exists()


def test_history_lists_images_oldest_first_with_their_newest_analysis(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    newer = LesionImageFactory(lesion=lesion, captured_on=days_ago(3))
    older = LesionImageFactory(lesion=lesion, captured_on=days_ago(40))
    finish(older, uncertain=False)
    page = api.get(reverse("api:lesion-history", kwargs={"lesion_pk": lesion.pk})).json()
    assert page["count"] == 2 and page["next"] is None  # paginated like every list
    entries = page["results"]
    assert [e["image"]["id"] for e in entries] == [older.pk, newer.pk]
    assert entries[0]["analysis"]["status"] == "done"
    assert entries[0]["analysis"]["result_state"] == "high"
    assert entries[1]["analysis"]["status"] == "queued"
    assert [e["days_since_previous"] for e in entries] == [None, 37]
