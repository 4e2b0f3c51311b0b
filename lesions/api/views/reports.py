"""The patient report as a PDF download: the same document, and the same audit, as the
patient page's "Download PDF"."""

from __future__ import annotations

from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request

from lesions import selectors, services
from lesions.api.base import ClinicalAPIView
from lesions.api.errors import error_responses
from lesions.api.throttles import ReportThrottle
from lesions.follow_up import reports


class PatientReportView(ClinicalAPIView):
    throttle_classes = [ReportThrottle]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        # The answer is a PDF whatever ``Accept`` says (``application/pdf`` included), which
        # DRF's JSON renderers would otherwise refuse with 406; errors stay JSON.
        return super().perform_content_negotiation(request, force=True)

    @extend_schema(
        summary="Download a patient's report (PDF)",
        description=(
            "The printable report: the patient's identifiers, the body map with numbered "
            "lesions and, per lesion, its latest image, heatmap, result, risk trend, review "
            "and next-review date, with the model version, who generated it and when. "
            "Generating it is audited (a disclosure of the whole record). Private: "
            "`Cache-Control: private, no-store`. Throttled per user."
        ),
        responses={
            (200, "application/pdf"): OpenApiResponse(
                OpenApiTypes.BINARY, description="The report as an attachment."
            ),
            **error_responses(403, 404, 429),
        },
        tags=["reports"],
    )
    def get(self, request: Request, patient_pk: int) -> HttpResponse:
        patient = selectors.get_patient_for(request.user, patient_pk)
        services.record_report(actor=request.user, patient=patient)
        pdf = reports.report_pdf(patient, generated_by=request.user, request=request._request)
        response = HttpResponse(pdf, content_type="application/pdf")
        filename = reports.report_filename(patient)
        response["Content-Disposition"] = f'attachment; filename="{filename}"'
        response["Cache-Control"] = "private, no-store"  # health data: no cache may keep it
        response["X-Content-Type-Options"] = "nosniff"
        return response
