"""/api/v1/lesions/{id}/images/ and /api/v1/images/{id}/: upload through the web form's
service, list, download (private, never cached), delete."""

from __future__ import annotations

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import timezone

from lesions.models import Analysis, AuditAction, AuditEvent, LesionImage
from lesions.tests.api.conftest import assert_error
from lesions.tests.factories import LesionFactory, LesionImageFactory
from lesions.tests.images import jpeg_bytes, sample_bytes, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesion(clinician):
    return LesionFactory(patient__clinic=clinician.clinic)


def images_of(lesion) -> str:
    return reverse("api:lesion-images", kwargs={"lesion_pk": lesion.pk})


def upload(api, lesion, data: bytes, name="photo.jpg", **fields):
    payload = {"file": SimpleUploadedFile(name, data), "modality": "dermoscopic", **fields}
    return api.post(images_of(lesion), payload, format="multipart")


def test_upload_stores_the_cleaned_image_and_queues_an_analysis(api, lesion, clinician, media_root):
    response = upload(api, lesion, sample_bytes("mel"), captured_on="2026-01-05")
    assert response.status_code == 201, response.content
    body = response.json()
    image = LesionImage.objects.get(pk=body["id"])
    assert (body["width"], body["height"], body["captured_on"]) == (256, 256, "2026-01-05")
    assert image.uploaded_by == clinician
    assert Analysis.objects.get(image=image).status == "queued"
    assert len(stored_files(media_root)) == 2  # the image and its thumbnail
    event = AuditEvent.objects.get(target_id=image.pk, action=AuditAction.CREATED)
    assert event.device == "Ames iPhone"
    analyses = api.get(body["analyses_url"]).json()["results"]
    assert analyses[0]["status"] == "queued"


def future() -> str:
    return (timezone.localdate() + datetime.timedelta(days=2)).isoformat()


@pytest.mark.parametrize(
    ("data", "fields", "field"),
    [
        (b"", {}, "file"),
        (b"%PDF-1.4 not an image", {}, "file"),
        (b"\xff\xd8\xff\xe0 truncated jpeg", {}, "file"),
        (jpeg_bytes(seed=5), {"captured_on": "not a date"}, "captured_on"),
        (jpeg_bytes(seed=6), {"modality": "xray"}, "modality"),
    ],
    ids=["empty", "pdf", "truncated", "bad-date", "bad-modality"],
)
def test_bad_uploads_are_refused_and_nothing_is_stored(
    api, lesion, media_root, data, fields, field
):
    response = upload(api, lesion, data, **fields)
    error = assert_error(response, 400)
    assert field in error["fields"], error
    assert not LesionImage.objects.exists() and not Analysis.objects.exists()
    assert stored_files(media_root) == []


def test_future_capture_date_is_refused_by_the_service(api, lesion, media_root):
    error = assert_error(upload(api, lesion, jpeg_bytes(seed=7), captured_on=future()), 400)
    assert "captured_on" in error["fields"]
    assert stored_files(media_root) == []


def test_same_image_twice_is_refused(api, lesion, media_root):
    data = sample_bytes("nv")
    assert upload(api, lesion, data).status_code == 201
    error = assert_error(upload(api, lesion, data), 400)
    assert "already uploaded" in str(error)
    assert LesionImage.objects.count() == 1 and len(stored_files(media_root)) == 2


def test_missing_file_is_named(api, lesion):
    response = api.post(images_of(lesion), {"modality": "dermoscopic"}, format="multipart")
    assert_error(response, 400, fields=["file"])


def test_json_upload_is_unsupported(api, lesion):
    assert_error(api.post(images_of(lesion), {"file": "abc"}, format="json"), 415)


def test_uploads_are_throttled_per_user(api, lesion, throttle_rates):
    throttle_rates(uploads="2/min")
    for seed in range(2):
        assert upload(api, lesion, jpeg_bytes(seed=seed + 20)).status_code == 201
    response = upload(api, lesion, jpeg_bytes(seed=30))
    assert_error(response, 429, "throttled")
    assert "Retry-After" in response
    assert api.get(images_of(lesion)).status_code == 200  # reading is not limited


def test_download_is_private_and_never_cached(api, lesion, clinician):
    image = LesionImageFactory(lesion=lesion, image_bytes=sample_bytes("bkl"))
    url = reverse("api:image-file", kwargs={"image_pk": image.pk})
    response = api.get(url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/jpeg"
    assert response["Cache-Control"] == "private, no-store"
    assert b"".join(response.streaming_content) == image.file.open("rb").read()
    assert AuditEvent.objects.filter(target_id=image.pk, action=AuditAction.VIEWED).exists()
    thumbnail = api.get(url, {"size": "thumbnail"})
    assert thumbnail["Cache-Control"] == "private, no-store"
    assert len(b"".join(thumbnail.streaming_content)) < image.byte_size


@pytest.mark.parametrize("rows", [1, 50])
def test_list_query_count_does_not_grow_with_rows(api, lesion, rows, django_assert_max_num_queries):
    for seed in range(rows):
        LesionImageFactory(lesion=lesion, image_bytes=jpeg_bytes(seed=100 + seed))
    with django_assert_max_num_queries(6):
        response = api.get(images_of(lesion), {"page_size": 100})
    assert len(response.json()["results"]) == rows


def test_each_listed_image_links_to_its_own_file_and_analyses(api, lesion):
    images = [LesionImageFactory(lesion=lesion, image_bytes=jpeg_bytes(seed=s)) for s in (1, 2)]
    listed = {row["id"]: row for row in api.get(images_of(lesion)).json()["results"]}
    for image in images:
        file_url = reverse("api:image-file", kwargs={"image_pk": image.pk})
        row = listed[image.pk]
        assert row["file_url"] == file_url
        assert row["thumbnail_url"] == f"{file_url}?size=thumbnail"
        assert row["analyses_url"] == reverse("api:image-analyses", kwargs={"image_pk": image.pk})
        assert api.get(row["thumbnail_url"]).status_code == 200


def test_delete_removes_the_image_and_its_analyses(api, lesion):
    image = LesionImageFactory(lesion=lesion)
    url = reverse("api:image-detail", kwargs={"image_pk": image.pk})
    assert api.get(url).json()["id"] == image.pk
    assert api.delete(url).status_code == 204
    assert not LesionImage.objects.exists() and not Analysis.objects.exists()
    assert AuditEvent.objects.filter(target_id=image.pk, action=AuditAction.DELETED).exists()
