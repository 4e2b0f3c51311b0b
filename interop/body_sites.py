"""SNOMED CT codes for the body-map sites (``lesions.models.BodySite``), for FHIR and DICOM.

A lesion is on the skin, so each site maps to the "Skin of <region>" concept of DICOM's
CID 4029 (Dermatology Anatomic Sites) where that list has one; otherwise to the region's
body-structure concept. ``acral`` (HAM10000's "palms and soles") has no single SNOMED concept:
it is sent as "Skin" with the site's words as text. ``unknown`` sends no code at all: a code
that says less than nothing would read as a finding. docs/interoperability.md prints this table.
"""

from __future__ import annotations

from dataclasses import dataclass

from lesions.models import BodySite

SNOMED_SYSTEM = "http://snomed.info/sct"  # FHIR's system URI for SNOMED CT
SNOMED_DICOM = "SCT"  # DICOM's coding scheme designator for SNOMED CT


@dataclass(frozen=True)
class SiteCode:
    code: str
    meaning: str


SITE_CODES: dict[str, SiteCode | None] = {
    BodySite.SCALP: SiteCode("43067004", "Skin of scalp"),
    BodySite.FACE: SiteCode("73897004", "Skin of face"),
    BodySite.EAR: SiteCode("1902009", "Skin of ear"),
    BodySite.NECK: SiteCode("43081002", "Skin of neck"),
    BodySite.CHEST: SiteCode("74160004", "Skin of chest"),
    BodySite.ABDOMEN: SiteCode("75093004", "Skin of abdomen"),
    BodySite.BACK: SiteCode("66643007", "Skin of back"),
    BodySite.TRUNK: SiteCode("22943007", "Trunk"),
    BodySite.UPPER_EXTREMITY: SiteCode("371311000", "Skin of upper extremity"),
    BodySite.LOWER_EXTREMITY: SiteCode("371304004", "Skin of lower extremity"),
    BodySite.HAND: SiteCode("33712006", "Skin of hand"),
    BodySite.FOOT: SiteCode("60496002", "Skin of foot"),
    BodySite.ACRAL: SiteCode("39937001", "Skin"),
    BodySite.GENITAL: SiteCode("60944009", "Skin of external genitalia"),
    BodySite.UNKNOWN: None,
}


def site_code(body_site: str) -> SiteCode | None:
    """The SNOMED CT concept of a body-map site; ``None`` when the site is not known."""
    return SITE_CODES[body_site]


def site_text(body_site: str) -> str:
    """The site in words, as the clinician chose it (kept beside every code)."""
    if body_site == BodySite.ACRAL:
        return "Acral skin (palm or sole)"
    return BodySite(body_site).label
