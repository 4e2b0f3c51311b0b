"""The period a monitoring page or export covers (GET parameters ``start`` and ``end``)."""

from __future__ import annotations

import datetime

from django import forms
from django.conf import settings
from django.utils import timezone

from monitoring.selectors.figures import Period

MAX_DAYS = 731  # two years: longer periods hide change, and cost more to compute


class PeriodForm(forms.Form):
    start = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))
    end = forms.DateField(required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def clean(self):
        data = super().clean()
        end = data.get("end") or timezone.localdate()
        start = data.get("start") or end - datetime.timedelta(
            days=settings.DERMASCAN_MONITORING_WINDOW_DAYS - 1
        )
        if start > end:
            raise forms.ValidationError("The period starts after it ends.")
        if (end - start).days + 1 > MAX_DAYS:
            raise forms.ValidationError(f"Choose a period of at most {MAX_DAYS} days.")
        data["period"] = Period(start, end)
        return data


def period_from(params) -> tuple[Period, PeriodForm]:
    """The requested period, or the default window when the parameters are absent or wrong."""
    form = PeriodForm(params)
    if form.is_valid():
        return form.cleaned_data["period"], form
    return default_period(), form


def default_period() -> Period:
    return Period.ending(timezone.localdate(), days=settings.DERMASCAN_MONITORING_WINDOW_DAYS)
