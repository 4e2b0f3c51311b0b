"""The formulas of docs/monitoring.md, checked on numbers worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest

from monitoring.statistics import (
    MIN_DRIFT_ANALYSES,
    auc,
    clopper_pearson,
    drift_against,
    proportion,
)
from monitoring.tests.data import uniform_quantiles


def test_clopper_pearson_matches_the_published_exact_interval():
    low, high = clopper_pearson(8, 10)  # the textbook 8/10: 0.4439 to 0.9748
    assert low == pytest.approx(0.4439, abs=1e-4) and high == pytest.approx(0.9748, abs=1e-4)
    assert clopper_pearson(0, 10)[0] == 0.0 and clopper_pearson(10, 10)[1] == 1.0


def test_a_proportion_below_its_minimum_gives_only_the_counts():
    few = proportion(3, 4, minimum=10)
    assert (few.value, few.enough, few.successes, few.total) == (None, False, 3, 4)
    enough = proportion(9, 12, minimum=10)
    assert enough.value == 0.75 and enough.enough and enough.low < 0.75 < enough.high


def test_distances_drawn_like_val_are_stable():
    distances = list(np.linspace(0.01, 1.99, 200))  # uniform on [0, 2], as val
    drift = drift_against(distances, uniform_quantiles())
    assert drift.verdict == "stable" and drift.ks < 0.02


def test_distances_far_beyond_val_are_shifted():
    drift = drift_against([3.0] * 40 + [1.0] * 10, uniform_quantiles())
    assert drift.verdict == "shifted" and drift.ks == pytest.approx(
        0.79
    )  # at val's 99th percentile: 0.2 vs 0.99
    assert drift.above_val_p95.successes == 40


def test_too_few_distances_or_no_reference_give_no_verdict():
    assert drift_against([1.0] * (MIN_DRIFT_ANALYSES - 1), uniform_quantiles()).verdict == "too few"
    assert drift_against([1.0] * 100, {}).verdict == "no reference"


def test_auc_equals_sklearns_with_ties():
    from sklearn.metrics import roc_auc_score

    rng = np.random.default_rng(0)
    y = rng.random(200) < 0.3
    score = np.round(rng.random(200) + y * 0.3, 1)  # rounded: many ties
    assert auc(y, score) == pytest.approx(roc_auc_score(y, score))
    assert auc(np.ones(5, bool), np.arange(5)) is None


def test_distance_quantiles_are_recorded_at_every_level():
    from classifier.gate import DISTANCE_QUANTILE_LEVELS, distance_quantiles

    recorded = distance_quantiles(np.linspace(0.0, 1.0, 101))
    assert list(recorded) == [f"{p:.2f}" for p in DISTANCE_QUANTILE_LEVELS]
    assert recorded["0.50"] == pytest.approx(0.5) and recorded["0.99"] == pytest.approx(0.99)
    assert distance_quantiles(np.zeros(0)) == {}


def test_the_default_models_card_has_its_val_distances():
    from pathlib import Path

    from classifier.artifact import read_card

    gate = read_card(Path(__file__).resolve().parents[2] / "classifier" / "default_model").gate
    # The 98th percentile of val is where the gate's threshold was set (2 % rejected).
    assert gate["val_distance_quantiles"]["0.98"] == pytest.approx(gate["threshold"], rel=0.01)
