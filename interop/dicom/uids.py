"""DICOM UIDs derived from what they identify, so a resend carries the same UIDs and a PACS
stores it once (an instance with a known SOP Instance UID replaces or is ignored, never
duplicated). Each UID is ``2.25.<the integer of a name-based (version 5) UUID>``, the form
PS3.5 B.2 gives for UIDs derived from a UUID."""

from __future__ import annotations

import datetime
import uuid

from django.conf import settings
from pydicom.uid import UID


def derived_uid(*parts: object) -> UID:
    """The same parts give the same UID; the namespace keeps two installations apart."""
    name = "/".join([settings.DERMASCAN_DICOM_UID_NAMESPACE, *(str(part) for part in parts)])
    return UID(f"2.25.{uuid.uuid5(uuid.NAMESPACE_URL, f'dicom:{name}').int}")


def study_uid(patient_pk: int, day: datetime.date) -> UID:
    """One study per visit: a patient's images captured on one day."""
    return derived_uid("study", patient_pk, day.isoformat())


def series_uid(lesion_pk: int, day: datetime.date) -> UID:
    """One series per lesion within a visit's study."""
    return derived_uid("series", lesion_pk, day.isoformat())


def image_uid(image_pk: int) -> UID:
    return derived_uid("image", image_pk)


def report_series_uid(patient_pk: int, day: datetime.date) -> UID:
    return derived_uid("sr-series", patient_pk, day.isoformat())


def report_uid(analysis_pk: int) -> UID:
    return derived_uid("sr", analysis_pk)


def lesion_tracking_uid(lesion_pk: int) -> UID:
    """The lesion across visits (TID 1500's Tracking Unique Identifier)."""
    return derived_uid("lesion", lesion_pk)


def device_uid(model_key: str) -> UID:
    return derived_uid("model", model_key)
