import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError

from lesions import services
from lesions.models import AuditAction, AuditEvent, Lesion, LesionImage
from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory
from lesions.tests.images import stored_files

pytestmark = pytest.mark.django_db


def new_lesion(patient, user, **overrides):
    fields = {
        "label": "Left shoulder mole",
        "body_site": "back",
        "body_view": "back",
        "map_x": 0.3,
        "map_y": 0.2,
        **overrides,
    }
    return services.create_lesion(patient=patient, created_by=user, **fields)


def test_create_lesion_places_it_on_the_body_map_and_audits(clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    lesion = new_lesion(patient, clinician)
    assert (lesion.body_view, lesion.map_x, lesion.map_y) == ("back", 0.3, 0.2)
    assert lesion.status == "monitoring"
    event = AuditEvent.objects.get()
    assert (event.action, event.target_type, event.target_id, event.patient_id) == (
        AuditAction.CREATED,
        "lesion",
        lesion.pk,
        patient.pk,
    )


@pytest.mark.parametrize(
    ("field", "value"), [("map_x", -0.01), ("map_x", 1.5), ("map_y", 2), ("map_y", -1)]
)
def test_coordinates_outside_the_unit_square_are_refused(clinician, field, value):
    patient = PatientFactory(clinic=clinician.clinic)
    with pytest.raises(ValidationError) as caught:
        new_lesion(patient, clinician, **{field: value})
    assert field in caught.value.message_dict
    assert not Lesion.objects.exists()


def test_database_also_refuses_coordinates_outside_the_unit_square(clinician):
    lesion = LesionFactory()
    with pytest.raises(IntegrityError):
        Lesion.objects.filter(pk=lesion.pk).update(map_x=1.2)


def test_body_site_must_come_from_the_ham10000_vocabulary(clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    with pytest.raises(ValidationError) as caught:
        new_lesion(patient, clinician, body_site="elbow")
    assert "body_site" in caught.value.message_dict
    assert new_lesion(patient, clinician, body_site="lower extremity").body_site == (
        "lower extremity"
    )


def test_update_lesion_audits_changed_fields(clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    services.update_lesion(lesion=lesion, changed_by=clinician, status="excised", map_x=0.5)
    lesion.refresh_from_db()
    assert lesion.status == "excised"
    assert AuditEvent.objects.get().changed_fields == ["map_x", "status"]


def test_update_lesion_refuses_bad_coordinates_and_keeps_the_old_ones(clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic, map_y=0.4)
    with pytest.raises(ValidationError):
        services.update_lesion(lesion=lesion, changed_by=clinician, map_y=1.01)
    lesion.refresh_from_db()
    assert lesion.map_y == 0.4


def test_confirmed_diagnosis_is_not_edited_directly(clinician):
    """It comes from a histopathology review (see test_services_reviews)."""
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    with pytest.raises(TypeError, match="confirmed_diagnosis"):
        services.update_lesion(lesion=lesion, changed_by=clinician, confirmed_diagnosis="mel")
    lesion.refresh_from_db()
    assert lesion.confirmed_diagnosis == ""


def test_delete_lesion_deletes_its_images_after_commit(
    clinician, media_root, django_capture_on_commit_callbacks
):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    kept = LesionImageFactory(lesion__patient=image.lesion.patient, uploaded_by=clinician)
    with django_capture_on_commit_callbacks(execute=True):
        services.delete_lesion(lesion=image.lesion, deleted_by=clinician)
    assert list(LesionImage.objects.all()) == [kept]
    assert len(stored_files(media_root)) == 2  # only the other lesion's image and thumbnail
    assert AuditEvent.objects.filter(action=AuditAction.DELETED).count() == 2
