import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone

MAX_AGE_YEARS = 130


def validate_not_in_future(value: datetime.date) -> None:
    """Dates of birth and capture dates cannot lie after today (in the site's time zone)."""
    if value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future_date")


def earliest_date_of_birth() -> datetime.date:
    today = timezone.localdate()
    try:
        return today.replace(year=today.year - MAX_AGE_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - MAX_AGE_YEARS, day=28)


def validate_date_of_birth(value: datetime.date) -> None:
    """Not in the future, and not more than 130 years ago (0001-01-01 is a typing slip)."""
    validate_not_in_future(value)
    if value < earliest_date_of_birth():
        raise ValidationError(
            f"A date of birth more than {MAX_AGE_YEARS} years ago is not plausible.",
            code="implausible_date_of_birth",
        )
