"""Patient data is never cached and the pages run only our own scripts (CSP)."""

from __future__ import annotations

import pytest
from django.urls import reverse

from lesions.tests.factories import LesionImageFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def image(clinician):
    return LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)


def patient_data_urls(image) -> list[str]:
    lesion, analysis = image.lesion, image.analyses.get()
    return [
        reverse("lesions:patient-list"),
        reverse("lesions:patient-detail", kwargs={"patient_pk": lesion.patient_id}),
        reverse("lesions:lesion-detail", kwargs={"lesion_pk": lesion.pk}),
        reverse("lesions:lesion-compare", kwargs={"lesion_pk": lesion.pk}),
        reverse("lesions:lesion-analyses", kwargs={"lesion_pk": lesion.pk}),
        reverse("lesions:analysis-card", kwargs={"analysis_pk": analysis.pk}),
        reverse("lesions:image-file", kwargs={"image_pk": image.pk}),
        reverse("lesions:image-file", kwargs={"image_pk": image.pk}) + "?size=thumbnail",
    ]


def test_every_page_with_patient_data_is_no_store(clinician_client, image):
    for url in patient_data_urls(image):
        response = clinician_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url
        assert "max-age=3600" not in response["Cache-Control"], url


def test_admin_pages_and_images_are_no_store(staff_client, image):
    urls = [
        reverse("admin:lesions_patient_change", args=[image.lesion.patient_id]),
        reverse("admin:lesions_lesionimage_file", kwargs={"image_pk": image.pk}),
    ]
    for url in urls:
        response = staff_client.get(url)
        assert response.status_code == 200, url
        assert "no-store" in response["Cache-Control"], url


def test_strict_csp_and_permissions_policy_on_pages(clinician_client, image):
    response = clinician_client.get(
        reverse("lesions:lesion-detail", kwargs={"lesion_pk": image.lesion_id})
    )
    policy = dict(
        directive.strip().split(" ", 1)
        for directive in response["Content-Security-Policy"].split(";")
    )
    assert policy["script-src"] == "'self'"
    assert policy["default-src"] == "'self'"
    assert policy["object-src"] == "'none'"
    assert policy["frame-ancestors"] == "'none'"
    assert "unsafe" not in policy["script-src"]
    assert "camera=()" in response["Permissions-Policy"]
    assert "geolocation=()" in response["Permissions-Policy"]


def test_login_page_has_the_headers_too(client):
    response = client.get(reverse("login"))
    assert "Content-Security-Policy" in response
    assert "no-store" in response["Cache-Control"]


def test_no_template_has_inline_script():
    from django.conf import settings

    templates = list((settings.BASE_DIR / "templates").rglob("*.html"))
    assert templates
    for template in templates:
        text = template.read_text()
        for tag in text.split("<script")[1:]:
            opening = tag.split(">", 1)[0]
            assert "src=" in opening or "application/json" in opening, template
        assert " onclick=" not in text and " onload=" not in text, template
