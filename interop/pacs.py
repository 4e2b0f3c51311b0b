"""A DICOMweb STOW-RS client for the PACS named in settings (``DERMASCAN_PACS_*``).

Each call stores a batch of DICOM files in one ``multipart/related`` request and checks the
PACS's answer instance by instance: only a SOP Instance UID listed among its stored ones
counts as stored. Errors are sorted into the two a sender acts on differently:
``PacsUnavailable`` (down, timed out, 5xx: try again later) and ``PacsRefused`` (4xx or an
instance the PACS would not store: trying again will not help).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

import httpx
from django.conf import settings

DICOM_JSON = "application/dicom+json"
_REFERENCED_SOP_SEQUENCE = "00081199"
_FAILED_SOP_SEQUENCE = "00081198"
_REFERENCED_SOP_INSTANCE_UID = "00081155"
_FAILURE_REASON = "00081197"


class PacsError(Exception):
    """A send that did not store everything; the message is the reason shown to clinicians."""


class PacsUnavailable(PacsError):
    pass


class PacsRefused(PacsError):
    pass


@dataclass(frozen=True)
class PacsConfig:
    url: str
    username: str = ""
    password: str = ""
    timeout: float = 30.0
    ca_bundle: str = ""

    @classmethod
    def from_settings(cls) -> PacsConfig | None:
        """The configured PACS, or ``None`` when sending is switched off."""
        if not settings.DERMASCAN_PACS_URL:
            return None
        return cls(
            url=settings.DERMASCAN_PACS_URL,
            username=settings.DERMASCAN_PACS_USERNAME,
            password=settings.DERMASCAN_PACS_PASSWORD,
            timeout=settings.DERMASCAN_PACS_TIMEOUT,
            ca_bundle=settings.DERMASCAN_PACS_CA_BUNDLE,
        )


def store_instances(config: PacsConfig, files: dict[str, bytes]) -> None:
    """STOW-RS ``files`` (SOP Instance UID -> Part 10 bytes); returns only if the PACS
    confirmed every one of them."""
    boundary = uuid.uuid4().hex
    body = b"".join(
        b"--" + boundary.encode() + b"\r\nContent-Type: application/dicom\r\n\r\n" + data + b"\r\n"
        for data in files.values()
    )
    body += b"--" + boundary.encode() + b"--\r\n"
    headers = {
        "Content-Type": f'multipart/related; type="application/dicom"; boundary={boundary}',
        "Accept": DICOM_JSON,
    }
    auth = (config.username, config.password) if config.username else None
    try:
        with httpx.Client(timeout=config.timeout, verify=config.ca_bundle or True) as client:
            url = f"{config.url}/studies"
            response = client.post(url, content=body, headers=headers, auth=auth)
    except httpx.TimeoutException as exc:
        raise PacsUnavailable(f"The PACS did not answer within {config.timeout:g} s.") from exc
    except httpx.HTTPError as exc:
        raise PacsUnavailable(f"The PACS could not be reached ({_brief(exc)}).") from exc
    _check_answer(response, set(files))


def _check_answer(response: httpx.Response, sent: set[str]) -> None:
    if response.status_code >= 500:
        raise PacsUnavailable(f"The PACS answered HTTP {response.status_code} (server error).")
    if response.status_code in (401, 403):
        raise PacsRefused(f"The PACS refused the credentials (HTTP {response.status_code}).")
    if response.status_code >= 400 and response.status_code != 409:
        raise PacsRefused(f"The PACS refused the objects (HTTP {response.status_code}).")
    try:
        answer = response.json()
    except ValueError as exc:
        raise PacsRefused("The PACS's answer was not DICOM JSON.") from exc
    stored = _uids(answer, _REFERENCED_SOP_SEQUENCE)
    failed = _uids(answer, _FAILED_SOP_SEQUENCE)
    missing = sent - stored
    if missing or failed:
        reason = _failure_reason(answer)
        count = len(missing | failed)
        raise PacsRefused(f"The PACS did not store {count} of {len(sent)} objects{reason}.")


def _uids(answer: dict, sequence: str) -> set[str]:
    items = (answer.get(sequence) or {}).get("Value") or []
    return {
        value
        for item in items
        for value in (item.get(_REFERENCED_SOP_INSTANCE_UID) or {}).get("Value") or []
    }


def _failure_reason(answer: dict) -> str:
    for item in (answer.get(_FAILED_SOP_SEQUENCE) or {}).get("Value") or []:
        codes = (item.get(_FAILURE_REASON) or {}).get("Value") or []
        if codes:
            return f" (failure reason 0x{int(codes[0]):04X})"
    return ""


def _brief(exc: Exception) -> str:
    return (str(exc) or type(exc).__name__)[:200]
