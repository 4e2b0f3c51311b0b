"""One message per result: the stored state (engine state + modality) and the card that shows
exactly that state; the admin filters on it."""

from __future__ import annotations

import pytest
from django.urls import reverse

from classifier.risk import REVIEW_ACTION
from lesions.follow_up import headline
from lesions.models import Analysis, Modality
from lesions.services.analyses import (
    OUTSIDE_DOMAIN_REASON,
    claim_analysis,
    complete_analysis,
    result_state_of,
)
from lesions.tests.factories import LesionImageFactory
from lesions.tests.pipeline_data import DEFAULT_MODEL, heatmap_bytes, result_dict

pytestmark = pytest.mark.django_db

STATE_RESULTS = {
    "not_assessable": {
        "result_state": "not_assessable",
        "state_reason": "The image is nearly uniform: no lesion can be seen in it.",
        "risk_level": "",
        "recommended_action": "Retake the image: a sharp, well-lit dermoscopic image.",
    },
    "inconclusive": {
        "result_state": "inconclusive",
        "state_reason": "confidence 45% is below 60%",
        "risk_level": "",
        "recommended_action": REVIEW_ACTION,
    },
    "high": {
        "result_state": "high",
        "state_reason": "",
        "risk_level": "high",
        "recommended_action": "Immediate dermatologist referral: melanoma probability 55%.",
    },
    "moderate": {
        "result_state": "moderate",
        "state_reason": "",
        "risk_level": "moderate",
        "recommended_action": "Dermatologist referral: the malignant classes together reach 26%.",
    },
    "low": {
        "result_state": "low",
        "state_reason": "",
        "risk_level": "low",
        "recommended_action": "Routine monitoring: re-image at the next skin check.",
    },
}


def finish_with(image, state: str, **extra) -> Analysis:
    analysis = image.analyses.get(status="queued")
    claim = claim_analysis(analysis_pk=analysis.pk, task_id=f"task-{state}")
    result = result_dict("nv", confidence=0.7, uncertain=state == "inconclusive")
    assert complete_analysis(
        claim=claim,
        result=result | STATE_RESULTS[state] | extra,
        heatmap_jpeg=None if state == "not_assessable" else heatmap_bytes(),
        model=DEFAULT_MODEL,
        inference_ms=100,
    )
    return Analysis.objects.get(pk=analysis.pk)


@pytest.fixture
def image(clinician):
    return LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)


def card_html(client, analysis: Analysis) -> str:
    url = reverse("lesions:analysis-card", kwargs={"analysis_pk": analysis.pk})
    return client.get(url).content.decode()


@pytest.mark.parametrize("state", list(STATE_RESULTS))
def test_the_engine_state_is_stored_for_a_dermoscopic_image(image, state):
    analysis = finish_with(image, state)
    assert analysis.result_state == state
    assert analysis.state_reason == STATE_RESULTS[state]["state_reason"]


def test_a_clinical_photo_is_never_low_and_says_it_is_outside_the_domain(clinician):
    image = LesionImageFactory(
        lesion__patient__clinic=clinician.clinic, uploaded_by=clinician, modality=Modality.CLINICAL
    )
    analysis = finish_with(image, "low")
    assert analysis.result_state == "inconclusive"
    assert analysis.risk_level == "" and analysis.recommended_action == REVIEW_ACTION
    assert "outside the model's training domain" in analysis.state_reason


@pytest.mark.parametrize("state", ["high", "moderate", "inconclusive"])
def test_a_clinical_photo_keeps_an_escalation_and_carries_the_domain_note(state):
    fields = result_state_of(result_dict() | STATE_RESULTS[state], modality=Modality.CLINICAL)
    assert fields["result_state"] == state
    assert fields["state_reason"].startswith(OUTSIDE_DOMAIN_REASON)


def test_a_not_assessable_clinical_photo_stays_not_assessable():
    fields = result_state_of(
        result_dict() | STATE_RESULTS["not_assessable"], modality=Modality.CLINICAL
    )
    assert fields == {
        "result_state": "not_assessable",
        "state_reason": STATE_RESULTS["not_assessable"]["state_reason"],
    }


def test_not_assessable_card_gives_the_reason_and_retake_but_no_class_or_risk(
    clinician_client, image
):
    html = card_html(clinician_client, finish_with(image, "not_assessable"))
    assert 'data-result-state="not_assessable"' in html and "Not assessable" in html
    assert "no lesion can be seen" in html and "Retake the image" in html
    assert "Most likely" not in html and "Melanocytic nevus" not in html
    assert "probabilities__bar" not in html and "heatmap" not in html
    assert " risk<" not in html and "Malignant probability" not in html


def test_inconclusive_card_shows_probabilities_and_review_but_never_low(clinician_client, image):
    html = card_html(clinician_client, finish_with(image, "inconclusive"))
    # One headline: the state, what it means (the reason) and what to do, for a specialist.
    assert "Inconclusive" in html and "confidence 45% is below 60%" in html
    assert "Your examination decides" in html and "Malignancy is not ruled out" in html
    assert html.count('class="probabilities__bar"') == 7
    assert "Low risk" not in html and "risk--low" not in html and "Most likely" not in html
    assert "heatmap__overlay" not in html
    assert html.count("data-result-state=") == 1


@pytest.mark.parametrize(
    ("state", "title"), [("high", "High risk"), ("moderate", "Moderate risk"), ("low", "Low risk")]
)
def test_risk_cards_show_one_level_with_class_action_and_heatmap(
    clinician_client, image, state, title
):
    html = card_html(clinician_client, finish_with(image, state))
    assert html.count("data-result-state=") == 1 and f'data-result-state="{state}"' in html
    # The headline's action, worded for a specialist clinic, not the engine's referral text.
    assert title in html and headline.ACTIONS[(state, headline.SPECIALIST)] in html
    if state != "low":  # the routine action reads the same for both
        assert STATE_RESULTS[state]["recommended_action"] not in html
    # The naevus is the top class: "Most likely" only where it agrees with the risk.
    if state == "low":
        assert "Most likely" in html and "data-driver" not in html
    else:
        assert "Most likely" not in html and "Highest-probability class" in html
        assert "data-driver" in html
    assert "heatmap__overlay" in html
    assert "Inconclusive" not in html and "Not assessable" not in html
    others = {"High risk", "Moderate risk", "Low risk"} - {title}
    assert not any(other in html for other in others)


def test_card_says_what_the_default_model_can_do_at_its_setting(clinician_client, image):
    html = card_html(clinician_client, finish_with(image, "low"))
    assert "At this setting the model rated" in html
    assert "melanomas of its test set High" in html


def test_admin_filters_analyses_by_result_state(staff_client, clinician):
    first = LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    second = LesionImageFactory(lesion__patient__clinic=clinician.clinic, uploaded_by=clinician)
    not_assessable, low = finish_with(first, "not_assessable"), finish_with(second, "low")
    url = reverse("admin:lesions_analysis_changelist")
    response = staff_client.get(url, {"result_state": "not_assessable"})
    assert response.status_code == 200
    shown = {row.pk for row in response.context["cl"].result_list}
    assert not_assessable.pk in shown and low.pk not in shown
