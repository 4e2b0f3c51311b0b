"""factory_boy factories for the clinical records; other apps' tests reuse them.

LesionImageFactory goes through ``add_lesion_image`` (the real validation, cleaning and
storage), so every image it makes has a real file, thumbnail, size and hash.
"""

from __future__ import annotations

import datetime
from typing import Any

import factory
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from factory.django import DjangoModelFactory

from lesions.models import (
    BodySite,
    BodyView,
    Clinic,
    Lesion,
    LesionImage,
    LesionStatus,
    Modality,
    Patient,
    Sex,
    User,
)
from lesions.services import add_lesion_image
from lesions.services.lesions import allocate_lesion_number
from lesions.tests.images import jpeg_bytes

TEST_PASSWORD = "correct-horse-battery-staple"


def days_ago(days: int) -> datetime.date:
    return timezone.localdate() - datetime.timedelta(days=days)


class ClinicFactory(DjangoModelFactory):
    class Meta:
        model = Clinic

    name = factory.Sequence(lambda n: f"Clinic {n}")


class UserFactory(DjangoModelFactory):
    """A login without a clinic (sees no patients)."""

    class Meta:
        model = User
        skip_postgeneration_save = True

    username = factory.Sequence(lambda n: f"user{n}")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    email = factory.LazyAttribute(lambda user: f"{user.username}@example.org")
    password = factory.django.Password(TEST_PASSWORD)
    clinic = None


class ClinicianFactory(UserFactory):
    clinic = factory.SubFactory(ClinicFactory)


class StaffFactory(UserFactory):
    """A staff superuser without a clinic: works in the admin only."""

    is_staff = True
    is_superuser = True


class PatientFactory(DjangoModelFactory):
    class Meta:
        model = Patient

    clinic = factory.SubFactory(ClinicFactory)
    medical_record_number = factory.Sequence(lambda n: f"MRN-{n:06d}")
    family_name = factory.Faker("last_name")
    given_names = factory.Faker("first_name")
    date_of_birth = factory.Faker("date_of_birth", minimum_age=18, maximum_age=90)
    sex = factory.Iterator([Sex.FEMALE, Sex.MALE])
    fitzpatrick_skin_type = factory.Iterator([1, 2, 3, 4, 5, 6])


class LesionFactory(DjangoModelFactory):
    class Meta:
        model = Lesion

    patient = factory.SubFactory(PatientFactory)
    # Numbered like create_lesion numbers them (the factory writes the row directly).
    number = factory.LazyAttribute(lambda lesion: allocate_lesion_number(lesion.patient))
    label = factory.Sequence(lambda n: f"Lesion {n}")
    body_site = BodySite.BACK
    body_view = BodyView.BACK
    map_x = 0.45
    map_y = 0.3
    status = LesionStatus.MONITORING
    first_noted_on = factory.LazyFunction(lambda: days_ago(60))


class LesionImageFactory(factory.Factory):
    """``LesionImageFactory(lesion=..., image_bytes=...)``; default: a unique small JPEG."""

    class Meta:
        model = LesionImage

    class Params:
        image_bytes = factory.Sequence(lambda n: jpeg_bytes(seed=n))

    lesion = factory.SubFactory(LesionFactory)
    captured_on = factory.LazyFunction(lambda: days_ago(7))
    modality = Modality.DERMOSCOPIC
    uploaded_by = factory.LazyAttribute(
        lambda image: ClinicianFactory(clinic=image.lesion.patient.clinic)
    )
    uploaded_file = factory.LazyAttribute(
        lambda image: SimpleUploadedFile("lesion.jpg", image.image_bytes)
    )

    @classmethod
    def _create(cls, model_class: type[LesionImage], **kwargs: Any) -> LesionImage:
        return add_lesion_image(**kwargs)

    @classmethod
    def _build(cls, model_class: type[LesionImage], **kwargs: Any) -> LesionImage:
        raise NotImplementedError("LesionImageFactory only creates (images need real storage).")
