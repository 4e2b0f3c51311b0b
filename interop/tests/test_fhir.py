"""The FHIR R4 export: what the bundle holds, that it validates, and who may read it."""

from __future__ import annotations

import json

import pytest
from fhir.resources.R4B.bundle import Bundle
from rest_framework.test import APIClient

from interop.body_sites import SITE_CODES
from interop.fhir import FHIR_CONTENT_TYPE
from interop.tests.data import clinical_record
from lesions.models import AuditAction, AuditEvent, BodySite

pytestmark = pytest.mark.django_db


def resources_of(bundle: dict, kind: str) -> list[dict]:
    return [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == kind]


@pytest.fixture
def api(clinician) -> APIClient:
    client = APIClient()
    client.force_authenticate(clinician)
    return client


def test_every_body_map_site_has_an_entry_in_the_snomed_table():
    assert set(SITE_CODES) == set(BodySite.values)
    assert all(code is not None for site, code in SITE_CODES.items() if site != BodySite.UNKNOWN)


def test_patient_export_is_a_valid_r4_bundle_of_the_whole_record(api, clinician):
    record = clinical_record(clinician)
    response = api.get(f"/api/v1/patients/{record.patient.pk}/fhir/")
    assert response.status_code == 200
    assert response["Content-Type"] == FHIR_CONTENT_TYPE
    bundle = json.loads(response.content)
    Bundle.model_validate(bundle)  # raises if not valid
    (patient,) = resources_of(bundle, "Patient")
    assert patient["identifier"][0]["value"] == record.patient.medical_record_number
    assert "telecom" not in patient and "address" not in patient
    sites = {b["location"]["coding"][0]["code"] for b in resources_of(bundle, "BodyStructure")}
    assert sites == {"66643007", "73897004"}  # skin of back, skin of face
    assert len(resources_of(bundle, "Media")) == 3
    modalities = sorted(m["modality"]["coding"][0]["code"] for m in resources_of(bundle, "Media"))
    assert modalities == ["DMS", "DMS", "XC"]
    observations = resources_of(bundle, "Observation")
    results = [o for o in observations if o["code"]["coding"][0]["code"] == "ai-classification"]
    assert len(results) == 3
    parts = {c["code"]["coding"][0]["code"]: c for c in results[0]["component"]}
    assert parts["probability-mel"]["valueQuantity"]["value"] == pytest.approx(0.55, abs=0.01)
    assert "model-version" in parts and "risk-level" in parts
    (device,) = resources_of(bundle, "Device")
    assert all(o["device"]["reference"] for o in results)
    (confirmed,) = [o for o in observations if o["status"] == "final"]
    assert confirmed["valueCodeableConcept"]["coding"][0]["code"] == "class-mel"
    assert confirmed["method"]["text"] == "Histopathology"
    reports = resources_of(bundle, "DiagnosticReport")
    assert len(reports) == 2  # one per visit (capture date)
    assert sorted(len(r["result"]) for r in reports) == [1, 2]
    pdf_url = reports[0]["presentedForm"][0]["url"]
    (binary,) = resources_of(bundle, "Binary")
    assert pdf_url.endswith(binary["id"]) and binary["contentType"] == "application/pdf"
    assert AuditEvent.objects.filter(action=AuditAction.EXPORTED, patient_id=record.patient.pk)


def test_lesion_and_analysis_exports_hold_only_their_part(api, clinician):
    record = clinical_record(clinician)
    lesion = json.loads(api.get(f"/api/v1/lesions/{record.face.pk}/fhir/").content)
    assert len(resources_of(lesion, "BodyStructure")) == 1
    assert len(resources_of(lesion, "Media")) == 1
    assert not resources_of(lesion, "Binary")  # the whole-record PDF goes with patients only
    analysis = json.loads(api.get(f"/api/v1/analyses/{record.analyses[0].pk}/fhir/").content)
    observations = resources_of(analysis, "Observation")
    (observation,) = [o for o in observations if o["status"] == "preliminary"]
    assert len(observations) == 2  # and the lesion's confirmed diagnosis
    assert observation["id"] in json.dumps(resources_of(analysis, "DiagnosticReport"))


def test_other_clinic_gets_404(clinician, other_clinician):
    record = clinical_record(clinician)
    other = APIClient()
    other.force_authenticate(other_clinician)
    for path in (
        f"/api/v1/patients/{record.patient.pk}/fhir/",
        f"/api/v1/lesions/{record.back.pk}/fhir/",
        f"/api/v1/analyses/{record.analyses[0].pk}/fhir/",
        f"/api/v1/patients/{record.patient.pk}/pacs-sends/",
    ):
        assert other.get(path).status_code == 404, path
    assert other.post(f"/api/v1/patients/{record.patient.pk}/pacs-sends/").status_code == 404
    assert not AuditEvent.objects.filter(actor=other_clinician).exists()


def test_patient_page_offers_the_fhir_download(clinician_client, clinician):
    record = clinical_record(clinician)
    page = clinician_client.get(f"/patients/{record.patient.pk}/")
    assert b"FHIR export" in page.content
    assert b"Send to PACS" not in page.content  # no PACS configured
    download = clinician_client.get(f"/interop/patients/{record.patient.pk}/fhir.json")
    assert download.status_code == 200 and download["Content-Type"] == FHIR_CONTENT_TYPE
    Bundle.model_validate(json.loads(download.content))
