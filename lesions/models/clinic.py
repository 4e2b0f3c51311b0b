from django.db import models


class ClinicAudience(models.TextChoices):
    """Who reads the results: the headline's "what to do" is worded for them (a
    dermatologist is not told to refer to a dermatologist)."""

    SPECIALIST = "specialist", "Dermatology (specialist)"
    PRIMARY_CARE = "primary_care", "Primary care"


class Clinic(models.Model):
    """A practice whose clinicians share one set of patients, and see no other."""

    name = models.CharField(max_length=200, unique=True)
    audience = models.CharField(
        "results worded for",
        max_length=16,
        choices=ClinicAudience.choices,
        default=ClinicAudience.SPECIALIST,
        help_text="What each result recommends is worded for this audience.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name
