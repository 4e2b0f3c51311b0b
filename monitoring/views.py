"""The monitoring pages: a clinic's figures over a period, its CSV export. Thin: the reads
are selectors (clinic-scoped: another clinic answers 404), the numbers come from
``selectors.report``."""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from monitoring import charts
from monitoring.export import csv_response
from monitoring.forms import period_from
from monitoring.selectors import clinic_for, clinics_for, may_monitor, open_alerts_for
from monitoring.selectors.report import clinic_report
from monitoring.statistics import (
    MIN_AUC_EACH,
    MIN_CALIBRATION_CASES,
    MIN_DRIFT_ANALYSES,
    MIN_NEGATIVES,
    MIN_POSITIVES,
)

View = Callable[..., HttpResponse]


def monitor_required(view: View) -> View:
    """Signed in with ``monitoring.view_monitoring`` (or a superuser); else 403."""

    @login_required
    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not may_monitor(request.user):
            raise PermissionDenied("Monitoring needs the monitoring permission and a clinic.")
        return view(request, *args, **kwargs)

    return wrapper


@monitor_required
def index(request: HttpRequest) -> HttpResponse:
    clinics = list(clinics_for(request.user))
    if len(clinics) == 1:
        return redirect("monitoring:clinic", clinic_pk=clinics[0].pk)
    return render(request, "monitoring/index.html", {"clinics": clinics})


@monitor_required
def clinic_page(request: HttpRequest, clinic_pk: int) -> HttpResponse:
    clinic = clinic_for(request.user, clinic_pk)
    period, form = period_from(request.GET)
    report = clinic_report(clinic, period)
    models = [
        {"figures": f, "bar": charts.state_bar(f), "distances": charts.distance_chart(f)}
        for f in report.figures
    ]
    context = {
        "clinic": clinic,
        "form": form,
        "report": report,
        "models": models,
        "recorded_alerts": open_alerts_for(request.user, clinic_id=clinic.pk),
        "minimums": {
            "positives": MIN_POSITIVES,
            "negatives": MIN_NEGATIVES,
            "auc": MIN_AUC_EACH,
            "calibration": MIN_CALIBRATION_CASES,
            "drift": MIN_DRIFT_ANALYSES,
        },
        "other_clinics": clinics_for(request.user).count() > 1,
    }
    return render(request, "monitoring/clinic.html", context)


@monitor_required
def clinic_export(request: HttpRequest, clinic_pk: int) -> HttpResponse:
    """The page's aggregates as CSV; no patient, lesion or analysis identifiers."""
    clinic = clinic_for(request.user, clinic_pk)
    period, _form = period_from(request.GET)
    return csv_response(clinic_report(clinic, period))
