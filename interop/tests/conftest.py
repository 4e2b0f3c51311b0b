"""Fixtures of the lesions tests (users, media, workers) and a real Orthanc PACS."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from interop.tests.orthanc import OrthancServer
from lesions.tests.conftest import (  # noqa: F401  (fixtures)
    clinic,
    clinician,
    clinician_client,
    media_root,
    other_clinician,
)
from lesions.tests.workers import (  # noqa: F401  (fixtures)
    pipeline_media,
    pipeline_media_root,
)


@pytest.fixture(scope="module")
def orthanc(tmp_path_factory) -> Iterator[OrthancServer]:
    server = OrthancServer(tmp_path_factory.mktemp("orthanc"))
    try:
        server.start()
        yield server
    finally:
        server.stop()


@pytest.fixture
def pacs(settings, orthanc) -> OrthancServer:
    """This process sends to the test PACS, quickly giving up."""
    settings.DERMASCAN_PACS_URL = orthanc.dicomweb_url
    settings.DERMASCAN_PACS_TIMEOUT = 10.0
    settings.DERMASCAN_PACS_MAX_RETRIES = 0
    return orthanc
