"""Low findings on input: a lesion first noted in 1900 for a patient born in 1960 was
accepted; a duplicate record number was reported under ``non_field_errors``."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.models import Lesion
from lesions.tests.api.conftest import assert_error
from lesions.tests.factories import LesionFactory, PatientFactory

pytestmark = pytest.mark.django_db
LESION = {"label": "back", "body_site": "back", "body_view": "back", "map_x": 0.5, "map_y": 0.5}


def test_a_lesion_noted_before_birth_is_refused(api, clinician):
    patient = PatientFactory(clinic=clinician.clinic, date_of_birth="1960-05-01")
    url = reverse("api:patient-lesions", kwargs={"patient_pk": patient.pk})
    response = api.post(url, {**LESION, "first_noted_on": "1900-01-01"}, format="json")
    error = assert_error(response, 400, fields=["first_noted_on"])
    assert "date of birth" in error["fields"]["first_noted_on"][0]
    assert not Lesion.objects.exists()


def test_moving_a_lesions_date_before_birth_is_refused(api, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic, patient__date_of_birth="1960-05-01")
    url = reverse("api:lesion-detail", kwargs={"lesion_pk": lesion.pk})
    response = api.patch(url, {"first_noted_on": "1959-12-31"}, format="json")
    assert_error(response, 400, fields=["first_noted_on"])


def test_a_duplicate_record_number_is_reported_under_its_field(api, clinician):
    PatientFactory(clinic=clinician.clinic, medical_record_number="MRN-7")
    body = {"medical_record_number": "mrn-7", "family_name": "Two", "date_of_birth": "1970-01-01"}
    error = assert_error(api.post(reverse("api:patient-list"), body, format="json"), 400)
    assert list(error["fields"]) == ["medical_record_number"]
