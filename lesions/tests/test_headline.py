"""One voice per result: the headline, the class line below it, change statements that agree
with their numbers, and not-assessable images out of trends and comparisons."""

from __future__ import annotations

import datetime
import re

import pytest
from django.urls import reverse

from lesions.follow_up.changes import Visit, compare_visits
from lesions.follow_up.charts import trend_chart
from lesions.follow_up.headline import PRIMARY_CARE, SPECIALIST, headline_for
from lesions.models import Analysis
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import LesionFactory, days_ago

NAEVUS_BUT_HIGH = {"nv": 0.66, "mel": 0.30, "bkl": 0.04}


def result(state: str, probabilities: dict[str, float], **fields) -> Analysis:
    top = max(probabilities, key=probabilities.get)
    names = {"nv": "Melanocytic nevus", "mel": "Melanoma", "bcc": "Basal cell carcinoma"}
    malignant = sum(p for code, p in probabilities.items() if code in ("mel", "bcc", "akiec"))
    return Analysis(
        status="done",
        result_state=state,
        probabilities=probabilities,
        top_class=top,
        top_class_display=names.get(top, top),
        confidence=probabilities[top],
        malignant_probability=malignant,
        **fields,
    )


def test_high_risk_with_a_benign_top_class_does_not_read_as_reassurance():
    headline = headline_for(result("high", NAEVUS_BUT_HIGH))
    assert headline.title == "High risk" and "Melanoma probability 30 %" in headline.meaning
    assert headline.driver == "Melanoma probability 30 %"
    assert headline.class_label == "Highest-probability class"
    assert headline.class_line == "Highest-probability class: Melanocytic nevus 66 %"
    assert "Most likely" not in headline.class_line


def test_most_likely_only_when_the_class_agrees_with_the_risk():
    high = headline_for(result("high", {"mel": 0.8, "nv": 0.2}))
    low = headline_for(result("low", {"nv": 0.95, "mel": 0.05}))
    assert (high.class_label, high.driver) == ("Most likely", "")
    assert low.class_line == "Most likely: Melanocytic nevus 95 %"


def test_the_action_is_worded_for_the_clinics_audience():
    specialist = headline_for(result("high", NAEVUS_BUT_HIGH), SPECIALIST)
    primary = headline_for(result("high", NAEVUS_BUT_HIGH), PRIMARY_CARE)
    assert "referral" not in specialist.action.lower() and "dermatologist" not in specialist.action
    assert "Refer urgently to a dermatologist" in primary.action
    for state in ("moderate", "inconclusive", "low"):
        assert "dermatologist" not in headline_for(result(state, NAEVUS_BUT_HIGH)).action


def test_a_not_assessable_result_shows_no_class_and_no_probabilities():
    headline = headline_for(result("not_assessable", NAEVUS_BUT_HIGH, state_reason="Blurred."))
    assert (headline.title, headline.meaning) == ("Not assessable", "Blurred.")
    assert not headline.show_probabilities and headline.class_line == ""


def visit(day: int, state: str, malignant: float) -> Visit:
    return Visit(
        day,
        datetime.date(2026, 6, day),
        datetime.date(2026, 6, day),
        state,
        "nv",
        malignant,
        {"nv": 1 - malignant, "mel": malignant},
    )


def test_a_rise_below_the_margin_is_never_called_no_worsening():
    change = compare_visits(visit(2, "low", 0.15), visit(20, "low", 0.23), margin=0.15)
    assert not change.evolving
    assert "No worsening" not in change.summary
    assert "rose 15 % → 23 % (+8 points)" in change.summary
    steady = compare_visits(visit(2, "low", 0.23), visit(20, "low", 0.15), margin=0.15)
    assert steady.summary.startswith("No worsening since 2 Jun 2026")


def test_not_assessable_visits_stay_out_of_the_trend():
    chart = trend_chart([visit(2, "low", 0.1), visit(9, "not_assessable", 0.9)])
    assert [row["state"] for row in chart.rows] == ["low"]
    assert trend_chart([visit(9, "not_assessable", 0.9)]) is None


@pytest.mark.django_db
def test_pages_use_the_headline_and_compare_leaves_not_assessable_out(
    engine, clinician, clinician_client
):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    analyse_sample(engine, lesion, "nv", captured_on=days_ago(30))
    melanoma = analyse_sample(engine, lesion, "mel", captured_on=days_ago(10))
    analyse_sample(engine, lesion, "df", captured_on=days_ago(1))  # not assessable
    html = clinician_client.get(lesion.get_absolute_url()).content.decode()
    assert "Immediate dermatologist referral" not in html  # the clinic is specialist
    assert "data-headline" in html and "Melanoma probability" in html
    compare = reverse("lesions:lesion-compare", kwargs={"lesion_pk": lesion.pk})
    page = clinician_client.get(compare).content.decode()
    assert "Change in each class" not in page and "no change is computed" in page
    pair = clinician_client.get(
        compare,
        {"before": lesion.images.get(captured_on=days_ago(30)).pk, "after": melanoma.image_id},
    )
    assert "Change in each class" in pair.content.decode()
    clinician.clinic.audience = PRIMARY_CARE
    clinician.clinic.save()
    html = clinician_client.get(lesion.get_absolute_url()).content.decode()
    assert "Refer urgently to a dermatologist" in html


@pytest.mark.django_db
def test_the_live_fragments_carry_what_a_result_changes(engine, clinician, clinician_client):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    analyse_sample(engine, lesion, "nv", captured_on=days_ago(200))
    melanoma = analyse_sample(engine, lesion, "mel", captured_on=days_ago(1))
    response = clinician_client.get(reverse("lesions:lesion-live", kwargs={"lesion_pk": lesion.pk}))
    assert response.status_code == 200 and response["Cache-Control"] == "no-store"
    body = response.json()
    assert body["marker"]["state"] == "high" and body["marker"]["evolving"] is True
    latest = next(v for v in body["visits"] if v["image"] == melanoma.image_id)
    assert "Worse:" in latest["change"] and "High risk" in latest["summary"]
    assert re.search(r"Next review:.*?<time", body["follow_up"], re.S)
    assert "trend__svg" in body["follow_up"]
