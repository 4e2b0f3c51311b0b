"""In headless Chromium: upload on the lesion page, and the result card appears by itself
(no reload) once a real worker process has finished the analysis."""

from __future__ import annotations

import os

from dermascan_site.celery import app as celery_app
from lesions.follow_up.headline import headline_for
from lesions.models import Analysis
from lesions.tests.browser import browser_marks
from lesions.tests.factories import TEST_PASSWORD, ClinicianFactory, LesionFactory
from lesions.tests.images import sample_path
from lesions.tests.workers import PROCESS_DEADLINE, requires_worker_stack

pytestmark = [
    *browser_marks,
    *requires_worker_stack(),
]


def set_inference_consumer(worker_name: str, *, consuming: bool) -> None:
    """Stop or resume the worker's consumption of the inference queue (Celery remote control)."""
    destination = [f"{worker_name}@{os.uname().nodename}"]
    control = celery_app.control
    command = control.add_consumer if consuming else control.cancel_consumer
    replies = command("inference", destination=destination, reply=True, timeout=5)
    assert replies, f"worker {destination} did not answer"


def test_result_card_appears_without_reloading_the_page(
    live_server, transactional_db, inference_worker, pipeline_media, page
):
    from playwright.sync_api import expect

    clinician = ClinicianFactory()
    lesion = LesionFactory(patient__clinic=clinician.clinic, label="Left shoulder mole")
    page.goto(live_server.url + lesion.get_absolute_url())
    page.get_by_label("Username").fill(clinician.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Left shoulder mole")).to_be_visible()

    # Hold the worker back while uploading, so the page surely first shows "queued".
    set_inference_consumer("shared", consuming=False)
    try:
        # The untrained test model rates this sample Moderate: a card with class and heatmap.
        page.get_by_label("Image (JPEG or PNG, at most 20 MB)").set_input_files(sample_path("df"))
        page.get_by_role("button", name="Upload").click()
        expect(page.get_by_text("Image added to the lesion's timeline.")).to_be_visible()
        card = page.locator("[data-analysis-image]")
        expect(card).to_have_attribute("data-analysis-status", "queued")
        page.evaluate("window.stillTheSamePage = true")
    finally:
        set_inference_consumer("shared", consuming=True)

    # The worker finishes; the poller swaps the finished card in.
    result = page.locator('[data-analysis-status="done"]')
    expect(result).to_be_visible(timeout=PROCESS_DEADLINE * 1000)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload happened
    analysis = Analysis.objects.get(image__lesion=lesion)
    assert analysis.status == "done"
    expect(result.locator(".analysis__diagnosis")).to_have_text(analysis.top_class_display)
    expect(result.locator(".probabilities tr")).to_have_count(7)
    expect(page.locator(".disclaimer")).to_contain_text("Not a diagnostic device.")
    # The card speaks through the result's headline, worded for a specialist clinic.
    expect(result.get_by_text(headline_for(analysis).action)).to_be_visible()

    # The heatmap arrived through the protected view beside the image; it starts off and
    # switches on at the slider's opacity.
    visit = page.locator(".visit").first
    overlay = visit.locator("[data-heatmap-image]")
    expect(visit.locator("[data-heatmap-toggle]")).to_be_enabled()
    page.wait_for_function(
        "() => { const i = document.querySelector('.visit [data-heatmap-image]');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    expect(overlay).to_have_css("visibility", "hidden")
    visit.get_by_text("Heatmap", exact=True).click()
    expect(overlay).to_have_css("opacity", "0.5")
