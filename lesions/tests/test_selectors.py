import datetime

import pytest
from django.utils import timezone

from lesions import selectors
from lesions.models import Patient
from lesions.tests.factories import (
    ClinicianFactory,
    LesionFactory,
    LesionImageFactory,
    PatientFactory,
    UserFactory,
)

pytestmark = pytest.mark.django_db


def test_user_without_clinic_sees_no_patients():
    PatientFactory()
    assert not Patient.objects.visible_to(UserFactory()).exists()


def test_inactive_user_is_not_a_clinician():
    user = ClinicianFactory(is_active=False)
    assert not user.is_clinician


def test_patients_for_counts_lesions_and_orders_by_name(clinician):
    zed = PatientFactory(clinic=clinician.clinic, name="Zed")
    amy = PatientFactory(clinic=clinician.clinic, name="Amy")
    LesionFactory.create_batch(2, patient=zed)
    patients = list(selectors.patients_for(clinician))
    assert patients == [amy, zed]
    assert [patient.lesion_count for patient in patients] == [0, 2]


def test_search_is_case_insensitive_and_ignores_surrounding_space(clinician):
    patient = PatientFactory(clinic=clinician.clinic, name="Rosalind Franklin")
    assert list(selectors.patients_for(clinician, query="  FRANK ")) == [patient]


def test_lesions_of_patient_carry_image_count_and_last_capture(clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    today = timezone.localdate()
    LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=20))
    LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=2))
    (row,) = selectors.lesions_of(lesion.patient)
    assert row.image_count == 2
    assert row.last_captured_on == today - datetime.timedelta(days=2)


def test_timeline_orders_by_capture_date_and_gives_intervals(clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    today = timezone.localdate()
    c = LesionImageFactory(lesion=lesion, captured_on=today)
    a = LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=100))
    b = LesionImageFactory(lesion=lesion, captured_on=today - datetime.timedelta(days=40))
    timeline = selectors.lesion_timeline(lesion)
    assert [entry.image for entry in timeline] == [a, b, c]
    assert [entry.days_since_previous for entry in timeline] == [None, 60, 40]
    assert [entry.days_since_first for entry in timeline] == [0, 60, 100]


def test_patient_age_counts_whole_years():
    patient = PatientFactory.build(date_of_birth=datetime.date(1980, 6, 15))
    assert patient.age_on(datetime.date(2020, 6, 14)) == 39
    assert patient.age_on(datetime.date(2020, 6, 15)) == 40
