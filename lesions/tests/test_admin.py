"""Every model is in the admin with working lists, filters and search; admin writes go
through the services (validated and audited); image thumbnails come through a checked view."""

import pytest
from django.test import Client
from django.urls import reverse

from lesions.models import AuditAction, AuditEvent, Lesion, LesionImage, Patient
from lesions.tests.factories import (
    ClinicianFactory,
    LesionFactory,
    LesionImageFactory,
    PatientFactory,
)
from lesions.tests.images import stored_files

pytestmark = pytest.mark.django_db

MODELS = ["clinic", "user", "patient", "lesion", "lesionimage", "auditevent"]


@pytest.fixture
def records(clinician):
    return LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)


@pytest.mark.parametrize("model", MODELS)
def test_changelist_search_and_change_page_load(staff_client, records, model):
    url = reverse(f"admin:lesions_{model}_changelist")
    assert staff_client.get(url).status_code == 200
    assert staff_client.get(url, {"q": "a"}).status_code == 200
    instance = {
        "clinic": records.lesion.patient.clinic,
        "user": records.uploaded_by,
        "patient": records.lesion.patient,
        "lesion": records.lesion,
        "lesionimage": records,
        "auditevent": AuditEvent.objects.first(),
    }[model]
    change = staff_client.get(reverse(f"admin:lesions_{model}_change", args=[instance.pk]))
    assert change.status_code == 200


def test_audit_search_by_number_does_not_break_on_text(staff_client, records):
    url = reverse("admin:lesions_auditevent_changelist")
    assert staff_client.get(url, {"q": str(records.pk)}).status_code == 200
    assert staff_client.get(url, {"q": "not-a-number"}).status_code == 200


def test_list_filters_work(staff_client, records):
    url = reverse("admin:lesions_lesion_changelist")
    response = staff_client.get(url, {"status__exact": "monitoring", "body_site": "back"})
    assert response.status_code == 200
    images = staff_client.get(
        reverse("admin:lesions_lesionimage_changelist"), {"modality__exact": "dermoscopic"}
    )
    assert images.status_code == 200


def test_image_list_shows_thumbnails_through_the_admin_view(staff_client, records):
    response = staff_client.get(reverse("admin:lesions_lesionimage_changelist"))
    file_url = reverse("admin:lesions_lesionimage_file", kwargs={"image_pk": records.pk})
    assert f'src="{file_url}?size=thumbnail"'.encode() in response.content
    assert b"/media/" not in response.content
    thumbnail = staff_client.get(file_url, {"size": "thumbnail"})
    assert thumbnail.status_code == 200
    assert b"".join(thumbnail.streaming_content) == records.thumbnail.read()


def test_admin_image_view_needs_staff(client, records):
    file_url = reverse("admin:lesions_lesionimage_file", kwargs={"image_pk": records.pk})
    client.force_login(ClinicianFactory())
    response = client.get(file_url)
    assert response.status_code == 302  # to the admin login
    assert "/admin/login/" in response["Location"]


def test_admin_image_view_needs_view_permission(records):
    from lesions.tests.factories import UserFactory

    staff_without_rights = UserFactory(is_staff=True, clinic=records.lesion.patient.clinic)
    client = Client()
    client.force_login(staff_without_rights)
    file_url = reverse("admin:lesions_lesionimage_file", kwargs={"image_pk": records.pk})
    assert client.get(file_url).status_code == 403


