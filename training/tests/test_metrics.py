"""Metrics against hand-computed cases; temperature fitting recovers a known temperature."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from classifier.calibration import combine_views, fit_temperature, softmax
from training.losses import FocalLoss, class_weights_for
from training.metrics import (
    balanced_accuracy,
    classification_metrics,
    expected_calibration_error,
    operating_points,
)
from training.mixing import mix_batch


def test_balanced_accuracy_is_mean_recall():
    labels = np.array([0, 0, 0, 0, 1, 1])
    predicted = np.array([0, 0, 0, 1, 1, 0])
    assert balanced_accuracy(labels, predicted) == pytest.approx((3 / 4 + 1 / 2) / 2)


def test_perfectly_calibrated_predictions_have_zero_ece():
    probs = np.array([[1.0, 0.0]] * 10)
    assert expected_calibration_error(probs, np.zeros(10, dtype=int)) == 0.0
    # 80 % confident, right 4 times in 5
    probs = np.array([[0.8, 0.2]] * 5)
    assert expected_calibration_error(probs, np.array([0, 0, 0, 0, 1])) == pytest.approx(0.0)
    assert expected_calibration_error(probs, np.array([0, 1, 1, 1, 1])) == pytest.approx(0.6)


def test_temperature_fit_recovers_the_temperature_that_generated_the_labels():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(4000, 5))
    true_t = 2.5
    probs = softmax(logits, true_t)
    labels = np.array([rng.choice(5, p=p) for p in probs])
    fitted = fit_temperature(logits[:, None, :], labels)  # one "view"
    assert fitted == pytest.approx(true_t, rel=0.1)
    assert expected_calibration_error(combine_views(logits[:, None, :], fitted), labels) < 0.03
    assert expected_calibration_error(softmax(logits), labels) > 0.1


def test_combine_views_averages_tempered_softmaxes():
    view_logits = np.array([[[2.0, 0.0], [0.0, 2.0]]])
    assert combine_views(view_logits, 1.0) == pytest.approx(np.array([[0.5, 0.5]]))


def test_operating_points_on_a_known_ranking():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.1, 0.05])
    positive = np.array([1, 1, 0, 1, 0, 0, 0, 0, 0, 0], dtype=bool)
    points = operating_points(scores, positive)
    # threshold 0.6 catches all 3 melanomas with 1 false positive of 7: specificity 6/7
    assert points["sensitivity_at_specificity_80"] == pytest.approx(1.0)
    assert points["specificity_at_sensitivity_90"] == pytest.approx(6 / 7)


def test_classification_metrics_reports_every_class_and_melanoma():
    classes = ["bcc", "mel", "nv"]
    labels = np.array([0, 1, 1, 2, 2, 2])
    probs = np.array(
        [
            [0.7, 0.2, 0.1],
            [0.1, 0.8, 0.1],
            [0.2, 0.3, 0.5],
            [0.1, 0.1, 0.8],
            [0, 0.2, 0.8],
            [0.1, 0.1, 0.8],
        ]
    )
    metrics = classification_metrics(probs, labels, classes)
    assert metrics["accuracy"] == pytest.approx(5 / 6)
    assert metrics["per_class"]["mel"]["recall"] == pytest.approx(0.5)
    assert metrics["per_class"]["nv"]["precision"] == pytest.approx(3 / 4)
    assert metrics["melanoma"]["auc"] == pytest.approx(1.0)
    assert metrics["confusion_matrix"] == [[1, 0, 0], [0, 1, 1], [0, 0, 3]]


def test_focal_loss_down_weights_easy_examples_and_applies_class_weights():
    logits = torch.tensor([[4.0, 0.0], [0.0, 0.5]])
    targets = torch.tensor([0, 1])
    plain = FocalLoss(gamma=0.0, label_smoothing=0.0)(logits, targets)
    expected = torch.nn.functional.cross_entropy(logits, targets)
    assert float(plain) == pytest.approx(float(expected), abs=1e-6)
    focal = FocalLoss(gamma=2.0, label_smoothing=0.0)(logits, targets)
    assert focal < plain
    weighted = FocalLoss(gamma=0.0, label_smoothing=0.0, class_weights=torch.tensor([1.0, 3.0]))
    assert weighted(logits, targets) > plain


def test_class_weights_favour_rare_classes():
    weights = class_weights_for([800, 200, 50], power=0.5)
    assert float(weights.mean()) == pytest.approx(1.0)
    assert float(weights[2] / weights[0]) == pytest.approx(4.0)


def test_mixing_keeps_targets_summing_to_one():
    rng = np.random.default_rng(0)
    images = torch.rand(6, 3, 16, 16)
    targets = torch.nn.functional.one_hot(torch.arange(6) % 3, 3).float()
    for _ in range(20):
        mixed, mixed_targets = mix_batch(images, targets, rng, prob=1.0)
        assert mixed.shape == images.shape
        assert torch.allclose(mixed_targets.sum(1), torch.ones(6))
