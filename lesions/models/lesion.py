from __future__ import annotations

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator, MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from .patient import NOTES_MAX_LENGTH, Patient
from .validators import validate_not_in_future

if TYPE_CHECKING:
    from .user import User


class BodySite(models.TextChoices):
    """The HAM10000 ``localization`` vocabulary, stored verbatim so training data lines up."""

    SCALP = "scalp", "Scalp"
    FACE = "face", "Face"
    EAR = "ear", "Ear"
    NECK = "neck", "Neck"
    CHEST = "chest", "Chest"
    ABDOMEN = "abdomen", "Abdomen"
    BACK = "back", "Back"
    TRUNK = "trunk", "Trunk"
    UPPER_EXTREMITY = "upper extremity", "Upper extremity"
    LOWER_EXTREMITY = "lower extremity", "Lower extremity"
    HAND = "hand", "Hand"
    FOOT = "foot", "Foot"
    ACRAL = "acral", "Acral"
    GENITAL = "genital", "Genital"
    UNKNOWN = "unknown", "Unknown"


class BodyView(models.TextChoices):
    FRONT = "front", "Front"
    BACK = "back", "Back"


class LesionStatus(models.TextChoices):
    """Where the lesion stands; a review's management decision moves it (services.reviews)."""

    MONITORING = "monitoring", "Monitoring"
    REFERRED = "referred", "Referred"
    EXCISION_PLANNED = "excision_planned", "Excision planned"
    EXCISED = "excised", "Excised"
    DISCHARGED = "discharged", "Discharged"
    ARCHIVED = "archived", "Archived"


# Still followed: a referred lesion or one waiting for excision keeps its review date until
# the referral or the excision is done; excised, discharged and archived ones do not.
FOLLOWED_STATUSES = (
    LesionStatus.MONITORING,
    LesionStatus.REFERRED,
    LesionStatus.EXCISION_PLANNED,
)


class ConfirmedDiagnosis(models.TextChoices):
    """A diagnosis confirmed by a clinician (histopathology, follow-up or expert consensus).

    The HAM10000 codes plus ISIC 2019's squamous cell carcinoma, so confirmed lesions can
    join the training data (``train_model --from-db``) under the labels the model uses.
    """

    NONE = "", "Not confirmed"
    AKIEC = "akiec", "Actinic keratosis / intraepithelial carcinoma"
    BCC = "bcc", "Basal cell carcinoma"
    BKL = "bkl", "Benign keratosis"
    DF = "df", "Dermatofibroma"
    MEL = "mel", "Melanoma"
    NV = "nv", "Melanocytic nevus"
    SCC = "scc", "Squamous cell carcinoma"
    VASC = "vasc", "Vascular lesion"


unit_interval = [MinValueValidator(0.0), MaxValueValidator(1.0)]


class LesionQuerySet(models.QuerySet["Lesion"]):
    def visible_to(self, user: User) -> LesionQuerySet:
        if not getattr(user, "is_authenticated", False) or user.clinic_id is None:
            return self.none()
        return self.filter(patient__clinic_id=user.clinic_id)

    def followed_up(self) -> LesionQuerySet:
        """Lesions still being followed (not excised, discharged or archived)."""
        return self.filter(status__in=FOLLOWED_STATUSES)


