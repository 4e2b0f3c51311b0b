"""The docs pages render in a browser under a strict script policy (no inline script)."""

from __future__ import annotations

import pytest

from lesions.tests.browser import browser_marks

pytestmark = [*browser_marks, pytest.mark.django_db(transaction=True)]

STRICT = "default-src 'self'; script-src 'self'; img-src 'self' data:; worker-src 'self' blob:"
# ReDoc styles itself with styled-components, which injects <style> elements: it needs inline
# styles (not scripts). Swagger UI needs neither.
INLINE_STYLES = "; style-src 'self' 'unsafe-inline'"


@pytest.mark.parametrize(
    ("path", "rendered", "policy"),
    [
        ("/api/docs/", ".swagger-ui .info .title", STRICT),
        ("/api/redoc/", "h1", STRICT + INLINE_STYLES),
    ],
    ids=["swagger", "redoc"],
)
def test_docs_render_under_script_src_self(live_server, page, path, rendered, policy):
    from playwright.sync_api import expect

    refused: list[str] = []
    page.on("console", lambda m: refused.append(m.text) if "Refused" in m.text else None)

    def with_policy(route):
        response = route.fetch()
        route.fulfill(
            response=response, headers={**response.headers, "content-security-policy": policy}
        )

    page.route(f"{live_server.url}{path}*", with_policy)
    page.goto(live_server.url + path)
    expect(page.locator(rendered).first).to_contain_text("DermaScan API", timeout=20_000)
    assert not [text for text in refused if "script" in text], refused
