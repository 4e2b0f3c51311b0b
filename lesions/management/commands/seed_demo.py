"""Demo data so a new install shows something: idempotent, safe to run on every start."""

from __future__ import annotations

import datetime
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction
from django.utils import timezone

from lesions import services
from lesions.models import BodySite, BodyView, Clinic, Lesion, Modality, Patient, Sex, User

DEMO_CLINIC = "DermaScan Demo Clinic"
# Development only: without DEBUG the command refuses to run unless --password is given.
DEVELOPMENT_PASSWORD = "dermascan-demo"  # noqa: S105
DEMO_PATIENT = {
    "medical_record_number": "DEMO-0001",
    "family_name": "Example",
    "given_names": "Alex",
    "date_of_birth": datetime.date(1980, 5, 17),
    "sex": Sex.FEMALE,
    "fitzpatrick_skin_type": 2,
    "notes": "Fictional demo patient. Family history of melanoma (mother).",
}
DEMO_LESIONS = [
    {
        "label": "Upper back, left of spine",
        "body_site": BodySite.BACK,
        "body_view": BodyView.BACK,
        "map_x": 0.42,
        "map_y": 0.27,
    },
    {
        "label": "Right forearm",
        "body_site": BodySite.UPPER_EXTREMITY,
        "body_view": BodyView.FRONT,
        "map_x": 0.2,
        "map_y": 0.42,
    },
]
DEFAULT_SAMPLE = Path("tests") / "samples" / "nv_ISIC_0032212.jpg"


class Command(BaseCommand):
    help = (
        "Create or refresh a demo clinic, a clinician login and one demo patient with two "
        "lesions on the body map and one sample image. Prints the login."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo", help="Clinician login (default: demo).")
        parser.add_argument(
            "--password",
            help=f"Password to set (default in development: {DEVELOPMENT_PASSWORD}; "
            "required when DEBUG is off).",
        )
        parser.add_argument(
            "--staff",
            action="store_true",
            help="Also create a staff superuser without a clinic, for the admin.",
        )
        parser.add_argument("--staff-username", default="admin")
        parser.add_argument(
            "--sample-image",
            type=Path,
            default=None,
            help=f"Image for the first lesion (default: {DEFAULT_SAMPLE} in the repository).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        password = self._password(options["password"])
        sample = options["sample_image"] or Path(settings.BASE_DIR) / DEFAULT_SAMPLE
        if not sample.is_file():
            raise CommandError(f"Sample image not found: {sample}")
        with transaction.atomic():
            clinic, _ = Clinic.objects.get_or_create(name=DEMO_CLINIC)
            clinician = self._login(options["username"], password, clinic=clinic)
            patient = self._patient(clinic, clinician)
            lesions = [self._lesion(patient, clinician, spec) for spec in DEMO_LESIONS]
            if not lesions[0].images.exists():
                self._add_sample(lesions[0], clinician, sample)
            if options["staff"]:
                self._login(options["staff_username"], password, clinic=None, staff=True)

        self.stdout.write(self.style.SUCCESS(f"Demo clinic: {clinic.name}"))
        self.stdout.write(f"Clinician login: username {clinician.username}  password {password}")
        if options["staff"]:
            self.stdout.write(
                f"Staff login (admin): username {options['staff_username']}  password {password}"
            )
        image_count = sum(lesion.images.count() for lesion in lesions)
        self.stdout.write(
            f"Demo patient: {patient} with {len(lesions)} lesions and {image_count} image(s)"
        )

    def _password(self, given: str | None) -> str:
        if given is None:
            if not settings.DEBUG:
                raise CommandError(
                    "Give --password: the default demo password is for development only."
                )
            return DEVELOPMENT_PASSWORD
        try:
            validate_password(given)
        except ValidationError as error:
            raise CommandError("Password refused: " + " ".join(error.messages)) from error
        return given

    def _login(
        self, username: str, password: str, *, clinic: Clinic | None, staff: bool = False
    ) -> User:
        user = User.objects.filter(username=username).first() or User(username=username)
        if user.pk and user.clinic_id not in (None, getattr(clinic, "pk", None)):
            raise CommandError(f"User {username!r} already belongs to another clinic.")
        user.clinic = clinic
        user.is_active = True
        if staff:
            user.is_staff = user.is_superuser = True
        elif not user.first_name:
            user.first_name, user.last_name = "Demo", "Clinician"
        user.set_password(password)
        user.save()
        return user

    def _patient(self, clinic: Clinic, clinician: User) -> Patient:
        existing = Patient.objects.filter(
            clinic=clinic, medical_record_number=DEMO_PATIENT["medical_record_number"]
        ).first()
        return existing or services.create_patient(
            clinic=clinic, created_by=clinician, **DEMO_PATIENT
        )

    def _lesion(self, patient: Patient, clinician: User, spec: dict[str, Any]) -> Lesion:
        existing = patient.lesions.filter(label=spec["label"]).first()
        return existing or services.create_lesion(
            patient=patient,
            created_by=clinician,
            first_noted_on=timezone.localdate() - datetime.timedelta(days=120),
            **spec,
        )

    def _add_sample(self, lesion: Lesion, clinician: User, sample: Path) -> None:
        try:
            with sample.open("rb") as handle:
                services.add_lesion_image(
                    lesion=lesion,
                    uploaded_file=File(handle, name=sample.name),
                    captured_on=timezone.localdate() - datetime.timedelta(days=30),
                    modality=Modality.DERMOSCOPIC,
                    uploaded_by=clinician,
                )
        except ValidationError as error:
            raise CommandError(f"Sample image refused: {' '.join(error.messages)}") from error
