"""Change detection and follow-up dates, on results of the real engine on real images.

What the default model, at its operating point, says about the committed samples (and these
tests rely on): nv -> Melanocytic nevus, Low, malignant 0.01; vasc -> Vascular lesion, Low,
0.02; mel -> Melanoma, High, 0.56; df -> Not assessable (the gate); akiec -> Dermatofibroma,
Moderate, 0.31; bcc -> Basal cell carcinoma, Moderate, 0.98; bkl -> Actinic keratosis,
Moderate, 0.57 (uncertain).
"""

from __future__ import annotations

import datetime

import pytest

from lesions import services
from lesions.follow_up.changes import SHORT_INTERVAL, Visit, compare_visits, suggest_next_review
from lesions.models import AuditEvent, Lesion
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import LesionFactory, days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def lesion(clinician):
    return LesionFactory(patient__clinic=clinician.clinic)


def two_visits(engine, lesion, first: str, second: str) -> Lesion:
    analyse_sample(engine, lesion, first, captured_on=datetime.date(2026, 5, 12))
    analyse_sample(engine, lesion, second, captured_on=datetime.date(2026, 11, 29))
    lesion.refresh_from_db()
    return lesion


def test_a_single_visit_never_flags_evolving(engine, lesion):
    analyse_sample(engine, lesion, "mel")
    lesion.refresh_from_db()
    assert lesion.evolving is False and lesion.evolving_reason == ""


def test_naevus_then_melanoma_is_evolving_by_every_rule_with_dates(engine, lesion):
    lesion = two_visits(engine, lesion, "nv", "mel")
    assert lesion.evolving is True
    reason = lesion.evolving_reason
    assert "malignant probability 0.01 → 0.56" in reason
    assert "risk Low → High" in reason
    assert "top class Melanocytic nevus → Melanoma" in reason
    assert reason.endswith("between 12 May 2026 and 29 Nov 2026")
    assert lesion.evolving_since is not None


def test_probability_rise_over_the_margin_alone_flags(engine, lesion, settings):
    settings.DERMASCAN_EVOLVING_MARGIN = 0.01
    # Both Low with a benign top class (naevus, then vascular lesion): 0.006 -> 0.021.
    lesion = two_visits(engine, lesion, "nv", "vasc")
    assert lesion.evolving is True
    assert lesion.evolving_reason.startswith("malignant probability 0.01 → 0.02 between")


def test_probability_rise_within_the_margin_does_not_flag(engine, lesion, settings):
    settings.DERMASCAN_EVOLVING_MARGIN = 0.5
    lesion = two_visits(engine, lesion, "nv", "vasc")  # Low both, benign both, 0.006 -> 0.021
    assert lesion.evolving is False


def test_risk_level_going_up_alone_flags(engine, lesion):
    lesion = two_visits(engine, lesion, "bcc", "mel")  # Moderate -> High, probability falls
    assert lesion.evolving is True
    assert lesion.evolving_reason.startswith("risk Moderate → High between")


def test_top_class_benign_to_malignant_alone_flags(engine, lesion, settings):
    settings.DERMASCAN_EVOLVING_MARGIN = 1.0  # the probability rule cannot fire
    lesion = two_visits(engine, lesion, "akiec", "bcc")  # Moderate both
    assert lesion.evolving is True
    assert lesion.evolving_reason.startswith(
        "top class Dermatofibroma → Basal cell carcinoma between"
    )


def test_visits_are_compared_in_capture_order_not_upload_order(engine, lesion):
    analyse_sample(engine, lesion, "nv", captured_on=datetime.date(2026, 11, 29))
    analyse_sample(engine, lesion, "mel", captured_on=datetime.date(2026, 5, 12))  # back-dated
    lesion.refresh_from_db()
    # Uploaded naevus then melanoma, but captured melanoma then naevus: no worsening.
    assert lesion.evolving is False, lesion.evolving_reason


def test_deleting_the_later_image_clears_the_flag(engine, lesion, clinician):
    lesion = two_visits(engine, lesion, "nv", "mel")
    later = lesion.images.order_by("-captured_on").first()
    services.delete_lesion_image(image=later, deleted_by=clinician)
    lesion.refresh_from_db()
    assert lesion.evolving is False


def test_next_review_is_suggested_from_the_latest_result(engine, clinician):
    captured = days_ago(3)
    cases = {"mel": 0, "bcc": SHORT_INTERVAL.days, "bkl": SHORT_INTERVAL.days, "nv": 365}
    for diagnosis, days in cases.items():
        lesion = LesionFactory(patient__clinic=clinician.clinic)
        analyse_sample(engine, lesion, diagnosis, captured_on=captured)
        lesion.refresh_from_db()
        if days == 0:  # high risk: now (the day the result came)
            assert lesion.next_review_on == datetime.date.today(), diagnosis
        else:
            assert lesion.next_review_on == captured + datetime.timedelta(days=days), diagnosis
        assert lesion.next_review_reason


def test_evolving_lesion_is_due_now(engine, lesion):
    lesion = two_visits(engine, lesion, "nv", "akiec")  # Moderate alone would be 3 months
    assert lesion.next_review_on == datetime.date.today()
    assert lesion.next_review_reason == "Evolving"


def test_not_assessable_means_now_and_retake():
    visit = Visit(
        1, datetime.date(2026, 1, 2), datetime.date(2026, 1, 3), "not_assessable", "", None, {}
    )
    suggestion = suggest_next_review(visit, evolving_unreviewed=False, review=None)
    assert suggestion.next_review_on == datetime.date(2026, 1, 3)
    assert "retake" in suggestion.reason


def test_not_assessable_visit_is_skipped_when_comparing():
    def visit(pk, state, top, p):
        return Visit(pk, datetime.date(2026, 1, pk), datetime.date(2026, 1, pk), state, top, p, {})

    from lesions.follow_up.changes import latest_evolution

    visits = [
        visit(1, "low", "nv", 0.01),
        visit(2, "not_assessable", "", None),
        visit(3, "high", "mel", 0.9),
    ]
    change = latest_evolution(visits, margin=0.15)
    assert change is not None and change.previous.analysis_id == 1
    assert compare_visits(visits[2], visits[0], margin=0.15).evolving is False


def test_clinician_sets_the_next_review_and_it_is_audited(engine, lesion, clinician):
    analyse_sample(engine, lesion, "nv")
    chosen = datetime.date.today() + datetime.timedelta(days=30)
    services.set_next_review(lesion=lesion, next_review_on=chosen, changed_by=clinician)
    lesion.refresh_from_db()
    assert lesion.next_review_on == chosen and lesion.next_review_reason == "Set by a clinician"
    event = AuditEvent.objects.filter(target_type="lesion", action="changed").get()
    assert event.changed_fields == ["next_review_on"] and event.actor == clinician


def test_patient_next_visit_is_the_earliest_of_their_lesions(engine, clinician):
    from lesions.selectors import patients_for

    first = LesionFactory(patient__clinic=clinician.clinic)
    second = LesionFactory(patient=first.patient)
    analyse_sample(engine, first, "nv", captured_on=days_ago(2))  # +12 months
    analyse_sample(engine, second, "bcc", captured_on=days_ago(2))  # +3 months
    (patient,) = patients_for(clinician)
    assert patient.next_visit_on == days_ago(2) + SHORT_INTERVAL
    assert patient.lesion_count == 2 and patient.evolving_count == 0
