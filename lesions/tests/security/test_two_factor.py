"""Finding 1 (high): the API login gave a token for the password of a user with a confirmed
TOTP device. Every way in now asks for the code."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.urls import reverse
from rest_framework.test import APIClient

from lesions.models import DeviceToken
from lesions.tests.security.conftest import api_login, current_code, totp_device

pytestmark = pytest.mark.django_db
LOGIN_OTP = reverse("api:login-otp")


def test_password_alone_gets_otp_required_and_no_token(clinician):
    totp_device(clinician)
    response = api_login(clinician.username)  # the outside test's request
    assert response.status_code == 401, response.content
    body = response.json()
    assert body["error"]["code"] == "otp_required" and "token" not in body
    assert body["challenge"] and body["challenge_expires_in"] == 300
    assert not DeviceToken.objects.exists()


def test_the_code_in_the_same_request_signs_in(clinician):
    device = totp_device(clinician)
    response = api_login(clinician.username, otp_token=current_code(device))
    assert response.status_code == 200, response.content
    assert DeviceToken.objects.filter(user=clinician).count() == 1


def test_the_challenge_and_the_code_sign_in_in_a_second_step(clinician):
    device = totp_device(clinician)
    challenge = api_login(clinician.username).json()["challenge"]
    body = {"challenge": challenge, "otp_token": current_code(device)}
    response = APIClient().post(LOGIN_OTP, body, format="json")
    assert response.status_code == 200, response.content
    assert response.json()["device"]["device_name"] == "attacker"
    token = response.json()["token"]
    assert (
        APIClient(HTTP_AUTHORIZATION=f"Token {token}").get("/api/v1/patients/").status_code == 200
    )


def test_a_wrong_code_is_refused_and_counts_towards_the_lockout(clinician):
    totp_device(clinician)
    response = api_login(clinician.username, otp_token="000000")
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid_otp"
    assert "otp_token" in response.json()["error"]["fields"]
    assert AccessAttempt.objects.get(username=clinician.username).failures_since_start == 1
    assert not DeviceToken.objects.exists()


def test_a_forged_or_tampered_challenge_is_refused(clinician):
    device = totp_device(clinician)
    challenge = api_login(clinician.username).json()["challenge"]
    for forged in ("not-a-challenge", challenge[:-2] + "xx"):
        body = {"challenge": forged, "otp_token": current_code(device)}
        response = APIClient().post(LOGIN_OTP, body, format="json")
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == "invalid_challenge"
    assert not DeviceToken.objects.exists()


def test_a_challenge_dies_with_sign_out_everywhere(clinician):
    from lesions.services import sign_out_everywhere

    device = totp_device(clinician)
    challenge = api_login(clinician.username).json()["challenge"]
    sign_out_everywhere(user=clinician)
    body = {"challenge": challenge, "otp_token": current_code(device)}
    assert APIClient().post(LOGIN_OTP, body, format="json").status_code == 400
