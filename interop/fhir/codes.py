"""Code systems and identifiers of the FHIR export.

SNOMED CT for body sites (interop.body_sites), DICOM's modality codes for the imaging
modality, UCUM for probabilities, HL7's v2-0203 for the record-number identifier type.
What has no standard code (the model's classes and result states) is a DermaScan code
system, named by a URN so that no one mistakes it for a published one.
"""

from __future__ import annotations

import uuid

from django.conf import settings

from interop.body_sites import SNOMED_SYSTEM, site_code, site_text

DICOM_DCM = "http://dicom.nema.org/resources/ontology/DCM"
UCUM = "http://unitsofmeasure.org"
IDENTIFIER_TYPE = "http://terminology.hl7.org/CodeSystem/v2-0203"
OBSERVATION_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
MEDIA_TYPE = "http://terminology.hl7.org/CodeSystem/media-type"
DIAGNOSTIC_SERVICE = "http://terminology.hl7.org/CodeSystem/v2-0074"
BODY_SITE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/bodySite"

LOCAL = "urn:dermascan:codes"  # the export's own codes: classes, result states, risk
MODEL_SHA256 = "urn:dermascan:model-sha256"


def record_number_system(clinic_pk: int) -> str:
    """Record numbers are unique within a clinic only: the system names the clinic."""
    return f"urn:dermascan:{settings.DERMASCAN_DICOM_UID_NAMESPACE}:clinic:{clinic_pk}:mrn"


def lesion_identifier_system(patient_pk: int) -> str:
    return f"urn:dermascan:{settings.DERMASCAN_DICOM_UID_NAMESPACE}:patient:{patient_pk}:lesion"


def resource_id(kind: str, key: object) -> str:
    """A stable id per record: the same record exports with the same id every time."""
    name = f"{settings.DERMASCAN_DICOM_UID_NAMESPACE}/{kind}/{key}"
    return str(uuid.uuid5(uuid.NAMESPACE_URL, name))


def full_url(kind: str, key: object) -> str:
    return f"urn:uuid:{resource_id(kind, key)}"


def reference(kind: str, key: object, display: str = "") -> dict:
    ref = {"reference": full_url(kind, key)}
    if display:
        ref["display"] = display
    return ref


def body_site_concept(body_site: str) -> dict:
    """The site as a CodeableConcept: its SNOMED CT code (none for "unknown") and its words."""
    concept: dict = {"text": site_text(body_site)}
    code = site_code(body_site)
    if code is not None:
        concept["coding"] = [{"system": SNOMED_SYSTEM, "code": code.code, "display": code.meaning}]
    return concept


def local_concept(code: str, display: str) -> dict:
    return {"coding": [{"system": LOCAL, "code": code, "display": display}], "text": display}


def probability(value: float) -> dict:
    return {"value": round(float(value), 6), "unit": "1", "system": UCUM, "code": "1"}
