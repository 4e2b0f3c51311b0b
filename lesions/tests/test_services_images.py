import datetime
import io
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from lesions import services, uploads
from lesions.models import AuditAction, AuditEvent, LesionImage
from lesions.services import images as images_service
from lesions.tests.factories import LesionFactory, LesionImageFactory
from lesions.tests.images import jpeg_bytes, sample_bytes, stored_files

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesion(clinician):
    return LesionFactory(patient__clinic=clinician.clinic, patient__name="Jane Sample")


def upload(lesion, user, data, *, name="photo.jpg", **overrides):
    fields = {
        "captured_on": timezone.localdate() - datetime.timedelta(days=3),
        "modality": "dermoscopic",
        **overrides,
    }
    return services.add_lesion_image(
        lesion=lesion, uploaded_file=SimpleUploadedFile(name, data), uploaded_by=user, **fields
    )


def test_real_image_is_stored_under_an_opaque_name_with_its_facts(lesion, clinician, media_root):
    data = sample_bytes("mel")
    image = upload(lesion, clinician, data, name="Jane Sample back mole.jpg")
    assert re.fullmatch(r"lesion-images/[0-9a-f]{32}\.jpg", image.file.name)
    assert re.fullmatch(r"lesion-thumbnails/[0-9a-f]{32}\.jpg", image.thumbnail.name)
    assert "Jane" not in image.file.name
    assert (image.width, image.height, image.content_type) == (256, 256, "image/jpeg")
    assert image.byte_size == (media_root / image.file.name).stat().st_size
    assert len(image.content_sha256) == 64
    assert image.uploaded_by == clinician
    assert Image.open(media_root / image.file.name).size == (256, 256)
    assert len(stored_files(media_root)) == 2


def test_png_upload_is_stored_as_png(lesion, clinician):
    from lesions.tests.images import png_bytes

    image = upload(lesion, clinician, png_bytes(), name="scan.jpg")
    assert image.file.name.endswith(".png")
    assert image.content_type == "image/png"


def test_same_bytes_twice_to_one_lesion_are_refused_and_nothing_stored(
    lesion, clinician, media_root
):
    data = sample_bytes("nv")
    upload(lesion, clinician, data)
    with pytest.raises(ValidationError) as caught:
        upload(lesion, clinician, data, name="other-name.jpg")
    assert caught.value.messages == ["This exact image was already uploaded for this lesion."]
    assert LesionImage.objects.count() == 1
    assert len(stored_files(media_root)) == 2


def test_same_bytes_on_another_lesion_are_accepted(lesion, clinician):
    data = sample_bytes("nv")
    upload(lesion, clinician, data)
    other = LesionFactory(patient=lesion.patient)
    upload(other, clinician, data)
    assert LesionImage.objects.count() == 2


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "The file is empty."),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", "Only JPEG and PNG"),
        (b"<html><body>hi</body></html>", "Only JPEG and PNG"),
        (sample_bytes("bkl")[:4000], "truncated or corrupt"),
    ],
    ids=["empty", "svg", "html", "truncated"],
)
def test_bad_files_are_refused_and_nothing_is_stored(lesion, clinician, media_root, data, message):
    with pytest.raises(ValidationError, match=message):
        upload(lesion, clinician, data)
    assert not LesionImage.objects.exists()
    assert not AuditEvent.objects.exists()
    assert stored_files(media_root) == []


def test_capture_date_in_the_future_is_refused_and_nothing_stored(lesion, clinician, media_root):
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    with pytest.raises(ValidationError) as caught:
        upload(lesion, clinician, jpeg_bytes(), captured_on=tomorrow)
    assert "captured_on" in caught.value.message_dict
    assert stored_files(media_root) == []


def test_unknown_modality_is_refused(lesion, clinician, media_root):
    with pytest.raises(ValidationError) as caught:
        upload(lesion, clinician, jpeg_bytes(), modality="xray")
    assert "modality" in caught.value.message_dict
    assert stored_files(media_root) == []


def test_stored_image_carries_no_gps(lesion, clinician, media_root):
    exif = Image.Exif()
    exif.get_ifd(0x8825)[1] = "N"
    exif.get_ifd(0x8825)[2] = (48.0, 12.0, 30.0)
    image = upload(lesion, clinician, jpeg_bytes(exif=exif))
    stored = Image.open(io.BytesIO((media_root / image.file.name).read_bytes()))
    assert len(stored.getexif()) == 0


def test_upload_is_audited_with_the_uploader(lesion, clinician):
    image = upload(lesion, clinician, jpeg_bytes())
    event = AuditEvent.objects.get()
    assert (event.actor, event.action, event.target_type, event.target_id) == (
        clinician,
        AuditAction.CREATED,
        "image",
        image.pk,
    )
    assert event.patient_id == lesion.patient_id


def test_failed_database_write_removes_the_stored_files(lesion, clinician, media_root, monkeypatch):
    # The row insert fails after the files reached storage: they must not stay behind.
    def fail(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr("lesions.services.images.record_event", fail)
    with pytest.raises(RuntimeError):
        upload(lesion, clinician, jpeg_bytes())
    assert stored_files(media_root) == []
    assert not LesionImage.objects.exists()


def test_delete_image_removes_files_only_after_commit(
    clinician, media_root, django_capture_on_commit_callbacks
):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        services.delete_lesion_image(image=image, deleted_by=clinician)
    assert not LesionImage.objects.exists()
    assert len(stored_files(media_root)) == 2  # not yet: the transaction could still roll back
    for callback in callbacks:
        callback()
    assert stored_files(media_root) == []
    assert AuditEvent.objects.filter(action=AuditAction.DELETED, target_type="image").exists()


def test_duplicate_that_slips_past_validation_is_refused_by_the_database(
    lesion, clinician, media_root, monkeypatch
):
    # Two simultaneous uploads both pass full_clean(); the unique constraint decides.
    upload(lesion, clinician, sample_bytes("akiec"))
    monkeypatch.setattr(LesionImage, "full_clean", lambda self, **kwargs: None)
    monkeypatch.setattr(images_service, "already_uploaded", lambda **kwargs: False)
    with pytest.raises(ValidationError) as caught:
        upload(lesion, clinician, sample_bytes("akiec"))
    assert caught.value.code == "duplicate_image"
    assert LesionImage.objects.count() == 1
    assert len(stored_files(media_root)) == 2


def test_duplicate_is_refused_by_its_hash_before_it_is_decoded(
    lesion, clinician, media_root, monkeypatch
):
    upload(lesion, clinician, sample_bytes("df"))

    def must_not_decode(data):
        raise AssertionError("a duplicate was decoded")

    monkeypatch.setattr(uploads, "clean_image", must_not_decode)
    with pytest.raises(ValidationError) as caught:
        upload(lesion, clinician, sample_bytes("df"))
    assert caught.value.code == "duplicate_image"
    assert LesionImage.objects.count() == 1
