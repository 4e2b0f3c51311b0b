"""Safe sign-off: nothing decided in advance, a reason for relaxing a worrying result, the
lesion's status following the decision, and dates that never lie in the past."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import ValidationError

from lesions import services
from lesions.forms import ReviewForm
from lesions.models import AuditEvent, Review
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import LesionFactory, days_ago

pytestmark = pytest.mark.django_db


@pytest.fixture
def melanoma(engine, clinician):
    """A High-risk result from the real engine."""
    analysis = analyse_sample(
        engine, LesionFactory(patient__clinic=clinician.clinic), "mel", captured_on=days_ago(200)
    )
    assert analysis.result_state == "high"
    return analysis


def sign_off(analysis, reviewer, **options):
    values = {"agrees_with_model": True, "basis": "clinical", "management": "refer"}
    return services.record_review(analysis=analysis, reviewer=reviewer, **{**values, **options})


def test_the_form_decides_nothing_in_advance():
    form = ReviewForm(result_state="high")
    for name in ("agrees_with_model", "basis", "management"):
        assert form[name].value() in (None, ""), name
        assert form.fields[name].required, name
    empty = ReviewForm({}, result_state="high")
    assert not empty.is_valid()
    assert {"agrees_with_model", "basis", "management"} <= set(empty.errors)


@pytest.mark.parametrize("management", ["monitor", "discharge"])
def test_agreeing_with_high_risk_but_relaxing_needs_a_reason(melanoma, clinician, management):
    with pytest.raises(ValidationError) as caught:
        sign_off(melanoma, clinician, management=management, note="   ")
    assert "write the reason in the note" in caught.value.message_dict["note"][0]
    assert not Review.objects.exists()
    form = ReviewForm(
        {"agrees_with_model": "yes", "basis": "clinical", "management": management},
        result_state="high",
    )
    assert not form.is_valid() and "note" in form.errors
    recorded = sign_off(melanoma, clinician, management=management, note="Stable for 4 years.")
    assert recorded.note == "Stable for 4 years."


def test_another_diagnosis_or_a_low_result_needs_no_reason(melanoma, clinician, engine):
    sign_off(melanoma, clinician, agrees_with_model=False, diagnosis="nv", management="monitor")
    naevus = analyse_sample(engine, LesionFactory(patient__clinic=clinician.clinic), "nv")
    assert naevus.result_state == "low"
    assert sign_off(naevus, clinician, management="discharge").management == "discharge"


@pytest.mark.parametrize(
    ("management", "basis", "status"),
    [
        ("refer", "clinical", "referred"),
        ("excise", "clinical", "excision_planned"),
        ("excise", "histopathology", "excised"),
        ("discharge", "consensus", "discharged"),
        ("short_term_recheck", "follow_up", "monitoring"),
    ],
)
def test_the_lesions_status_follows_the_decision(melanoma, clinician, management, basis, status):
    sign_off(melanoma, clinician, management=management, basis=basis, note="Reason given.")
    lesion = melanoma.image.lesion
    lesion.refresh_from_db()
    assert lesion.status == status
    if status != "monitoring":
        event = AuditEvent.objects.get(target_type="lesion", changed_fields=["status"])
        assert event.actor == clinician


def test_excised_and_discharged_lesions_are_no_longer_followed(melanoma, clinician):
    from lesions.models import Lesion

    sign_off(melanoma, clinician, management="excise", basis="histopathology")
    assert not Lesion.objects.followed_up().exists()


def test_monitor_of_an_old_image_is_counted_from_the_review(melanoma, clinician):
    sign_off(melanoma, clinician, management="monitor", note="Known, unchanged for years.")
    lesion = melanoma.image.lesion
    lesion.refresh_from_db()
    assert lesion.next_review_on == datetime.date.today() + datetime.timedelta(days=91)


def test_a_next_review_in_the_past_is_refused(melanoma, clinician):
    lesion = melanoma.image.lesion
    with pytest.raises(ValidationError, match="cannot be in the past"):
        services.set_next_review(lesion=lesion, next_review_on=days_ago(1), changed_by=clinician)
    lesion.refresh_from_db()
    assert lesion.next_review_on == datetime.date.today()  # High risk: now


def test_a_date_set_by_hand_is_never_replaced_by_a_later_review(melanoma, clinician):
    lesion = melanoma.image.lesion
    chosen = datetime.date.today() + datetime.timedelta(days=40)
    services.set_next_review(lesion=lesion, next_review_on=chosen, changed_by=clinician)
    sign_off(melanoma, clinician, management="short_term_recheck")
    lesion.refresh_from_db()
    assert (lesion.next_review_on, lesion.next_review_set_by_hand) == (chosen, True)
    assert lesion.suggested_review_on == datetime.date.today() + datetime.timedelta(days=91)
    assert lesion.suggestion_differs
    services.use_suggested_review(lesion=lesion, changed_by=clinician)
    lesion.refresh_from_db()
    assert lesion.next_review_on == lesion.suggested_review_on
    assert not lesion.next_review_set_by_hand and not lesion.suggestion_differs
