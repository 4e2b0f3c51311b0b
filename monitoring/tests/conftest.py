import pytest
from django.contrib.auth.models import Permission
from django.test import Client

from lesions.tests.conftest import media_root  # noqa: F401  (each test its own media folder)
from lesions.tests.factories import ClinicFactory, ClinicianFactory, StaffFactory

# Real Celery workers, beat and Redis (the beat task's test).
from lesions.tests.workers import (  # noqa: F401
    model_artifact,
    pipeline_media,
    pipeline_media_root,
    worker_stack,
)


def monitor_of(clinic, **extra):
    """A staff member of ``clinic`` with the monitoring permission."""
    user = ClinicianFactory(clinic=clinic, is_staff=True, **extra)
    user.user_permissions.add(
        Permission.objects.get(content_type__app_label="monitoring", codename="view_monitoring")
    )
    return user


def client_of(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def clinic(db):
    return ClinicFactory(name="North Clinic")


@pytest.fixture
def other_clinic(db):
    return ClinicFactory(name="South Clinic")


@pytest.fixture
def monitor(clinic):
    return monitor_of(clinic)


@pytest.fixture
def other_monitor(other_clinic):
    return monitor_of(other_clinic)


@pytest.fixture
def superuser(db):
    return StaffFactory()
