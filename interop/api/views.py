"""FHIR exports (patient, lesion, analysis) and PACS sends of a patient. Thin: selectors read,
services write and audit; clinic scoping comes from the lesions selectors (another clinic's
record answers 404)."""

from __future__ import annotations

import json
from collections.abc import Callable

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.exceptions import APIException
from rest_framework.request import Request
from rest_framework.response import Response

from interop import selectors, services
from interop.api.serializers import PacsSendRequestSerializer, PacsSendSerializer
from interop.fhir import FHIR_CONTENT_TYPE, bundle_for
from lesions import selectors as lesion_selectors
from lesions.api.base import PRIVATE_FILE, ClinicalAPIView, link_for
from lesions.api.errors import ErrorSerializer, error_responses
from lesions.api.throttles import ReportThrottle
from lesions.follow_up import reports


def fhir_response(bundle: dict, filename: str) -> HttpResponse:
    response = HttpResponse(json.dumps(bundle), content_type=FHIR_CONTENT_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = PRIVATE_FILE
    response["X-Content-Type-Options"] = "nosniff"
    return response


def absolute_image_url(request: Request) -> Callable[[int], str]:
    relative = link_for("api:image-file", "image_pk")
    return lambda pk: request.build_absolute_uri(relative(pk))


class FhirExportView(ClinicalAPIView):
    """Base: the answer is FHIR JSON whatever ``Accept`` says; errors stay JSON."""

    throttle_classes = [ReportThrottle]

    def perform_content_negotiation(self, request: Request, force: bool = False):
        return super().perform_content_negotiation(request, force=True)


def fhir_schema(what: str) -> Callable:
    return extend_schema(
        summary=f"Export {what} as a FHIR R4 Bundle",
        description=(
            "A `collection` Bundle: Patient, BodyStructure per lesion (SNOMED CT site), Media "
            "per image, an Observation per finished analysis with its Device (the model), "
            "confirmed diagnoses and a DiagnosticReport per visit. Audited as an export. "
            "See docs/interoperability.md."
        ),
        responses={
            (200, FHIR_CONTENT_TYPE): OpenApiResponse(OpenApiTypes.OBJECT),
            **error_responses(403, 404, 429),
        },
        tags=["interoperability"],
    )


class PatientFhirView(FhirExportView):
    @fhir_schema("a patient's record (with the PDF report)")
    def get(self, request: Request, patient_pk: int) -> HttpResponse:
        scope = selectors.patient_scope_for(request.user, patient_pk)
        services.record_export(actor=request.user, target=scope.patient)
        pdf = reports.report_pdf(scope.patient, generated_by=request.user)
        bundle = bundle_for(scope, image_url=absolute_image_url(request), report_pdf=pdf)
        return fhir_response(bundle, f"dermascan-patient-{scope.patient.pk}.fhir.json")


class LesionFhirView(FhirExportView):
    @fhir_schema("one lesion")
    def get(self, request: Request, lesion_pk: int) -> HttpResponse:
        scope = selectors.lesion_scope_for(request.user, lesion_pk)
        services.record_export(actor=request.user, target=scope.lesions[0])
        bundle = bundle_for(scope, image_url=absolute_image_url(request))
        return fhir_response(bundle, f"dermascan-lesion-{lesion_pk}.fhir.json")


class AnalysisFhirView(FhirExportView):
    @fhir_schema("one analysis")
    def get(self, request: Request, analysis_pk: int) -> HttpResponse:
        scope = selectors.analysis_scope_for(request.user, analysis_pk)
        services.record_export(actor=request.user, target=scope.images[0])
        bundle = bundle_for(scope, image_url=absolute_image_url(request))
        return fhir_response(bundle, f"dermascan-analysis-{analysis_pk}.fhir.json")


class PacsOff(APIException):
    status_code = status.HTTP_409_CONFLICT
    default_code = "pacs_off"
    default_detail = "No PACS is configured for this installation."


class PatientPacsSendListView(ClinicalAPIView):
    @extend_schema(
        summary="A patient's PACS sends, newest first",
        responses={200: PacsSendSerializer(many=True), **error_responses(403, 404)},
        tags=["interoperability"],
    )
    def get(self, request: Request, patient_pk: int) -> Response:
        patient = lesion_selectors.get_patient_for(request.user, patient_pk)
        sends = selectors.sends_of(patient)[:50]
        return Response(PacsSendSerializer(sends, many=True).data)

    @extend_schema(
        summary="Send a patient's images and results (or one visit's) to the PACS",
        description=(
            "Queues a send (`202`); poll this list for its `status`: `queued`, `sending`, "
            "`sent` (every object confirmed by the PACS) or `failed` with `failure_reason`. "
            "`409` when no PACS is configured."
        ),
        request=PacsSendRequestSerializer,
        responses={
            202: PacsSendSerializer,
            409: OpenApiResponse(ErrorSerializer, description="No PACS is configured."),
            **error_responses(400, 403, 404),
        },
        tags=["interoperability"],
    )
    def post(self, request: Request, patient_pk: int) -> Response:
        patient = lesion_selectors.get_patient_for(request.user, patient_pk)
        given = PacsSendRequestSerializer(data=request.data)
        given.is_valid(raise_exception=True)
        try:
            send = services.request_pacs_send(
                patient=patient,
                requested_by=request.user,
                captured_on=given.validated_data.get("captured_on"),
            )
        except ValidationError as exc:
            if exc.code == "pacs_off":
                raise PacsOff() from exc
            raise
        return Response(PacsSendSerializer(send).data, status=status.HTTP_202_ACCEPTED)
