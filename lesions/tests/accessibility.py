"""Pages in headless Chromium at a given width, and axe-core run inside them.

axe-core is vendored (tests/vendor/axe.min.js, MPL-2.0), so the check needs no network.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

from django.conf import settings
from django.db import connections

from lesions.tests.browser import CHROMIUM, CHROMIUM_ARGS
from lesions.tests.factories import TEST_PASSWORD

AXE_JS = Path(settings.BASE_DIR) / "tests" / "vendor" / "axe.min.js"
DESKTOP = {"width": 1366, "height": 900}
PHONE = {"width": 390, "height": 844}
# WCAG 2.1 A and AA, plus axe's best practices (landmarks, heading order, region).
AXE_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "best-practice"]


@contextlib.contextmanager
def browser_page(viewport: dict, *, phone: bool = False) -> Iterator:
    """A fresh Chromium page at ``viewport``; a phone also gets touch and a coarse pointer.
    Fails on any JavaScript error the pages raised; the browser always closes."""
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; the tests' ORM calls are
    # ordinary blocking calls, which Django would otherwise refuse (as in browser.page).
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            context = browser.new_context(
                viewport=viewport, has_touch=phone, is_mobile=phone, device_scale_factor=1
            )
            page = context.new_page()
            page.set_default_timeout(15_000)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            yield page
            assert not errors, f"JavaScript errors: {errors}"
        finally:
            browser.close()
            connections.close_all()
            if previous is None:
                os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
            else:
                os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


def log_in(page, base_url: str, username: str) -> None:
    page.goto(base_url + "/accounts/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def axe_violations(page) -> list[dict]:
    """axe-core's violations on the page as it is now (rule id, impact, first targets)."""
    if not page.evaluate("() => Boolean(window.axe)"):
        # Evaluated through the DevTools protocol: the pages' CSP (script-src 'self') stays on.
        page.evaluate(AXE_JS.read_text() + "\n;true")
    result = page.evaluate(
        "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})", AXE_TAGS
    )
    return [
        {
            "id": violation["id"],
            "impact": violation["impact"],
            "help": violation["help"],
            "targets": [node["target"] for node in violation["nodes"][:5]],
        }
        for violation in result["violations"]
    ]
