"""The result policy: each state from constructed probabilities, and its action."""

from __future__ import annotations

import pytest

from classifier.labels import HAM7
from classifier.operating_point import OperatingPoint
from classifier.risk import assess_result, malignant_probability, risk_level

POINT = OperatingPoint(t_mel=0.30, t_mal=0.20, chosen_on="val")


def _probs(**given: float) -> dict[str, float]:
    rest = (1 - sum(given.values())) / (len(HAM7) - len(given))
    return {code: given.get(code, rest) for code in HAM7}


def test_melanoma_at_the_threshold_is_high_even_below_the_old_half():
    probs = _probs(mel=0.30, nv=0.60)
    result = assess_result(probs, label="nv", operating_point=POINT)
    assert result.state == result.level == "high"
    assert "Immediate dermatologist referral" in result.action and "30.0 %" in result.action


def test_basal_cell_carcinoma_at_26_percent_is_moderate_not_low():
    probs = _probs(bcc=0.26, nv=0.70)
    result = assess_result(probs, label="nv", operating_point=POINT)
    assert result.state == "moderate"
    assert "malignant classes together reach" in result.action


def test_keratinocyte_top_class_gets_the_keratinocyte_action():
    result = assess_result(_probs(bcc=0.8), label="bcc", operating_point=POINT)
    assert result.state == "moderate" and "keratinocyte" in result.action


def test_confident_benign_below_both_thresholds_is_low():
    result = assess_result(_probs(nv=0.97), label="nv", operating_point=POINT)
    assert result.state == result.level == "low"
    assert "Routine monitoring" in result.action


def test_uncertain_benign_is_inconclusive_never_low():
    result = assess_result(
        _probs(nv=0.5, bkl=0.45),
        label="nv",
        operating_point=POINT,
        uncertain=True,
        uncertainty_message="confidence 50% is below 60%",
    )
    assert result.state == "inconclusive" and result.level == ""
    assert "below 60%" in result.reason and "Clinician review" in result.action


def test_uncertain_but_above_a_threshold_keeps_the_escalation():
    result = assess_result(
        _probs(mel=0.35, nv=0.4), label="nv", operating_point=POINT, uncertain=True
    )
    assert result.state == "high"


def test_not_assessable_has_no_level_and_says_retake():
    result = assess_result(
        _probs(mel=0.9),
        label="mel",
        operating_point=POINT,
        not_assessable_reason="The image is too dark to assess.",
    )
    assert result.state == "not_assessable" and result.level == ""
    assert result.reason == "The image is too dark to assess."
    assert result.action.startswith("Retake the image")


def test_unknown_class_is_never_low():
    assert assess_result({"mystery": 1.0}, label="mystery").state == "moderate"


def test_without_a_measured_point_the_old_half_escalation_applies():
    assert risk_level(_probs(mel=0.55)) == "high"
    assert risk_level(_probs(bcc=0.3, akiec=0.25, nv=0.4)) == "moderate"
    assert risk_level(_probs(nv=0.9)) == "low"


def test_malignant_probability_sums_the_malignant_classes():
    probs = {
        "akiec": 0.1,
        "bcc": 0.2,
        "bkl": 0.05,
        "df": 0.05,
        "mel": 0.15,
        "nv": 0.4,
        "vasc": 0.05,
    }
    assert malignant_probability(probs) == pytest.approx(0.45)
