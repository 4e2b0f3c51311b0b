"""In headless Chromium, with a real worker serving the committed default model: a text
screenshot comes back Not assessable; an uncertain lesion Inconclusive, never Low."""

from __future__ import annotations

from pathlib import Path

import pytest

from classifier.nonlesion import text_screenshot_png
from classifier.tests.conftest import data_dir
from lesions.models import Analysis
from lesions.tests.browser import browser_marks
from lesions.tests.factories import TEST_PASSWORD, ClinicianFactory, LesionFactory
from lesions.tests.workers import (
    PROCESS_DEADLINE,
    RedisServer,
    WorkerStack,
    celery_app_broker,
    requires_worker_stack,
)

pytestmark = [*browser_marks, *requires_worker_stack()]

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "classifier" / "default_model"
# A HAM10000 test-split benign keratosis the default model is unsure about (47 % nevus,
# 28 % benign keratosis, the malignant classes below both thresholds): served Inconclusive.
UNCERTAIN_LESION = "ISIC_0031253"


@pytest.fixture(scope="module")
def default_model_worker(django_db_setup, pipeline_media_root, tmp_path_factory):
    redis = RedisServer(tmp_path_factory.mktemp("redis-states"))
    redis.start()
    stack = WorkerStack(
        broker_url=redis.url,
        media_root=pipeline_media_root,
        model_dir=DEFAULT_MODEL,
        log_dir=tmp_path_factory.mktemp("worker-logs-states"),
    )
    try:
        with celery_app_broker(redis.url):
            yield stack.start_worker("states")
    finally:
        stack.stop_all()
        redis.stop()


def _log_in_and_upload(page, live_server, path: Path) -> Analysis:
    from playwright.sync_api import expect

    clinician = ClinicianFactory()
    lesion = LesionFactory(patient__clinic=clinician.clinic, label="Back, left")
    page.goto(live_server.url + lesion.get_absolute_url())
    page.get_by_label("Username").fill(clinician.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Back, left")).to_be_visible()
    page.get_by_label("Image (JPEG or PNG, at most 20 MB)").set_input_files(str(path))
    page.get_by_role("button", name="Upload").click()
    expect(page.locator('[data-analysis-status="done"]')).to_be_visible(
        timeout=PROCESS_DEADLINE * 1000
    )
    return Analysis.objects.get(image__lesion=lesion)


def test_text_screenshot_is_not_assessable(
    live_server, transactional_db, default_model_worker, pipeline_media, page, tmp_path
):
    from playwright.sync_api import expect

    screenshot = tmp_path / "patient-list.png"
    screenshot.write_bytes(text_screenshot_png())
    analysis = _log_in_and_upload(page, live_server, screenshot)

    assert analysis.result_state == "not_assessable" and analysis.risk_level == ""
    card = page.locator('[data-analysis-status="done"]')
    expect(card.locator("[data-result-state]")).to_have_attribute(
        "data-result-state", "not_assessable"
    )
    expect(card.get_by_text("Not assessable", exact=True)).to_be_visible()
    expect(card.get_by_text("Retake the image")).to_be_visible()
    expect(card.locator(".probabilities")).to_have_count(0)
    expect(card.locator(".analysis__diagnosis")).to_have_count(0)
    expect(card.locator(".heatmap")).to_have_count(0)


def test_uncertain_lesion_is_inconclusive_and_never_low(
    live_server, transactional_db, default_model_worker, pipeline_media, page
):
    from playwright.sync_api import expect

    path = data_dir() / "images" / f"{UNCERTAIN_LESION}.jpg"
    if not path.is_file():
        pytest.skip(f"HAM10000 data not found at {data_dir()}")
    analysis = _log_in_and_upload(page, live_server, path)

    assert analysis.result_state == "inconclusive" and analysis.uncertain
    card = page.locator('[data-analysis-status="done"]')
    expect(card.locator("[data-result-state]")).to_have_attribute(
        "data-result-state", "inconclusive"
    )
    expect(card.locator(".result-state__title")).to_have_text("Inconclusive")
    expect(card.get_by_text("Malignancy is not ruled out")).to_be_visible()
    expect(card.locator(".probabilities tr")).to_have_count(7)
    expect(card.get_by_text("Low risk")).to_have_count(0)
    expect(card.locator(".result-state--low, .risk--low")).to_have_count(0)
    expect(card.get_by_text("At this setting the model rated")).to_be_visible()
