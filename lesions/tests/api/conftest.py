from __future__ import annotations

import pytest
from django.core.cache import cache
from rest_framework.test import APIClient

from lesions.models import DeviceToken, User


@pytest.fixture(autouse=True)
def fresh_throttles():
    """Throttle counters live in the cache (Redis when configured): none carry over."""
    cache.clear()
    yield
    cache.clear()


def token_for(user: User, device_name: str = "test phone") -> str:
    _, key = DeviceToken.objects.create(user=user, device_name=device_name)
    return key


def client_with_token(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


@pytest.fixture
def api(clinician) -> APIClient:
    """The clinician's phone."""
    return client_with_token(token_for(clinician, "Ames iPhone"))


@pytest.fixture
def other_api(other_clinician) -> APIClient:
    """A phone of another clinic's clinician."""
    return client_with_token(token_for(other_clinician, "other phone"))


def assert_error(response, status: int, code: str | None = None, fields=()) -> dict:
    """The one error shape of the API."""
    assert response.status_code == status, response.content
    error = response.json()["error"]
    assert set(error) == {"code", "message", "fields"} and error["message"]
    if code:
        assert error["code"] == code, error
    for name in fields:
        assert name in error["fields"], error
    return error


@pytest.fixture
def throttle_rates(settings):
    """``throttle_rates(login_ip="2/min")``: lower a rate for one test."""

    def lower(**rates: str) -> None:
        current = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
        settings.REST_FRAMEWORK = {
            **settings.REST_FRAMEWORK,
            "DEFAULT_THROTTLE_RATES": {**current, **rates},
        }

    return lower