class Lesion(models.Model):
    """One skin lesion of a patient, placed on the front or back body map."""

    patient = models.ForeignKey(Patient, on_delete=models.CASCADE, related_name="lesions")
    # Stable within the patient (see Patient.last_lesion_number): the body map, the lesion
    # table and the report all call it "lesion 3", whatever is added or deleted later.
    number = models.PositiveIntegerField(editable=False)
    label = models.CharField(max_length=100, help_text="A short name, e.g. “left shoulder mole”.")
    body_site = models.CharField(max_length=32, choices=BodySite.choices)
    body_view = models.CharField("body map view", max_length=8, choices=BodyView.choices)
    # Position on the body-map figure of that view: (0, 0) top left, (1, 1) bottom right.
    map_x = models.FloatField("x on the body map", validators=unit_interval)
    map_y = models.FloatField("y on the body map", validators=unit_interval)
    status = models.CharField(
        max_length=16, choices=LesionStatus.choices, default=LesionStatus.MONITORING
    )
    first_noted_on = models.DateField(
        "first noted on", default=timezone.localdate, validators=[validate_not_in_future]
    )
    # Free text about the lesion itself (history, symptoms); capped like the patient's notes.
    notes = models.TextField(
        blank=True, max_length=NOTES_MAX_LENGTH, validators=[MaxLengthValidator(NOTES_MAX_LENGTH)]
    )
    confirmed_diagnosis = models.CharField(
        max_length=8,
        choices=ConfirmedDiagnosis.choices,
        default=ConfirmedDiagnosis.NONE,
        blank=True,
        help_text="Only once confirmed (e.g. by histopathology); used to retrain the model.",
    )
    # Follow-up state, kept up to date by lesions.services.follow_up after every new result,
    # review or deleted image, so that lists and the worklist read it without recomputing.
    evolving = models.BooleanField(
        default=False, help_text="A later visit's result is worse than the previous visit's."
    )
    evolving_reason = models.CharField(max_length=300, blank=True)
    evolving_since = models.DateTimeField(
        null=True, blank=True, help_text="When the result that showed the change finished."
    )
    next_review_on = models.DateField(
        "next review",
        null=True,
        blank=True,
        help_text="Suggested from the latest result or review; the clinician may change it.",
    )
    next_review_reason = models.CharField(max_length=200, blank=True)
    # A date the clinician chose is theirs: later results and reviews only suggest (below),
    # and the lesion page says when the suggestion differs, never replacing it silently.
    next_review_set_by_hand = models.BooleanField(
        "next review set by hand",
        default=False,
        help_text="The clinician chose the date; new results and reviews only suggest one.",
    )
    suggested_review_on = models.DateField(
        "suggested next review",
        null=True,
        blank=True,
        help_text="What the latest result or review suggests (none after a discharge).",
    )
    suggested_review_reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = LesionQuerySet.as_manager()

    class Meta:
        ordering = ["patient", "number"]
        indexes = [
            # The worklist's "evolving" and "due" sections read these in their own order.
            models.Index(
                F("evolving_since").desc(),
                F("id").desc(),
                name="lesion_evolving_idx",
                condition=Q(status=LesionStatus.MONITORING, evolving=True),
            ),
            models.Index(
                fields=["next_review_on", "id"],
                name="lesion_due_idx",
                condition=Q(status=LesionStatus.MONITORING, next_review_on__isnull=False),
            ),
        ]
        constraints = [
            models.UniqueConstraint(
                fields=["patient", "number"],
                name="lesion_number_unique_per_patient",
                violation_error_message="This patient already has a lesion with this number.",
            ),
            models.CheckConstraint(
                condition=Q(map_x__gte=0) & Q(map_x__lte=1) & Q(map_y__gte=0) & Q(map_y__lte=1),
                name="lesion_map_position_in_unit_square",
                violation_error_message="Body-map coordinates must lie between 0 and 1.",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    def get_absolute_url(self) -> str:
        return reverse("lesions:lesion-detail", kwargs={"lesion_pk": self.pk})

    @property
    def is_followed(self) -> bool:
        return self.status in FOLLOWED_STATUSES

    @property
    def suggestion_differs(self) -> bool:
        """A date set by hand that the latest result or review would put elsewhere."""
        return (
            self.next_review_set_by_hand
            and bool(self.suggested_review_reason)
            and self.suggested_review_on != self.next_review_on
        )

    def check_noted_after_birth(self) -> None:
        """A lesion cannot have been noted before its patient was born.

        Checked when the date is set (lesions.services), not in clean(), for the same reason
        as the check below."""
        born = self.patient.date_of_birth
        if self.first_noted_on and born and self.first_noted_on < born:
            message = f"This is before the patient's date of birth ({born:%d %b %Y})."
            raise ValidationError({"first_noted_on": message}, code="noted_before_birth")

    def check_noted_before_first_image(self) -> None:
        """A lesion cannot have been first noted after it was first photographed.

        Checked when the date changes (lesions.services.update_lesion), not in clean():
        records saved before this rule must still take follow-up updates.
        """
        first = self.images.order_by("captured_on").values_list("captured_on", flat=True)
        first_captured = first.first()
        if first_captured is not None and self.first_noted_on > first_captured:
            raise ValidationError(
                {
                    "first_noted_on": (
                        f"Its first image was captured on {first_captured:%d %b %Y}; "
                        "the lesion cannot have been first noted after that."
                    )
                },
                code="noted_after_first_image",
            )
