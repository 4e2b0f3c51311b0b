import pytest

from classifier.labels import HAM7, ISIC8, THREE
from classifier.risk import assess_risk, malignant_probability


def _probs(classes, label, p=0.8):
    rest = (1 - p) / (len(classes) - 1)
    return {c: (p if c == label else rest) for c in classes}


@pytest.mark.parametrize(
    ("label", "level"),
    [("mel", "high"), ("bcc", "moderate"), ("akiec", "moderate"), ("nv", "low"), ("df", "low")],
)
def test_each_class_maps_to_a_risk_level(label, level):
    risk = assess_risk(label, _probs(HAM7, label))
    assert risk.level == level and risk.action


def test_melanoma_asks_for_immediate_referral():
    assert "Immediate dermatologist referral" in assess_risk("mel", _probs(HAM7, "mel")).action
    assert assess_risk("melanoma", _probs(THREE, "melanoma")).level == "high"
    assert assess_risk("scc", _probs(ISIC8, "scc")).level == "moderate"


def test_benign_classes_get_routine_monitoring():
    assert "Routine monitoring" in assess_risk("nv", _probs(HAM7, "nv")).action


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
    assert assess_risk("nv", probs).malignant_probability == pytest.approx(0.45)


def test_benign_top_class_is_escalated_when_malignancy_is_likely_overall():
    probs = {"akiec": 0.1, "bcc": 0.2, "bkl": 0.0, "df": 0.0, "mel": 0.25, "nv": 0.45, "vasc": 0.0}
    risk = assess_risk("nv", probs)
    assert risk.level == "moderate" and "Dermatologist review" in risk.action


def test_unknown_class_is_never_low():
    assert assess_risk("mystery", {"mystery": 1.0}).level == "moderate"