def test_admin_edit_goes_through_the_service_and_is_audited(staff_client, staff):
    patient = PatientFactory()
    url = reverse("admin:lesions_patient_change", args=[patient.pk])
    response = staff_client.post(
        url,
        {
            "medical_record_number": patient.medical_record_number,
            "family_name": "Name",
            "given_names": "Corrected",
            "date_of_birth": patient.date_of_birth.isoformat(),
            "sex": patient.sex,
            "fitzpatrick_skin_type": "",
            "notes": "",
            "lesions-TOTAL_FORMS": "0",
            "lesions-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302, response.content
    patient.refresh_from_db()
    assert patient.name == "Corrected Name"
    event = AuditEvent.objects.get(action=AuditAction.CHANGED)
    assert event.actor == staff
    assert set(event.changed_fields) >= {"given_names", "fitzpatrick_skin_type"}
    assert set(event.changed_fields) <= {"family_name", "given_names", "fitzpatrick_skin_type"}


def test_admin_add_lesion_refuses_coordinates_outside_0_1(staff_client):
    patient = PatientFactory()
    response = staff_client.post(
        reverse("admin:lesions_lesion_add"),
        {
            "patient": patient.pk,
            "label": "From admin",
            "body_site": "face",
            "body_view": "front",
            "map_x": "1.5",
            "map_y": "0.1",
            "status": "monitoring",
            "first_noted_on": "2024-01-01",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 200
    assert b"Ensure this value is less than or equal to 1.0" in response.content
    assert not Lesion.objects.exists()


def test_admin_delete_goes_through_the_service(
    staff_client, staff, records, media_root, django_capture_on_commit_callbacks
):
    patient = records.lesion.patient
    with django_capture_on_commit_callbacks(execute=True):
        response = staff_client.post(
            reverse("admin:lesions_patient_delete", args=[patient.pk]), {"post": "yes"}
        )
    assert response.status_code == 302
    assert not Patient.objects.exists()
    assert not LesionImage.objects.exists()
    assert stored_files(media_root) == []
    deleted = AuditEvent.objects.filter(action=AuditAction.DELETED, actor=staff)
    assert sorted(deleted.values_list("target_type", flat=True)) == ["image", "lesion", "patient"]


def test_images_cannot_be_added_or_edited_in_the_admin(staff_client, records):
    assert staff_client.get(reverse("admin:lesions_lesionimage_add")).status_code == 403
    change_url = reverse("admin:lesions_lesionimage_change", args=[records.pk])
    assert staff_client.post(change_url, {"modality": "clinical"}).status_code == 403
    records.refresh_from_db()
    assert records.modality == "dermoscopic"


def test_lesion_admin_lists_lesions_with_image_counts(staff_client, records):
    LesionFactory(patient=records.lesion.patient, label="No images yet")
    response = staff_client.get(reverse("admin:lesions_lesion_changelist"))
    assert b"No images yet" in response.content
    assert response.context["cl"].result_count == 2


def test_admin_adds_a_patient_to_a_clinic_through_the_service(staff_client, staff, clinic):
    response = staff_client.post(
        reverse("admin:lesions_patient_add"),
        {
            "clinic": clinic.pk,
            "medical_record_number": "ADM-1",
            "family_name": "In Admin",
            "given_names": "Added",
            "date_of_birth": "1950-02-03",
            "sex": "other",
            "fitzpatrick_skin_type": "5",
            "notes": "",
            "lesions-TOTAL_FORMS": "0",
            "lesions-INITIAL_FORMS": "0",
        },
    )
    patient = Patient.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:lesions_patient_changelist")
    assert (patient.clinic, patient.name) == (clinic, "Added In Admin")
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.target_id) == (staff, AuditAction.CREATED, patient.pk)


def test_admin_adds_a_lesion_through_the_service(staff_client, staff):
    patient = PatientFactory()
    response = staff_client.post(
        reverse("admin:lesions_lesion_add"),
        {
            "patient": patient.pk,
            "label": "From admin",
            "body_site": "face",
            "body_view": "front",
            "map_x": "0.5",
            "map_y": "0.08",
            "status": "monitoring",
            "first_noted_on": "2024-01-01",
            "images-TOTAL_FORMS": "0",
            "images-INITIAL_FORMS": "0",
        },
    )
    assert response.status_code == 302
    lesion = Lesion.objects.get()
    assert (lesion.patient, lesion.body_site) == (patient, "face")
    assert AuditEvent.objects.get().action == AuditAction.CREATED


def test_admin_user_pages_offer_the_clinic(staff_client, clinician):
    add = staff_client.get(reverse("admin:lesions_user_add"))
    assert add.status_code == 200
    assert b'name="clinic"' in add.content
    change = staff_client.get(reverse("admin:lesions_user_change", args=[clinician.pk]))
    assert b'name="clinic"' in change.content
