"""The clinician's pages in headless Chromium at 1366 px and 390 px: the lesion page pairs
each image with its result, lesions are placed, moved and opened on the body map with the
mouse and with the keyboard, compare orders a reversed pair, the patient table works on a
phone, print shows identifiers and hides controls, and axe-core finds no violation on any
page at either width.

Results come from the real engine on the committed sample images (lesions.tests.engine).
Set DERMASCAN_SCREENSHOTS to a folder to keep screenshots of the pages the README shows.
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

import pytest
from django.urls import reverse

from lesions.models import Lesion, LesionImage
from lesions.tests.accessibility import DESKTOP, PHONE, axe_violations, browser_page, log_in
from lesions.tests.browser import browser_marks
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import ClinicianFactory, LesionFactory, PatientFactory, days_ago
from lesions.tests.images import sample_path

pytestmark = browser_marks

WIDTHS = [pytest.param(DESKTOP, id="1366px"), pytest.param(PHONE, id="390px")]


@pytest.fixture
def records(transactional_db, engine):
    """A clinician's patient with three lesions: one followed over three visits (benign,
    benign, then melanoma: evolving), one seen once, one without images yet."""
    clinician = ClinicianFactory(first_name="Rosa", last_name="Marsh")
    patient = PatientFactory(
        clinic=clinician.clinic,
        family_name="Lovelace",
        given_names="Ada",
        medical_record_number="MRN-1815",
        date_of_birth=datetime.date(1975, 12, 10),
    )
    followed = LesionFactory(
        patient=patient,
        label="Left shoulder mole",
        body_site="back",
        body_view="back",
        map_x=0.42,
        map_y=0.26,
        first_noted_on=days_ago(500),
    )
    analyse_sample(engine, followed, "nv", captured_on=days_ago(400))
    analyse_sample(engine, followed, "bkl", captured_on=days_ago(200))
    analyse_sample(engine, followed, "mel", captured_on=days_ago(3))
    once = LesionFactory(
        patient=patient,
        label="Right forearm",
        body_site="upper extremity",
        body_view="front",
        map_x=0.22,
        map_y=0.38,
        first_noted_on=days_ago(100),
    )
    analyse_sample(engine, once, "df", captured_on=days_ago(60))
    unseen = LesionFactory(
        patient=patient,
        label="Abdomen, new",
        body_site="abdomen",
        body_view="front",
        map_x=0.55,
        map_y=0.42,
        first_noted_on=days_ago(5),
    )
    PatientFactory(clinic=clinician.clinic, family_name="Babbage", given_names="Charles")
    return {
        "clinician": clinician,
        "patient": patient,
        "followed": Lesion.objects.get(pk=followed.pk),
        "once": once,
        "unseen": unseen,
    }


def screenshot(page, name: str) -> None:
    """For the README: the page as it loads (a phone: its first two screens)."""
    folder = os.environ.get("DERMASCAN_SCREENSHOTS")
    if not folder:
        return
    Path(folder).mkdir(parents=True, exist_ok=True)
    path = str(Path(folder) / f"{name}.png")
    size = page.viewport_size
    if size["width"] < 600:
        page.set_viewport_size({"width": size["width"], "height": 2 * size["height"]})
        page.screenshot(path=path)
        page.set_viewport_size(size)
    else:
        page.screenshot(path=path, full_page=True)


def wait_for_map(page) -> None:
    page.wait_for_selector(".body-map--ready")


# --- axe-core on every page -----------------------------------------------------------------


@pytest.mark.parametrize("viewport", WIDTHS)
def test_every_page_has_no_accessibility_violations(live_server, records, viewport):
    patient, followed = records["patient"], records["followed"]
    images = list(followed.images.in_capture_order())
    analysis = images[-1].analyses.get()
    pages = {
        "worklist": reverse("lesions:home"),
        "patient list": reverse("lesions:patient-list"),
        "patient search": reverse("lesions:patient-list") + "?q=1975-12-10",
        "new patient": reverse("lesions:patient-create"),
        "patient": patient.get_absolute_url(),
        "patient edit": reverse("lesions:patient-edit", kwargs={"patient_pk": patient.pk}),
        "patient delete": reverse("lesions:patient-delete", kwargs={"patient_pk": patient.pk}),
        "new lesion (no script)": reverse(
            "lesions:lesion-create", kwargs={"patient_pk": patient.pk}
        ),
        "lesion": followed.get_absolute_url(),
        "lesion edit": reverse("lesions:lesion-edit", kwargs={"lesion_pk": followed.pk}),
        "lesion delete": reverse("lesions:lesion-delete", kwargs={"lesion_pk": followed.pk}),
        "image delete": reverse("lesions:image-delete", kwargs={"image_pk": images[0].pk}),
        "compare": reverse("lesions:lesion-compare", kwargs={"lesion_pk": followed.pk}),
        "review": reverse("lesions:analysis-review", kwargs={"analysis_pk": analysis.pk}),
        "report": reverse("lesions:patient-report", kwargs={"patient_pk": patient.pk}),
        "model": reverse("classifier:model-card"),
    }
    found = {}
    with browser_page(viewport, phone=viewport is PHONE) as page:
        page.goto(live_server.url + reverse("login"))
        found["login"] = axe_violations(page)
        log_in(page, live_server.url, records["clinician"].username)
        for name, url in pages.items():
            page.goto(live_server.url + url)
            if page.locator("[data-body-map]").count():
                wait_for_map(page)
            violations = axe_violations(page)
            if violations:
                found[name] = violations
            if name in ("worklist", "compare"):
                screenshot(page, f"{name}-{viewport['width']}")
        # The lesion page's dialog and open folds, and compare's overlay mode, too.
        page.goto(live_server.url + followed.get_absolute_url())
        page.locator("details.visit").nth(2).locator(".visit__summary").click()
        page.locator("[data-enlarge]").first.click()
        page.locator("#image-viewer").wait_for(state="visible")
        if violations := axe_violations(page):
            found["lesion, image enlarged"] = violations
        page.goto(live_server.url + pages["compare"])
        page.get_by_role("button", name="Swipe").click()
        if violations := axe_violations(page):
            found["compare, swipe"] = violations
    found = {name: v for name, v in found.items() if v}
    assert found == {}


# --- the lesion page ----------------------------------------------------------------------


@pytest.mark.parametrize("viewport", WIDTHS)
def test_lesion_page_pairs_each_image_with_its_result(live_server, records, viewport):
    from playwright.sync_api import expect

    followed = records["followed"]
    by_date = {
        image.captured_on: image for image in followed.images.all()
    }  # three visits, three images
    with browser_page(viewport, phone=viewport is PHONE) as page:
        log_in(page, live_server.url, records["clinician"].username)
        page.goto(live_server.url + followed.get_absolute_url())
        wait_for_map(page)
        page.wait_for_function(
            "() => [...document.querySelectorAll('.visit[open] .viewer__image')]"
            ".every(i => i.complete && i.naturalWidth > 0)"
        )
        screenshot(page, f"lesion-{viewport['width']}")
        visits = page.locator("details.visit")
        expect(visits).to_have_count(3)
        # Newest first; only the newest is open.
        assert [visits.nth(i).get_attribute("open") is not None for i in range(3)] == [
            True,
            False,
            False,
        ]
        dates = sorted(by_date, reverse=True)
        for index, day in enumerate(dates):
            visit = visits.nth(index)
            image = by_date[day]
            if index:
                visit.locator(".visit__summary").click()
            # The row's image and its result card are of the same capture.
            assert f"/images/{image.pk}/file/" in visit.locator(".viewer__image").get_attribute(
                "src"
            )
            card = visit.locator("[data-analysis-image]")
            assert card.get_attribute("data-analysis-image") == str(image.pk)
            expect(card.locator(".analysis__title")).to_contain_text(f"{day.day} {day:%b %Y}")
        # The newest visit says what changed since the one before, and is worse.
        newest = visits.first
        expect(newest.locator("[data-visit-change]")).to_contain_text("Worse")
        expect(newest.locator(".visit__summary .evolving-flag")).to_be_visible()
        expect(newest.locator(".visit__interval")).to_have_text("6 months after the previous visit")
        # One not-a-diagnostic-device note on the page.
        notes = page.get_by_text(re.compile("Not a diagnostic device"))
        visible = [notes.nth(i).is_visible() for i in range(notes.count())]
        assert visible.count(True) == 1, visible
        # The model name links to the model page.
        expect(newest.locator(".visit__meta a[href^='/model']")).to_have_count(1)

        # The heatmap is off by default; switched on it follows the opacity slider.
        heatmap = newest.locator("[data-heatmap-image]")
        heatmap.scroll_into_view_if_needed()
        expect(heatmap).to_have_css("visibility", "hidden")
        slider = newest.locator("[data-heatmap-opacity]")
        expect(slider).to_be_disabled()
        newest.get_by_text("Heatmap", exact=True).click()
        expect(heatmap).to_have_css("visibility", "visible")
        expect(heatmap).to_have_css("opacity", "0.5")
        slider.fill("80")
        expect(heatmap).to_have_css("opacity", "0.8")
        page.wait_for_function(
            "() => { const i = document.querySelector('.visit[open] [data-heatmap-image]');"
            " return i.complete && i.naturalWidth > 0; }"
        )

        # Click to enlarge; zoom in and the picture scales; Escape closes it.
        newest.locator("[data-enlarge]").click()
        dialog = page.locator("#image-viewer")
        expect(dialog).to_be_visible()
        page.wait_for_function(
            "() => { const i = document.querySelector('[data-viewer-image]');"
            " return i.complete && i.naturalWidth === 256; }"
        )
        expect(dialog.locator("[data-viewer-heatmap-toggle]")).to_be_checked()
        dialog.get_by_role("button", name="Zoom in").click()
        expect(dialog.locator("[data-zoom-level]")).to_have_text("150 %")
        transform = dialog.locator("[data-zoom-content]").evaluate(
            "e => getComputedStyle(e).transform"
        )
        assert transform.startswith("matrix(1.5"), transform
        page.keyboard.press("Escape")
        expect(dialog).to_be_hidden()
        # Nothing runs off the side of the screen (the page scrolls one way only).
        offenders = page.evaluate(
            """w => [...document.querySelectorAll('body *')]
                .filter(e => e.getBoundingClientRect().right > w + 1 && e.offsetParent)
                .slice(0, 5).map(e => e.tagName + '.' + e.className)""",
            viewport["width"],
        )
        assert page.evaluate("document.documentElement.scrollWidth") <= viewport["width"], offenders


def test_drag_and_drop_upload_reports_each_file(live_server, records):
    from playwright.sync_api import expect

    lesion = records["unseen"]
    with browser_page(DESKTOP) as page:
        log_in(page, live_server.url, records["clinician"].username)
        page.goto(live_server.url + lesion.get_absolute_url())
        # Drop two files at once: each is its own request with its own result.
        page.evaluate(
            """([jpeg]) => {
                const drop = new DataTransfer();
                drop.items.add(new File([new Uint8Array(jpeg)], "nv.jpg", {type: "image/jpeg"}));
                drop.items.add(new File(["not an image"], "notes.txt", {type: "text/plain"}));
                const zone = document.querySelector("[data-dropzone]");
                zone.dispatchEvent(new DragEvent("dragover", {dataTransfer: drop, bubbles: true}));
                zone.dispatchEvent(new DragEvent("drop", {dataTransfer: drop, bubbles: true}));
            }""",
            [list(sample_path("nv").read_bytes())],
        )
        items = page.locator(".upload-item")
        expect(items).to_have_count(2)
        expect(items.nth(0)).to_have_class(re.compile("upload-item--done"))
        expect(items.nth(0).locator("progress")).to_have_attribute("value", "100")
        expect(items.nth(1)).to_have_class(re.compile("upload-item--failed"))
        expect(items.nth(1)).to_contain_text("Not added:")
        expect(page.locator("[data-upload-summary]")).to_contain_text("1 added, 1 not added")
        assert LesionImage.objects.filter(lesion=lesion).count() == 1
        # The file picker takes several too; when all arrive the page shows the new visits.
        page.locator('input[type="file"]').set_input_files(
            [str(sample_path("bkl")), str(sample_path("df"))]
        )
        page.get_by_role("button", name="Upload").click()
        expect(page.locator("details.visit")).to_have_count(3)
        expect(page.get_by_text("Image added to the lesion's timeline.").first).to_be_visible()
    assert LesionImage.objects.filter(lesion=lesion).count() == 3


# --- the body map ---------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", WIDTHS)
def test_place_move_and_open_lesions_with_mouse_and_keyboard(live_server, records, viewport):
    from playwright.sync_api import expect

    patient, followed = records["patient"], records["followed"]
    phone = viewport is PHONE
    with browser_page(viewport, phone=phone) as page:
        log_in(page, live_server.url, records["clinician"].username)
        page.goto(live_server.url + patient.get_absolute_url())
        wait_for_map(page)
        body_map = page.locator("#body-map")
        if phone:
            # One figure fills the width; markers are 44 px to touch.
            expect(page.locator("#body-map-zoom")).to_have_value("front")
            assert body_map.bounding_box()["width"] >= 340
            page.select_option("#body-map-zoom", "back")
        marker = page.locator(f'a.body-map__marker[data-lesion="{followed.pk}"]')
        expect(marker).to_have_attribute("aria-label", re.compile(r"^Lesion 1: Left shoulder"))
        expect(marker).to_have_class(re.compile("body-map__marker--evolving"))
        dot = marker.locator(".body-map__dot").bounding_box()
        hit = marker.locator(".body-map__hit").bounding_box()
        assert dot["width"] >= 23.5, dot
        assert hit["width"] >= (43.5 if phone else 27.5), hit
        # Marker and table row light up together.
        row = page.locator(f'tr[data-lesion="{followed.pk}"]')
        marker.hover() if not phone else marker.focus()
        expect(row).to_have_class(re.compile("is-highlighted"))
        if not phone:
            page.locator(f'tr[data-lesion="{records["once"].pk}"]').hover()
            expect(
                page.locator(f'a.body-map__marker[data-lesion="{records["once"].pk}"]')
            ).to_have_class(re.compile("is-highlighted"))

        # A click off the figure says so.
        frame = page.locator(".body-map__view[data-view='back'] .body-map__frame")
        box = frame.bounding_box()
        frame.click(position={"x": 4, "y": box["height"] / 2})
        expect(page.locator("#body-map-status")).to_contain_text("outside the body outline")

        # With the mouse (or a tap): the lower back.
        part = page.locator(
            '.body-map__view[data-view="back"] .body-map__part[data-site="back"] >> nth=0'
        )
        part.click(position={"x": 30, "y": 40}) if not phone else part.tap(
            position={"x": 30, "y": 40}
        )
        expect(page.locator("#id_body_view")).to_have_value("back")
        expect(page.locator("#id_body_site")).to_have_value("back")
        if phone:  # the form does not take the scroll; a button leads there
            expect(page.locator("#id_label")).not_to_be_focused()
            page.get_by_role("button", name="Go to the label").click()
        expect(page.locator("#id_label")).to_be_focused()
        page.locator("#id_label").fill("Placed by pointer")
        page.get_by_role("button", name="Add lesion").click()
        expect(page.get_by_role("heading", name=re.compile("Placed by pointer"))).to_be_visible()
        placed = Lesion.objects.get(label="Placed by pointer")
        assert (placed.number, placed.body_view, placed.body_site) == (4, "back", "back")

        # With the keyboard only: choose the site, then nudge the marker with the arrows.
        page.goto(live_server.url + patient.get_absolute_url())
        wait_for_map(page)
        page.locator("#id_label").focus()
        page.keyboard.type("Placed by keyboard")
        page.keyboard.press("Tab")  # to the body-site picker
        expect(page.locator("#id_body_site")).to_be_focused()
        page.locator("#id_body_site").select_option("chest")
        expect(page.locator("#id_body_view")).to_have_value("front")
        start_y = float(page.locator("#id_map_y").input_value())
        pending = page.locator(".body-map__marker--pending")
        expect(pending).to_have_count(1)
        pending.focus()
        for _ in range(3):
            page.keyboard.press("ArrowDown")
        expect(page.locator("#body-map-status")).to_contain_text("Moved on the front view")
        moved_y = float(page.locator("#id_map_y").input_value())
        assert moved_y == pytest.approx(start_y + 0.03, abs=1e-3)
        page.locator("#id_first_noted_on").focus()
        page.keyboard.press("Enter")  # submits the form
        expect(page.get_by_role("heading", name=re.compile("Placed by keyboard"))).to_be_visible()
        keyed = Lesion.objects.get(label="Placed by keyboard")
        assert (keyed.number, keyed.body_site) == (5, "chest")
        assert keyed.map_y == pytest.approx(moved_y, abs=1e-3)

        # Move a lesion on the edit page's map: a click on the left leg.
        page.goto(live_server.url + reverse("lesions:lesion-edit", kwargs={"lesion_pk": keyed.pk}))
        wait_for_map(page)
        if phone:
            page.select_option("#edit-map-zoom", "front")
        leg = page.locator(
            '.body-map__view[data-view="front"] .body-map__part[data-site="lower extremity"]'
            " >> nth=1"
        )
        leg.click() if not phone else leg.tap()
        expect(page.locator("#id_body_site")).to_have_value("lower extremity")
        page.get_by_role("button", name="Save").click()
        expect(page.get_by_text("Lesion saved.")).to_be_visible()
        keyed.refresh_from_db()
        assert keyed.body_site == "lower extremity" and keyed.map_y > 0.6

        # Open a lesion from its marker; numbers stayed put.
        page.goto(live_server.url + patient.get_absolute_url())
        wait_for_map(page)
        if phone:
            page.select_option("#body-map-zoom", "front")
        opened = page.locator(f'a.body-map__marker[data-lesion="{records["once"].pk}"]')
        opened.click() if not phone else opened.tap()
        expect(page.get_by_role("heading", name=re.compile("Right forearm"))).to_be_visible()
        if not phone:
            screenshot(page, "lesion-page-desktop-single")
    numbers = dict(Lesion.objects.filter(patient=patient).values_list("label", "number"))
    assert numbers["Left shoulder mole"] == 1 and numbers["Abdomen, new"] == 3


def test_keyboard_zoom_close_up_of_the_hands(live_server, records):
    from playwright.sync_api import expect

    with browser_page(DESKTOP) as page:
        log_in(page, live_server.url, records["clinician"].username)
        page.goto(live_server.url + records["patient"].get_absolute_url())
        wait_for_map(page)
        whole = page.locator('.body-map__part[data-site="hand"] >> nth=0').bounding_box()
        page.locator("#body-map-zoom").select_option("hands-front")
        close = page.locator('.body-map__part[data-site="hand"] >> nth=0').bounding_box()
        assert close["width"] > 2.5 * whole["width"]
        # Markers keep their on-screen size whatever the zoom.
        marker = page.locator(
            f'a.body-map__marker[data-lesion="{records["once"].pk}"] .body-map__dot'
        )
        expect(marker).to_have_count(1)


# --- compare --------------------------------------------------------------------------------


@pytest.mark.parametrize("viewport", WIDTHS)
def test_compare_orders_a_reversed_pair_and_zooms_both(live_server, records, viewport):
    from playwright.sync_api import expect

    followed = records["followed"]
    first, _, last = followed.images.in_capture_order()
    url = reverse("lesions:lesion-compare", kwargs={"lesion_pk": followed.pk})
    with browser_page(viewport, phone=viewport is PHONE) as page:
        log_in(page, live_server.url, records["clinician"].username)
        # Picked the wrong way round: later image as "before".
        page.goto(f"{live_server.url}{url}?before={last.pk}&after={first.pk}")
        earlier = page.locator('[data-compare-side="earlier"]')
        later = page.locator('[data-compare-side="later"]')
        expect(earlier.locator("figcaption")).to_contain_text(
            f"Earlier · {first.captured_on.day} {first.captured_on:%b %Y}"
        )
        expect(later.locator("figcaption")).to_contain_text(
            f"Later · {last.captured_on.day} {last.captured_on:%b %Y}"
        )
        assert f"/images/{first.pk}/" in earlier.locator("img").get_attribute("src")
        expect(page.locator("[data-interval]")).to_contain_text("1 year 1 month")
        expect(earlier.locator(".compare-result")).to_contain_text("%")
        # Side by side, also on a phone.
        a, b = earlier.bounding_box(), later.bounding_box()
        assert abs(a["y"] - b["y"]) < 1 and a["x"] + a["width"] <= b["x"] + 1
        # Zoom moves both images.
        page.get_by_role("button", name="Zoom in").click()
        transforms = page.locator("[data-zoom-content]").evaluate_all(
            "els => els.map(e => getComputedStyle(e).transform)"
        )
        assert transforms[0] == transforms[1] and transforms[0].startswith("matrix(1.5")
        # Swipe: the later image over the earlier one, cut at the slider; both results in view.
        page.get_by_role("button", name="Swipe").click()
        stages = page.locator(".compare__stage")
        a, b = stages.nth(0).bounding_box(), stages.nth(1).bounding_box()
        assert abs(a["x"] - b["x"]) < 1 and abs(a["y"] - b["y"]) < 1
        assert abs(a["width"] - b["width"]) < 1
        expect(later.locator(".compare-result")).to_be_visible()
        expect(later.locator("figcaption")).to_be_visible()
        page.locator("[data-compare-amount]").fill("30")
        screenshot(page, f"compare-swipe-{viewport['width']}")
        overlay = page.locator("[data-zoom-content]").nth(1)
        assert overlay.evaluate("e => e.style.clipPath") == "inset(0px 0px 0px 30%)"
        # Zoom still moves both while they are overlaid.
        page.get_by_role("button", name="Zoom in").click()
        transforms = page.locator("[data-zoom-content]").evaluate_all(
            "els => els.map(e => getComputedStyle(e).transform)"
        )
        assert transforms[0] == transforms[1] and transforms[0].startswith("matrix(2.25")
        page.get_by_role("button", name="Blend").click()
        page.locator("[data-compare-amount]").fill("25")
        expect(overlay).to_have_css("opacity", "0.25")
        # Back to side by side: the later image returns to its own frame.
        page.get_by_role("button", name="Side by side").click()
        expect(later.locator(".compare__stage")).to_have_count(1)


# --- lists on a phone -----------------------------------------------------------------------


def test_patient_table_is_usable_on_a_phone(live_server, records):
    from playwright.sync_api import expect

    patient = records["patient"]
    with browser_page(PHONE, phone=True) as page:
        log_in(page, live_server.url, records["clinician"].username)
        page.goto(live_server.url + reverse("lesions:patient-list"))
        # Sorted by family name: Babbage before Lovelace.
        names = page.locator("tbody th[scope=row]").all_inner_texts()
        assert [name.split(",")[0].strip().upper() for name in names] == ["BABBAGE", "LOVELACE"]
        # Cards, not a table cut off at the edge: nothing scrolls sideways.
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        row = page.locator("tbody tr").nth(1)
        expect(row.locator('td[data-label="Latest risk"]')).to_contain_text("High risk")
        expect(row.locator('td[data-label="Latest risk"]')).to_contain_text("evolving")
        expect(row.locator('td[data-label="Last visit"]')).to_be_visible()
        link = row.get_by_role("link", name=re.compile("Lovelace"))
        assert link.bounding_box()["height"] >= 24
        # The header and the note leave most of the first screen to the page.
        assert page.locator("main").bounding_box()["y"] < 130
        # Search by date of birth.
        page.get_by_label("Search by name, record number or date of birth").fill("10/12/1975")
        page.get_by_role("button", name="Search").click()
        expect(page.locator("tbody tr")).to_have_count(1)
        link = page.get_by_role("link", name=re.compile("Lovelace"))
        link.tap()
        expect(page.get_by_role("heading", name="Ada Lovelace")).to_be_visible()
        wait_for_map(page)
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.evaluate("window.scrollTo(0, 0)")
        screenshot(page, f"patient-{PHONE['width']}")
    with browser_page(DESKTOP) as page:
        log_in(page, live_server.url, records["clinician"].username)
        page.goto(live_server.url + patient.get_absolute_url())
        wait_for_map(page)
        screenshot(page, f"patient-{DESKTOP['width']}")


# --- print ----------------------------------------------------------------------------------


def test_print_shows_identifiers_in_ink_and_hides_controls(live_server, records, tmp_path):
    from playwright.sync_api import expect

    patient, followed = records["patient"], records["followed"]
    with browser_page(DESKTOP) as page:
        log_in(page, live_server.url, records["clinician"].username)
        page.goto(live_server.url + followed.get_absolute_url())
        wait_for_map(page)
        expect(page.locator(".print-id")).to_be_hidden()  # on screen the header says it
        page.emulate_media(media="print")
        identifiers = page.locator(".print-id")
        expect(identifiers).to_be_visible()
        expect(identifiers).to_contain_text("Lovelace, Ada")
        expect(identifiers).to_contain_text("MRN-1815")
        expect(identifiers).to_contain_text("born 10 Dec 1975")
        for control in ("Edit", "Delete", "Compare first and latest"):
            expect(page.get_by_role("link", name=control, exact=True)).to_be_hidden()
        expect(page.get_by_role("button", name="Upload")).to_be_hidden()
        expect(page.locator(".site-header")).to_be_hidden()
        # Bars and risk are drawn with borders (ink), not background colour.
        bar = page.locator(".visit[open] .probabilities__bar span").first
        assert float(bar.evaluate("e => parseFloat(getComputedStyle(e).borderTopWidth)")) >= 8
        badge = page.locator(".visit[open] .visit__summary .risk-badge").first
        assert badge.evaluate("e => getComputedStyle(e).borderTopStyle") in ("solid", "dashed")
        assert badge.evaluate("e => getComputedStyle(e).color") == "rgb(0, 0, 0)"
        screenshot(page, "print-lesion")
        shot = tmp_path / "print.png"
        page.screenshot(path=str(shot), full_page=True)
        assert shot.stat().st_size > 10_000
        page.goto(live_server.url + patient.get_absolute_url())
        expect(page.locator(".print-id")).to_contain_text("MRN-1815")
        expect(page.get_by_role("button", name="Add lesion")).to_be_hidden()
