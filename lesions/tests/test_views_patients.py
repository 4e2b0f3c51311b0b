import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from lesions.models import AuditEvent, Patient
from lesions.tests.factories import ClinicianFactory, LesionFactory, PatientFactory, StaffFactory

pytestmark = pytest.mark.django_db

LIST_URL = reverse("lesions:patient-list")


def patient_data(**overrides):
    return {
        "medical_record_number": "MRN-77",
        "family_name": "Hopper",
        "given_names": "Grace",
        "date_of_birth": "1961-04-02",
        "sex": "female",
        "fitzpatrick_skin_type": "3",
        "notes": "",
        **overrides,
    }


def test_pages_need_a_login(client):
    response = client.get(LIST_URL)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_home_is_the_worklist_which_links_to_the_patient_list(clinician_client):
    response = clinician_client.get("/")
    assert response.status_code == 200
    assert "lesions/worklist.html" in [template.name for template in response.templates]
    assert f'href="{LIST_URL}"' in response.content.decode()


def test_staff_without_a_clinic_is_sent_to_the_admin(client):
    client.force_login(StaffFactory())
    assert client.get("/")["Location"] == reverse("admin:index")
    response = client.get(LIST_URL)
    assert response.status_code == 403
    assert b"not attached to a clinic" in response.content


def test_list_shows_only_the_clinics_patients(clinician_client, clinician):
    PatientFactory(clinic=clinician.clinic, name="Own Patient")
    PatientFactory(name="Foreign Patient")
    response = clinician_client.get(LIST_URL)
    assert response.status_code == 200
    assert b"Patient</span>, Own" in response.content  # listed family name first
    assert b"Foreign Patient" not in response.content


def test_list_searches_by_name_or_record_number(clinician_client, clinician):
    PatientFactory(clinic=clinician.clinic, name="Marie Curie", medical_record_number="A-100")
    PatientFactory(clinic=clinician.clinic, name="Niels Bohr", medical_record_number="B-200")
    by_name = clinician_client.get(LIST_URL, {"q": "curie"}).content
    assert b"Curie</span>, Marie" in by_name and b"Bohr" not in by_name
    by_number = clinician_client.get(LIST_URL, {"q": "B-2"}).content
    assert b"Bohr</span>, Niels" in by_number and b"Curie" not in by_number


def test_list_is_paginated_and_keeps_the_search(clinician_client, clinician):
    for number in range(30):
        PatientFactory(clinic=clinician.clinic, name=f"Smith {number:02d}")
    first = clinician_client.get(LIST_URL, {"q": "smith"})
    assert len(first.context["page"].object_list) == 25
    assert b"page=2" in first.content and b"q=smith" in first.content
    second = clinician_client.get(LIST_URL, {"q": "smith", "page": 2})
    assert len(second.context["page"].object_list) == 5
    assert second.context["page"].number == 2


def test_create_patient(clinician_client, clinician):
    response = clinician_client.post(reverse("lesions:patient-create"), patient_data())
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == patient.get_absolute_url()
    assert patient.clinic == clinician.clinic
    assert patient.fitzpatrick_skin_type == 3


def test_birth_date_in_the_future_is_a_form_error(clinician_client):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = clinician_client.post(
        reverse("lesions:patient-create"), patient_data(date_of_birth=tomorrow)
    )
    assert response.status_code == 400
    assert response.context["form"].errors["date_of_birth"] == ["This date is in the future."]
    assert b"This date is in the future." in response.content
    assert not Patient.objects.exists()


def test_duplicate_record_number_is_a_form_error(clinician_client, clinician):
    PatientFactory(clinic=clinician.clinic, medical_record_number="MRN-77")
    response = clinician_client.post(reverse("lesions:patient-create"), patient_data())
    assert response.status_code == 400
    assert b"already exists in this clinic" in response.content
    assert Patient.objects.count() == 1


def test_edit_patient(clinician_client, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    url = reverse("lesions:patient-edit", kwargs={"patient_pk": patient.pk})
    assert clinician_client.get(url).status_code == 200
    data = patient_data(
        medical_record_number=patient.medical_record_number, family_name="Renamed", given_names=""
    )
    response = clinician_client.post(url, data)
    assert response.status_code == 302
    patient.refresh_from_db()
    assert patient.name == "Renamed"


def test_patient_page_shows_the_body_map_and_lesions(clinician_client, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    lesion = LesionFactory(patient=patient, label="Mole on the back", map_x=0.25, map_y=0.5)
    response = clinician_client.get(patient.get_absolute_url())
    assert response.status_code == 200
    content = response.content.decode()
    assert "data-body-map" in content
    assert "img/body-map.svg" in content
    assert lesion.get_absolute_url() in content
    markers = response.context["markers"]
    assert markers == [
        {
            "id": lesion.pk,
            "number": 1,
            "label": "Mole on the back",
            "site": "Back",
            "state": "",
            "state_label": "No result",
            "view": "back",
            "x": 0.25,
            "y": 0.5,
            "status": "monitoring",
            "evolving": False,
            "evolving_reason": "",
            "url": lesion.get_absolute_url(),
        }
    ]
    assert 'id="lesion-markers"' in content


def test_every_page_says_not_a_diagnostic_device(clinician_client, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    for url in (LIST_URL, patient.get_absolute_url(), reverse("login")):
        assert b"Not a diagnostic device" in clinician_client.get(url).content


def test_delete_patient_asks_then_deletes(clinician_client, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    url = reverse("lesions:patient-delete", kwargs={"patient_pk": patient.pk})
    assert b"Delete this patient?" in clinician_client.get(url).content
    assert Patient.objects.exists()
    response = clinician_client.post(url)
    assert response["Location"] == LIST_URL
    assert not Patient.objects.exists()
    assert AuditEvent.objects.filter(action="deleted", target_type="patient").exists()


def test_login_page_logs_in_and_leads_to_the_worklist(client, clinic):
    from lesions.tests.factories import TEST_PASSWORD

    user = ClinicianFactory(clinic=clinic)
    response = client.post(reverse("login"), {"username": user.username, "password": TEST_PASSWORD})
    assert response.status_code == 302
    assert response["Location"] == reverse("lesions:home")
    bad = client.post(reverse("login"), {"username": user.username, "password": "wrong"})
    assert bad.status_code == 200
    assert b"enter a correct username and password" in bad.content
