"""Recorded alerts reach staff: on the admin index and in /health/'s detailed view."""

from __future__ import annotations

import pytest
from django.urls import reverse

from dermascan_site import health
from lesions.models import DeviceToken
from lesions.tests.factories import ClinicianFactory
from monitoring.models import Alert
from monitoring.services import record_alerts
from monitoring.tests.conftest import client_of
from monitoring.tests.data import analysed_case

pytestmark = pytest.mark.django_db


@pytest.fixture
def recorded_miss(clinic):
    analysed_case(clinic, "low", diagnosis="mel")
    record_alerts()
    return Alert.objects.get()


@pytest.fixture(autouse=True)
def fresh_health():
    for check in (health.remembered_database, health.remembered_broker, health.remembered_model):
        check.forget()


def test_the_admin_index_lists_open_alerts_of_the_users_clinics(
    recorded_miss, superuser, other_monitor
):
    page = client_of(superuser).get(reverse("admin:index")).content.decode()
    assert "Monitoring alerts (1 open)" in page and "North Clinic" in page
    other = client_of(other_monitor).get(reverse("admin:index")).content.decode()
    assert "Monitoring alerts" not in other  # another clinic's staff: nothing of North's


def test_health_details_name_open_alerts_for_staff_only(recorded_miss, superuser, clinic):
    body = client_of(superuser).get(reverse("health")).json()
    assert body["monitoring"]["open_alerts"] == 1
    assert body["monitoring"]["alerts"][0]["kind"] == "melanoma_missed"
    assert "patient" not in str(body["monitoring"]).lower()
    _, key = DeviceToken.objects.create(user=ClinicianFactory(clinic=clinic), device_name="phone")
    as_token = (
        client_of(superuser)
        .__class__()
        .get(reverse("api-health"), HTTP_AUTHORIZATION=f"Token {key}")
    )
    assert "monitoring" not in as_token.json()  # a clinician's token: components, no alerts


def test_an_acknowledged_alert_leaves_the_admin_index(recorded_miss, superuser):
    client = client_of(superuser)
    changelist = reverse("admin:monitoring_alert_changelist")
    client.post(changelist, {"action": "acknowledge", "_selected_action": [recorded_miss.pk]})
    assert "Monitoring alerts" not in client.get(reverse("admin:index")).content.decode()
    assert Alert.objects.get().acknowledged_by == superuser
