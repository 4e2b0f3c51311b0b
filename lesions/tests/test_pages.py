"""The redesigned pages' server side: family and given names (and their migration), stable
lesion numbers, search by date of birth, placing a lesion by its body site, dates that
contradict each other, per-file upload answers, the admin's columns and the model summary."""

from __future__ import annotations

import datetime
import json

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse

from lesions import services
from lesions.body_sites import site_position
from lesions.models import Lesion, Patient
from lesions.templatetags.pages import interval
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import LesionFactory, LesionImageFactory, PatientFactory, days_ago
from lesions.tests.images import sample_bytes

pytestmark = pytest.mark.django_db


# --- names and numbers ----------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_migration_splits_names_and_numbers_existing_lesions_in_list_order():
    before = [("lesions", "0006_follow_reviews")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    try:
        apps = executor.loader.project_state(before).apps
        clinic = apps.get_model("lesions", "Clinic").objects.create(name="Old data")
        OldPatient = apps.get_model("lesions", "Patient")
        OldLesion = apps.get_model("lesions", "Lesion")
        ada = OldPatient.objects.create(
            clinic=clinic,
            medical_record_number="A",
            name="Ada  King Lovelace",
            date_of_birth=datetime.date(1970, 1, 1),
        )
        OldPatient.objects.create(
            clinic=clinic,
            medical_record_number="B",
            name="Curie, Marie",
            date_of_birth=datetime.date(1970, 1, 1),
        )
        OldPatient.objects.create(
            clinic=clinic, medical_record_number="C", name="Plato", date_of_birth="1970-01-01"
        )
        spot = {"body_site": "back", "body_view": "back", "map_x": 0.5, "map_y": 0.3}
        later = OldLesion.objects.create(
            patient=ada, label="later", first_noted_on=datetime.date(2024, 5, 1), **spot
        )
        earlier = OldLesion.objects.create(
            patient=ada, label="earlier", first_noted_on=datetime.date(2023, 1, 1), **spot
        )
    finally:
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate(executor.loader.graph.leaf_nodes())
    names = {p.medical_record_number: (p.family_name, p.given_names) for p in Patient.objects.all()}
    assert names == {"A": ("Lovelace", "Ada King"), "B": ("Curie", "Marie"), "C": ("Plato", "")}
    assert Patient.objects.get(medical_record_number="A").name == "Ada King Lovelace"
    numbers = dict(Lesion.objects.values_list("pk", "number"))
    assert (numbers[earlier.pk], numbers[later.pk]) == (1, 2)
    ada = Patient.objects.get(medical_record_number="A")
    assert ada.last_lesion_number == 2
    new = services.create_lesion(patient=ada, created_by=None, label="new", **spot)
    assert new.number == 3


def test_lesion_numbers_stay_with_their_lesion_and_are_never_reused(clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    spot = {"body_site": "back", "body_view": "back", "map_x": 0.5, "map_y": 0.3}
    first, second, third = (
        services.create_lesion(patient=patient, created_by=clinician, label=label, **spot)
        for label in ("one", "two", "three")
    )
    assert [first.number, second.number, third.number] == [1, 2, 3]
    services.delete_lesion(lesion=third, deleted_by=clinician)
    services.update_lesion(lesion=second, changed_by=clinician, first_noted_on=days_ago(900))
    fourth = services.create_lesion(patient=patient, created_by=clinician, label="four", **spot)
    assert fourth.number == 4
    assert dict(patient.lesions.values_list("label", "number")) == {"one": 1, "two": 2, "four": 4}


def test_patient_keeps_a_display_name_for_code_written_for_one_name_field(clinician):
    patient = services.create_patient(
        clinic=clinician.clinic,
        created_by=clinician,
        medical_record_number="X-1",
        name="Grace Brewster Hopper",
        date_of_birth=datetime.date(1960, 1, 1),
    )
    assert (patient.given_names, patient.family_name) == ("Grace Brewster", "Hopper")
    assert patient.name == patient.full_name == "Grace Brewster Hopper"
    assert patient.listed_name == "Hopper, Grace Brewster"
    services.update_patient(patient=patient, changed_by=clinician, name="Hopper, Grace")
    patient.refresh_from_db()
    assert (patient.given_names, patient.family_name) == ("Grace", "Hopper")


def test_patient_list_sorts_by_family_name_and_shows_risk_last_visit_and_next_review(
    clinician_client, clinician, engine
):
    zed = PatientFactory(clinic=clinician.clinic, family_name="Zed", given_names="Adam")
    PatientFactory(clinic=clinician.clinic, family_name="Abel", given_names="Zoe")
    lesion = LesionFactory(patient=zed, first_noted_on=days_ago(400))
    analyse_sample(engine, lesion, "mel", captured_on=days_ago(12))
    response = clinician_client.get(reverse("lesions:patient-list"))
    listed = [patient.family_name for patient in response.context["page"].object_list]
    assert listed == ["Abel", "Zed"]
    row = response.context["page"].object_list[1]
    lesion.refresh_from_db()
    assert row.last_visit_on == days_ago(12)
    assert row.latest_risk == lesion.images.get().analyses.get().result_state
    assert row.next_visit_on == lesion.next_review_on
    html = response.content.decode()
    assert 'data-label="Latest risk"' in html and 'data-label="Next review"' in html


@pytest.mark.parametrize("typed", ["1975-12-10", "10/12/1975", "10.12.1975", "10 Dec 1975"])
def test_search_finds_a_patient_by_date_of_birth(clinician_client, clinician, typed):
    PatientFactory(clinic=clinician.clinic, family_name="Born", date_of_birth="1975-12-10")
    PatientFactory(clinic=clinician.clinic, family_name="Other", date_of_birth="1975-12-11")
    found = clinician_client.get(reverse("lesions:patient-list"), {"q": typed})
    assert [p.family_name for p in found.context["page"].object_list] == ["Born"]


def test_search_by_both_names_in_either_order(clinician_client, clinician):
    PatientFactory(clinic=clinician.clinic, family_name="Lovelace", given_names="Ada")
    PatientFactory(clinic=clinician.clinic, family_name="Lovelace", given_names="Byron")
    for query in ("ada lovelace", "Lovelace, Ada"):
        found = clinician_client.get(reverse("lesions:patient-list"), {"q": query})
        assert [p.given_names for p in found.context["page"].object_list] == ["Ada"]


# --- placing and dating lesions -------------------------------------------------------------


def test_a_new_lesion_placed_by_its_body_site_alone_sits_in_that_site(clinician_client, clinician):
    patient = PatientFactory(clinic=clinician.clinic)
    url = reverse("lesions:lesion-create", kwargs={"patient_pk": patient.pk})
    response = clinician_client.post(
        url,
        {
            "label": "Left cheek",
            "body_site": "face",
            "body_view": "front",
            "first_noted_on": days_ago(3).isoformat(),
        },
    )
    assert response.status_code == 302
    lesion = Lesion.objects.get()
    assert (lesion.map_x, lesion.map_y) == site_position("face", "front")
    assert lesion.number == 1


def test_lesion_first_noted_after_its_first_image_is_refused(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic, first_noted_on=days_ago(100))
    LesionImageFactory(lesion=lesion, captured_on=days_ago(50))
    url = reverse("lesions:lesion-edit", kwargs={"lesion_pk": lesion.pk})
    data = {
        "label": lesion.label,
        "body_site": lesion.body_site,
        "body_view": lesion.body_view,
        "map_x": lesion.map_x,
        "map_y": lesion.map_y,
        "status": lesion.status,
        "first_noted_on": days_ago(20).isoformat(),
    }
    response = clinician_client.post(url, data)
    assert response.status_code == 400
    error = response.context["form"].errors["first_noted_on"][0]
    assert "cannot have been first noted after" in error
    assert days_ago(50).strftime("%d %b %Y") in error
    lesion.refresh_from_db()
    assert lesion.first_noted_on == days_ago(100)
    # The day of the first image itself is fine.
    data["first_noted_on"] = days_ago(50).isoformat()
    assert clinician_client.post(url, data).status_code == 302


def test_the_edit_page_shows_the_map_and_no_coordinate_boxes(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    LesionFactory(patient=lesion.patient, label="Other one")
    page = clinician_client.get(reverse("lesions:lesion-edit", kwargs={"lesion_pk": lesion.pk}))
    html = page.content.decode()
    assert 'data-form="lesion-form"' in html and "data-body-map" in html
    assert 'type="hidden" name="map_x"' in html and 'type="number"' not in html
    assert [marker["label"] for marker in page.context["markers"]] == ["Other one"]


# --- upload, one file per request -----------------------------------------------------------


def test_upload_asked_for_json_answers_per_file(clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    url = reverse("lesions:image-upload", kwargs={"lesion_pk": lesion.pk})
    from django.core.files.uploadedfile import SimpleUploadedFile

    def post(name: str, data: bytes):
        return clinician_client.post(
            url,
            {
                "file": SimpleUploadedFile(name, data),
                "captured_on": days_ago(1).isoformat(),
                "modality": "dermoscopic",
            },
            headers={"Accept": "application/json"},
        )

    added = post("nv.jpg", sample_bytes("nv"))
    assert added.status_code == 201
    image = lesion.images.get()
    assert added.json() == {
        "image": image.pk,
        "url": f"{lesion.get_absolute_url()}#image-{image.pk}",
    }
    refused = post("notes.txt", b"not an image")
    assert refused.status_code == 400
    body = refused.json()
    assert body["error"]["fields"]["file"] and body["error"]["message"]
    again = post("nv-again.jpg", sample_bytes("nv"))
    assert again.status_code == 400
    assert "already uploaded" in again.json()["error"]["message"]
    assert lesion.images.count() == 1


# --- admin ----------------------------------------------------------------------------------


def test_admin_analysis_list_columns_show_the_right_values(staff_client, clinician, engine):
    patient = PatientFactory(
        clinic=clinician.clinic,
        family_name="Hopper",
        given_names="Grace",
        medical_record_number="G1",
    )
    lesion = LesionFactory(patient=patient, label="Left calf")
    analysis = analyse_sample(engine, lesion, "nv")
    response = staff_client.get(reverse("admin:lesions_analysis_changelist"))
    html = response.content.decode()
    assert "Analysis Analysis" not in html and "of image None" not in html
    assert f"{engine.model_id} (default)" in html
    assert f"{100 * analysis.confidence:.1f} %" in html
    assert str(analysis.confidence) not in html
    assert "Hopper, Grace (G1)" in html
    assert f"{lesion.number}. Left calf" in html
    for column in (
        "column-patient",
        "column-lesion",
        "column-confidence_percent",
        "column-model_label",
    ):
        assert column in html


def test_admin_heatmap_has_the_same_headers_as_the_page(
    staff_client, clinician_client, engine, clinician
):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    analysis = analyse_sample(engine, lesion, "mel")
    admin = staff_client.get(
        reverse("admin:lesions_analysis_heatmap", kwargs={"analysis_pk": analysis.pk})
    )
    page = clinician_client.get(
        reverse("lesions:analysis-heatmap", kwargs={"analysis_pk": analysis.pk})
    )
    for response in (admin, page):
        assert response.status_code == 200
        assert "no-store" in response["Cache-Control"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert response["Content-Type"] == "image/jpeg"
    assert b"".join(admin.streaming_content) == b"".join(page.streaming_content)


def test_model_versions_admin_shows_the_served_default_model(staff_client):
    from django.conf import settings

    from classifier.artifact import read_card

    card = read_card(settings.DERMASCAN_DEFAULT_MODEL)
    response = staff_client.get(reverse("admin:classifier_modelversion_changelist"))
    html = response.content.decode()
    assert 'id="served-model"' in html
    assert card.model_id in html and "the default model shipped with DermaScan" in html


# --- the model page and small helpers -------------------------------------------------------


def test_model_page_starts_with_a_plain_language_summary(clinician_client):
    from django.conf import settings

    from classifier.artifact import read_card

    card = read_card(settings.DERMASCAN_DEFAULT_MODEL)
    recall = card.metrics["test"]["per_class"]["mel"]["recall"]
    html = clinician_client.get(reverse("classifier:model-card")).content.decode()
    summary = html.index("In plain words")
    assert summary < html.index("Test metrics")
    assert "Out of 10 melanomas in the test set" in html
    assert f"the model named about <strong>{round(recall * 10)}</strong> as melanoma" in html
    assert "second opinion, not a screen" in html


@pytest.mark.parametrize(
    ("days", "words"),
    [
        (0, "same day"),
        (1, "1 day"),
        (30, "30 days"),
        (90, "3 months"),
        (397, "1 year 1 month"),
        (730, "2 years"),
    ],
)
def test_intervals_read_as_a_clinician_says_them(days, words):
    assert interval(days) == words


def test_every_body_site_has_a_position_on_both_views():
    from lesions.models import BodySite, BodyView

    for site in BodySite.values:
        for view in BodyView.values:
            x, y = site_position(site, view)
            assert 0 <= x <= 1 and 0 <= y <= 1


def test_markers_carry_number_state_and_evolving(clinician_client, clinician, engine):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    analyse_sample(engine, lesion, "mel")
    markers = clinician_client.get(lesion.patient.get_absolute_url()).context["markers"]
    analysis = lesion.images.get().analyses.get()
    assert markers[0]["number"] == lesion.number
    assert markers[0]["state"] == analysis.result_state
    assert json.dumps(markers)  # json_script must be able to write it


def test_lesion_page_queries_do_not_grow_with_visits(
    clinician_client, clinician, engine, django_assert_max_num_queries
):
    lesion = LesionFactory(patient__clinic=clinician.clinic, first_noted_on=days_ago(900))
    analyse_sample(engine, lesion, "nv", captured_on=days_ago(800))
    analyse_sample(engine, lesion, "bkl", captured_on=days_ago(400))
    clinician_client.get(lesion.get_absolute_url())  # warm the session
    with django_assert_max_num_queries(40) as two_visits:
        clinician_client.get(lesion.get_absolute_url())
    two_visit_queries = len(two_visits.captured_queries)  # the next request clears the log
    for diagnosis, days in (("df", 300), ("vasc", 200), ("mel", 100)):
        analyse_sample(engine, lesion, diagnosis, captured_on=days_ago(days))
    clinician_client.get(lesion.get_absolute_url())  # the new results recount the worklist once
    with django_assert_max_num_queries(two_visit_queries) as five_visits:
        clinician_client.get(lesion.get_absolute_url())
    assert len(five_visits.captured_queries) <= two_visit_queries
