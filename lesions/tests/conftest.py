import pytest
from django.test import Client

from lesions.tests.browser import page  # noqa: F401  (headless Chromium for browser tests)
from lesions.tests.engine import engine  # noqa: F401  (the default model, in-process)
from lesions.tests.factories import ClinicFactory, ClinicianFactory, StaffFactory

# Real Celery workers, beat and Redis for the analysis pipeline tests.
from lesions.tests.workers import (  # noqa: F401
    inference_worker,
    model_artifact,
    pipeline_media,
    pipeline_media_root,
    session_redis,
    worker_stack,
)


@pytest.fixture(autouse=True)
def media_root(settings, tmp_path):
    """Every test stores files in its own folder, so tests can count what was stored."""
    settings.MEDIA_ROOT = tmp_path / "media"
    # Hashing passwords properly is slow and not what these tests are about.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    return settings.MEDIA_ROOT


@pytest.fixture
def clinic(db):
    return ClinicFactory()


@pytest.fixture
def clinician(clinic):
    return ClinicianFactory(clinic=clinic)


@pytest.fixture
def other_clinician(db):
    """A clinician of another clinic: must never see the first clinic's records."""
    return ClinicianFactory()


@pytest.fixture
def staff(db):
    return StaffFactory()


@pytest.fixture
def clinician_client(clinician) -> Client:
    client = Client()
    client.force_login(clinician)
    return client


@pytest.fixture
def staff_client(staff) -> Client:
    client = Client()
    client.force_login(staff)
    return client
