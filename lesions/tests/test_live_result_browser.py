"""A result arriving while the lesion page is open (Chromium, 1366 px and 390 px): besides
the card, the visit's summary line, its change since the previous visit, the next review,
the trend and the body-map marker's colour follow without a reload; axe finds nothing."""

from __future__ import annotations

import datetime

import pytest
from django.db import transaction

from lesions.pipeline.inference import ServedModelInfo, heatmap_jpeg
from lesions.services.analyses import Claim, claim_analysis, complete_analysis
from lesions.tests.accessibility import DESKTOP, PHONE, axe_violations, browser_page, log_in
from lesions.tests.browser import browser_marks
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import ClinicianFactory, LesionFactory, LesionImageFactory, days_ago
from lesions.tests.images import sample_bytes

pytestmark = browser_marks


def start_analysis(lesion, diagnosis: str) -> Claim:
    """An upload whose analysis a (pretend) worker has claimed: the page shows it running."""
    with transaction.atomic():
        image = LesionImageFactory(
            lesion=lesion, image_bytes=sample_bytes(diagnosis), captured_on=days_ago(1)
        )
        analysis = image.analyses.get(status="queued")
        claim = claim_analysis(analysis_pk=analysis.pk, task_id=f"live-{analysis.pk}")
    assert claim is not None
    return claim


def finish_analysis(engine, claim: Claim, diagnosis: str) -> None:
    prediction = engine.predict(sample_bytes(diagnosis), tta=True, heatmap=True)
    complete_analysis(
        claim=claim,
        result=prediction.to_dict(),
        heatmap_jpeg=heatmap_jpeg(prediction.heatmap),
        model=ServedModelInfo(model_version_id=None, model_id=engine.model_id, sha256="cd" * 32),
        inference_ms=50,
    )


@pytest.mark.parametrize("viewport", [DESKTOP, PHONE], ids=["1366px", "390px"])
def test_a_live_result_updates_everything_it_changes(
    live_server, transactional_db, engine, viewport
):
    from playwright.sync_api import expect

    clinician = ClinicianFactory()
    lesion = LesionFactory(patient__clinic=clinician.clinic, label="Left calf mole")
    analyse_sample(engine, lesion, "nv", captured_on=days_ago(200))
    claim = start_analysis(lesion, "mel")
    running = claim.analysis
    with browser_page(viewport, phone=viewport is PHONE) as page:
        log_in(page, live_server.url, clinician.username)
        page.goto(live_server.url + lesion.get_absolute_url())
        marker = page.locator(f'[data-body-map] [data-lesion="{lesion.pk}"]')
        summary = page.locator(f'[data-visit-summary="{running.image_id}"]')
        expect(summary).to_contain_text("Running")
        assert "body-map__marker--low" in (marker.get_attribute("class") or "")

        finish_analysis(engine, claim, "mel")
        card = page.locator(
            f'[data-analysis-image="{running.image_id}"][data-analysis-status="done"]'
        )
        expect(card).to_contain_text("High risk", timeout=20_000)
        expect(summary).to_contain_text("High risk")
        expect(page.locator(f'[data-visit-change="{running.image_id}"]')).to_contain_text("Worse:")
        today = datetime.date.today()
        follow_up = page.locator("[data-follow-up]")
        expect(follow_up).to_contain_text(f"{today.day} {today:%b %Y}")
        expect(follow_up).to_contain_text("(Evolving)")
        expect(follow_up.locator(".trend__table tbody tr")).to_have_count(2)
        expect(marker).to_have_attribute("data-state", "high")
        assert "body-map__marker--evolving" in (marker.get_attribute("class") or "")
        assert axe_violations(page) == []
