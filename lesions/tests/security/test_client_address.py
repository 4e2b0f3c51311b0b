"""A low finding: the per-address login throttle trusted ``X-Forwarded-For`` (34 logins a
minute with spoofed addresses). The address is taken one way, for throttles and lockout."""

from __future__ import annotations

import pytest
from axes.helpers import get_client_ip_address
from django.test import RequestFactory
from rest_framework.test import APIClient

from lesions.client_address import client_ip
from lesions.tests.security.conftest import LOGIN

pytestmark = pytest.mark.django_db


def login_from(spoofed: str, remote: str = "198.51.100.7"):
    body = {"username": f"guess-{spoofed}", "password": "x", "device_name": "d"}
    return APIClient().post(
        LOGIN, body, format="json", REMOTE_ADDR=remote, HTTP_X_FORWARDED_FOR=spoofed
    )


@pytest.mark.parametrize("proxies", [0, 1])
def test_spoofed_forwarded_addresses_share_one_login_budget(proxies, settings, throttle_rates):
    settings.DERMASCAN_TRUSTED_PROXIES = proxies
    throttle_rates(login_ip="3/min")
    # Behind one proxy the proxy appends the real client; the client invents the rest.
    real = ", 203.0.113.9" if proxies else ""
    codes = [login_from(f"10.9.{n}.1{real}").status_code for n in range(5)]
    assert codes == [400, 400, 400, 429, 429]


def test_the_lockout_and_the_throttles_read_the_same_address(settings):
    settings.DERMASCAN_TRUSTED_PROXIES = 1
    request = RequestFactory().get(
        "/", REMOTE_ADDR="172.18.0.5", HTTP_X_FORWARDED_FOR="1.2.3.4, 203.0.113.7"
    )
    assert client_ip(request) == get_client_ip_address(request) == "203.0.113.7"
