from django.contrib.auth.models import AbstractUser
from django.db import models

from .clinic import Clinic


class User(AbstractUser):
    """A login. Clinicians belong to a clinic; staff reviewers may have none and use the admin."""

    clinic = models.ForeignKey(
        Clinic,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="members",
        help_text="The clinic whose patients this user sees. Empty for staff-only accounts.",
    )

    @property
    def is_clinician(self) -> bool:
        return self.is_active and self.clinic_id is not None
