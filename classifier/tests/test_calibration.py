import numpy as np
import pytest

from classifier.calibration import (
    assess_uncertainty,
    expected_calibration_error,
    fit_temperature,
    normalised_entropy,
    softmax,
)


def test_softmax_rows_sum_to_one_and_temperature_flattens():
    logits = np.array([[2.0, 1.0, -1.0], [1000.0, 0.0, 0.0]])
    probs = softmax(logits)
    np.testing.assert_allclose(probs.sum(axis=1), 1.0)
    assert softmax(logits[:1], 3.0).max() < probs[0].max()


@pytest.mark.parametrize("true_temperature", [0.5, 2.0])
def test_fit_temperature_recovers_the_temperature_that_generated_the_labels(true_temperature):
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, size=(20000, 5))
    probs = softmax(logits, true_temperature)
    labels = np.array([rng.choice(5, p=p) for p in probs])
    assert fit_temperature(logits, labels) == pytest.approx(true_temperature, rel=0.05)


def test_fit_temperature_rejects_bad_shapes():
    with pytest.raises(ValueError):
        fit_temperature(np.zeros((3, 2)), np.zeros(4))


def test_normalised_entropy_is_zero_for_one_hot_and_one_for_uniform():
    assert normalised_entropy(np.array([1.0, 0.0, 0.0])) == pytest.approx(0.0, abs=1e-9)
    assert normalised_entropy(np.full(7, 1 / 7)) == pytest.approx(1.0)


def test_uniform_probabilities_are_uncertain_with_both_reasons():
    result = assess_uncertainty(np.full(7, 1 / 7))
    assert result.uncertain
    assert "below 60%" in result.message and "spread across classes" in result.message


def test_confident_prediction_is_not_uncertain():
    result = assess_uncertainty(np.array([0.9, 0.05, 0.05]))
    assert not result.uncertain and result.confidence == pytest.approx(0.9)


def test_thresholds_decide():
    probs = np.array([0.55, 0.45])
    assert assess_uncertainty(probs, entropy_threshold=1.0).uncertain
    assert not assess_uncertainty(probs, confidence_threshold=0.5, entropy_threshold=1.0).uncertain
    # Confident enough, but high entropy alone also flags it.
    assert assess_uncertainty(probs, confidence_threshold=0.5, entropy_threshold=0.9).uncertain


def test_expected_calibration_error():
    probs = np.array([[1.0, 0.0], [0.0, 1.0]])
    assert expected_calibration_error(probs, np.array([0, 1])) == 0.0
    assert expected_calibration_error(probs, np.array([1, 0])) == pytest.approx(1.0)
