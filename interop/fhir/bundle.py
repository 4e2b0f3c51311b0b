"""A FHIR Bundle (type ``collection``) of one export scope, validated before it leaves."""

from __future__ import annotations

from collections.abc import Callable

from django.utils import timezone
from fhir.resources.R4B import get_fhir_model_class

from interop.fhir import codes, resources
from interop.selectors import ExportScope

FHIR_CONTENT_TYPE = "application/fhir+json"


def bundle_for(
    scope: ExportScope, *, image_url: Callable[[int], str], report_pdf: bytes | None = None
) -> dict:
    """The scope as a Bundle: the patient, lesions, images, results, models, confirmed
    diagnoses and one DiagnosticReport per visit; ``report_pdf`` rides along as a Binary the
    reports point to. Raises ``pydantic.ValidationError`` if a resource is not valid R4."""
    entries = [resources.patient_entry(scope.patient)]
    entries += [resources.body_structure_entry(lesion) for lesion in scope.lesions]
    entries += [resources.media_entry(image, image_url) for image in scope.images]
    devices = {}
    for analysis in scope.analyses.values():
        devices.setdefault(resources.model_key(analysis), resources.device_entry(analysis))
        entries.append(resources.analysis_observation_entry(analysis))
    entries += devices.values()
    for lesion in scope.lesions:
        if lesion.confirmed_diagnosis:
            review = scope.confirmations.get(lesion.pk)
            entries.append(resources.diagnosis_observation_entry(lesion, review))
    pdf_url = None
    if report_pdf is not None:
        pdf_entry = resources.pdf_binary_entry(scope.patient, report_pdf)
        pdf_url = pdf_entry["fullUrl"]
        entries.append(pdf_entry)
    entries += _visit_reports(scope, pdf_url)
    bundle = {
        "resourceType": "Bundle",
        "id": codes.resource_id("export", timezone.now().isoformat()),
        "type": "collection",
        "timestamp": timezone.now().isoformat(),
        "entry": entries,
    }
    validate(bundle)
    return bundle


def _visit_reports(scope: ExportScope, pdf_url: str | None) -> list[dict]:
    reports = []
    for day in scope.visit_dates():
        images = [image for image in scope.images if image.captured_on == day]
        analyses = [scope.analyses[i.pk] for i in images if i.pk in scope.analyses]
        reports.append(
            resources.diagnostic_report_entry(
                scope.patient, day, images=images, analyses=analyses, report_pdf_url=pdf_url
            )
        )
    return reports


def validate(bundle: dict) -> None:
    """Every resource against its R4 model, then the bundle itself."""
    for item in bundle["entry"]:
        resource = item["resource"]
        get_fhir_model_class(resource["resourceType"]).model_validate(resource)
    get_fhir_model_class("Bundle").model_validate(bundle)
