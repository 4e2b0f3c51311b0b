from __future__ import annotations

import datetime
from collections.abc import Collection
from typing import TYPE_CHECKING

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
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
        """By record number, by names (every word must match a family or given name, so
        "ada lovelace" and "lovelace, ada" both find her), or by a date of birth."""
        query = query.strip()
        if not query:
            return self
        born = parse_date_of_birth(query)
        if born is not None:
            return self.filter(date_of_birth=born)
        if looks_like_record_number(query):
            # A scanned or typed record number: the clinic's unique index on
            # LOWER(record number) answers it exactly, without the substring search.
            exact = self.alias(record_number=Lower("medical_record_number")).filter(
                record_number=query.lower()
            )
            if exact.exists():
                return exact
        # Substring matches; on PostgreSQL each column has a trigram index (migration 0011).
        by_name = Q()
        for word in query.replace(",", " ").split():
            by_name &= Q(family_name__icontains=word) | Q(given_names__icontains=word)
        return self.filter(by_name | Q(medical_record_number__icontains=query))


def looks_like_record_number(text: str) -> bool:
    """One word with a digit in it: no name looks like that."""
    return len(text.split()) == 1 and any(character.isdigit() for character in text)


# The ways a date of birth is typed at a desk: ISO (the date picker), day first (Europe),
# and "9 Mar 1984" as the pages print it.
DATE_OF_BIRTH_FORMATS = ("%Y-%m-%d", "%d/%m/%Y", "%d.%m.%Y", "%d-%m-%Y", "%d %b %Y", "%d %B %Y")


def parse_date_of_birth(text: str) -> datetime.date | None:
    for date_format in DATE_OF_BIRTH_FORMATS:
        try:
            return datetime.datetime.strptime(text.strip(), date_format).date()
        except ValueError:
            continue
    return None


def split_full_name(full_name: str) -> tuple[str, str]:
    """(given names, family name) of a name typed as one string: "Family, Given" or
    "Given Family" (the last word is then the family name)."""
    full_name = " ".join(full_name.split())
    if "," in full_name:
        family, given = (part.strip() for part in full_name.split(",", 1))
        return given, family
    given, _, family = full_name.rpartition(" ")
    return given, family


class Patient(models.Model):
    clinic = models.ForeignKey(Clinic, on_delete=models.PROTECT, related_name="patients")
    medical_record_number = models.CharField(
        "medical record number",
        max_length=64,
        help_text="The clinic's own identifier; unique within the clinic.",
    )
    family_name = models.CharField("family name", max_length=200)
    given_names = models.CharField("given names", max_length=200, blank=True)
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
    # The highest lesion number given out: lesion numbers are never reused, so "lesion 3"
    # in a letter or a printed report still means the same lesion after another is deleted.
    last_lesion_number = models.PositiveIntegerField(default=0, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = PatientQuerySet.as_manager()

    class Meta:
        ordering = ["family_name", "given_names", "pk"]
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
        indexes = [
            # The patient list's order within a clinic: a page is an index range, no sort.
            models.Index(
                fields=["clinic", "family_name", "given_names", "id"],
                name="patient_clinic_name_order_idx",
            ),
            # Name and record-number search (substring) have trigram indexes on PostgreSQL,
            # created by migration 0011 (SQLite has no such index type).
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.medical_record_number})"

    def get_absolute_url(self) -> str:
        return reverse("lesions:patient-detail", kwargs={"patient_pk": self.pk})

    def validate_constraints(self, exclude: Collection[str] | None = None) -> None:
        """The record number's constraint is on an expression (Lower), which Django reports
        for no field; it concerns one, and forms and the API show it there."""
        try:
            super().validate_constraints(exclude=exclude)
        except ValidationError as exc:
            errors = exc.update_error_dict({})
            general = errors.pop(NON_FIELD_ERRORS, [])
            moved = [e for e in general if e.code == "duplicate_record_number"]
            if moved:
                errors.setdefault("medical_record_number", []).extend(moved)
            if general := [e for e in general if e not in moved]:
                errors[NON_FIELD_ERRORS] = general
            raise ValidationError(errors) from exc

    @property
    def name(self) -> str:
        """The display name, given names first ("Ada Lovelace")."""
        return f"{self.given_names} {self.family_name}".strip()

    @name.setter
    def name(self, full_name: str) -> None:
        # Kept so that code written for the single name field (factories, the API) still works.
        self.given_names, self.family_name = split_full_name(full_name)

    @property
    def full_name(self) -> str:
        return self.name

    @property
    def listed_name(self) -> str:
        """As lists sort it: "LOVELACE, Ada"."""
        if not self.given_names:
            return self.family_name
        return f"{self.family_name}, {self.given_names}"

    @property
    def age(self) -> int:
        """Age in whole years today (in the site's time zone)."""
        return self.age_on(timezone.localdate())

    def age_on(self, day: datetime.date) -> int:
        born = self.date_of_birth
        return day.year - born.year - ((day.month, day.day) < (born.month, born.day))
