from __future__ import annotations

import uuid
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models

from .lesion import Lesion
from .validators import validate_not_in_future

if TYPE_CHECKING:
    from .user import User


class Modality(models.TextChoices):
    DERMOSCOPIC = "dermoscopic", "Dermoscopic"
    CLINICAL = "clinical", "Clinical (close-up photo)"


def opaque_image_name(instance: LesionImage, filename: str) -> str:
    """A random storage name: file names may carry patient names, storage paths must not."""
    extension = filename.rsplit(".", 1)[-1].lower() if "." in filename else "bin"
    return f"lesion-images/{uuid.uuid4().hex}.{extension}"


def opaque_thumbnail_name(instance: LesionImage, filename: str) -> str:
    return f"lesion-thumbnails/{uuid.uuid4().hex}.jpg"


class LesionImageQuerySet(models.QuerySet["LesionImage"]):
    def visible_to(self, user: User) -> LesionImageQuerySet:
        if not getattr(user, "is_authenticated", False) or user.clinic_id is None:
            return self.none()
        return self.filter(lesion__patient__clinic_id=user.clinic_id)

    def in_capture_order(self) -> LesionImageQuerySet:
        return self.order_by("captured_on", "created_at", "pk")


class LesionImage(models.Model):
    """One photograph of a lesion. The stored bytes are the cleaned image, never the upload."""

    lesion = models.ForeignKey(Lesion, on_delete=models.CASCADE, related_name="images")
    file = models.FileField(upload_to=opaque_image_name, max_length=200)
    thumbnail = models.FileField(upload_to=opaque_thumbnail_name, max_length=200, blank=True)
    captured_on = models.DateField(validators=[validate_not_in_future])
    modality = models.CharField(max_length=16, choices=Modality.choices)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="uploaded_images",
    )
    width = models.PositiveIntegerField(help_text="Pixels, after EXIF orientation was applied.")
    height = models.PositiveIntegerField()
    content_type = models.CharField(max_length=32)
    byte_size = models.PositiveIntegerField(help_text="Size of the stored (cleaned) file.")
    content_sha256 = models.CharField(
        "content SHA-256",
        max_length=64,
        help_text="Hash of the uploaded bytes; the same upload twice to one lesion is refused.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    objects = LesionImageQuerySet.as_manager()

    class Meta:
        ordering = ["captured_on", "created_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["lesion", "content_sha256"],
                name="lesion_image_content_unique_per_lesion",
                violation_error_message="This exact image was already uploaded for this lesion.",
            ),
        ]

    def __str__(self) -> str:
        return f"Image {self.pk} of {self.lesion} ({self.captured_on})"

    def clean(self) -> None:
        if self.captured_on and self.lesion_id:
            born = self.lesion.patient.date_of_birth
            if self.captured_on < born:
                message = f"This is before the patient's date of birth ({born:%d %b %Y})."
                raise ValidationError({"captured_on": message})

    @property
    def megapixels(self) -> float:
        return self.width * self.height / 1_000_000
