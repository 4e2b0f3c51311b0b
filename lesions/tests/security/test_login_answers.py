"""Low findings on signing in: a right password of a staff or clinic-less account answered 403
"not attached to a clinic" (a wrong one 400); lockout 429s had no Retry-After; every login
made a token with no cap per user."""

from __future__ import annotations

import pytest

from lesions.models import DeviceToken
from lesions.tests.factories import UserFactory
from lesions.tests.security.conftest import api_login

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("account", ["staff", "clinicless"])
def test_a_right_password_without_a_clinic_answers_like_a_wrong_one(account, staff):
    user = staff if account == "staff" else UserFactory()
    right, wrong = api_login(user.username), api_login(user.username, "not-the-password")
    assert right.status_code == wrong.status_code == 400
    assert right.json() == wrong.json()
    assert not DeviceToken.objects.exists()


def test_an_unknown_user_answers_the_same(db):
    assert api_login("nobody-at-all").json()["error"]["code"] == "invalid_credentials"


def test_lockout_answers_429_with_retry_after(clinician, settings):
    for attempt in range(settings.AXES_FAILURE_LIMIT):
        api_login(clinician.username, f"wrong-{attempt}")
    response = api_login(clinician.username)  # the right password, locked out
    assert response.status_code == 429
    assert response.json()["error"]["code"] == "locked_out"
    assert int(response["Retry-After"]) == settings.AXES_COOLOFF_TIME.total_seconds()


def test_tokens_are_capped_per_user_oldest_signed_out_first(clinician, settings, throttle_rates):
    settings.DERMASCAN_API_MAX_DEVICES = 3
    throttle_rates(login_username="100/min", login_ip="100/min")
    for n in range(5):
        assert api_login(clinician.username, device_name=f"phone {n}").status_code == 200
    kept = DeviceToken.objects.filter(user=clinician).order_by("created")
    assert [t.device_name for t in kept] == ["phone 2", "phone 3", "phone 4"]
