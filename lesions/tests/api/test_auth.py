"""Per-device tokens: login, logout, logout-all, devices, expiry, revocation, throttling."""

from __future__ import annotations

import datetime

import pytest
from django.contrib.auth.signals import user_login_failed
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from lesions.models import DeviceToken
from lesions.tests.api.conftest import assert_error, client_with_token, token_for
from lesions.tests.factories import TEST_PASSWORD

pytestmark = pytest.mark.django_db

LOGIN = reverse("api:login")
PATIENTS = reverse("api:patient-list")


def login(client, username, password=TEST_PASSWORD, device="Ames iPhone", **extra):
    data = {"username": username, "password": password, "device_name": device}
    return client.post(LOGIN, data, format="json", **extra)


def test_login_gives_a_device_token_that_opens_the_api(clinician):
    response = login(APIClient(), clinician.username)
    assert response.status_code == 200, response.content
    body = response.json()
    assert body["user"]["username"] == clinician.username
    assert body["clinic"] == {"id": clinician.clinic.pk, "name": clinician.clinic.name}
    assert body["device"]["device_name"] == "Ames iPhone"
    expiry = datetime.datetime.fromisoformat(body["expiry"])
    assert abs(expiry - (timezone.now() + datetime.timedelta(days=30))) < datetime.timedelta(
        minutes=1
    )
    assert client_with_token(body["token"]).get(PATIENTS).status_code == 200
    # Only a hash is stored, never the token.
    stored = DeviceToken.objects.get(user=clinician)
    assert body["token"] not in stored.digest and stored.digest != body["token"]


def test_token_lifetime_comes_from_settings(clinician, settings):
    settings.REST_KNOX = {**settings.REST_KNOX, "TOKEN_TTL": datetime.timedelta(days=2)}
    body = login(APIClient(), clinician.username).json()
    expiry = datetime.datetime.fromisoformat(body["expiry"])
    assert expiry < timezone.now() + datetime.timedelta(days=2, minutes=1)


def test_wrong_password_is_a_400_in_the_error_shape(clinician):
    assert_error(login(APIClient(), clinician.username, "wrong"), 400, "invalid_credentials")


def test_login_goes_through_django_authenticate(clinician):
    failures = []

    def record(sender, credentials, request, **kwargs):
        failures.append((credentials["username"], request is not None))

    user_login_failed.connect(record)
    try:
        login(APIClient(), clinician.username, "wrong")
    finally:
        user_login_failed.disconnect(record)
    assert failures == [(clinician.username, True)]  # lockout tools see the request


def test_missing_fields_are_named(db):
    error = assert_error(APIClient().post(LOGIN, {}, format="json"), 400, "required")
    assert set(error["fields"]) == {"username", "password", "device_name"}


def test_staff_without_clinic_cannot_get_a_token(staff):
    # The same answer as a wrong password: it must not tell that the password was right.
    assert_error(login(APIClient(), staff.username), 400, "invalid_credentials")
    assert not DeviceToken.objects.exists()


