"""In headless Chromium, with a real worker serving the default model: a lesion goes from a
benign-looking image to a melanoma, is flagged evolving on its page and on the worklist,
the compare page shows both results, and a review takes it off the review list."""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings

from lesions.models import Analysis, Review
from lesions.tests.browser import browser_marks
from lesions.tests.factories import TEST_PASSWORD, ClinicianFactory, LesionFactory
from lesions.tests.images import sample_path
from lesions.tests.workers import (
    PROCESS_DEADLINE,
    RedisServer,
    WorkerStack,
    celery_app_broker,
    requires_worker_stack,
    wait_until,
)

pytestmark = [*browser_marks, *requires_worker_stack()]


@pytest.fixture
def default_model_worker(transactional_db, pipeline_media_root, tmp_path):
    """A worker serving the committed default model (its results mean something), on a
    private Redis; stopped, with Redis, however the test ends."""
    redis = RedisServer(tmp_path)
    redis.start()
    stack = WorkerStack(
        broker_url=redis.url,
        media_root=pipeline_media_root,
        model_dir=settings.DERMASCAN_DEFAULT_MODEL,
        log_dir=tmp_path,
    )
    try:
        with celery_app_broker(redis.url):
            yield stack.start_worker("follow-up")
    finally:
        stack.stop_all()
        redis.stop()


def upload(page, path, captured_on: datetime.date) -> None:
    page.get_by_label("Image (JPEG or PNG, at most 20 MB)").set_input_files(path)
    page.get_by_label("Captured on").fill(captured_on.isoformat())
    page.get_by_role("button", name="Upload").click()
    page.get_by_text("Image added to the lesion's timeline.").wait_for()


def test_melanoma_after_a_naevus_is_flagged_compared_and_reviewed(
    live_server, default_model_worker, pipeline_media, page
):
    from playwright.sync_api import expect

    clinician = ClinicianFactory()
    lesion = LesionFactory(patient__clinic=clinician.clinic, label="Left calf mole")
    page.goto(live_server.url + lesion.get_absolute_url())
    page.get_by_label("Username").fill(clinician.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Left calf mole")).to_be_visible()

    def analyses_done(count: int):
        def done() -> bool:
            return Analysis.objects.filter(image__lesion=lesion, status="done").count() == count

        done.__doc__ = f"{count} finished analyses"
        return done

    today = datetime.date.today()
    upload(page, sample_path("nv"), today - datetime.timedelta(days=200))
    wait_until(analyses_done(1), timeout=PROCESS_DEADLINE)
    upload(page, sample_path("mel"), today)
    wait_until(analyses_done(2), timeout=PROCESS_DEADLINE)
    # Without a reload, the panel beside the new result opens for review and shows the change.
    melanoma = Analysis.objects.get(image__lesion=lesion, top_class="mel")
    panel = page.locator(f'[data-review-panel="{melanoma.image_id}"][data-review-status="done"]')
    expect(panel).to_be_visible(timeout=PROCESS_DEADLINE * 1000)
    expect(panel.locator("[data-change]")).to_contain_text("risk Low → High")

    # The lesion page: evolving, with the reason and the dates.
    page.reload()
    flag = page.locator("[data-evolving]")
    expect(flag).to_be_visible()
    expect(flag).to_contain_text("risk Low → High")
    expect(flag).to_contain_text(f"and {today.day} {today:%b %Y}")
    expect(page.locator(".trend__svg")).to_be_visible()

    # The worklist (home page): evolving and awaiting review, counted in the navigation.
    page.get_by_role("link", name="Worklist").click()
    evolving = page.locator(f'#worklist-evolving [data-lesion="{lesion.pk}"]')
    expect(evolving).to_be_visible()
    expect(evolving).to_contain_text("Left calf mole")
    review_rows = page.locator(f'#worklist-review [data-analysis="{melanoma.pk}"]')
    expect(review_rows).to_have_count(1)
    expect(review_rows).to_contain_text("High risk")
    expect(page.locator(".nav-count")).to_have_text("4")  # 2 to review, evolving, due now

    # Compare: both results, earlier (naevus) first.
    page.goto(live_server.url + lesion.get_absolute_url())
    page.get_by_role("link", name="Compare first and latest").click()
    results = page.locator("[data-compare-result]")
    expect(results).to_have_count(2)
    expect(results.nth(0)).to_contain_text("Melanocytic nevus")
    expect(results.nth(1)).to_contain_text("Melanoma")
    expect(page.get_by_role("heading", name="Change in each class")).to_be_visible()

    # Record a review of the melanoma result from its panel on the lesion page.
    page.goto(live_server.url + lesion.get_absolute_url())
    panel = page.locator(f"#review-{melanoma.image_id}")
    panel.get_by_label("Agree with the model").check()
    panel.get_by_label("Basis").select_option("histopathology")
    panel.get_by_label("Management decision").select_option("excise")
    panel.get_by_role("button", name="Sign off").click()
    expect(page.get_by_text("Review recorded.")).to_be_visible()
    expect(page.locator(f"#review-{melanoma.image_id} [data-review-current]")).to_contain_text(
        "Melanoma · Histopathology · Excise"
    )
    review = Review.objects.get()
    assert (review.analysis_id, review.reviewer_id) == (melanoma.pk, clinician.pk)

    # The item has left the review list; the evolving change counts as reviewed.
    page.get_by_role("link", name="Worklist").click()
    expect(page.locator(f'#worklist-review [data-analysis="{melanoma.pk}"]')).to_have_count(0)
    expect(page.locator(f'#worklist-evolving [data-lesion="{lesion.pk}"]')).to_have_count(0)
