"""Uploading through the lesion page, and serving image bytes only to the right clinic."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone
from PIL import Image

from lesions import uploads
from lesions.models import LesionImage
from lesions.tests.factories import LesionFactory, LesionImageFactory
from lesions.tests.images import encode, jpeg_bytes, png_bytes, sample_bytes, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesion(clinician):
    return LesionFactory(patient__clinic=clinician.clinic)


def post_upload(client, lesion, data, *, name="lesion.jpg", **overrides):
    fields = {
        "file": SimpleUploadedFile(name, data, content_type="image/jpeg"),
        "captured_on": timezone.localdate().isoformat(),
        "modality": "dermoscopic",
        **overrides,
    }
    url = reverse("lesions:image-upload", kwargs={"lesion_pk": lesion.pk})
    return client.post(url, fields)


def test_upload_adds_the_image_to_the_timeline(clinician_client, lesion, media_root):
    response = post_upload(clinician_client, lesion, sample_bytes("mel"))
    assert response.status_code == 302
    assert response["Location"] == lesion.get_absolute_url()
    image = LesionImage.objects.get()
    page = clinician_client.get(lesion.get_absolute_url())
    thumbnail_url = reverse("lesions:image-file", kwargs={"image_pk": image.pk})
    assert f"{thumbnail_url}?size=thumbnail".encode() in page.content
    assert len(stored_files(media_root)) == 2


BAD_UPLOADS = {
    "zero-byte": b"",
    "svg-renamed": b'<svg xmlns="http://www.w3.org/2000/svg"><rect width="9" height="9"/></svg>',
    "html-renamed": b"<!DOCTYPE html><html><script>alert(1)</script></html>",
    "truncated": sample_bytes("df")[:5000],
    "corrupt": sample_bytes("df")[:700] + bytes(range(256)) * 20,
    "gif": encode(Image.new("RGB", (40, 40)), "GIF"),
    "bomb": encode(Image.new("1", (7000, 6000)), "PNG"),
}


@pytest.mark.parametrize("data", BAD_UPLOADS.values(), ids=BAD_UPLOADS.keys())
def test_bad_upload_is_a_400_form_error_and_nothing_is_stored(
    clinician_client, lesion, media_root, data
):
    response = post_upload(clinician_client, lesion, data)
    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"]
    assert b"field__error" in response.content
    assert not LesionImage.objects.exists()
    assert stored_files(media_root) == []


def test_file_over_20_mb_is_a_400(clinician_client, lesion, media_root):
    data = jpeg_bytes() + b"\0" * uploads.MAX_UPLOAD_BYTES
    response = post_upload(clinician_client, lesion, data)
    assert response.status_code == 400
    assert "the limit is 20 MB" in response.context["upload_form"].errors["file"][0]
    assert stored_files(media_root) == []


def test_duplicate_upload_is_a_400_with_a_clear_message(clinician_client, lesion, media_root):
    data = sample_bytes("vasc")
    post_upload(clinician_client, lesion, data)
    response = post_upload(clinician_client, lesion, data, name="again.jpg")
    assert response.status_code == 400
    assert response.context["upload_form"].errors["file"] == [
        "This exact image was already uploaded for this lesion."
    ]
    assert LesionImage.objects.count() == 1
    assert len(stored_files(media_root)) == 2


def test_future_capture_date_is_a_form_error(clinician_client, lesion, media_root):
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = post_upload(clinician_client, lesion, jpeg_bytes(), captured_on=tomorrow)
    assert response.status_code == 400
    assert response.context["upload_form"].errors["captured_on"] == ["This date is in the future."]
    assert stored_files(media_root) == []


def test_png_named_jpg_is_judged_by_content_and_accepted(clinician_client, lesion):
    response = post_upload(clinician_client, lesion, png_bytes(), name="really-a-png.jpg")
    assert response.status_code == 302
    assert LesionImage.objects.get().content_type == "image/png"


def test_image_bytes_are_served_to_the_clinic_with_private_headers(clinician_client, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    url = reverse("lesions:image-file", kwargs={"image_pk": image.pk})
    response = clinician_client.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "no-store"
    assert response["X-Content-Type-Options"] == "nosniff"
    body = b"".join(response.streaming_content)
    assert body == image.file.storage.open(image.file.name).read()
    thumbnail = clinician_client.get(url, {"size": "thumbnail"})
    assert b"".join(thumbnail.streaming_content) == image.thumbnail.read()


def test_image_bytes_need_a_login(client, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    response = client.get(reverse("lesions:image-file", kwargs={"image_pk": image.pk}))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_delete_image(clinician_client, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    url = reverse("lesions:image-delete", kwargs={"image_pk": image.pk})
    assert clinician_client.get(url).status_code == 200
    response = clinician_client.post(url)
    assert response["Location"] == image.lesion.get_absolute_url()
    assert not LesionImage.objects.exists()
