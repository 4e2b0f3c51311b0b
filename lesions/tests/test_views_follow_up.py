"""The follow-up pages: worklist home, review form, next-review date, lesion page parts."""

from __future__ import annotations

import datetime

import pytest
from django.urls import reverse

from lesions.models import AuditEvent, Review
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import ClinicianFactory, LesionFactory, LesionImageFactory, days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def evolving_lesion(engine, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic, label="Left calf mole")
    analyse_sample(engine, lesion, "nv", captured_on=datetime.date(2026, 5, 12))
    analyse_sample(engine, lesion, "mel", captured_on=datetime.date(2026, 11, 29))
    lesion.refresh_from_db()
    return lesion


def test_home_is_the_worklist_with_counts_in_the_navigation(clinician_client, evolving_lesion):
    response = clinician_client.get(reverse("lesions:home"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Results waiting for review" in html and "Evolving lesions" in html
    assert "Left calf mole" in html
    sections = {section.key: section for section in response.context["sections"]}
    assert sections["review"].count == 2 and sections["evolving"].count == 1
    assert sections["due"].count == 1 and sections["failed"].count == 0
    # The High result comes before the Low one.
    assert [row.result_state for row in sections["review"].rows] == ["high", "low"]
    assert 'class="nav-count"' in html and ">4</span>" in html


def test_staff_without_clinic_are_sent_to_the_admin(staff_client):
    assert staff_client.get(reverse("lesions:home"))["Location"] == reverse("admin:index")


def test_lesion_page_shows_flag_next_review_trend_and_review_panel(
    clinician_client, evolving_lesion
):
    html = clinician_client.get(evolving_lesion.get_absolute_url()).content.decode()
    assert "data-evolving" in html and "between 12 May 2026 and 29 Nov 2026" in html
    assert "Next review:" in html and "(Evolving)" in html
    assert '<svg class="trend__svg"' in html and "Risk trend, by visit" in html
    assert html.count('class="review-panel"') == 2
    assert "Since the previous visit:" in html


def test_review_form_records_a_review_and_leaves_the_review_list(
    clinician_client, clinician, evolving_lesion
):
    later = evolving_lesion.images.order_by("-captured_on").first().analyses.get()
    url = reverse("lesions:analysis-review", kwargs={"analysis_pk": later.pk})
    response = clinician_client.post(
        url, {"agrees_with_model": "yes", "basis": "histopathology", "management": "excise"}
    )
    assert response.status_code == 302
    review = Review.objects.get()
    assert (review.analysis, review.reviewer, review.diagnosis) == (later, clinician, "mel")
    evolving_lesion.refresh_from_db()
    assert evolving_lesion.confirmed_diagnosis == "mel"
    sections = {s.key: s for s in clinician_client.get(reverse("lesions:home")).context["sections"]}
    assert later not in sections["review"].rows
    assert sections["evolving"].count == 0  # reviewed since the change


def test_review_form_errors_are_shown_and_nothing_is_written(clinician_client, evolving_lesion):
    analysis = evolving_lesion.images.first().analyses.get()
    url = reverse("lesions:analysis-review", kwargs={"analysis_pk": analysis.pk})
    response = clinician_client.post(
        url, {"agrees_with_model": "no", "basis": "clinical", "management": "monitor"}
    )
    assert response.status_code == 400
    assert "Choose the diagnosis, or agree with the model." in response.content.decode()
    response = clinician_client.post(
        url, {"agrees_with_model": "no", "diagnosis": "other", "basis": "x", "management": "y"}
    )
    assert response.status_code == 400
    assert not Review.objects.exists()


def test_a_pending_analysis_cannot_be_reviewed_from_the_page(clinician_client, clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    url = reverse("lesions:analysis-review", kwargs={"analysis_pk": image.analyses.get().pk})
    response = clinician_client.post(
        url, {"agrees_with_model": "yes", "basis": "clinical", "management": "monitor"}
    )
    assert response.status_code == 400
    assert "Only a finished analysis can be reviewed." in response.content.decode()


def test_clinician_changes_the_next_review_date(clinician_client, evolving_lesion):
    url = reverse("lesions:lesion-next-review", kwargs={"lesion_pk": evolving_lesion.pk})
    response = clinician_client.post(url, {"next_review_on": "2027-01-15"})
    assert response.status_code == 302
    evolving_lesion.refresh_from_db()
    assert evolving_lesion.next_review_on == datetime.date(2027, 1, 15)
    assert AuditEvent.objects.filter(changed_fields=["next_review_on"]).exists()
    response = clinician_client.post(url, {"next_review_on": "not a date"}, follow=True)
    assert "Next review: Enter a valid date." in response.content.decode()


def test_a_past_next_review_date_is_refused_on_the_page(clinician_client, evolving_lesion):
    url = reverse("lesions:lesion-next-review", kwargs={"lesion_pk": evolving_lesion.pk})
    response = clinician_client.post(url, {"next_review_on": days_ago(3).isoformat()}, follow=True)
    assert "Next review: The next review cannot be in the past." in response.content.decode()
    evolving_lesion.refresh_from_db()
    assert evolving_lesion.next_review_on == datetime.date.today()  # still "Evolving: now"


def test_the_page_says_when_the_suggestion_differs_from_a_date_set_by_hand(
    clinician_client, clinician, evolving_lesion
):
    url = reverse("lesions:lesion-next-review", kwargs={"lesion_pk": evolving_lesion.pk})
    chosen = datetime.date.today() + datetime.timedelta(days=60)
    clinician_client.post(url, {"next_review_on": chosen.isoformat()})
    later = evolving_lesion.images.order_by("-captured_on").first().analyses.get()
    review_url = reverse("lesions:analysis-review", kwargs={"analysis_pk": later.pk})
    clinician_client.post(
        review_url, {"agrees_with_model": "yes", "basis": "clinical", "management": "refer"}
    )
    html = clinician_client.get(evolving_lesion.get_absolute_url()).content.decode()
    assert "data-suggestion-differs" in html and "the date set by hand is kept" in html
    assert "Refer (review)" in html
    clinician_client.post(url, {"use_suggestion": "1"})
    evolving_lesion.refresh_from_db()
    assert evolving_lesion.next_review_on == datetime.date.today()
    assert evolving_lesion.status == "referred"
    html = clinician_client.get(evolving_lesion.get_absolute_url()).content.decode()
    assert "data-suggestion-differs" not in html


def test_agreeing_with_high_risk_and_monitoring_shows_the_reason_error(
    clinician_client, evolving_lesion
):
    later = evolving_lesion.images.order_by("-captured_on").first().analyses.get()
    url = reverse("lesions:analysis-review", kwargs={"analysis_pk": later.pk})
    agree = {"agrees_with_model": "yes", "basis": "clinical", "management": "monitor"}
    response = clinician_client.post(url, agree)
    assert response.status_code == 400
    assert "You agree with a High-risk result but chose “Monitor”" in response.content.decode()
    assert not Review.objects.exists()
    assert clinician_client.post(url, {**agree, "note": "Seen 5 years, stable."}).status_code == 302


def test_patient_list_and_lesion_table_show_evolving_and_next_visit(
    clinician_client, evolving_lesion
):
    patient = evolving_lesion.patient
    html = clinician_client.get(reverse("lesions:patient-list")).content.decode()
    assert "evolving-flag" in html
    assert evolving_lesion.next_review_on.strftime("%-d %b %Y") in html
    html = clinician_client.get(patient.get_absolute_url()).content.decode()
    assert "evolving-flag" in html and "High risk" in html
    markers = clinician_client.get(patient.get_absolute_url()).context["markers"]
    assert markers[0]["evolving"] is True and "0.01 → 0.56" in markers[0]["evolving_reason"]


def test_worklist_queries_do_not_grow_with_rows(
    engine, clinician, clinician_client, django_assert_max_num_queries
):
    def add_rows():
        lesion = LesionFactory(patient__clinic=clinician.clinic)
        analyse_sample(engine, lesion, "nv", captured_on=days_ago(400))
        analyse_sample(engine, lesion, "mel", captured_on=days_ago(2))
        LesionImageFactory(lesion=lesion)  # queued: not on the worklist

    add_rows()
    # Session, user, idle-expiry save and the nav counts come with every page; the rest is
    # the worklist's own queries. The second bound is what matters: no growth with rows.
    with django_assert_max_num_queries(11) as few:
        clinician_client.get(reverse("lesions:home"))
    for _ in range(3):
        add_rows()
    with django_assert_max_num_queries(len(few.captured_queries)):
        response = clinician_client.get(reverse("lesions:home"))
    assert {s.key: s.count for s in response.context["sections"]}["review"] == 8


def test_worklist_shows_only_the_clinics_own_items(engine, evolving_lesion):
    from django.test import Client

    client = Client()
    client.force_login(ClinicianFactory())
    response = client.get(reverse("lesions:home"))
    assert all(section.count == 0 for section in response.context["sections"])
    assert b"Left calf mole" not in response.content


def test_compare_orders_by_capture_date_and_shows_both_results(clinician_client, evolving_lesion):
    earlier, later = evolving_lesion.images.order_by("captured_on")
    url = reverse("lesions:lesion-compare", kwargs={"lesion_pk": evolving_lesion.pk})
    response = clinician_client.get(url, {"before": later.pk, "after": earlier.pk})  # reversed
    assert response.status_code == 200
    comparison = response.context["comparison"]
    assert (comparison.earlier.image, comparison.later.image) == (earlier, later)
    html = response.content.decode()
    assert html.index('Earlier · <time datetime="2026-05-12"') < html.index("Later · <time")
    assert html.count("data-compare-result") == 2
    assert "Melanocytic nevus" in html and "Melanoma" in html
    melanoma = next(row for row in comparison.class_changes if row["code"] == "mel")
    assert melanoma["change"] > 50 and "Change in each class" in html
    assert "Different modalities" not in html


def test_compare_warns_when_modalities_differ(engine, clinician_client, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    analyse_sample(engine, lesion, "nv", captured_on=days_ago(30))
    analyse_sample(engine, lesion, "df", captured_on=days_ago(1), modality="clinical")
    url = reverse("lesions:lesion-compare", kwargs={"lesion_pk": lesion.pk})
    assert "Different modalities" in clinician_client.get(url).content.decode()


def test_review_panel_fragment_opens_the_form_for_a_finished_result(
    clinician_client, evolving_lesion
):
    later = evolving_lesion.images.order_by("-captured_on").first().analyses.get()
    url = reverse("lesions:analysis-review-panel", kwargs={"analysis_pk": later.pk})
    response = clinician_client.get(url)
    html = response.content.decode()
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    assert 'data-review-status="done"' in html and "Sign off" in html
    assert "risk Low → High" in html  # the change since the previous visit
