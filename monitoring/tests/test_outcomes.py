"""Outcomes on confirmed diagnoses, from analyses and histopathology reviews made through
the real services; the figures are worked out by hand in each test."""

from __future__ import annotations

import pytest

from lesions.tests.factories import ClinicianFactory
from monitoring.selectors import misses, outcome_figures
from monitoring.selectors.figures import Period
from monitoring.tests.data import analysed_case

pytestmark = pytest.mark.django_db

PERIOD = Period.ending(__import__("datetime").date.today(), days=30)


@pytest.fixture
def confirmed_clinic(clinic):
    """10 melanomas (8 High, 1 Low, 1 not assessable) and 10 nevi (7 Low, 3 High)."""
    reviewer = ClinicianFactory(clinic=clinic)
    cases = {"mel": ["high"] * 8 + ["low", "not_assessable"], "nv": ["low"] * 7 + ["high"] * 3}
    made = {}
    for diagnosis, states in cases.items():
        made[diagnosis] = [
            analysed_case(clinic, state, diagnosis=diagnosis, reviewer=reviewer) for state in states
        ]
    return made


def test_sensitivity_specificity_and_auc_at_the_operating_point(clinic, confirmed_clinic):
    [outcomes] = outcome_figures(clinic, PERIOD, rounds=200)
    assert outcomes.cases == 20
    sens, spec = outcomes.melanoma_sensitivity, outcomes.melanoma_specificity
    assert (sens.successes, sens.total, sens.value) == (8, 10, 0.8)
    assert sens.low == pytest.approx(0.4439, abs=1e-4)  # exact (Clopper-Pearson)
    assert (spec.successes, spec.total) == (7, 10)
    assert outcomes.malignant_sensitivity.value == 0.8  # the Low and the not-assessable missed
    auc = outcomes.estimates["melanoma_auc"]
    assert auc["enough"] and auc["value"] == pytest.approx(0.785)  # ties count one half
    assert auc["interval"][0] <= 0.785 <= auc["interval"][1]
    # 20 cases is below the 30 calibration needs.
    assert outcomes.estimates["ece"] == {
        "value": None,
        "interval": None,
        "enough": False,
        "cases": 20,
    }


def test_a_confirmed_melanoma_rated_low_is_in_the_misses(clinic, confirmed_clinic):
    missed = confirmed_clinic["mel"][8]
    found = misses(clinic, PERIOD)
    assert [m.analysis_id for m in found] == [missed.pk]
    assert found[0].is_melanoma and found[0].lesion_id == missed.image.lesion_id


def test_few_confirmed_cases_are_too_few_to_say(clinic):
    analysed_case(clinic, "high", diagnosis="mel")
    analysed_case(clinic, "low", diagnosis="nv")
    [outcomes] = outcome_figures(clinic, PERIOD)
    assert outcomes.melanoma_sensitivity.value is None
    assert not outcomes.melanoma_sensitivity.enough
    assert outcomes.melanoma_sensitivity.successes == 1
    assert not outcomes.estimates["melanoma_auc"]["enough"]


def test_another_clinics_cases_do_not_count(clinic, other_clinic, confirmed_clinic):
    assert outcome_figures(other_clinic, PERIOD) == []
    assert misses(other_clinic, PERIOD) == []
