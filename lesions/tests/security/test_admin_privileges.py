"""Finding 2 (medium): clinic staff with "change user" (which unlocking needed) set
``is_superuser`` on their own account and then read every clinic. Unlocking is its own
permission now, and only superusers change privileges."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth.models import Group, Permission
from django.test import Client
from django.urls import reverse

from lesions.tests.factories import ClinicianFactory, StaffFactory

pytestmark = pytest.mark.django_db


def desk_staff(clinic, *codenames: str):
    """A clinic's staff member (not a superuser) with the given lesions permissions."""
    user = ClinicianFactory(clinic=clinic, is_staff=True)
    user.user_permissions.set(Permission.objects.filter(codename__in=codenames))
    client = Client()
    client.force_login(user)
    return user, client


def change_form(user, **changes) -> dict:
    """The change form's fields as the admin posts them, with ``changes``."""
    data = {
        "username": user.username,
        "first_name": user.first_name,
        "last_name": user.last_name,
        "email": user.email,
        "is_active": "on",
        "is_staff": "on",
        "clinic": user.clinic_id or "",
        "date_joined_0": "2026-01-01",
        "date_joined_1": "00:00:00",
    }
    return {**data, **changes}


def test_staff_cannot_make_themselves_superuser(clinician):
    user, client = desk_staff(clinician.clinic, "view_user", "change_user")
    url = reverse("admin:lesions_user_change", args=[user.pk])
    group = Group.objects.create(name="everything")
    group.permissions.set(Permission.objects.all())
    everything = [str(p.pk) for p in Permission.objects.all()[:5]]
    forged = change_form(
        user, is_superuser="on", groups=[group.pk], user_permissions=everything, first_name="Me"
    )
    response = client.post(url, forged)  # the outside test's request
    assert response.status_code == 302, response.content[:2000]
    user.refresh_from_db()
    assert user.first_name == "Me"  # the form was saved, the privileges were not
    assert not user.is_superuser and not user.groups.exists()
    assert set(user.user_permissions.values_list("codename", flat=True)) == {
        "view_user",
        "change_user",
    }


def test_staff_cannot_grant_privileges_to_others(clinician):
    _, client = desk_staff(clinician.clinic, "view_user", "change_user")
    url = reverse("admin:lesions_user_change", args=[clinician.pk])
    client.post(url, change_form(clinician, is_superuser="on", is_staff="on"))
    clinician.refresh_from_db()
    assert not clinician.is_superuser and not clinician.is_staff


def test_staff_cannot_change_a_superusers_account(clinician):
    boss = StaffFactory(clinic=clinician.clinic)
    _, client = desk_staff(clinician.clinic, "view_user", "change_user")
    url = reverse("admin:lesions_user_change", args=[boss.pk])
    client.post(url, change_form(boss, first_name="Hijacked"))
    boss.refresh_from_db()
    assert boss.first_name != "Hijacked"
    password = reverse("admin:auth_user_password_change", args=[boss.pk])
    assert client.post(password, {"password1": "x-9!Qw", "password2": "x-9!Qw"}).status_code == 403


def test_unlocking_needs_only_the_unlock_permission(clinician, client):
    locked = ClinicianFactory(clinic=clinician.clinic)
    AccessAttempt.objects.create(
        username=locked.username, ip_address="10.0.0.1", failures_since_start=5
    )
    _, desk = desk_staff(clinician.clinic, "view_user", "unlock_sign_in")
    action = {"action": "unlock_sign_in", "_selected_action": [locked.pk]}
    assert desk.post(reverse("admin:lesions_user_changelist"), action).status_code == 302
    assert not AccessAttempt.objects.filter(username=locked.username).exists()


def test_change_user_alone_does_not_unlock(clinician):
    locked = ClinicianFactory(clinic=clinician.clinic)
    AccessAttempt.objects.create(
        username=locked.username, ip_address="10.0.0.1", failures_since_start=5
    )
    _, staff = desk_staff(clinician.clinic, "view_user", "change_user")
    action = {"action": "unlock_sign_in", "_selected_action": [locked.pk]}
    staff.post(reverse("admin:lesions_user_changelist"), action)
    assert AccessAttempt.objects.filter(username=locked.username).exists()
