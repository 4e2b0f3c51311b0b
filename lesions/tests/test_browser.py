"""One end-to-end run in headless Chromium: log in, create a patient, click the body map
to add a lesion, upload a real dermoscopic image, and see it on the lesion's timeline."""

from __future__ import annotations

from lesions.models import Lesion, LesionImage
from lesions.tests.browser import browser_marks
from lesions.tests.factories import TEST_PASSWORD, ClinicianFactory
from lesions.tests.images import sample_path

pytestmark = browser_marks


def test_clinician_places_a_lesion_on_the_body_map_and_uploads_an_image(
    live_server, transactional_db, page
):
    from playwright.sync_api import expect

    clinician = ClinicianFactory()

    # Log in (the home page sends an anonymous visitor to the login page).
    page.goto(live_server.url + "/")
    page.get_by_label("Username").fill(clinician.username)
    page.get_by_label("Password").fill(TEST_PASSWORD)
    page.get_by_role("button", name="Log in").click()
    expect(page.get_by_role("heading", name="Worklist")).to_be_visible()  # the home page
    expect(page.get_by_text("Not a diagnostic device.", exact=True)).to_be_visible()
    page.get_by_role("link", name="Patients", exact=True).click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()

    # Create a patient.
    page.get_by_role("link", name="New patient").click()
    page.get_by_label("Medical record number").fill("E2E-001")
    page.get_by_label("Family name").fill("Patient")
    page.get_by_label("Given names").fill("Browser")
    page.get_by_label("Date of birth").fill("1984-03-09")
    page.get_by_label("Sex").select_option("female")
    page.get_by_role("button", name="Create patient").click()
    expect(page.get_by_role("heading", name="Browser Patient")).to_be_visible()

    # Click the chest on the front figure: the form gets view, position and body site.
    chest = page.locator('.body-map__view[data-view="front"] .body-map__part[data-site="chest"]')
    chest.click()
    expect(page.locator("#id_body_view")).to_have_value("front")
    expect(page.locator("#id_body_site")).to_have_value("chest")
    map_x = float(page.locator("#id_map_x").input_value())
    map_y = float(page.locator("#id_map_y").input_value())
    assert 0.35 < map_x < 0.65 and 0.15 < map_y < 0.4, (map_x, map_y)
    expect(page.locator(".body-map__marker--pending")).to_have_count(1)
    expect(page.locator("#id_label")).to_be_focused()
    page.locator("#id_label").fill("Chest mole")
    page.get_by_role("button", name="Add lesion").click()

    # The lesion page: upload a real dermoscopic image.
    expect(page.get_by_role("heading", name="Chest mole")).to_be_visible()
    lesion = Lesion.objects.get()
    assert (lesion.body_view, lesion.body_site) == ("front", "chest")
    assert abs(lesion.map_x - map_x) < 1e-3 and abs(lesion.map_y - map_y) < 1e-3
    page.get_by_label("Image (JPEG or PNG, at most 20 MB)").set_input_files(sample_path("mel"))
    page.get_by_role("button", name="Upload").click()

    # The image is the lesion's first visit; its bytes really arrived through the protected view.
    thumbnail = page.locator(".visit .viewer__image")
    expect(thumbnail).to_have_count(1)
    thumbnail.scroll_into_view_if_needed()
    page.wait_for_function(
        "() => { const i = document.querySelector('.visit .viewer__image');"
        " return i && i.complete && i.naturalWidth > 0; }"
    )
    assert page.evaluate("document.querySelector('.visit .viewer__image').naturalWidth") == 256
    image = LesionImage.objects.get()
    assert (image.lesion, image.width, image.height) == (lesion, 256, 256)

    # Back on the patient page the lesion is a marker that links to it.
    page.get_by_role("link", name="Browser Patient").click()
    marker = page.locator(f'a.body-map__marker[href="{lesion.get_absolute_url()}"]')
    expect(marker).to_have_count(1)
    marker.click()
    expect(page.get_by_role("heading", name="Chest mole")).to_be_visible()
