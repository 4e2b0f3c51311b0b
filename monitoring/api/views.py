"""Monitoring's API views: thin, the same selectors as the page. A clinic the caller may not
monitor (another clinic's, or any without the permission) answers 404."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from lesions.api.errors import error_responses
from monitoring.api.serializers import (
    MonitoringOutcomesSerializer,
    MonitoringSummarySerializer,
    outcomes_body,
    summary_body,
)
from monitoring.forms import PeriodForm
from monitoring.selectors import clinic_for, open_alerts_for
from monitoring.selectors.figures import Period
from monitoring.selectors.report import clinic_report

PERIOD_PARAMETERS = [
    OpenApiParameter("start", OpenApiTypes.DATE, description="First day (default: 30 days ago)."),
    OpenApiParameter("end", OpenApiTypes.DATE, description="Last day (default: today)."),
]


def requested_period(request: Request) -> Period:
    form = PeriodForm(request.query_params)
    if not form.is_valid():
        raise ValidationError(
            {"period": [str(e) for e in form.errors.get("__all__", [])] or form.errors}
        )
    return form.cleaned_data["period"]


class MonitoringView(APIView):
    # Not IsClinician: superusers without a clinic monitor every clinic (each separately).
    permission_classes = [IsAuthenticated]


class ClinicSummaryView(MonitoringView):
    @extend_schema(
        summary="A clinic's monitoring figures",
        description="Per model version over the period: analyses, result states, "
        "non-dermoscopic and not-assessable shares, quality reasons, drift of the gate "
        "distance against val with its verdict, and the alerts (live and recorded). "
        "Aggregates only.",
        parameters=PERIOD_PARAMETERS,
        responses={200: MonitoringSummarySerializer, **error_responses(400, 404)},
        tags=["monitoring"],
    )
    def get(self, request: Request, clinic_pk: int) -> Response:
        clinic = clinic_for(request.user, clinic_pk)
        report = clinic_report(clinic, requested_period(request))
        body = summary_body(report, open_alerts_for(request.user, clinic_id=clinic.pk))
        return Response(MonitoringSummarySerializer(body).data)


class ClinicOutcomesView(MonitoringView):
    @extend_schema(
        summary="A clinic's outcomes on confirmed diagnoses",
        description="Sensitivity, specificity (exact intervals), AUC and calibration "
        "(bootstrap intervals) of each model version on the clinic's confirmed cases, and "
        "the confirmed malignant lesions whose analysis said Low.",
        parameters=PERIOD_PARAMETERS,
        responses={200: MonitoringOutcomesSerializer, **error_responses(400, 404)},
        tags=["monitoring"],
    )
    def get(self, request: Request, clinic_pk: int) -> Response:
        clinic = clinic_for(request.user, clinic_pk)
        report = clinic_report(clinic, requested_period(request))
        return Response(MonitoringOutcomesSerializer(outcomes_body(report)).data)
