"""Clinic isolation on every API route: another clinic's token gets 404 everywhere.

Like the page walker (lesions/tests/test_isolation.py), the test walks the URL resolver,
so a route added later is covered automatically, and it fails if an API route was not
called or a path parameter has no test value.
"""

from __future__ import annotations

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import get_resolver, reverse

import lesions.api.urls
from lesions import services
from lesions.models import DeviceToken, Patient
from lesions.tests.api.conftest import client_with_token, token_for
from lesions.tests.factories import LesionImageFactory
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish
from lesions.tests.test_isolation import snapshot, walk

pytestmark = pytest.mark.django_db

METHODS = ("get", "post", "put", "patch", "delete")
# Routes that identify no record: they answer the caller's own (empty) data, never 404.
OWN_DATA = {
    "api:login",
    "api:login-otp",
    "api:logout",
    "api:logout-all",
    "api:device-list",
    "api:patient-list",
}
OWN_DATA |= {"api:model", "api:predict", "api:review-list", "api:worklist"}
OWN_DATA |= {"api:worklist-section"}
OWN_DATA_PARAMETERS = {"section"}  # path parameters that name no record
FOREIGN_NOTE = "Protected clinic's sign-off"


def api_routes():
    routes = []
    for route, name, params, _view in walk(get_resolver().url_patterns):
        if route.startswith("api/v1/"):
            assert name, f"API route {route!r} needs a name to be walked"
            routes.append((name, params))
    return routes


@pytest.fixture
def foreign_records(clinician):
    """The protected clinic's records, a device of its clinician and a quick-check job.

    Its analysis is finished and reviewed (a review of it would be accepted, and the clinic's
    reviews list has one), and a second, unreviewed result puts the lesion on its worklist.
    """
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    analysis = finish(image)
    services.record_review(
        analysis=analysis,
        reviewer=clinician,
        agrees_with_model=True,
        basis="clinical",
        management="monitor",
        note=FOREIGN_NOTE,
    )
    later = LesionImageFactory(lesion=image.lesion, image_bytes=jpeg_bytes(seed=98))
    finish(later, task_id="task-2")
    token_for(clinician, "protected phone")
    job = "5f0c1d4e-0000-4000-8000-000000000001"
    cache.set(f"predict-job:{job}", clinician.pk, 60)
    return {
        "patient_pk": image.lesion.patient.pk,
        "lesion_pk": image.lesion.pk,
        "image_pk": image.pk,
        "analysis_pk": analysis.pk,
        "device_key": DeviceToken.objects.get(user=clinician).token_key,
        "job_id": job,
        "clinic_pk": clinician.clinic.pk,  # monitoring: another clinic's figures
        "section": "review",  # names no record: the caller's own section, never another's
    }


def body():
    """Valid data for any write, so that a view that skipped its clinic check would act."""
    return {
        "medical_record_number": "HIJACK",
        "family_name": "Hijacked",
        "date_of_birth": "1990-01-01",
        "label": "Hijacked",
        "body_site": "back",
        "body_view": "back",
        "map_x": "0.5",
        "map_y": "0.5",
        "status": "archived",
        "captured_on": "2024-01-01",
        "modality": "dermoscopic",
        "agrees_with_model": True,
        "basis": "histopathology",
        "management": "discharge",
        "next_review_on": "2030-01-01",
    }


def multipart_body():
    return {**body(), "file": SimpleUploadedFile("x.jpg", jpeg_bytes(seed=99))}


def test_other_clinics_token_gets_404_on_every_api_route(
    foreign_records, clinician, other_clinician
):
    other = client_with_token(token_for(other_clinician, "intruder"))
    routes = api_routes()
    before = snapshot(clinician.clinic)
    devices = set(DeviceToken.objects.filter(user=clinician).values_list("pk", flat=True))
    patient = Patient.objects.get(pk=foreign_records["patient_pk"])
    # What a list of one's own data (patients, reviews, the worklist) must never show.
    foreign = [patient.name, patient.medical_record_number, FOREIGN_NOTE]
    foreign = [text.encode() for text in foreign]
    visited = set()
    for name, params in routes:
        missing = [p for p in params if p not in foreign_records]
        assert not missing, f"No test value for path parameter(s) {missing} of {name!r}: add them"
        url = reverse(name, kwargs={p: foreign_records[p] for p in params})
        visited.add(name)
        for method in METHODS:
            # A GET's data would be its query string: filters could hide a leak.
            data = None if method == "get" else body()
            response = getattr(other, method)(url, data, format="json")
            if response.status_code == 415:  # an upload: multipart
                response = getattr(other, method)(url, multipart_body(), format="multipart")
            if name in OWN_DATA and set(params) <= OWN_DATA_PARAMETERS:
                for text in foreign:
                    assert text not in response.content, (name, method, text)
                continue
            assert response.status_code in (404, 405), (name, method, response.status_code)
            if response.status_code == 404:
                assert response.json()["error"]["code"] == "not_found", (name, method)
        if name == "api:logout" or name == "api:logout-all":
            other = client_with_token(token_for(other_clinician, "intruder again"))
    assert snapshot(clinician.clinic) == before, "the other clinic changed or viewed a record"
    assert set(DeviceToken.objects.filter(user=clinician).values_list("pk", flat=True)) == devices
    declared = {f"api:{pattern.name}" for pattern in lesions.api.urls.urlpatterns}
    assert not (declared - visited), f"API routes not walked: {sorted(declared - visited)}"
    assert {name for name, params in routes if not params} <= OWN_DATA, "classify new routes"


def test_anonymous_caller_gets_401_on_every_api_route_but_login(foreign_records, client):
    for name, params in api_routes():
        url = reverse(name, kwargs={p: foreign_records[p] for p in params})
        for method in METHODS:
            response = getattr(client, method)(url)
            if name in ("api:login", "api:login-otp"):  # signing in needs no sign-in
                continue
            assert response.status_code in (401, 405), (name, method, response.status_code)
            if response.status_code == 401:
                assert response.json()["error"]["code"] == "not_authenticated"
