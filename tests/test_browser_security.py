"""In a real browser: the strict CSP breaks none of our pages (no violation is reported), and
the sign-in page locks out a guesser with a clear message."""

from __future__ import annotations

from lesions.tests.browser import browser_marks
from lesions.tests.factories import (
    TEST_PASSWORD,
    ClinicianFactory,
    LesionImageFactory,
    StaffFactory,
)

pytestmark = browser_marks


def sign_in(page, base_url: str, username: str, password: str, path: str = "/accounts/login/"):
    page.goto(base_url + path)
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Log in").click()


def test_pages_and_admin_run_under_the_csp_without_violations(live_server, transactional_db, page):
    from playwright.sync_api import expect

    violations: list[str] = []
    page.on(
        "console",
        lambda message: (
            violations.append(message.text) if "Content Security Policy" in message.text else None
        ),
    )
    image = LesionImageFactory()
    clinician = ClinicianFactory(clinic=image.lesion.patient.clinic)
    sign_in(page, live_server.url, clinician.username, TEST_PASSWORD)
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()
    page.goto(live_server.url + "/patients/")
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()
    for path in (image.lesion.patient.get_absolute_url(), image.lesion.get_absolute_url()):
        page.goto(live_server.url + path)
        # The body map is drawn by our own script: it ran.
        expect(page.locator(".body-map__marker").first).to_be_attached()
    page.goto(live_server.url + image.lesion.get_absolute_url() + "compare/")

    page.context.clear_cookies()
    staff = StaffFactory()
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("Username").fill(staff.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    for path in ("/admin/", "/admin/lesions/lesionimage/", "/admin/lesions/patient/"):
        page.goto(live_server.url + path)
    page.goto(live_server.url + f"/admin/lesions/lesionimage/{image.pk}/change/")
    assert not violations, violations


def test_guessing_passwords_locks_the_account_with_a_clear_message(
    live_server, transactional_db, page
):
    from playwright.sync_api import expect

    clinician = ClinicianFactory()
    for attempt in range(5):
        sign_in(page, live_server.url, clinician.username, f"wrong-{attempt}")
    expect(page.get_by_role("heading", name="Sign-in locked")).to_be_visible()
    # Even the right password is refused now.
    sign_in(page, live_server.url, clinician.username, TEST_PASSWORD)
    expect(page.get_by_text("Too many failed sign-ins")).to_be_visible()
    expect(page.get_by_role("heading", name="Worklist")).not_to_be_visible()
