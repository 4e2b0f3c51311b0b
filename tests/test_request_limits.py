"""Request bodies are judged by their declared size and their sender before a byte is read."""

from __future__ import annotations

import pytest
from django.test import Client
from django.urls import reverse

from lesions.models import LesionImage
from lesions.tests.factories import LesionFactory

pytestmark = pytest.mark.django_db

MB = 1024 * 1024


class UnreadableBody:
    """A request body that fails the test if anything reads it."""

    def read(self, *args):
        raise AssertionError("the body was read")

    readline = read


def post_unread(client: Client, url: str, length: int, **extra) -> object:
    return client.generic(
        "POST",
        url,
        b"x",
        content_type="multipart/form-data; boundary=BoUnDaRy",
        **{"wsgi.input": UnreadableBody(), "CONTENT_LENGTH": str(length), **extra},
    )


@pytest.fixture
def upload_url(clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    return reverse("lesions:image-upload", kwargs={"lesion_pk": lesion.pk})


def test_anonymous_200_mb_upload_is_refused_unread(client, upload_url):
    response = post_unread(client, upload_url, 200 * MB)
    assert response.status_code == 413
    assert b"limit is 21 MB" in response.content


def test_anonymous_upload_within_the_limit_goes_to_login_unread(client, upload_url):
    response = post_unread(client, upload_url, 5 * MB)
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))
    assert not LesionImage.objects.exists()


def test_anonymous_api_upload_gets_401_in_the_error_shape_unread(client):
    response = post_unread(client, "/api/v1/lesions/1/images/", 5 * MB)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "not_authenticated"


def test_signed_in_clinician_over_the_limit_is_refused_unread(clinician_client, upload_url):
    response = post_unread(clinician_client, upload_url, 22 * MB)
    assert response.status_code == 413


def test_token_caller_over_the_limit_is_refused_unread(client):
    response = post_unread(
        client, "/api/v1/lesions/1/images/", 30 * MB, HTTP_AUTHORIZATION="Token abc"
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


def test_chunked_body_without_length_is_refused(clinician_client, upload_url):
    response = clinician_client.generic(
        "POST",
        upload_url,
        b"",
        content_type="multipart/form-data; boundary=BoUnDaRy",
        HTTP_TRANSFER_ENCODING="chunked",
    )
    assert response.status_code == 411


def test_sign_in_form_is_small_enough_for_anonymous_callers(client, clinician):
    from lesions.tests.factories import TEST_PASSWORD

    response = client.post(
        reverse("login"), {"username": clinician.username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("lesions:home")


def test_signed_in_upload_within_the_limit_still_works(clinician_client, upload_url):
    from django.core.files.uploadedfile import SimpleUploadedFile

    from lesions.tests.images import jpeg_bytes

    response = clinician_client.post(
        upload_url,
        {
            "file": SimpleUploadedFile("a.jpg", jpeg_bytes(seed=4)),
            "captured_on": "2024-01-02",
            "modality": "dermoscopic",
        },
    )
    assert response.status_code == 302
    assert LesionImage.objects.count() == 1
