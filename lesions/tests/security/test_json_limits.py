"""Finding 3 (medium) and a low one: an anonymous 6 KB body of 1,000 nested arrays on the
login raised RecursionError (an HTML 500); a 3 MB JSON body got Django's HTML 400. Both are
answered in the API's error shape now: 400 and 413."""

from __future__ import annotations

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from lesions.api.parsers import MAX_DEPTH, nesting_depth
from lesions.tests.api.conftest import assert_error
from lesions.tests.security.conftest import LOGIN

pytestmark = pytest.mark.django_db


def post_raw(client: APIClient, url: str, body: bytes):
    return client.generic("POST", url, body, content_type="application/json")


def test_deeply_nested_json_is_a_400_not_a_500(db):
    body = b"[" * 1000 + b"]" * 1000  # the outside test's request (anonymous, ~2 KB)
    error = assert_error(post_raw(APIClient(), LOGIN, body), 400, "parse_error")
    assert "nested deeper" in error["message"]


def test_nesting_within_the_limit_is_parsed(db):
    nested = "[" * (MAX_DEPTH - 1) + "]" * (MAX_DEPTH - 1)  # inside the object: MAX_DEPTH
    body = f'{{"username": "x", "password": "y", "device_name": {nested}}}'.encode()
    response = post_raw(APIClient(), LOGIN, body)
    assert response.status_code == 400 and "device_name" in response.json()["error"]["fields"]


def test_brackets_inside_strings_do_not_count():
    assert nesting_depth('{"a": "[[[[[[\\"]]]", "b": [1, [2]]}') == 3


def test_a_json_body_over_the_upload_limit_is_a_413_in_the_error_shape(api, settings):
    size = settings.DATA_UPLOAD_MAX_MEMORY_SIZE + 500_000  # ~3 MB, as in the outside test
    body = b'{"notes": "' + b"x" * size + b'"}'
    response = post_raw(api, reverse("api:patient-list"), body)
    assert_error(response, 413, "request_too_large")
    assert response["Content-Type"] == "application/json"
