"""Signing off a High-risk result in Chromium at 1366 px and 390 px: the form's defaults
decide nothing (Sign off with them records nothing), agreeing and choosing Monitor asks
for a reason, and the recorded decision moves the lesion's status. axe finds no violation
on the lesion page or on the review page showing the error."""

from __future__ import annotations

import pytest

from lesions.models import Lesion, Review
from lesions.tests.accessibility import DESKTOP, PHONE, axe_violations, browser_page, log_in
from lesions.tests.browser import browser_marks
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import ClinicianFactory, LesionFactory, days_ago

pytestmark = browser_marks


@pytest.fixture
def high_risk(transactional_db, engine):
    clinician = ClinicianFactory()
    lesion = LesionFactory(patient__clinic=clinician.clinic, label="Left calf mole")
    analysis = analyse_sample(engine, lesion, "mel", captured_on=days_ago(2))
    assert analysis.result_state == "high"
    return clinician, analysis


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366px", "390px"])
def test_a_high_risk_result_cannot_be_signed_off_with_the_defaults(
    live_server, high_risk, viewport
):
    from playwright.sync_api import expect

    clinician, analysis = high_risk
    lesion = analysis.image.lesion
    with browser_page(viewport, phone=viewport is PHONE) as page:
        log_in(page, live_server.url, clinician.username)
        page.goto(live_server.url + lesion.get_absolute_url())
        panel = page.locator(f"#review-{analysis.image_id}")
        assert axe_violations(page) == []
        # Nothing that states a decision is chosen: Sign off as the page comes sends nothing.
        assert not panel.get_by_label("Agree with the model").is_checked()
        assert not panel.get_by_label("Another diagnosis").is_checked()
        expect(panel.get_by_label("Basis")).to_have_value("")
        expect(panel.get_by_label("Management decision")).to_have_value("")
        panel.get_by_role("button", name="Sign off").click()
        page.wait_for_timeout(300)
        assert page.url.endswith(lesion.get_absolute_url())
        assert not Review.objects.exists(), "signed off with the defaults"

        # Agreeing that it is High risk and then choosing Monitor needs a reason.
        panel.get_by_label("Agree with the model").check()
        panel.get_by_label("Basis").select_option("clinical")
        panel.get_by_label("Management decision").select_option("monitor")
        panel.get_by_role("button", name="Sign off").click()
        expect(page.get_by_text("write the reason in the note")).to_be_visible()
        assert not Review.objects.exists()
        assert axe_violations(page) == []

        # Referral needs none, and the lesion is then "Referred".
        page.goto(live_server.url + lesion.get_absolute_url())
        panel.get_by_label("Agree with the model").check()
        panel.get_by_label("Basis").select_option("clinical")
        panel.get_by_label("Management decision").select_option("refer")
        panel.get_by_role("button", name="Sign off").click()
        expect(page.get_by_text("Review recorded.")).to_be_visible()
        review = Review.objects.get()
        assert (review.diagnosis, review.management) == ("mel", "refer")
        assert Lesion.objects.get(pk=lesion.pk).status == "referred"
