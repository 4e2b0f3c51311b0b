"""Clinic isolation in the admin, checked on every admin URL of the lesions app.

Staff of clinic B hold every lesions permission except cross-clinic review; each admin URL
is filled with clinic A's records (walked from the admin's own URL patterns, so a URL added
later is covered) and must answer 404 without showing, changing or auditing anything.
Staff with the explicit cross-clinic permission see every clinic, and their reads are audited.
"""

from __future__ import annotations

import re

import pytest
from django.contrib import admin
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from lesions.models import (
    Analysis,
    AuditAction,
    AuditEvent,
    Lesion,
    LesionImage,
    Patient,
    Review,
)
from lesions.tests.factories import ClinicianFactory, LesionImageFactory, UserFactory
from lesions.tests.test_isolation import walk

pytestmark = pytest.mark.django_db


@pytest.fixture
def clinic_a_records(clinician):
    """Clinic A's patient, lesion, image, analysis and audit trail (the ones to protect)."""
    image = LesionImageFactory(
        lesion__patient__clinic=clinician.clinic,
        lesion__patient__name="Protected Patientname",
        uploaded_by=clinician,
    )
    lesion = image.lesion
    analysis = image.analyses.get()
    # A stored review of clinic A's result (written directly: the walker needs a row, not
    # the review workflow, which has its own tests).
    review = Review.objects.create(
        analysis=analysis,
        reviewer=clinician,
        agrees_with_model=False,
        diagnosis="mel",
        basis="clinical",
        management="refer",
        note="Protected Patientname review",
    )
    return {
        "clinic": clinician.clinic,
        "user": clinician,
        "patient": lesion.patient,
        "lesion": lesion,
        "lesionimage": image,
        "analysis": analysis,
        "review": review,
        "auditevent": AuditEvent.objects.filter(clinic=clinician.clinic).first(),
    }


def staff_of_another_clinic(*, cross_clinic: bool = False):
    """Staff (not superuser) of clinic B with every lesions permission; cross-clinic review
    only when asked, through a group, as an administrator would grant it."""
    staff = UserFactory(is_staff=True, clinic=ClinicianFactory().clinic)
    permissions = Permission.objects.filter(content_type__app_label="lesions")
    staff.user_permissions.set(permissions.exclude(codename="review_all_clinics"))
    if cross_clinic:
        group = Group.objects.create(name="Cross-clinic reviewers")
        group.permissions.add(permissions.get(codename="review_all_clinics"))
        staff.groups.add(group)
    client = Client()
    client.force_login(staff)
    return staff, client


def lesions_admin_routes():
    """(model name, URL name or route, route, path parameters) of every admin URL of a lesions
    model; unnamed URLs (the bare object URL that redirects to its change page) by route."""
    for model, model_admin in admin.site._registry.items():
        if model._meta.app_label != "lesions":
            continue
        for route, name, params, _view in walk(model_admin.get_urls()):
            yield model._meta.model_name, name or route, route, params


