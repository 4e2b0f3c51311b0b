import datetime

from django.core.exceptions import ValidationError
from django.utils import timezone


def validate_not_in_future(value: datetime.date) -> None:
    """Dates of birth and capture dates cannot lie after today (in the site's time zone)."""
    if value > timezone.localdate():
        raise ValidationError("This date is in the future.", code="future_date")