def test_no_token_is_401(db):
    response = APIClient().get(PATIENTS)
    assert_error(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_unknown_token_is_401(db):
    assert_error(client_with_token("x" * 64).get(PATIENTS), 401, "authentication_failed")


def test_expired_token_is_401(clinician):
    key = token_for(clinician)
    DeviceToken.objects.update(expiry=timezone.now() - datetime.timedelta(seconds=1))
    assert_error(client_with_token(key).get(PATIENTS), 401)
    assert not DeviceToken.objects.exists()  # refused and deleted


def test_signing_in_removes_the_users_expired_tokens_only(clinician, other_clinician):
    old, live = token_for(clinician, "old phone"), token_for(clinician, "tablet")
    theirs = token_for(other_clinician, "their old phone")
    expired = timezone.now() - datetime.timedelta(seconds=1)
    DeviceToken.objects.filter(token_key__in=[old[:15], theirs[:15]]).update(expiry=expired)
    assert login(APIClient(), clinician.username, device="new phone").status_code == 200
    mine = set(DeviceToken.objects.filter(user=clinician).values_list("device_name", flat=True))
    assert mine == {"tablet", "new phone"}
    assert DeviceToken.objects.filter(user=other_clinician).exists()  # not theirs to clean
    assert client_with_token(live).get(PATIENTS).status_code == 200


def test_logout_revokes_this_device_only(clinician):
    phone, tablet = token_for(clinician, "phone"), token_for(clinician, "tablet")
    assert client_with_token(phone).post(reverse("api:logout")).status_code == 204
    assert_error(client_with_token(phone).get(PATIENTS), 401)
    assert client_with_token(tablet).get(PATIENTS).status_code == 200


def test_logout_all_revokes_every_device_of_the_user(clinician, other_clinician):
    phone, tablet = token_for(clinician, "phone"), token_for(clinician, "tablet")
    others = token_for(other_clinician)
    assert client_with_token(phone).post(reverse("api:logout-all")).status_code == 204
    for key in (phone, tablet):
        assert_error(client_with_token(key).get(PATIENTS), 401)
    assert client_with_token(others).get(PATIENTS).status_code == 200


def test_devices_list_names_devices_and_their_last_use(clinician, other_clinician):
    token_for(other_clinician, "not mine")
    tablet = token_for(clinician, "tablet")
    phone = client_with_token(token_for(clinician, "phone"))
    phone.get(PATIENTS)
    page = phone.get(reverse("api:device-list")).json()
    assert page["count"] == 2 and page["next"] is None  # paginated like every list
    devices = {d["device_name"]: d for d in page["results"]}
    assert set(devices) == {"phone", "tablet"}
    assert devices["phone"]["current"] and not devices["tablet"]["current"]
    assert devices["phone"]["last_used_at"] is not None
    assert devices["tablet"]["last_used_at"] is None
    assert tablet[:15] == devices["tablet"]["key"]


def test_a_lost_device_can_be_signed_out_from_another(clinician, other_clinician):
    lost = token_for(clinician, "lost phone")
    theirs = DeviceToken.objects.get(device_name="lost phone").token_key
    tablet = client_with_token(token_for(clinician, "tablet"))
    assert tablet.delete(reverse("api:device-detail", args=[theirs])).status_code == 204
    assert_error(client_with_token(lost).get(PATIENTS), 401)
    # Another user's device is not found.
    other_key = token_for(other_clinician)[:15]
    assert_error(tablet.delete(reverse("api:device-detail", args=[other_key])), 404)
    assert DeviceToken.objects.filter(user=other_clinician).exists()


def test_session_login_still_works_for_the_pages_own_calls(clinician_client):
    assert clinician_client.get(PATIENTS).status_code == 200


def test_session_writes_need_the_csrf_token(clinician):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(clinician)
    response = client.post(PATIENTS, {"family_name": "x"}, content_type="application/json")
    assert_error(response, 403)


def test_login_is_throttled_per_username_with_retry_after(clinician, throttle_rates):
    throttle_rates(login_username="3/min")
    for n in range(3):  # from three addresses: the username is what counts
        login(APIClient(), clinician.username, "wrong", REMOTE_ADDR=f"10.0.0.{n}")
    response = login(APIClient(), clinician.username, REMOTE_ADDR="10.0.0.9")
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert not DeviceToken.objects.exists()  # even the right password waits


def test_login_is_throttled_per_ip_address(clinician, other_clinician, throttle_rates):
    throttle_rates(login_ip="2/min")
    login(APIClient(), "nobody-1", "x")
    login(APIClient(), "nobody-2", "x")
    response = login(APIClient(), clinician.username)
    assert_error(response, 429, "throttled")
    assert int(response["Retry-After"]) > 0
    assert login(APIClient(), other_clinician.username, REMOTE_ADDR="10.1.1.1").status_code == 200
