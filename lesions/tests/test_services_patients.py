import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from lesions import services
from lesions.models import AuditAction, AuditEvent, Lesion, LesionImage, Patient
from lesions.tests.factories import LesionImageFactory, PatientFactory
from lesions.tests.images import stored_files

pytestmark = pytest.mark.django_db


def new_patient(clinic, user, **overrides):
    fields = {
        "medical_record_number": "MRN-1",
        "name": "Ada Lovelace",
        "date_of_birth": datetime.date(1975, 12, 10),
        "sex": "female",
        "fitzpatrick_skin_type": 2,
        **overrides,
    }
    return services.create_patient(clinic=clinic, created_by=user, **fields)


def test_create_patient_stores_it_in_the_clinic_and_audits(clinic, clinician):
    patient = new_patient(clinic, clinician, name="  Ada Lovelace ")
    assert patient.clinic == clinic
    assert patient.name == "Ada Lovelace"
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.target_type, event.target_id) == (
        clinician,
        AuditAction.CREATED,
        "patient",
        patient.pk,
    )
    assert event.clinic == clinic
    assert event.patient_id == patient.pk


def test_record_number_is_unique_within_a_clinic(clinic, clinician):
    new_patient(clinic, clinician)
    with pytest.raises(ValidationError) as caught:
        new_patient(clinic, clinician, name="Someone else")
    assert "already exists in this clinic" in str(caught.value)
    assert Patient.objects.count() == 1


def test_same_record_number_is_fine_in_another_clinic(clinic, clinician, other_clinician):
    new_patient(clinic, clinician)
    new_patient(other_clinician.clinic, other_clinician)
    assert Patient.objects.count() == 2


def test_birth_date_in_the_future_is_refused(clinic, clinician):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        new_patient(clinic, clinician, date_of_birth=tomorrow)
    assert caught.value.message_dict["date_of_birth"] == ["This date is in the future."]
    assert not Patient.objects.exists()
    assert not AuditEvent.objects.exists()


def test_update_patient_audits_the_changed_field_names_only(clinician):
    patient = PatientFactory(clinic=clinician.clinic, name="Old Name", notes="")
    services.update_patient(
        patient=patient,
        changed_by=clinician,
        given_names="New",
        family_name="Name",
        notes="itchy",
        sex=patient.sex,
    )
    patient.refresh_from_db()
    assert (patient.name, patient.notes) == ("New Name", "itchy")
    event = AuditEvent.objects.get()
    assert event.action == AuditAction.CHANGED
    assert event.changed_fields == ["given_names", "notes"]
    assert "New Name" in event.target_repr
    assert "itchy" not in str(event.changed_fields)


def test_update_without_changes_writes_no_event(clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    services.update_patient(patient=patient, changed_by=clinician, name=patient.name)
    assert not AuditEvent.objects.exists()


def test_update_cannot_move_a_patient_to_another_clinic(clinician, other_clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    with pytest.raises(TypeError, match="clinic"):
        services.update_patient(
            patient=patient, changed_by=clinician, clinic=other_clinician.clinic
        )


def test_refused_update_changes_nothing(clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    taken = PatientFactory(clinic=clinician.clinic)
    with pytest.raises(ValidationError):
        services.update_patient(
            patient=patient,
            changed_by=clinician,
            medical_record_number=taken.medical_record_number,
        )
    patient.refresh_from_db()
    assert patient.medical_record_number != taken.medical_record_number
    assert not AuditEvent.objects.exists()


def test_delete_patient_removes_lesions_images_and_files_and_audits_each(
    clinician, media_root, django_capture_on_commit_callbacks
):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    patient = image.lesion.patient
    patient_pk = patient.pk
    assert len(stored_files(media_root)) == 2  # image and thumbnail
    AuditEvent.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        services.delete_patient(patient=patient, deleted_by=clinician)

    assert not Patient.objects.exists()
    assert not Lesion.objects.exists()
    assert not LesionImage.objects.exists()
    assert stored_files(media_root) == []
    deleted = AuditEvent.objects.filter(action=AuditAction.DELETED)
    assert sorted(deleted.values_list("target_type", flat=True)) == ["image", "lesion", "patient"]
    assert set(deleted.values_list("patient_id", flat=True)) == {patient_pk}
