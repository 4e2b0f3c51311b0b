"""Reviews: immutable, superseded not overwritten, and the only way to confirm a diagnosis."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError

from lesions import services
from lesions.models import AuditEvent, Review
from lesions.tests.engine import analyse_sample
from lesions.tests.factories import LesionFactory, LesionImageFactory
from training.db_samples import confirmed_samples

pytestmark = pytest.mark.django_db


@pytest.fixture
def melanoma(engine, clinician):
    lesion = LesionFactory(patient__clinic=clinician.clinic)
    return analyse_sample(engine, lesion, "mel", uploaded_by=clinician)


def review(analysis, reviewer, **options):
    # Referral: agreeing with a melanoma result and monitoring it would need a reason.
    values = {"agrees_with_model": True, "basis": "clinical", "management": "refer"}
    return services.record_review(analysis=analysis, reviewer=reviewer, **{**values, **options})


def test_agreeing_records_the_models_class_and_who_reviewed(melanoma, clinician):
    recorded = review(melanoma, clinician, note="  Irregular network.  ")
    assert (recorded.diagnosis, recorded.agrees_with_model) == ("mel", True)
    assert recorded.reviewer == clinician and recorded.note == "Irregular network."
    event = AuditEvent.objects.get(target_type="review")
    assert (event.action, event.target_id, event.actor) == ("created", recorded.pk, clinician)
    assert event.patient_id == melanoma.image.lesion.patient_id


def test_a_new_review_supersedes_the_old_and_both_are_kept(melanoma, clinician):
    first = review(melanoma, clinician)
    second = review(melanoma, clinician, agrees_with_model=False, diagnosis="nv")
    assert second.supersedes == first and second.agrees_with_model is False
    assert Review.objects.filter(analysis=melanoma).count() == 2
    assert list(Review.objects.filter(analysis=melanoma).current()) == [second]


def test_a_review_cannot_be_changed(melanoma, clinician):
    recorded = review(melanoma, clinician)
    recorded.note = "rewritten"
    with pytest.raises(ValueError, match="never changed"):
        recorded.save()


def test_other_diagnosis_needs_a_description(melanoma, clinician):
    with pytest.raises(ValidationError) as caught:
        review(melanoma, clinician, agrees_with_model=False, diagnosis="other")
    assert "Describe the other diagnosis." in str(caught.value)
    assert not Review.objects.exists()
    recorded = review(
        melanoma, clinician, agrees_with_model=False, diagnosis="other", diagnosis_other="Lentigo"
    )
    assert recorded.diagnosis_display == "Lentigo"


def test_choosing_the_models_class_counts_as_agreeing(melanoma, clinician):
    assert review(melanoma, clinician, agrees_with_model=False, diagnosis="mel").agrees_with_model


def test_unknown_basis_or_decision_is_refused(melanoma, clinician):
    with pytest.raises(ValidationError) as caught:
        review(melanoma, clinician, basis="hunch", management="wait")
    assert {"basis", "management"} <= set(caught.value.message_dict)


def test_a_pending_analysis_cannot_be_reviewed(clinician):
    image = LesionImageFactory(lesion__patient__clinic=clinician.clinic)
    with pytest.raises(ValidationError, match="finished"):
        review(image.analyses.get(), clinician)


def test_only_histopathology_confirms_the_diagnosis(melanoma, clinician, tmp_path):
    lesion = melanoma.image.lesion
    review(melanoma, clinician, basis="consensus")
    lesion.refresh_from_db()
    assert lesion.confirmed_diagnosis == ""
    review(melanoma, clinician, basis="histopathology", agrees_with_model=False, diagnosis="nv")
    lesion.refresh_from_db()
    assert lesion.confirmed_diagnosis == "nv"
    assert AuditEvent.objects.filter(target_type="lesion", changed_fields=["confirmed_diagnosis"])
    # ... which is what train_model --from-db learns from.
    samples = confirmed_samples(labels="ham7", export_dir=tmp_path).samples
    assert [sample.label for sample in samples] == ["nv"]


def test_histopathology_of_another_diagnosis_leaves_the_confirmed_one(melanoma, clinician):
    review(melanoma, clinician, basis="histopathology")
    review(
        melanoma,
        clinician,
        basis="histopathology",
        agrees_with_model=False,
        diagnosis="other",
        diagnosis_other="Collision tumour",
    )
    melanoma.image.lesion.refresh_from_db()
    assert melanoma.image.lesion.confirmed_diagnosis == "mel"


def test_short_term_recheck_sets_the_next_review_three_months_on(melanoma, clinician):
    import datetime

    review(melanoma, clinician, management="short_term_recheck")
    lesion = melanoma.image.lesion
    lesion.refresh_from_db()
    assert lesion.next_review_on == datetime.date.today() + datetime.timedelta(days=91)
    assert lesion.next_review_reason == "Short-term recheck (review)"


def test_deleting_the_image_deletes_its_reviews_superseded_ones_too(melanoma, clinician):
    review(melanoma, clinician)
    review(melanoma, clinician, management="excise")
    services.delete_lesion_image(image=melanoma.image, deleted_by=clinician)
    assert not Review.objects.exists()
