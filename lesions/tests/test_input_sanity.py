"""Input a person could not have meant: implausible dates, case-only duplicates of a record
number, notes of megabytes, invisible characters in names. Checked through the services
(which the pages, the admin and the API all use) and against the database itself."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django.utils import timezone

from lesions import services
from lesions.models import AuditEvent, LesionImage, Patient
from lesions.tests.factories import LesionFactory
from lesions.tests.images import jpeg_bytes

pytestmark = pytest.mark.django_db


def new_patient(clinic, user, **overrides):
    fields = {
        "medical_record_number": "MRN-A-1",
        "name": "Ada Lovelace",
        "date_of_birth": datetime.date(1975, 12, 10),
        **overrides,
    }
    return services.create_patient(clinic=clinic, created_by=user, **fields)


def refused_fields(call) -> dict:
    with pytest.raises(ValidationError) as caught:
        call()
    return caught.value.message_dict


def test_date_of_birth_more_than_130_years_ago_is_refused(clinic, clinician):
    errors = refused_fields(
        lambda: new_patient(clinic, clinician, date_of_birth=datetime.date(1, 1, 1))
    )
    assert "not plausible" in errors["date_of_birth"][0]
    old_but_alive = timezone.localdate().replace(year=timezone.localdate().year - 110)
    assert new_patient(clinic, clinician, date_of_birth=old_but_alive).pk


def test_record_number_differing_only_in_case_is_a_duplicate(clinic, clinician):
    new_patient(clinic, clinician, medical_record_number="MRN-A-1")
    with pytest.raises(ValidationError, match="already exists in this clinic"):
        new_patient(clinic, clinician, medical_record_number="mrn-a-1", name="Other")
    assert Patient.objects.count() == 1


def test_database_refuses_a_case_only_duplicate_too(clinic, clinician):
    first = new_patient(clinic, clinician)
    with pytest.raises(IntegrityError), transaction.atomic():
        Patient.objects.create(
            clinic=clinic,
            medical_record_number=first.medical_record_number.lower(),
            name="Bypassing the service",
            date_of_birth=datetime.date(1980, 1, 1),
        )


def test_case_only_duplicate_is_fine_in_another_clinic(clinic, clinician, other_clinician):
    new_patient(clinic, clinician, medical_record_number="MRN-A-1")
    new_patient(other_clinician.clinic, other_clinician, medical_record_number="mrn-a-1")
    assert Patient.objects.count() == 2


def test_notes_are_capped(clinic, clinician):
    errors = refused_fields(lambda: new_patient(clinic, clinician, notes="x" * 2_000_000))
    assert "at most 10000 characters" in errors["notes"][0]
    assert new_patient(clinic, clinician, notes="x" * 10_000).pk


def test_bidi_and_zero_width_characters_are_stripped_from_names(clinic, clinician):
    patient = new_patient(
        clinic,
        clinician,
        name="\u202eecilA\u202c Smi\u200bth\ufeff",
        medical_record_number="MRN\u200d-7",
    )
    assert patient.name == "ecilA Smith"
    assert patient.medical_record_number == "MRN-7"
    services.update_patient(patient=patient, changed_by=clinician, name="Al\u2066ice\u2069 Smith")
    patient.refresh_from_db()
    assert patient.name == "Alice Smith"


def test_image_captured_before_the_patients_birth_is_refused(clinician, media_root):
    lesion = LesionFactory(
        patient__clinic=clinician.clinic, patient__date_of_birth=datetime.date(2000, 5, 1)
    )
    errors = refused_fields(
        lambda: services.add_lesion_image(
            lesion=lesion,
            uploaded_file=SimpleUploadedFile("a.jpg", jpeg_bytes(seed=1)),
            captured_on=datetime.date(2000, 4, 30),
            modality="dermoscopic",
            uploaded_by=clinician,
        )
    )
    assert "before the patient's date of birth" in errors["captured_on"][0]
    assert not LesionImage.objects.exists()
    assert not list(media_root.rglob("*.jpg"))


def test_patient_form_shows_the_implausible_birth_date_beside_the_field(clinician_client):
    response = clinician_client.post(
        reverse("lesions:patient-create"),
        {
            "medical_record_number": "X-1",
            "name": "Old",
            "date_of_birth": "0001-01-01",
            "sex": "male",
        },
    )
    assert response.status_code == 400
    assert "not plausible" in response.context["form"].errors["date_of_birth"][0]


@pytest.mark.django_db(transaction=True)
def test_migration_keeps_existing_case_only_duplicates():
    before, after = (
        [("lesions", "0004_analysis_result_state")],
        [("lesions", "0005_sec_input_sanity")],
    )
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        clinic = apps.get_model("lesions", "Clinic").objects.create(name="Old data")
        OldPatient = apps.get_model("lesions", "Patient")
        for number in ("MRN-A-1", "mrn-a-1", "Mrn-A-1", "MRN-B-2"):
            OldPatient.objects.create(
                clinic=clinic,
                medical_record_number=number,
                name=f"Patient {number}",
                date_of_birth=datetime.date(1970, 1, 1),
            )
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(after)
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    numbers = list(Patient.objects.order_by("pk").values_list("medical_record_number", flat=True))
    ids = list(Patient.objects.order_by("pk").values_list("pk", flat=True))
    assert numbers == ["MRN-A-1", f"mrn-a-1-dup{ids[1]}", f"Mrn-A-1-dup{ids[2]}", "MRN-B-2"]
    audited = AuditEvent.objects.filter(changed_fields=["medical_record_number"], actor=None)
    assert sorted(audited.values_list("patient_id", flat=True)) == ids[1:3]
