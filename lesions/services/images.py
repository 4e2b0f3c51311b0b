from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import IO

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction

from lesions import uploads
from lesions.models import AuditAction, Lesion, LesionImage, User

from .analyses import request_analysis
from .audit import record_event
from .follow_up import refresh_follow_up

DUPLICATE_IMAGE_MESSAGE = "This exact image was already uploaded for this lesion."


def add_lesion_image(
    *,
    lesion: Lesion,
    uploaded_file: IO[bytes],
    captured_on: datetime.date,
    modality: str,
    uploaded_by: User,
) -> LesionImage:
    """The single entry point for new images (web form and API).

    Raises ValidationError, with a message meant for the user, on any bad input; in that
    case nothing is stored. The stored file is the cleaned image (see ``lesions.uploads``)
    under a random name. Files are written before the rows; should a caller's enclosing
    transaction roll back later, the two files stay behind unreferenced (never the reverse).
    """
    data = uploads.read_upload(uploaded_file)
    upload_sha256 = uploads.sha256_of(data)
    # The same bytes again are refused by their hash, before paying for a decode.
    if already_uploaded(lesion=lesion, upload_sha256=upload_sha256):
        raise ValidationError(DUPLICATE_IMAGE_MESSAGE, code="duplicate_image")
    clean = uploads.clean_image(data)
    del data
    image = LesionImage(
        lesion=lesion,
        captured_on=captured_on,
        modality=modality,
        uploaded_by=uploaded_by,
        width=clean.width,
        height=clean.height,
        content_type=clean.content_type,
        byte_size=len(clean.content),
        content_sha256=clean.upload_sha256,
    )
    # Everything but the files is checked before anything reaches storage, so a
    # refused upload (duplicate, future date...) leaves no file behind.
    image.full_clean(exclude=["file", "thumbnail"])
    image.file.save(f"upload.{clean.extension}", ContentFile(clean.content), save=False)
    image.thumbnail.save("thumbnail.jpg", ContentFile(clean.thumbnail), save=False)
    try:
        # The rows that describe the image commit together with its queued analysis; the
        # analysis task is sent to the workers once they have committed.
        with transaction.atomic():
            image.save()
            record_event(actor=uploaded_by, action=AuditAction.CREATED, target=image)
            request_analysis(image=image, requested_by=uploaded_by)
    except IntegrityError as exc:
        _delete_files(image)
        duplicate = LesionImage.objects.filter(
            lesion=lesion, content_sha256=clean.upload_sha256
        ).exists()
        if duplicate:  # a concurrent upload of the same bytes got past full_clean() first
            raise ValidationError(DUPLICATE_IMAGE_MESSAGE, code="duplicate_image") from exc
        raise
    except BaseException:
        _delete_files(image)
        raise
    return image


def already_uploaded(*, lesion: Lesion, upload_sha256: str) -> bool:
    return LesionImage.objects.filter(lesion=lesion, content_sha256=upload_sha256).exists()


def delete_lesion_image(*, image: LesionImage, deleted_by: User | None) -> None:
    """Delete the row now and the stored files once the deletion has committed."""
    with transaction.atomic():
        record_event(actor=deleted_by, action=AuditAction.DELETED, target=image)
        heatmaps = [name for name in image.analyses.values_list("heatmap", flat=True) if name]
        lesion_id = image.lesion_id
        image.delete()  # its analyses (and their reviews) go with it (cascade)
        refresh_follow_up(lesion_id=lesion_id)
        transaction.on_commit(lambda: _delete_files(image, heatmaps))


def _delete_files(image: LesionImage, heatmaps: Sequence[str] = ()) -> None:
    for stored in (image.file, image.thumbnail):
        if stored.name:
            stored.storage.delete(stored.name)
    for name in heatmaps:  # the analyses' heatmaps are derived from the image: same fate
        image.file.storage.delete(name)
