"""One builder per FHIR resource, each returning a bundle entry (``fullUrl`` + resource).

Resources refer to each other by their ``urn:uuid`` full URLs, so the bundle stands alone.
Only what the record holds is exported: no field is guessed or filled with a default.
"""

from __future__ import annotations

import base64
import datetime
from collections.abc import Callable

from django.utils import timezone

from classifier.labels import display_name
from interop.fhir import codes
from lesions.models import (
    Analysis,
    ConfirmedDiagnosis,
    Lesion,
    LesionImage,
    LesionStatus,
    Modality,
    Patient,
    ResultState,
    Review,
    Sex,
)

NOT_A_DIAGNOSTIC_DEVICE = (
    "Not a diagnostic device: decision support for clinicians, not a diagnosis."
)
_GENDER = {Sex.FEMALE: "female", Sex.MALE: "male", Sex.OTHER: "other", Sex.UNKNOWN: "unknown"}
_MODALITY = {
    Modality.DERMOSCOPIC: ("DMS", "Dermoscopy"),
    Modality.CLINICAL: ("XC", "External-camera Photography"),
}


def entry(kind: str, key: object, resource: dict) -> dict:
    resource = {"id": codes.resource_id(kind, key), **resource}
    return {"fullUrl": codes.full_url(kind, key), "resource": resource}


def patient_entry(patient: Patient) -> dict:
    identifier = {
        "use": "usual",
        "type": {"coding": [{"system": codes.IDENTIFIER_TYPE, "code": "MR"}]},
        "system": codes.record_number_system(patient.clinic_id),
        "value": patient.medical_record_number,
        "assigner": {"display": patient.clinic.name},
    }
    name = {"family": patient.family_name}
    if patient.given_names:
        name["given"] = patient.given_names.split()
    resource = {
        "resourceType": "Patient",
        "identifier": [identifier],
        "name": [name],
        "gender": _GENDER[patient.sex],
        "birthDate": patient.date_of_birth.isoformat(),
    }
    return entry("patient", patient.pk, resource)


def model_key(analysis: Analysis) -> str:
    return analysis.model_sha256 or analysis.model_id


def device_entry(analysis: Analysis) -> dict:
    """The model that produced a result: its name, version (registry number) and weights hash."""
    version = analysis.model_version
    resource = {
        "resourceType": "Device",
        "identifier": [{"system": codes.MODEL_SHA256, "value": analysis.model_sha256 or "unknown"}],
        "deviceName": [{"name": analysis.model_id or "DermaScan classifier", "type": "model-name"}],
        "type": {"text": "Skin lesion image classifier (decision support software)"},
        "version": [{"value": str(version.number) if version else "default (shipped with code)"}],
        "manufacturer": "DermaScan",
        "note": [{"text": NOT_A_DIAGNOSTIC_DEVICE}],
    }
    if version is not None:
        resource["version"].append({"value": version.name})
    return entry("device", model_key(analysis), resource)


def body_structure_entry(lesion: Lesion) -> dict:
    resource = {
        "resourceType": "BodyStructure",
        "identifier": [
            {
                "system": codes.lesion_identifier_system(lesion.patient_id),
                "value": str(lesion.number),
            }
        ],
        "active": lesion.status == LesionStatus.MONITORING,
        "description": f"Lesion {lesion.number}: {lesion.label}",
        "location": codes.body_site_concept(lesion.body_site),
        "patient": codes.reference("patient", lesion.patient_id),
    }
    return entry("lesion", lesion.pk, resource)


def media_entry(image: LesionImage, image_url: Callable[[int], str]) -> dict:
    code, meaning = _MODALITY[image.modality]
    lesion = image.lesion
    resource = {
        "resourceType": "Media",
        "extension": [
            {
                "url": codes.BODY_SITE_EXTENSION,
                "valueReference": codes.reference("lesion", lesion.pk),
            }
        ],
        "status": "completed",
        "type": {"coding": [{"system": codes.MEDIA_TYPE, "code": "image", "display": "Image"}]},
        "modality": {"coding": [{"system": codes.DICOM_DCM, "code": code, "display": meaning}]},
        "subject": codes.reference("patient", lesion.patient_id),
        "createdDateTime": image.captured_on.isoformat(),
        "bodySite": codes.body_site_concept(lesion.body_site),
        "width": image.width,
        "height": image.height,
        "content": {
            "contentType": image.content_type,
            "url": image_url(image.pk),
            "size": image.byte_size,
            "title": f"Lesion {lesion.number}, {image.captured_on:%Y-%m-%d}",
        },
    }
    return entry("image", image.pk, resource)


def analysis_observation_entry(analysis: Analysis) -> dict:
    """The model's result: state as the value, risk as the interpretation, the rest as parts."""
    image = analysis.image
    state = ResultState(analysis.result_state) if analysis.result_state else None
    resource = {
        "resourceType": "Observation",
        # Decision support stays preliminary: only a clinician's review makes a finding final.
        "status": "preliminary",
        "category": [_category("imaging", "Imaging")],
        "code": codes.local_concept("ai-classification", "AI skin lesion image classification"),
        "subject": codes.reference("patient", image.lesion.patient_id),
        "focus": [codes.reference("lesion", image.lesion_id)],
        "effectiveDateTime": image.captured_on.isoformat(),
        "issued": _instant(analysis.finished_at),
        "device": codes.reference("device", model_key(analysis)),
        "derivedFrom": [codes.reference("image", image.pk)],
        "bodySite": codes.body_site_concept(image.lesion.body_site),
        "note": [{"text": NOT_A_DIAGNOSTIC_DEVICE}],
        "component": _analysis_components(analysis, state),
    }
    if state is not None:
        resource["valueCodeableConcept"] = codes.local_concept(f"state-{state.value}", state.label)
    if analysis.state_reason:
        resource["note"].append({"text": analysis.state_reason})
    if analysis.risk_level and state != ResultState.NOT_ASSESSABLE:
        risk = analysis.risk_level
        resource["interpretation"] = [codes.local_concept(f"risk-{risk}", f"{risk.title()} risk")]
    return entry("analysis", analysis.pk, resource)


