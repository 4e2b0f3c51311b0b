"""The not-assessable gate: quality checks, the feature distance, and the served default model
on a corpus of non-lesion images and on real test images."""

from __future__ import annotations

import csv

import numpy as np
import pytest

from classifier.gate import FeatureGate, quality_problem
from classifier.nonlesion import nonlesion_corpus
from classifier.tests.conftest import REPO_ROOT, data_dir

DEFAULT_MODEL = REPO_ROOT / "classifier" / "default_model"


def test_real_lesion_images_pass_the_quality_checks(ham_images):
    from classifier.preprocessing import load_rgb

    assert [quality_problem(load_rgb(path)) for path in ham_images] == [""] * len(ham_images)


@pytest.mark.parametrize(
    ("image", "words"),
    [
        (np.full((300, 400, 3), (180, 120, 100), np.uint8), "nearly uniform"),
        (np.random.default_rng(0).integers(0, 25, (300, 300, 3), dtype=np.uint8), "too dark"),
        (np.random.default_rng(0).integers(232, 256, (300, 300, 3), dtype=np.uint8), "too bright"),
        (
            np.stack([np.tile(np.linspace(60, 200, 300), (300, 1))] * 3, axis=2).astype(np.uint8),
            "blurred",
        ),
    ],
)
def test_poor_images_fail_the_quality_checks_with_a_reason(image, words):
    assert words in quality_problem(image)


def test_feature_gate_rejects_far_points_and_about_the_chosen_share_of_near_ones():
    rng = np.random.default_rng(0)
    centres = rng.normal(0, 3, (3, 40))

    def sample(n):
        labels = rng.integers(0, 3, n)
        return centres[labels] + rng.normal(0, 1, (n, 40)), labels

    train, train_labels = sample(3000)
    val, _ = sample(2000)
    test, _ = sample(4000)
    gate = FeatureGate.fit(train, train_labels, components=8)
    gate.set_threshold(val, reject_share=0.02)
    assert gate.rejects(val).mean() == pytest.approx(0.02, abs=0.002)
    assert gate.rejects(test).mean() == pytest.approx(0.02, abs=0.01)
    far = rng.normal(0, 1, (200, 40)) + 12
    assert gate.rejects(far).all()


def test_feature_gate_round_trips_through_its_file(tmp_path):
    rng = np.random.default_rng(1)
    gate = FeatureGate.fit(rng.normal(size=(500, 16)), rng.integers(0, 2, 500), components=4)
    gate.set_threshold(rng.normal(size=(200, 16)), reject_share=0.05)
    path = tmp_path / "gate.npz"
    path.write_bytes(gate.to_bytes())
    loaded = FeatureGate.from_file(path, threshold=gate.threshold)
    probe = rng.normal(size=(50, 16)) * 2
    assert np.allclose(loaded.score(probe), gate.score(probe), rtol=2e-3)


@pytest.fixture(scope="module")
def served_default():
    from classifier.predictor import Predictor

    return Predictor.from_artifact(DEFAULT_MODEL, device="cpu", backend="torch")


def test_a_text_screenshot_is_not_assessable(served_default):
    from classifier.nonlesion import text_screenshot_png

    prediction = served_default.predict(text_screenshot_png(), heatmap=True)
    assert prediction.result_state == "not_assessable" and prediction.state_reason
    assert prediction.risk_level == "" and prediction.heatmap is None


@pytest.mark.slow
def test_default_model_rejects_the_corpus_and_hardly_any_test_lesions(served_default):
    corpus = nonlesion_corpus()
    states = [served_default.predict(image, heatmap=False).result_state for _, image in corpus]
    corpus_rate = np.mean([s == "not_assessable" for s in states])
    missed = [n for (n, _), s in zip(corpus, states, strict=True) if s != "not_assessable"]
    assert corpus_rate >= 0.95, missed

    metadata = data_dir() / "metadata.csv"
    if not metadata.is_file():
        pytest.skip(f"HAM10000 data not found at {data_dir()}")
    with metadata.open(newline="") as handle:
        test_rows = [row for row in csv.DictReader(handle) if row["split"] == "test"]
    sample = test_rows[::5]  # 271 real test images, fixed
    paths = [data_dir() / "images" / f"{row['image_id']}.jpg" for row in sample]
    predictions = served_default.predict_batch(paths, heatmap=False)
    test_rate = np.mean([p.result_state == "not_assessable" for p in predictions])
    assert test_rate <= 0.03
    card_rates = served_default.card.gate
    assert card_rates["corpus_not_assessable_rate"] >= 0.95
    assert card_rates["test_not_assessable_rate"] <= 0.03


@pytest.mark.parametrize(
    ("sample", "state"),
    [("mel_ISIC_0029281", "high"), ("bcc_ISIC_0026760", "moderate"), ("nv_ISIC_0032212", "low")],
)
def test_default_model_gives_real_lesions_a_risk_state(served_default, sample, state):
    prediction = served_default.predict(REPO_ROOT / "tests" / "samples" / f"{sample}.jpg")
    assert prediction.result_state == prediction.risk_level == state
    assert prediction.heatmap is not None and prediction.ood_score < served_default.gate.threshold


def test_default_model_calls_an_uncertain_real_lesion_inconclusive(served_default):
    # A test-split benign keratosis the default model is unsure about (nevus vs bkl)
    path = data_dir() / "images" / "ISIC_0031253.jpg"
    if not path.is_file():
        pytest.skip(f"HAM10000 data not found at {data_dir()}")
    prediction = served_default.predict(path, heatmap=False)
    assert prediction.uncertain and prediction.result_state == "inconclusive"
    assert prediction.risk_level == "" and "Clinician review" in prediction.recommended_action
