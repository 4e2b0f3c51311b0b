"""Optional TOTP two-factor sign-in, and the setting that makes it mandatory for staff."""

from __future__ import annotations

import re

import pytest
from axes.models import AccessAttempt
from django.test import Client
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from lesions.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"


def forget_throttling(device: TOTPDevice) -> None:
    """django-otp delays the next try after a wrong code (1 s, doubling); tests need no wait."""
    TOTPDevice.objects.filter(pk=device.pk).update(
        throttling_failure_count=0, throttling_failure_timestamp=None
    )


def sign_in(client: Client, user, otp_token: str = "", path: str = "/accounts/login/"):
    data = {"username": user.username, "password": TEST_PASSWORD, "otp_token": otp_token}
    return client.post(path, data)


def test_clinician_sets_up_an_authenticator(clinician_client, clinician):
    page = clinician_client.get(reverse("two-factor"))
    assert page.status_code == 200
    secret = re.search(rb'class="otp-secret">([A-Z2-7=]+)<', page.content).group(1)
    device = TOTPDevice.objects.get(user=clinician)
    assert not device.confirmed
    assert b"otpauth://totp/" in page.content
    assert secret.decode().rstrip("=")
    wrong = clinician_client.post(reverse("two-factor"), {"code": "000000"})
    assert wrong.status_code == 400
    forget_throttling(device)
    response = clinician_client.post(reverse("two-factor"), {"code": current_code(device)})
    assert response.status_code == 302
    device.refresh_from_db()
    assert device.confirmed


def test_enrolled_user_needs_the_code_to_sign_in(client, clinician):
    device = TOTPDevice.objects.create(user=clinician, name="phone", confirmed=True)
    response = sign_in(client, clinician)
    assert response.status_code == 200
    assert b"Enter the current code" in response.content
    assert "_auth_user_id" not in client.session
    assert sign_in(client, clinician, "123456").status_code == 200
    # Wrong codes count towards the lockout like wrong passwords.
    assert AccessAttempt.objects.get(username=clinician.username).failures_since_start == 2
    forget_throttling(device)
    response = sign_in(client, clinician, current_code(device))
    assert response.status_code == 302
    assert client.session["_auth_user_id"] == str(clinician.pk)


def test_user_without_a_device_signs_in_with_the_password_alone(client, clinician):
    assert sign_in(client, clinician).status_code == 302


def test_staff_must_set_up_two_factor_when_the_setting_says_so(client, staff, settings):
    settings.DERMASCAN_STAFF_REQUIRE_2FA = True
    response = sign_in(client, staff, path="/admin/login/?next=/admin/")
    assert response.status_code == 302
    # Password alone: the admin sends staff to set up or enter a second factor.
    admin = client.get("/admin/", follow=True)
    assert admin.redirect_chain[-1][0].startswith(reverse("two-factor"))
    device = TOTPDevice.objects.get(user=staff)
    done = client.post(
        f"{reverse('two-factor')}?next=/admin/", {"code": current_code(device)}, follow=True
    )
    assert done.redirect_chain[-1][0] == "/admin/"
    assert done.status_code == 200
    assert b"Site administration" in done.content


def test_staff_use_the_admin_without_a_second_factor_by_default(client, staff):
    assert sign_in(client, staff, path="/admin/login/").status_code == 302
    assert client.get("/admin/").status_code == 200


def test_enrolled_staff_sign_in_to_the_admin_with_their_code(client, staff):
    device = TOTPDevice.objects.create(user=staff, name="phone", confirmed=True)
    page = client.get("/admin/login/")
    assert b'name="otp_token"' in page.content
    refused = sign_in(client, staff, path="/admin/login/")
    assert refused.status_code == 200
    assert b"Enter the current code" in refused.content
    forget_throttling(device)
    assert sign_in(client, staff, current_code(device), path="/admin/login/").status_code == 302
    assert client.get("/admin/").status_code == 200
