from __future__ import annotations

import datetime
from typing import TYPE_CHECKING

from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Lower
from django.urls import reverse
from django.utils import timezone

from .clinic import Clinic
from .validators import validate_date_of_birth

if TYPE_CHECKING:
    from .user import User


class Sex(models.TextChoices):
    FEMALE = "female", "Female"
    MALE = "male", "Male"
    OTHER = "other", "Other"
    UNKNOWN = "unknown", "Unknown"


class FitzpatrickSkinType(models.IntegerChoices):
    I = 1, "I — always burns, never tans"  # noqa: E741 (the scale's own name)
    II = 2, "II — usually burns, tans minimally"
    III = 3, "III — sometimes burns, tans uniformly"
    IV = 4, "IV — burns minimally, always tans"
    V = 5, "V — very rarely burns, tans very easily"
    VI = 6, "VI — never burns"


NOTES_MAX_LENGTH = 10_000


class PatientQuerySet(models.QuerySet["Patient"]):
    def visible_to(self, user: User) -> PatientQuerySet:
        """Only the patients of the user's own clinic; nothing for a user without one."""
        if not getattr(user, "is_authenticated", False) or user.clinic_id is None:
            return self.none()
        return self.filter(clinic_id=user.clinic_id)

    def search(self, query: str) -> PatientQuerySet:
        query = query.strip()
        if not query:
            return self
        return self.filter(Q(name__icontains=query) | Q(medical_record_number__icontains=query))


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    medical_record_number = models.CharField(
        "medical record number",
        max_length=64,
        help_text="The clinic's own identifier; unique within the clinic.",
    )
    name = models.CharField(max_length=200)
    date_of_birth = models.DateField(validators=[validate_date_of_birth])
    sex = models.CharField(max_length=16, choices=Sex.choices, default=Sex.UNKNOWN)
    fitzpatrick_skin_type = models.PositiveSmallIntegerField(
        "Fitzpatrick skin type",
        choices=FitzpatrickSkinType.choices,
        null=True,
        blank=True,
    )
    # A text field's max_length only sizes the form; the validator holds for every writer.
    notes = models.TextField(
        blank=True, max_length=NOTES_MAX_LENGTH, validators=[MaxLengthValidator(NOTES_MAX_LENGTH)]
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["name", "pk"]
        constraints = [
            # "mrn-a-1" and "MRN-A-1" are one record number: unique ignoring case.
            models.UniqueConstraint(
                "clinic",
                Lower("medical_record_number"),
                name="patient_record_number_unique_in_clinic",
                violation_error_code="duplicate_record_number",
                violation_error_message=(
                    "A patient with this medical record number already exists in this clinic."
                ),
            ),
        ]
        permissions = [
            ("review_all_clinics", "Can review the records of every clinic in the admin"),
        ]
        indexes = [models.Index(fields=["clinic", "name"])]

    def __str__(self) -> str:
        return f"{self.name} ({self.medical_record_number})"

    def get_absolute_url(self) -> str:
        return reverse("lesions:patient-detail", kwargs={"patient_pk": self.pk})

    @property
    def age(self) -> int:
        """Age in whole years today (in the site's time zone)."""
        return self.age_on(timezone.localdate())

    def age_on(self, day: datetime.date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
