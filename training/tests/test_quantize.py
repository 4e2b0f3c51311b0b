"""quantize_model: an int8 export calibrated on train images, compared with fp32 on test,
served only within the tolerances; and the committed default model's two exports agree."""

from __future__ import annotations

import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from classifier.artifact import read_card, sha256_of, write_card
from classifier.errors import ArtifactError, EngineError
from classifier.export import usable_export
from classifier.export_check import INT8_ATOL
from classifier.model_card import INT8_ONNX_FILE
from classifier.predictor import Predictor
from classifier.tests.test_export_check import scale_head_weights
from training.data import load_dataset
from training.quantize import Tolerance, calibration_samples, within_tolerance
from training.splits import ensure_split
from training.tests.conftest import write_ham_dir

REPO_ROOT = Path(__file__).resolve().parents[2]
DEFAULT_MODEL = REPO_ROOT / "classifier" / "default_model"
SAMPLES = sorted((REPO_ROOT / "tests" / "samples").glob("*.jpg"))


@pytest.fixture(scope="module")
def default_predictors():
    card = read_card(DEFAULT_MODEL)
    if usable_export(DEFAULT_MODEL, card) is None:
        pytest.fail("the default model has no fp32 export: bin/setup writes it (export_onnx)")
    fp32 = Predictor.from_artifact(DEFAULT_MODEL, backend="onnx-fp32", threads=1)
    int8 = Predictor.from_artifact(DEFAULT_MODEL, backend="onnx-int8", threads=1)
    return fp32, int8


def test_the_committed_default_serves_a_verified_export_without_torch():
    card = read_card(DEFAULT_MODEL)
    assert usable_export(DEFAULT_MODEL, card) is not None  # its bytes or its outputs checked
    assert usable_export(DEFAULT_MODEL, card, int8=True) is not None
    served = Predictor.from_artifact(DEFAULT_MODEL, device="cpu")
    expected = "onnx-int8" if card.onnx_int8.get("served") else "onnx"
    assert served.backend_name == expected and served.model is None


def test_int8_and_fp32_agree_on_the_sample_images_and_their_heatmaps_correlate(
    default_predictors,
):
    fp32, int8 = default_predictors
    agree = 0
    for path in SAMPLES:
        a, b = fp32.predict(path), int8.predict(path)
        agree += a.label == b.label
        assert max(abs(a.probabilities[c] - b.probabilities[c]) for c in a.probabilities) < 0.15
        if a.heatmap_raw is None or b.heatmap_raw is None:  # a not-assessable image has none
            assert a.heatmap_raw is None and b.heatmap_raw is None
            continue
        assert np.corrcoef(a.heatmap_raw.ravel(), b.heatmap_raw.ravel())[0, 1] > 0.9
    assert agree >= len(SAMPLES) - 1, f"top class agrees on {agree} of {len(SAMPLES)}"


def test_card_records_the_comparison_it_served_by():
    entry = read_card(DEFAULT_MODEL).onnx_int8
    comparison = entry["comparison"]
    assert comparison["images"] > 1000 and 0.9 <= comparison["top_class_agreement"] <= 1
    served, reason = within_tolerance(comparison, Tolerance())
    assert entry["served"] is served and entry["reason"] == reason


def test_tolerances_decide_what_is_served():
    def comparison(ba: float, auc: float) -> dict:
        return {
            "fp32": {"balanced_accuracy": 0.70, "melanoma_auc": 0.90},
            "int8": {"balanced_accuracy": ba, "melanoma_auc": auc},
        }

    assert within_tolerance(comparison(0.695, 0.897), Tolerance())[0]
    assert within_tolerance(comparison(0.71, 0.91), Tolerance())[0]  # better is fine too
    served, reason = within_tolerance(comparison(0.685, 0.899), Tolerance())
    assert not served and reason.startswith("fp32 served") and "0.6850" in reason
    assert not within_tolerance(comparison(0.70, 0.894), Tolerance())[0]


def test_calibration_images_are_balanced_and_repeatable(tiny_ham_dir):
    data = ensure_split(load_dataset(tiny_ham_dir, labels="ham7"))
    chosen = calibration_samples(data, 14, seed=3)
    assert len(chosen) == 14 and {s.split for s in chosen} == {"train"}
    assert sorted({s.label for s in chosen}) == sorted(data.classes)  # 2 of each of 7
    assert [s.path for s in calibration_samples(data, 14, seed=3)] == [s.path for s in chosen]
    assert len(calibration_samples(data, 1000, seed=0)) == len(data.in_split("train"))


@pytest.mark.django_db
def test_quantize_model_writes_a_checked_int8_export_and_its_comparison(tmp_path, tiny_ham_dir):
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, model, ignore=shutil.ignore_patterns(INT8_ONNX_FILE))
    card = read_card(model)
    card.onnx_int8 = {}
    write_card(card, model)
    stdout = io.StringIO()
    call_command(
        "quantize_model",
        data=str(tiny_ham_dir),
        model=str(model),
        images=14,
        no_progress=True,
        stdout=stdout,
    )
    entry = read_card(model).onnx_int8
    assert entry["sha256"] == sha256_of(model / INT8_ONNX_FILE)
    assert entry["calibration"]["images"] == 14
    assert entry["comparison"]["images"] == 7  # the tiny test split
    assert entry["reason"] in stdout.getvalue()
    predictor = Predictor.from_artifact(model, backend="onnx-int8", threads=1)
    result = predictor.predict(SAMPLES[0])
    assert result.heatmap is not None and abs(sum(result.probabilities.values()) - 1) < 1e-6

    # Served by default exactly when the card says so
    card = read_card(model)
    for served, backend in ((True, "onnx-int8"), (False, "onnx")):
        card.onnx_int8["served"] = served
        write_card(card, model)
        assert Predictor.from_artifact(model, device="cpu").backend_name == backend

    # An int8 file that computes something else is refused, not served
    assert entry["reference"]["atol"] == INT8_ATOL
    scale_head_weights(model / INT8_ONNX_FILE, 1.5)
    with pytest.raises(ArtifactError, match="does not reproduce the card's reference outputs"):
        Predictor.from_artifact(model, backend="onnx-int8")
    (model / INT8_ONNX_FILE).unlink()
    with pytest.raises(EngineError, match="no current int8 export"):
        Predictor.from_artifact(model, backend="onnx-int8")


def test_quantize_model_needs_a_model_directory(tiny_ham_dir):
    with pytest.raises(CommandError, match="model"):
        call_command("quantize_model", data=str(tiny_ham_dir), stdout=io.StringIO())


@pytest.mark.django_db
def test_a_run_that_cannot_compare_leaves_the_artifact_as_it_was(tmp_path, tiny_rows):
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, model)
    card_before = (model / "card.json").read_bytes()
    int8_before = (model / INT8_ONNX_FILE).read_bytes()
    no_test = write_ham_dir(tmp_path / "no_test", [r for r in tiny_rows if r["split"] != "test"])
    with pytest.raises(CommandError, match="needs a test split"):
        call_command(
            "quantize_model", data=str(no_test), model=str(model), images=7, stdout=io.StringIO()
        )
    assert (model / "card.json").read_bytes() == card_before
    assert (model / INT8_ONNX_FILE).read_bytes() == int8_before
    assert not [p for p in model.iterdir() if p.name.startswith(".")]  # no temporary files
