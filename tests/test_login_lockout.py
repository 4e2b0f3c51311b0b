"""Guessing passwords locks the account and the address out, on the sign-in page and the
admin's; staff unlock; callers without a request (shell, tests, commands) are unaffected."""

from __future__ import annotations

import pytest
from axes.models import AccessAttempt
from django.contrib.auth import authenticate
from django.contrib.sessions.models import Session
from django.test import Client, RequestFactory
from django.urls import reverse
from django.utils import timezone

from dermascan_site.accounts import client_ip, lockout_response
from lesions.tests.factories import TEST_PASSWORD, ClinicianFactory

pytestmark = pytest.mark.django_db

LOGIN = "/accounts/login/"


def sign_in(client: Client, username: str, password: str, path: str = LOGIN, **extra):
    return client.post(path, {"username": username, "password": password}, **extra)


def fail_five_times(client: Client, username: str, path: str = LOGIN, **extra) -> None:
    for attempt in range(5):
        response = sign_in(client, username, f"wrong-{attempt}", path, **extra)
        assert response.status_code in (200, 429)


def test_five_wrong_passwords_lock_the_account_even_for_the_right_one(client, clinician):
    fail_five_times(client, clinician.username)
    response = sign_in(client, clinician.username, TEST_PASSWORD)
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content
    assert b"Try again in 15 minutes" in response.content
    assert "_auth_user_id" not in client.session


def test_lockout_holds_for_the_account_from_another_address(client, clinician):
    fail_five_times(client, clinician.username, REMOTE_ADDR="10.0.0.1")
    response = sign_in(Client(), clinician.username, TEST_PASSWORD, REMOTE_ADDR="10.0.0.2")
    assert response.status_code == 429


def test_lockout_holds_for_the_address_with_another_account(client, clinician):
    for number in range(5):
        sign_in(client, f"nobody{number}", "guess", REMOTE_ADDR="10.0.0.9")
    assert (
        sign_in(client, clinician.username, TEST_PASSWORD, REMOTE_ADDR="10.0.0.9").status_code
        == 429
    )
    assert (
        sign_in(Client(), clinician.username, TEST_PASSWORD, REMOTE_ADDR="10.0.0.10").status_code
        == 302
    )


def test_admin_login_locks_out_too(client, staff):
    fail_five_times(client, staff.username, "/admin/login/")
    response = sign_in(client, staff.username, TEST_PASSWORD, "/admin/login/")
    assert response.status_code == 429
    assert b"Too many failed sign-ins" in response.content


def test_staff_unlock_the_account_from_the_user_list(client, clinician, staff_client):
    fail_five_times(client, clinician.username)
    assert AccessAttempt.objects.filter(username=clinician.username).exists()
    response = staff_client.post(
        reverse("admin:lesions_user_changelist"),
        {"action": "unlock_sign_in", "_selected_action": [clinician.pk]},
    )
    assert response.status_code == 302
    assert not AccessAttempt.objects.filter(username=clinician.username).exists()
    assert sign_in(Client(), clinician.username, TEST_PASSWORD).status_code == 302


def test_successful_sign_in_forgets_earlier_failures(client, clinician):
    for attempt in range(4):
        sign_in(client, clinician.username, f"wrong-{attempt}")
    assert sign_in(client, clinician.username, TEST_PASSWORD).status_code == 302
    for attempt in range(4):
        sign_in(Client(), clinician.username, f"wrong-again-{attempt}")
    assert sign_in(Client(), clinician.username, TEST_PASSWORD).status_code == 302


def test_non_web_callers_get_none_when_locked_and_work_without_a_request(client, clinician):
    """What the API's token login does: authenticate(request=...) answers None when locked."""
    request = RequestFactory().post("/api/v1/auth/login/", REMOTE_ADDR="10.1.1.1")
    assert authenticate(request=request, username=clinician.username, password=TEST_PASSWORD)
    fail_five_times(client, clinician.username)
    request = RequestFactory().post("/api/v1/auth/login/", REMOTE_ADDR="10.1.1.1")
    user = authenticate(request=request, username=clinician.username, password=TEST_PASSWORD)
    assert user is None
    assert getattr(request, "axes_locked_out", False)
    # A shell or a management command has no request: unaffected, nothing to count by.
    assert authenticate(username=clinician.username, password=TEST_PASSWORD) == clinician


def test_api_lockout_answers_in_the_api_error_shape():
    request = RequestFactory().post("/api/v1/auth/login/")
    response = lockout_response(request, None, {"username": "someone"})
    assert response.status_code == 429
    assert b'"code": "locked_out"' in response.content


def test_client_address_behind_the_proxy_is_taken_from_the_right(settings):
    request = RequestFactory().get(
        "/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7"
    )
    assert client_ip(request) == "172.18.0.5"
    settings.DERMASCAN_TRUSTED_PROXIES = 1
    assert client_ip(request) == "203.0.113.7"  # the spoofed left-most entry is ignored


def test_session_ends_after_30_idle_minutes(client, settings):
    assert settings.SESSION_COOKIE_AGE == 30 * 60
    assert settings.SESSION_SAVE_EVERY_REQUEST
    clinician = ClinicianFactory()
    assert sign_in(client, clinician.username, TEST_PASSWORD).status_code == 302
    session = Session.objects.get()
    remaining = session.expire_date - timezone.now()
    assert 29 * 60 < remaining.total_seconds() <= 30 * 60
    assert client.get(reverse("lesions:patient-list")).status_code == 200
    Session.objects.update(expire_date=timezone.now() - timezone.timedelta(seconds=1))
    response = client.get(reverse("lesions:patient-list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_a_drf_request_is_counted_and_locked_out_too(clinician):
    """The API's token login passes DRF's Request to authenticate()."""
    from rest_framework.parsers import JSONParser
    from rest_framework.request import Request

    def api_request() -> Request:
        body = {"username": clinician.username}
        django_request = RequestFactory().post(
            "/api/v1/auth/login/", body, content_type="application/json", REMOTE_ADDR="10.2.2.2"
        )
        return Request(django_request, parsers=[JSONParser()])

    for attempt in range(5):
        assert (
            authenticate(api_request(), username=clinician.username, password=f"no-{attempt}")
            is None
        )
    locked = api_request()
    assert authenticate(locked, username=clinician.username, password=TEST_PASSWORD) is None
    assert getattr(locked, "axes_locked_out", False)
    assert AccessAttempt.objects.get(username=clinician.username).failures_since_start >= 5
