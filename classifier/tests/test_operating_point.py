"""Threshold selection for target sensitivities, on synthetic scores with a known answer."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.labels import HAM7
from classifier.operating_point import (
    UNMEASURED,
    OperatingPoint,
    choose_operating_point,
    sensitivity_specificity,
    threshold_for_sensitivity,
)


def test_threshold_is_the_largest_that_flags_the_target_share_of_positives():
    # Positives score 0.1, 0.2, ..., 1.0: flagging 80 % of 10 needs the 8th highest, 0.3.
    scores = np.concatenate([np.arange(1, 11) / 10, np.full(5, 0.05)])
    positive = np.array([True] * 10 + [False] * 5)
    assert threshold_for_sensitivity(scores, positive, 0.80) == pytest.approx(0.3)
    assert threshold_for_sensitivity(scores, positive, 0.95) == pytest.approx(0.1)
    assert threshold_for_sensitivity(scores, positive, 0.10) == pytest.approx(1.0)
    figures = sensitivity_specificity(scores, positive, 0.3)
    assert figures == {"sensitivity": 0.8, "specificity": 1.0}


def test_threshold_reaches_the_target_on_random_scores():
    rng = np.random.default_rng(0)
    positive = rng.random(2000) < 0.1
    scores = np.where(positive, rng.beta(5, 2, 2000), rng.beta(2, 5, 2000))
    for target in (0.5, 0.8, 0.95):
        threshold = threshold_for_sensitivity(scores, positive, target)
        sensitivity = sensitivity_specificity(scores, positive, threshold)["sensitivity"]
        assert target <= sensitivity < target + 1 / positive.sum() + 1e-9
        # a hair higher and the target is missed: the threshold is the largest possible
        above = sensitivity_specificity(scores, positive, np.nextafter(threshold, 2))
        assert above["sensitivity"] < target


def test_bad_targets_and_no_positives_are_refused():
    with pytest.raises(ValueError, match="target sensitivity"):
        threshold_for_sensitivity(np.ones(3), np.ones(3, bool), 0.0)
    with pytest.raises(ValueError, match="no positive"):
        threshold_for_sensitivity(np.ones(3), np.zeros(3, bool), 0.8)


def test_operating_point_uses_melanoma_and_summed_malignant_probabilities():
    mel, bcc, nv = HAM7.index("mel"), HAM7.index("bcc"), HAM7.index("nv")
    probs, labels = [], []
    for p in (0.9, 0.7, 0.5, 0.3, 0.1):  # five melanomas
        row = np.full(len(HAM7), (1 - p) / (len(HAM7) - 1))
        row[mel] = p
        probs.append(row)
        labels.append(mel)
    for p in (0.6, 0.2):  # two BCCs
        row = np.full(len(HAM7), (1 - p) / (len(HAM7) - 1))
        row[bcc] = p
        probs.append(row)
        labels.append(bcc)
    row = np.zeros(len(HAM7))
    row[nv] = 1.0
    probs.append(row)
    labels.append(nv)
    point = choose_operating_point(np.array(probs), np.array(labels), HAM7)
    assert point.t_mel == pytest.approx(0.3)  # 4 of 5 melanomas at or above
    malignant = np.array(probs)[:, [0, 1, mel]].sum(axis=1)
    assert point.t_mal == pytest.approx(sorted(malignant[:7])[0])  # 95 % of 7 needs all 7
    assert point.measured and point.chosen_on == "val"


def test_a_card_without_thresholds_serves_the_unmeasured_point():
    assert OperatingPoint.from_card({}) is UNMEASURED
    assert not UNMEASURED.measured
    entry = {"t_mel": 0.3, "t_mal": 0.1, "chosen_on": "val", "val": {}}
    assert OperatingPoint.from_card(entry).t_mel == 0.3
