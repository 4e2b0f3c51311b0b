"""A lesion image as a DICOM object.

Dermoscopic images use the Dermoscopic Photography Image IOD (SOP Class
1.2.840.10008.5.1.4.1.1.77.1.7, modality ``DMS``, added by DICOM Supplement 221,
"Dermoscopy"); clinical close-ups the VL Photographic Image IOD (…77.1.4) with modality
``XC`` ("External-camera Photography"), as PS3.3 and PS3.16 CID 29 say. A stored JPEG is
encapsulated as it is (JPEG Baseline transfer syntax): the PACS gets the very pixels the
model saw, with no second lossy step. A PNG goes as uncompressed RGB.
"""

from __future__ import annotations

import datetime
import io

from django.conf import settings
from PIL import Image
from pydicom import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate
from pydicom.sequence import Sequence
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    ExplicitVRLittleEndian,
    JPEGBaseline8Bit,
)

from interop.body_sites import SNOMED_DICOM, site_code, site_text
from interop.dicom import uids
from lesions.models import LesionImage, Modality, Patient, Sex

DERMOSCOPIC_PHOTOGRAPHY = "1.2.840.10008.5.1.4.1.1.77.1.7"
VL_PHOTOGRAPHIC = "1.2.840.10008.5.1.4.1.1.77.1.4"
SOP_CLASS = {Modality.DERMOSCOPIC: DERMOSCOPIC_PHOTOGRAPHY, Modality.CLINICAL: VL_PHOTOGRAPHIC}
MODALITY = {Modality.DERMOSCOPIC: "DMS", Modality.CLINICAL: "XC"}
_SEX = {Sex.FEMALE: "F", Sex.MALE: "M", Sex.OTHER: "O", Sex.UNKNOWN: ""}


def patient_module(ds: Dataset, patient: Patient) -> None:
    ds.PatientName = f"{patient.family_name}^{patient.given_names}".rstrip("^")
    ds.PatientID = patient.medical_record_number
    ds.IssuerOfPatientID = patient.clinic.name[:64]
    ds.PatientBirthDate = patient.date_of_birth.strftime("%Y%m%d")
    ds.PatientSex = _SEX[patient.sex]


def study_module(ds: Dataset, patient: Patient, day: datetime.date) -> None:
    ds.StudyInstanceUID = uids.study_uid(patient.pk, day)
    ds.StudyDate = day.strftime("%Y%m%d")
    ds.StudyTime = ""
    ds.StudyID = f"V{day:%Y%m%d}"
    ds.StudyDescription = "Skin lesion imaging"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""


def common_module(ds: Dataset, sop_class: str, sop_instance: str) -> None:
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: names in any script
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = sop_instance
    ds.Manufacturer = "DermaScan"
    if settings.DERMASCAN_DICOM_INSTITUTION:
        ds.InstitutionName = settings.DERMASCAN_DICOM_INSTITUTION


def anatomic_region(body_site: str) -> Sequence:
    """The site's SNOMED CT code; an empty sequence (type 2) when the site is unknown."""
    code = site_code(body_site)
    if code is None:
        return Sequence()
    item = Dataset()
    item.CodeValue = code.code
    item.CodingSchemeDesignator = SNOMED_DICOM
    item.CodeMeaning = code.meaning
    return Sequence([item])


def image_dataset(image: LesionImage) -> Dataset:
    """The DICOM object of one stored image (its bytes read through the storage API)."""
    lesion = image.lesion
    patient = lesion.patient
    day = image.captured_on
    ds = Dataset()
    common_module(ds, SOP_CLASS[image.modality], uids.image_uid(image.pk))
    patient_module(ds, patient)
    study_module(ds, patient, day)
    ds.Modality = MODALITY[image.modality]
    ds.SeriesInstanceUID = uids.series_uid(lesion.pk, day)
    ds.SeriesNumber = lesion.number
    ds.SeriesDescription = f"Lesion {lesion.number}: {lesion.label}"[:64]
    ds.InstanceNumber = image.pk
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.ContentDate = ds.AcquisitionDate = day.strftime("%Y%m%d")
    ds.ContentTime = ds.AcquisitionTime = ""
    ds.AcquisitionDateTime = day.strftime("%Y%m%d")
    ds.AnatomicRegionSequence = anatomic_region(lesion.body_site)
    ds.BodyPartExamined = ""
    # The lesion's identifier: its number in the series, and in words for viewers.
    ds.ImageComments = f"Lesion {lesion.number} ({site_text(lesion.body_site)}): {lesion.label}"
    ds.ImageLaterality = "U"
    ds.BurnedInAnnotation = "NO"
    ds.AcquisitionContextSequence = Sequence()
    with image.file.open("rb") as stored:
        data = stored.read()
    return with_file_meta(ds, _pixels(ds, data, image.content_type))


def _pixels(ds: Dataset, data: bytes, content_type: str) -> str:
    """Sets the pixel attributes; returns the transfer syntax they are encoded in."""
    with Image.open(io.BytesIO(data)) as decoded:
        ds.Columns, ds.Rows = decoded.size  # from the header: a JPEG is not decoded here
        rgb = None if content_type == "image/jpeg" else decoded.convert("RGB")
    ds.SamplesPerPixel = 3
    ds.BitsAllocated = ds.BitsStored = 8
    ds.HighBit = 7
    ds.PixelRepresentation = 0
    ds.PlanarConfiguration = 0
    if content_type == "image/jpeg":
        ds.PhotometricInterpretation = "YBR_FULL_422"
        ds.LossyImageCompression = "01"
        ds.LossyImageCompressionMethod = "ISO_10918_1"
        ds.PixelData = encapsulate([data])
        ds["PixelData"].VR = "OB"
        return JPEGBaseline8Bit
    ds.PhotometricInterpretation = "RGB"
    ds.LossyImageCompression = "00"
    ds.PixelData = rgb.tobytes() if rgb is not None else b""
    return ExplicitVRLittleEndian


def with_file_meta(ds: Dataset, transfer_syntax: str) -> Dataset:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = transfer_syntax
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    return ds


def to_bytes(ds: Dataset) -> bytes:
    """The object as a DICOM Part 10 file (what STOW-RS sends)."""
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()
