"""/api/v1/patients/: list (search, filters, ordering, pages), create, read, update, delete."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.models import AuditAction, AuditEvent, Lesion, Patient
from lesions.tests.api.conftest import assert_error
from lesions.tests.factories import LesionFactory, PatientFactory

pytestmark = pytest.mark.django_db

LIST = reverse("api:patient-list")
NEW = {
    "medical_record_number": "MRN-API-1",
    "family_name": "Doe",
    "given_names": "Jane",
    "date_of_birth": "1970-05-17",
    "sex": "female",
    "fitzpatrick_skin_type": 2,
}


def detail(patient) -> str:
    return reverse("api:patient-detail", kwargs={"patient_pk": patient.pk})


def test_create_goes_through_the_service_and_is_audited_with_the_device(api, clinician):
    response = api.post(LIST, NEW)
    assert response.status_code == 201, response.content
    patient = Patient.objects.get(pk=response.json()["id"])
    assert patient.clinic == clinician.clinic and patient.name == "Jane Doe"
    event = AuditEvent.objects.get(target_id=patient.pk, action=AuditAction.CREATED)
    assert event.actor == clinician and event.device == "Ames iPhone"


def test_create_refuses_bad_input_with_field_messages(api):
    response = api.post(LIST, {**NEW, "date_of_birth": "2999-01-01", "sex": "dragon"})
    assert_error(response, 400, fields=["sex", "date_of_birth"])
    error = assert_error(api.post(LIST, {**NEW, "sex": "dragon"}), 400, "invalid_choice")
    assert error["fields"]["sex"] == ['"dragon" is not a valid choice.']
    assert not Patient.objects.exists()


def test_duplicate_record_number_in_the_clinic_is_refused(api, clinician):
    PatientFactory(clinic=clinician.clinic, medical_record_number="MRN-API-1")
    error = assert_error(api.post(LIST, NEW), 400, "duplicate_record_number")
    assert list(error["fields"]) == ["medical_record_number"]  # under the field it concerns
    assert "already exists" in error["fields"]["medical_record_number"][0]
    assert Patient.objects.count() == 1


def test_list_shows_only_the_clinic_s_patients_with_lesion_counts(api, clinician):
    mine = PatientFactory(clinic=clinician.clinic)
    LesionFactory.create_batch(2, patient=mine)
    PatientFactory()  # another clinic's
    body = api.get(LIST).json()
    assert body["count"] == 1
    assert body["results"][0]["id"] == mine.pk and body["results"][0]["lesion_count"] == 2


def test_search_by_name_or_record_number_and_filter(api, clinician):
    PatientFactory(
        clinic=clinician.clinic, name="Ada Lovelace", medical_record_number="A-1", sex="female"
    )
    PatientFactory(
        clinic=clinician.clinic, name="Alan Turing", medical_record_number="T-9", sex="male"
    )
    names = lambda params: [p["name"] for p in api.get(LIST, params).json()["results"]]  # noqa: E731
    assert names({"search": "lovel"}) == ["Ada Lovelace"]
    assert names({"search": "T-9"}) == ["Alan Turing"]
    assert names({"sex": "male"}) == ["Alan Turing"]
    assert names({"ordering": "-family_name"}) == ["Alan Turing", "Ada Lovelace"]
    assert names({}) == ["Ada Lovelace", "Alan Turing"]  # by family name
    assert_error(api.get(LIST, {"sex": "dragon"}), 400, fields=["sex"])


def test_pages_have_a_maximum_size(api, clinician):
    PatientFactory.create_batch(3, clinic=clinician.clinic)
    body = api.get(LIST, {"page_size": 2}).json()
    assert body["count"] == 3 and len(body["results"]) == 2 and body["next"]
    # Past the maximum, zero or not a number: refused, not quietly replaced by a default.
    for size in ("10000", "0", "ten"):
        assert_error(api.get(LIST, {"page_size": size}), 400, fields=["page_size"])
    assert_error(api.get(LIST, {"page": 0}), 400, fields=["page"])
    assert_error(api.get(LIST, {"page": 99}), 404)


@pytest.mark.parametrize("rows", [1, 50])
def test_list_query_count_does_not_grow_with_rows(
    api, clinician, rows, django_assert_max_num_queries
):
    for patient in PatientFactory.create_batch(rows, clinic=clinician.clinic):
        LesionFactory(patient=patient)
    with django_assert_max_num_queries(6):
        response = api.get(LIST, {"page_size": 100})
    assert len(response.json()["results"]) == rows


def test_read_is_audited(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    body = api.get(detail(patient)).json()
    assert body["medical_record_number"] == patient.medical_record_number
    assert AuditEvent.objects.filter(
        target_id=patient.pk, action=AuditAction.VIEWED, device="Ames iPhone"
    ).exists()


def test_patch_changes_only_the_given_fields(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic, notes="")
    response = api.patch(detail(patient), {"notes": "Family history of melanoma."})
    assert response.status_code == 200 and response.json()["notes"].startswith("Family")
    patient.refresh_from_db()
    assert patient.notes == "Family history of melanoma."
    event = AuditEvent.objects.get(target_id=patient.pk, action=AuditAction.CHANGED)
    assert event.changed_fields == ["notes"]


def test_put_validates_like_the_form(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    assert_error(api.put(detail(patient), {**NEW, "family_name": ""}), 400, fields=["family_name"])
    assert api.put(detail(patient), NEW).status_code == 200


def test_delete_removes_the_patient_and_lesions(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    assert api.delete(detail(lesion.patient)).status_code == 204
    assert not Patient.objects.exists() and not Lesion.objects.exists()


def test_staff_token_holder_without_clinic_gets_403(staff):
    from lesions.tests.api.conftest import client_with_token, token_for

    assert_error(client_with_token(token_for(staff)).get(LIST), 403, "permission_denied")
