"""Every monitoring page and endpoint, walked with users of two clinics, a user without the
permission, a superuser and an anonymous caller: a clinic sees its own numbers only."""

from __future__ import annotations

import csv
import io

import pytest
from django.urls import reverse

import monitoring.api.urls
import monitoring.urls
from lesions.models import Patient
from lesions.tests.factories import ClinicianFactory
from monitoring.tests.conftest import client_of
from monitoring.tests.data import analysed_case

pytestmark = pytest.mark.django_db

PAGES = [
    f"monitoring:{p.name}" for p in monitoring.urls.urlpatterns if "clinic_pk" in str(p.pattern)
]
ENDPOINTS = [f"monitoring-api:{p.name}" for p in monitoring.api.urls.urlpatterns]


@pytest.fixture
def seeded(clinic, other_clinic):
    """Each clinic has a confirmed melanoma its analysis called Low."""
    return {
        clinic.pk: analysed_case(clinic, "low", diagnosis="mel"),
        other_clinic.pk: analysed_case(other_clinic, "high", diagnosis="nv"),
    }


def urls_of(clinic) -> list[str]:
    return [reverse(name, kwargs={"clinic_pk": clinic.pk}) for name in PAGES + ENDPOINTS]


def test_every_route_is_walked():
    assert len(PAGES) == 2 and len(ENDPOINTS) == 2  # a new route: add it to the walk


def test_a_monitor_sees_their_clinic_and_gets_404_for_the_other(
    seeded, clinic, other_clinic, monitor, other_monitor
):
    for user, own, foreign in (
        (monitor, clinic, other_clinic),
        (other_monitor, other_clinic, clinic),
    ):
        client = client_of(user)
        assert client.get(reverse("monitoring:index")).url == reverse(
            "monitoring:clinic", kwargs={"clinic_pk": own.pk}
        )
        for url in urls_of(own):
            assert client.get(url).status_code == 200, url
        for url in urls_of(foreign):
            response = client.get(url)
            assert response.status_code == 404, url
            assert foreign.name.encode() not in response.content


def test_the_page_shows_the_clinics_figures_and_its_miss_only(seeded, clinic, monitor):
    page = client_of(monitor).get(reverse("monitoring:clinic", kwargs={"clinic_pk": clinic.pk}))
    missed = seeded[clinic.pk]
    content = page.content.decode()
    assert f'data-miss="{missed.pk}"' in content
    assert 'data-alert="melanoma_missed"' in content
    assert "too few cases to say" in content
    assert "South Clinic" not in content


def test_the_api_gives_the_same_figures(seeded, clinic, monitor):
    client = client_of(monitor)
    summary = client.get(reverse("monitoring-api:clinic-summary", kwargs={"clinic_pk": clinic.pk}))
    [model] = summary.json()["models"]
    assert model["analyses"] == 1 and model["states"]["low"] == 1
    assert [a["kind"] for a in summary.json()["alerts"]] == ["melanoma_missed"]
    outcomes = client.get(
        reverse("monitoring-api:clinic-outcomes", kwargs={"clinic_pk": clinic.pk})
    )
    assert [m["analysis_id"] for m in outcomes.json()["misses"]] == [seeded[clinic.pk].pk]
    [figures] = outcomes.json()["outcomes"]
    assert figures["melanoma_sensitivity"] == {
        "successes": 0,
        "total": 1,
        "value": None,
        "low": None,
        "high": None,
        "enough": False,
    }


def test_a_wrong_period_is_refused_by_the_api(clinic, monitor):
    url = reverse("monitoring-api:clinic-summary", kwargs={"clinic_pk": clinic.pk})
    response = client_of(monitor).get(url, {"start": "2026-05-01", "end": "2026-04-01"})
    assert response.status_code == 400 and response.json()["error"]["code"] == "invalid"


def test_without_the_permission_pages_are_refused_and_endpoints_404(seeded, clinic):
    client = client_of(ClinicianFactory(clinic=clinic))
    assert client.get(reverse("monitoring:index")).status_code == 403
    for url in urls_of(clinic):
        assert client.get(url).status_code == (403 if "/api/" not in url else 404), url


def test_a_superuser_sees_every_clinic_each_separately(seeded, clinic, other_clinic, superuser):
    client = client_of(superuser)
    index = client.get(reverse("monitoring:index")).content.decode()
    assert clinic.name in index and other_clinic.name in index
    for own, other in ((clinic, other_clinic), (other_clinic, clinic)):
        for url in urls_of(own):
            assert client.get(url).status_code == 200, url
        page = client.get(reverse("monitoring:clinic", kwargs={"clinic_pk": own.pk}))
        assert f'data-miss="{seeded[other.pk].pk}"' not in page.content.decode()


def test_anonymous_callers_are_sent_to_sign_in_or_get_401(seeded, clinic, client):
    for name in PAGES:
        response = client.get(reverse(name, kwargs={"clinic_pk": clinic.pk}))
        assert response.status_code == 302 and "/accounts/login/" in response.url
    for name in ENDPOINTS:
        response = client.get(reverse(name, kwargs={"clinic_pk": clinic.pk}))
        assert response.status_code == 401


def test_the_export_carries_aggregates_and_no_patient_identifiers(seeded, clinic, monitor):
    url = reverse("monitoring:clinic-export", kwargs={"clinic_pk": clinic.pk})
    response = client_of(monitor).get(url)
    assert response["Content-Type"].startswith("text/csv")
    text = response.content.decode()
    patient = Patient.objects.get(lesions__images__analyses=seeded[clinic.pk])
    for identifier in (patient.family_name, patient.given_names, patient.medical_record_number):
        assert identifier not in text
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[1] == ["section", "model", "figure", "count", "total", "value", "low_95", "high_95"]
    assert ["alert", "", "melanoma_missed (count)", "1", "", "", "", ""] in rows