def _analysis_components(analysis: Analysis, state: ResultState | None) -> list[dict]:
    model = analysis.model_version.name if analysis.model_version else analysis.model_id
    parts = [_component("model-version", "Model version", valueString=model or "unknown")]
    if state == ResultState.NOT_ASSESSABLE:
        return parts  # no class, no risk (DESIGN: result states)
    for code, value in sorted(analysis.probabilities.items()):
        name = f"Probability of {display_name(code)}"
        quantity = codes.probability(value)
        parts.append(_component(f"probability-{code}", name, valueQuantity=quantity))
    if analysis.top_class:
        top = codes.local_concept(f"class-{analysis.top_class}", analysis.top_class_display)
        parts.append(_component("top-class", "Most likely class", valueCodeableConcept=top))
    if analysis.malignant_probability is not None:
        value = codes.probability(analysis.malignant_probability)
        name = "Malignant probability"
        parts.append(_component("malignant-probability", name, valueQuantity=value))
    if analysis.risk_level:
        parts.append(_component("risk-level", "Risk level", valueString=analysis.risk_level))
    if analysis.recommended_action:
        action = analysis.recommended_action
        parts.append(_component("recommended-action", "Recommended action", valueString=action))
    parts.append(_component("uncertain", "Uncertain", valueBoolean=analysis.uncertain))
    return parts


def diagnosis_observation_entry(lesion: Lesion, review: Review | None) -> dict:
    """The clinician's confirmed diagnosis of a lesion: final, and apart from any model output."""
    label = ConfirmedDiagnosis(lesion.confirmed_diagnosis).label
    resource = {
        "resourceType": "Observation",
        "status": "final",
        "category": [_category("exam", "Exam")],
        "code": codes.local_concept("confirmed-diagnosis", "Confirmed diagnosis of skin lesion"),
        "subject": codes.reference("patient", lesion.patient_id),
        "focus": [codes.reference("lesion", lesion.pk)],
        "bodySite": codes.body_site_concept(lesion.body_site),
        "valueCodeableConcept": codes.local_concept(f"class-{lesion.confirmed_diagnosis}", label),
    }
    if review is not None:
        resource["method"] = {"text": review.get_basis_display()}
        resource["effectiveDateTime"] = _instant(review.created_at)
        reviewer = review.reviewer.get_full_name() or str(review.reviewer)
        resource["performer"] = [{"display": reviewer}]
        if review.note:
            resource["note"] = [{"text": review.note}]
    return entry("diagnosis", lesion.pk, resource)


def diagnostic_report_entry(
    patient: Patient,
    day: datetime.date,
    *,
    images: list[LesionImage],
    analyses: list[Analysis],
    report_pdf_url: str | None,
) -> dict:
    """One visit (one capture date): its images, its results, and the patient's PDF report."""
    reviewed = analyses and all(_has_current_review(a) for a in analyses)
    resource = {
        "resourceType": "DiagnosticReport",
        "status": "final" if reviewed else "preliminary",
        "category": [{"coding": [{"system": codes.DIAGNOSTIC_SERVICE, "code": "IMG"}]}],
        "code": codes.local_concept("skin-lesion-imaging-visit", "Skin lesion imaging visit"),
        "subject": codes.reference("patient", patient.pk),
        "effectiveDateTime": day.isoformat(),
        "issued": _instant(timezone.now()),
        "result": [codes.reference("analysis", a.pk) for a in analyses],
        "media": [{"link": codes.reference("image", image.pk)} for image in images],
        "conclusion": NOT_A_DIAGNOSTIC_DEVICE,
    }
    if report_pdf_url:
        resource["presentedForm"] = [
            {"contentType": "application/pdf", "url": report_pdf_url, "title": "Patient report"}
        ]
    return entry("visit", f"{patient.pk}/{day.isoformat()}", resource)


def pdf_binary_entry(patient: Patient, pdf: bytes) -> dict:
    resource = {
        "resourceType": "Binary",
        "contentType": "application/pdf",
        "data": base64.b64encode(pdf).decode("ascii"),
    }
    return entry("report-pdf", patient.pk, resource)


def _has_current_review(analysis: Analysis) -> bool:
    return any(not hasattr(r, "superseded_by") for r in analysis.reviews.all())


def _category(code: str, display: str) -> dict:
    return {"coding": [{"system": codes.OBSERVATION_CATEGORY, "code": code, "display": display}]}


def _component(code: str, display: str, **value: object) -> dict:
    return {"code": codes.local_concept(code, display), **value}


def _instant(moment: datetime.datetime | None) -> str | None:
    return moment.isoformat() if moment else None
