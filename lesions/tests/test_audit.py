"""The audit trail: reads and writes of clinical records are recorded, and staff can read
the trail in the admin but never add, change or delete it."""

import pytest
from django.urls import reverse

from lesions.models import AuditAction, AuditEvent
from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory

pytestmark = pytest.mark.django_db


def events(**filters):
    return list(
        AuditEvent.objects.filter(**filters)
        .order_by("pk")
        .values_list("actor__username", "action", "target_type", "target_id")
    )


def test_viewing_a_patient_is_recorded(clinician_client, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    clinician_client.get(patient.get_absolute_url())
    assert events() == [(clinician.username, AuditAction.VIEWED, "patient", patient.pk)]


def test_viewing_a_lesion_is_recorded(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    clinician_client.get(lesion.get_absolute_url())
    assert events() == [(clinician.username, AuditAction.VIEWED, "lesion", lesion.pk)]


def test_opening_an_image_is_recorded_but_timeline_thumbnails_are_not(clinician_client, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    AuditEvent.objects.all().delete()
    url = reverse("lesions:image-file", kwargs={"image_pk": image.pk})
    clinician_client.get(url, {"size": "thumbnail"})
    assert events() == []
    clinician_client.get(url)
    assert events() == [(clinician.username, AuditAction.VIEWED, "image", image.pk)]


def test_create_change_delete_through_the_pages_are_recorded(clinician_client, clinician):
    clinician_client.post(
        reverse("lesions:patient-create"),
        {
            "medical_record_number": "A1",
            "family_name": "Me",
            "given_names": "Audit",
            "date_of_birth": "1970-01-01",
            "sex": "male",
        },
    )
    patient_pk = AuditEvent.objects.get().target_id
    clinician_client.post(
        reverse("lesions:patient-edit", kwargs={"patient_pk": patient_pk}),
        {
            "medical_record_number": "A1",
            "family_name": "Me Too",
            "given_names": "Audit",
            "date_of_birth": "1970-01-01",
            "sex": "male",
        },
    )
    clinician_client.post(reverse("lesions:patient-delete", kwargs={"patient_pk": patient_pk}))
    assert events() == [
        (clinician.username, AuditAction.CREATED, "patient", patient_pk),
        (clinician.username, AuditAction.CHANGED, "patient", patient_pk),
        (clinician.username, AuditAction.DELETED, "patient", patient_pk),
    ]
    changed = AuditEvent.objects.get(action=AuditAction.CHANGED)
    assert changed.changed_fields == ["family_name"]
    # The events outlive the patient and still say who it was.
    assert AuditEvent.objects.filter(patient_id=patient_pk).count() == 3
    assert "Audit Me Too" in AuditEvent.objects.get(action=AuditAction.DELETED).target_repr


def test_staff_can_read_the_trail_in_the_admin(staff_client, clinician):
    patient = PatientFactory(clinic=clinician.clinic, name="Listed Patient")
    from lesions.services import record_view

    event = record_view(actor=clinician, target=patient)
    changelist = staff_client.get(reverse("admin:lesions_auditevent_changelist"))
    assert changelist.status_code == 200
    assert b"Listed Patient" in changelist.content
    detail = staff_client.get(reverse("admin:lesions_auditevent_change", args=[event.pk]))
    assert detail.status_code == 200
    assert b'name="_save"' not in detail.content  # shown read-only


def test_nobody_can_add_change_or_delete_audit_events_in_the_admin(staff_client, clinician):
    from lesions.services import record_view

    event = record_view(actor=clinician, target=PatientFactory(clinic=clinician.clinic))
    assert staff_client.get(reverse("admin:lesions_auditevent_add")).status_code == 403
    change = staff_client.post(
        reverse("admin:lesions_auditevent_change", args=[event.pk]), {"action": "deleted"}
    )
    assert change.status_code == 403
    delete = staff_client.post(
        reverse("admin:lesions_auditevent_delete", args=[event.pk]), {"post": "yes"}
    )
    assert delete.status_code == 403
    bulk = staff_client.post(
        reverse("admin:lesions_auditevent_changelist"),
        {"action": "delete_selected", "_selected_action": [event.pk], "post": "yes"},
    )
    assert bulk.status_code in (200, 302, 403)
    event.refresh_from_db()
    assert event.action == AuditAction.VIEWED
    assert AuditEvent.objects.count() == 1
