"""The schema and the docs pages: local assets only, no inline script (strict CSP)."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

SCRIPT = re.compile(r"<script([^>]*)>(.*?)</script>", re.S)


@pytest.fixture
def schema(client) -> dict:
    response = client.get(reverse("api-schema"), HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    return response.json()


def operations(schema: dict):
    for path, item in schema["paths"].items():
        for method, operation in item.items():
            yield path, method, operation


def test_every_operation_has_a_summary_and_its_errors(schema):
    for path, method, operation in operations(schema):
        assert operation.get("summary"), (path, method)
        if path != "/api/health/" and not path.endswith("/auth/login/"):
            assert "401" in operation["responses"], (path, method)
            error = operation["responses"]["401"]["content"]["application/json"]
            assert error["schema"]["$ref"].endswith("/Error"), (path, method)
            assert error["examples"], (path, method)


def test_the_schema_generates_without_warnings(tmp_path):
    """``manage.py spectacular --fail-on-warn``: every view, field and enum is described."""
    from django.core.management import call_command
    from drf_spectacular.drainage import reset_generator_stats

    reset_generator_stats()
    call_command("spectacular", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))
    assert "/api/v1/worklist/" in (tmp_path / "schema.yaml").read_text()


def test_follow_up_operations_have_examples_and_their_content_types(schema):
    paths = schema["paths"]
    create = paths["/api/v1/analyses/{analysis_pk}/reviews/"]["post"]
    assert len(create["requestBody"]["content"]["application/json"]["examples"]) == 3
    assert set(create["responses"]) >= {"201", "400", "401", "403", "404"}
    report = paths["/api/v1/patients/{patient_pk}/report.pdf"]["get"]
    assert list(report["responses"]["200"]["content"]) == ["application/pdf"]
    assert set(report["responses"]) >= {"200", "401", "404", "429"}
    worklist = paths["/api/v1/worklist/"]["get"]["responses"]["200"]["content"]
    assert worklist["application/json"]["examples"]
    next_review = paths["/api/v1/lesions/{lesion_pk}/next-review/"]["put"]
    assert next_review["requestBody"]["content"]["application/json"]["examples"]
    assert "get" in paths["/api/v1/reviews/"]


def test_the_schema_describes_token_authentication(schema):
    scheme = schema["components"]["securitySchemes"]["tokenAuth"]
    assert scheme == {**scheme, "type": "apiKey", "in": "header", "name": "Authorization"}


@pytest.mark.parametrize("url_name", ["api-docs", "api-redoc"])
def test_docs_pages_load_only_local_external_scripts(client, url_name):
    page = client.get(reverse(url_name)).content.decode()
    scripts = SCRIPT.findall(page)
    assert scripts, "the page has no script at all"
    for attributes, inline in scripts:
        assert inline.strip() == "", f"inline script on {url_name}"
        source = re.search(r'src="([^"]+)"', attributes).group(1)
        assert source.startswith("/"), f"{source} is not served by this site"
        response = client.get(source.replace("&amp;", "&"))
        assert response.status_code == 200, source
    assert "<style" not in page and "googleapis" not in page


def test_swagger_start_script_is_a_separate_javascript_file(client):
    response = client.get(reverse("api-docs") + "?script=")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert reverse("api-schema") in response.content.decode()