def fill(model: str, route: str, values: dict[str, int]) -> str:
    """The admin URL of ``route`` with each path parameter set to its value."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda match: str(values[match.group(1)]), route)
    return f"/admin/lesions/{model}/{path}"


def snapshot(clinic):
    return (
        list(
            Patient.objects.filter(clinic=clinic).values_list(
                "pk", "family_name", "given_names", "notes"
            )
        ),
        list(Lesion.objects.filter(patient__clinic=clinic).values_list("pk", "label", "status")),
        list(LesionImage.objects.filter(lesion__patient__clinic=clinic).values_list("pk", "file")),
        list(Analysis.objects.filter(image__lesion__patient__clinic=clinic).values_list("pk")),
        AuditEvent.objects.filter(clinic=clinic).count(),
    )


def test_other_clinics_staff_get_404_on_every_lesions_admin_url(clinic_a_records):
    _, client = staff_of_another_clinic()
    before = snapshot(clinic_a_records["clinic"])
    secret = clinic_a_records["patient"].name.encode()
    values = {
        "image_pk": clinic_a_records["lesionimage"].pk,
        "analysis_pk": clinic_a_records["analysis"].pk,
    }
    visited = set()
    for model, name, route, params in lesions_admin_routes():
        record_pk = clinic_a_records[model].pk
        url = fill(model, route, {"object_id": record_pk, "id": record_pk, **values})
        get = client.get(url, follow=True)
        post = client.post(url, {"post": "yes", "name": "Hijacked", "label": "X"}, follow=True)
        visited.add(name)
        for response in (get, post):
            assert secret not in response.content, (name, response.status_code)
        if params:
            assert get.status_code == 404, (name, "GET", get.status_code)
            assert post.status_code in (403, 404, 405), (name, "POST", post.status_code)
        else:
            assert get.status_code in (200, 403), (name, get.status_code)
    assert {"lesions_patient_change", "lesions_lesionimage_file"} <= visited
    assert {
        "lesions_analysis_heatmap",
        "lesions_patient_changelist",
        "<path:object_id>/",
    } <= visited
    assert snapshot(clinic_a_records["clinic"]) == before, "clinic A's records changed or were read"


def test_other_clinics_staff_see_only_their_clinic_in_lists_and_autocomplete(clinic_a_records):
    staff, client = staff_of_another_clinic()
    own = LesionImageFactory(lesion__patient__clinic=staff.clinic, lesion__patient__name="Own One")
    response = client.get(reverse("admin:lesions_patient_changelist"))
    assert b"Own One" in response.content
    assert b"Protected Patientname" not in response.content
    clinic_filter = client.get(reverse("admin:lesions_auditevent_changelist"))
    assert clinic_a_records["clinic"].name.encode() not in clinic_filter.content
    autocomplete = client.get(
        reverse("admin:autocomplete"),
        {"app_label": "lesions", "model_name": "lesion", "field_name": "patient", "term": "e"},
    )
    names = [result["text"] for result in autocomplete.json()["results"]]
    assert names == [str(own.lesion.patient)]


def test_staff_without_a_clinic_or_the_permission_see_nothing(clinic_a_records):
    staff = UserFactory(is_staff=True)
    staff.user_permissions.set(Permission.objects.filter(codename="view_patient"))
    client = Client()
    client.force_login(staff)
    response = client.get(reverse("admin:lesions_patient_changelist"))
    assert response.status_code == 200
    assert response.context["cl"].result_count == 0


def test_cross_clinic_reviewer_sees_every_clinic_and_reads_are_audited(clinic_a_records):
    staff, client = staff_of_another_clinic(cross_clinic=True)
    patient = clinic_a_records["patient"]
    listing = client.get(reverse("admin:lesions_patient_changelist"))
    assert b"Protected Patientname" in listing.content
    before = AuditEvent.objects.filter(action=AuditAction.VIEWED).count()
    pages = {
        "patient": (reverse("admin:lesions_patient_change", args=[patient.pk]), patient.pk),
        "lesion": (
            reverse("admin:lesions_lesion_change", args=[clinic_a_records["lesion"].pk]),
            clinic_a_records["lesion"].pk,
        ),
        "image": (
            reverse("admin:lesions_lesionimage_change", args=[clinic_a_records["lesionimage"].pk]),
            clinic_a_records["lesionimage"].pk,
        ),
        "analysis": (
            reverse("admin:lesions_analysis_change", args=[clinic_a_records["analysis"].pk]),
            clinic_a_records["lesionimage"].pk,
        ),
    }
    for kind, (url, target_id) in pages.items():
        assert client.get(url).status_code == 200, kind
        event = AuditEvent.objects.filter(action=AuditAction.VIEWED).latest("pk")
        assert (event.actor, event.target_id, event.patient_id) == (staff, target_id, patient.pk)
        assert event.clinic == clinic_a_records["clinic"]
    assert AuditEvent.objects.filter(action=AuditAction.VIEWED).count() == before + len(pages)


def test_same_clinic_staff_read_of_a_patient_is_audited(clinic_a_records, clinician):
    staff = UserFactory(is_staff=True, clinic=clinician.clinic)
    staff.user_permissions.set(Permission.objects.filter(codename="view_patient"))
    client = Client()
    client.force_login(staff)
    patient = clinic_a_records["patient"]
    response = client.get(reverse("admin:lesions_patient_change", args=[patient.pk]))
    assert response.status_code == 200
    assert b"Protected Patientname" in response.content
    event = AuditEvent.objects.latest("pk")
    assert (event.actor, event.action, event.target_type) == (staff, "viewed", "patient")
