"""The attack suite: each module keeps the requests of one finding family of the outside
test as regressions. Runs on its own: ``bin/test lesions/tests/security``."""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.urls import reverse
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from lesions.tests.api.conftest import api, throttle_rates  # noqa: F401 (fixtures)
from lesions.tests.factories import TEST_PASSWORD

LOGIN = reverse("api:login")


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache (Redis in the tests): none carry over."""
    cache.clear()
    yield
    cache.clear()


def api_login(username: str, password: str = TEST_PASSWORD, client=None, **data):
    body = {"username": username, "password": password, "device_name": "attacker", **data}
    return (client or APIClient()).post(LOGIN, body, format="json")


def totp_device(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def current_code(device: TOTPDevice) -> str:
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    return f"{totp.token():0{device.digits}d}"
