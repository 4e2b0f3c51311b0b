"""DICOM objects: SOP class and modality per image kind, study per visit, series per lesion,
SNOMED site, stable UIDs, and the result as a Comprehensive SR."""

from __future__ import annotations

import io

import pydicom
import pytest

from interop import dicom
from interop.dicom.images import DERMOSCOPIC_PHOTOGRAPHY, VL_PHOTOGRAPHIC
from interop.selectors import patient_scope
from interop.tests.data import clinical_record

pytestmark = pytest.mark.django_db


def test_objects_carry_patient_visit_lesion_and_site(clinician):
    record = clinical_record(clinician)
    objects = [
        pydicom.dcmread(io.BytesIO(dicom.to_bytes(ds)))
        for ds in dicom.objects_for(patient_scope(record.patient))
    ]
    images = [ds for ds in objects if ds.Modality != "SR"]
    reports = [ds for ds in objects if ds.Modality == "SR"]
    assert len(images) == 3 and len(reports) == 3
    back_first, back_second, face = images
    assert back_first.SOPClassUID == DERMOSCOPIC_PHOTOGRAPHY and back_first.Modality == "DMS"
    assert face.SOPClassUID == VL_PHOTOGRAPHIC and face.Modality == "XC"
    assert {ds.PatientID for ds in objects} == {record.patient.medical_record_number}
    # A study per visit, a series per lesion within it.
    assert back_first.StudyInstanceUID != back_second.StudyInstanceUID
    assert back_second.StudyInstanceUID == face.StudyInstanceUID
    assert back_second.SeriesInstanceUID != face.SeriesInstanceUID
    assert back_first.SeriesNumber == record.back.number
    assert back_first.AnatomicRegionSequence[0].CodeValue == "66643007"
    assert back_first.AnatomicRegionSequence[0].CodingSchemeDesignator == "SCT"
    assert face.AcquisitionDate == record.images[2].captured_on.strftime("%Y%m%d")
    assert f"Lesion {record.face.number}" in face.ImageComments
    report = reports[0]
    assert report.SOPClassUID == pydicom.uid.ComprehensiveSRStorage
    assert report.StudyInstanceUID == back_first.StudyInstanceUID
    text = str(report.ContentSequence)
    assert "Probability of class mel" in text and "Result state" in text


def test_uids_are_the_same_on_every_export(clinician):
    record = clinical_record(clinician)
    first = [ds.SOPInstanceUID for ds in dicom.objects_for(patient_scope(record.patient))]
    again = [ds.SOPInstanceUID for ds in dicom.objects_for(patient_scope(record.patient))]
    assert first == again and len(set(first)) == len(first)
