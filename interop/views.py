"""The patient page's interop actions: download the FHIR export, send to the PACS."""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from interop import selectors, services
from interop.fhir import FHIR_CONTENT_TYPE, bundle_for
from lesions import selectors as lesion_selectors
from lesions.follow_up import reports
from lesions.views.access import clinician_required


@clinician_required
@require_http_methods(["GET"])
def patient_fhir(request: HttpRequest, patient_pk: int) -> HttpResponse:
    scope = selectors.patient_scope_for(request.user, patient_pk)
    services.record_export(actor=request.user, target=scope.patient)
    pdf = reports.report_pdf(scope.patient, generated_by=request.user, request=request)

    def image_url(pk: int) -> str:
        return request.build_absolute_uri(reverse("lesions:image-file", kwargs={"image_pk": pk}))

    bundle = bundle_for(scope, image_url=image_url, report_pdf=pdf)
    response = HttpResponse(json.dumps(bundle), content_type=FHIR_CONTENT_TYPE)
    filename = f"dermascan-patient-{scope.patient.pk}.fhir.json"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"  # health data: never kept by a shared cache
    return response


@clinician_required
@require_http_methods(["POST"])
def patient_pacs_send(request: HttpRequest, patient_pk: int) -> HttpResponse:
    patient = lesion_selectors.get_patient_for(request.user, patient_pk)
    try:
        services.request_pacs_send(patient=patient, requested_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, "Sending to the PACS: the status below follows it.")
    return redirect("lesions:patient-detail", patient_pk=patient.pk)
