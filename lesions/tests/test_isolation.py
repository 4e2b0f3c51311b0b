"""Clinic isolation, checked on every URL the lesions app has.

The test walks the URL resolver instead of listing URLs by hand, so a view added later
is covered automatically, and the test fails if a lesions URL was not visited.
"""

from __future__ import annotations

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.urls.resolvers import RegexPattern, RoutePattern

import lesions.urls
from lesions.models import Analysis, AuditEvent, Lesion, LesionImage, Patient, Review
from lesions.tests.factories import LesionImageFactory
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import finish

pytestmark = pytest.mark.django_db

# Not walked: admin/ (staff only, has its own permission tests), the API (token
# authentication and JSON errors: walked by lesions/tests/api/test_isolation.py), login/logout
# (public by design).
SKIPPED_PREFIXES = ("admin/", "api/", "accounts/")
# Views whose URLs identify nothing; they must show the other clinic's data nowhere.
LISTS = {"lesions:home", "lesions:patient-list", "lesions:patient-create"}


def walk(patterns, prefix="", namespace="", params=()):
    """Yield (route, URL name, path parameter names, view path) for every URL pattern."""
    for entry in patterns:
        names = params + parameter_names(entry.pattern)
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            inner = f"{namespace}{entry.namespace}:" if entry.namespace else namespace
            yield from walk(entry.url_patterns, route, inner, names)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}{entry.name}" if entry.name else None
            yield route, name, names, entry.lookup_str


def parameter_names(pattern) -> tuple[str, ...]:
    if isinstance(pattern, RoutePattern):
        return tuple(pattern.converters)
    if isinstance(pattern, RegexPattern):
        return tuple(pattern.regex.groupindex)
    return ()


def clinical_routes():
    """Every URL served by the lesions app (its pages now, its API later).

    The model engine's pages (classifier) show model metrics and hold no clinical
    records, so clinic isolation does not apply to them.
    """
    routes = []
    for route, name, params, view in walk(get_resolver().url_patterns):
        if route.lstrip("^").startswith(SKIPPED_PREFIXES) or not view.startswith("lesions."):
            continue
        assert name, f"URL {route!r} ({view}) needs a name to be walked"
        routes.append((name, params))
    return routes


def url_for(name: str, params: tuple[str, ...], values: dict[str, int | str]) -> str:
    """The URL with each path parameter set to the other clinic's record of that name."""
    missing = [param for param in params if param not in values]
    if missing:
        pytest.fail(f"No test value for path parameter(s) {missing} of {name!r}: add them")
    return reverse(name, kwargs={param: values[param] for param in params})


@pytest.fixture
def foreign_records(clinician):
    """A patient with a lesion and an image in the clinician's clinic (the one to protect)."""
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    lesion = image.lesion
    analysis = finish(image)  # a finished result, so that a review of it would be accepted
    return {
        "patient_pk": lesion.patient.pk,
        "lesion_pk": lesion.pk,
        "image_pk": image.pk,
        "analysis_pk": analysis.pk,
        "format": "json",  # DRF format suffixes
    }


def post_data():
    """Valid-looking data for any of the forms, so a view that skipped its clinic check
    would act on the record (and the test would see the change) rather than fail validation."""
    return {
        "medical_record_number": "HIJACK",
        "name": "Hijacked",
        "date_of_birth": "1990-01-01",
        "sex": "male",
        "label": "Hijacked",
        "body_site": "back",
        "body_view": "back",
        "map_x": "0.5",
        "map_y": "0.5",
        "status": "archived",
        "first_noted_on": "2024-01-01",
        "captured_on": "2024-01-01",
        "modality": "dermoscopic",
        "file": SimpleUploadedFile("x.jpg", jpeg_bytes(seed=99)),
        "agrees_with_model": "yes",
        "basis": "histopathology",
        "management": "discharge",
        "next_review_on": "2030-01-01",
    }


def snapshot(clinic):
    """The protected clinic's records (the other clinician may create in their own clinic)."""
    return (
        list(
            Patient.objects.filter(clinic=clinic).values_list(
                "pk", "family_name", "given_names", "notes"
            )
        ),
        list(
            Lesion.objects.filter(patient__clinic=clinic).values_list(
                "pk", "label", "map_x", "next_review_on", "confirmed_diagnosis"
            )
        ),
        Review.objects.filter(analysis__image__lesion__patient__clinic=clinic).count(),
        list(LesionImage.objects.filter(lesion__patient__clinic=clinic).values_list("pk", "file")),
        list(
            Analysis.objects.filter(image__lesion__patient__clinic=clinic).values_list(
                "pk", "status"
            )
        ),
        AuditEvent.objects.filter(clinic=clinic).count(),
    )


def test_other_clinics_clinician_gets_404_on_every_lesions_url(
    foreign_records, clinician, other_clinician
):
    client = Client()
    client.force_login(other_clinician)
    routes = clinical_routes()
    names = {name for name, _ in routes}
    assert {"lesions:patient-detail", "lesions:image-file"} <= names  # the walk found the app
    before = snapshot(clinician.clinic)
    foreign_name = Patient.objects.get(pk=foreign_records["patient_pk"]).name.encode()
    visited = set()

    for name, params in routes:
        url = url_for(name, params, foreign_records)
        get = client.get(url)
        post = client.post(url, post_data())
        visited.add(name)
        if name in LISTS or not params:
            assert get.status_code in (200, 302, 405), (name, get.status_code)
            for response in (get, post):
                assert foreign_name not in response.content, name
            continue
        # GET-only or POST-only views answer 405 to the other method before any lookup.
        assert get.status_code in (403, 404, 405), (name, "GET", get.status_code)
        assert post.status_code in (403, 404, 405), (name, "POST", post.status_code)
        assert {403, 404} & {get.status_code, post.status_code}, (name, get, post)

    assert snapshot(clinician.clinic) == before, "the other clinic changed or viewed a record"
    declared = {f"lesions:{pattern.name}" for pattern in lesions.urls.urlpatterns}
    unvisited = (declared | names) - visited
    assert not unvisited, f"lesions URLs not walked: {sorted(unvisited)}"


def test_anonymous_visitor_is_sent_to_login_on_every_lesions_url(client, foreign_records):
    for name, params in clinical_routes():
        url = url_for(name, params, foreign_records)
        for response in (client.get(url), client.post(url)):
            assert response.status_code in (302, 401, 403), (name, response.status_code)
            if response.status_code == 302:
                assert response["Location"].startswith(reverse("login")), name


def test_staff_without_clinic_gets_403_on_clinical_pages(foreign_records, staff_client):
    for name, params in clinical_routes():
        if name == "lesions:home":
            continue  # sends staff to the admin
        response = staff_client.get(url_for(name, params, foreign_records))
        assert response.status_code in (403, 404, 405), (name, response.status_code)
