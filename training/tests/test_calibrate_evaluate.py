"""calibrate_model refits serving settings without touching the weights; evaluate_model
scores as served, fits nothing on a data set without a split column, and reproduces the card."""

from __future__ import annotations

import io
import json
import shutil
from pathlib import Path

import pytest
from django.core.management import call_command

from classifier.artifact import read_card, sha256_of
from classifier.predictor import Predictor
from training.tests.conftest import write_ham_dir

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "classifier" / "default_model"


@pytest.fixture
def model_copy(tmp_path) -> Path:
    copy = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, copy)
    return copy


def _evaluate(**options) -> dict:
    stdout = io.StringIO()
    call_command("evaluate_model", json=True, stdout=stdout, stderr=io.StringIO(), **options)
    return json.loads(stdout.getvalue())


@pytest.mark.django_db
def test_calibrate_writes_thresholds_and_gate_and_evaluate_reproduces_the_card(
    model_copy, tiny_ham_dir
):
    weights_before = sha256_of(model_copy / "weights.safetensors")
    stdout = io.StringIO()
    call_command(
        "calibrate_model",
        data=str(tiny_ham_dir),
        model=str(model_copy),
        no_progress=True,
        stdout=stdout,
    )
    assert "calibrated" in stdout.getvalue()
    card = read_card(model_copy)
    assert sha256_of(model_copy / "weights.safetensors") == weights_before == card.weights_sha256
    point = card.operating_point
    assert 0 < point["t_mel"] <= 1 and 0 < point["t_mal"] <= 1
    assert point["val"]["melanoma_high"]["sensitivity"] >= 0.8
    assert point["val"]["malignant_moderate_or_high"]["sensitivity"] >= 0.95
    assert card.gate["sha256"] == sha256_of(model_copy / "gate.npz")
    assert card.gate["corpus_images"] >= 30
    # val's gate distances, the reference monitoring measures drift against
    quantiles = card.gate["val_distance_quantiles"]
    assert len(quantiles) == 21 and quantiles["0.05"] <= quantiles["0.50"] <= quantiles["0.99"]
    assert "## Operating point" in (model_copy / "card.md").read_text()

    predictor = Predictor.from_artifact(model_copy, device="cpu", backend="torch")
    assert predictor.gate is not None and predictor.operating_point.t_mel == point["t_mel"]

    metrics = _evaluate(data=str(tiny_ham_dir), model=str(model_copy), split="test")
    assert metrics["split_column"] is True and metrics["images"] == 7
    assert {key: metrics[key] for key in card.metrics["test"]} == card.metrics["test"]
    assert set(metrics["policy_confusion"]) == {"melanoma", "malignant", "benign"}
    assert metrics["intervals_95"]["balanced_accuracy"] is not None


@pytest.mark.django_db
def test_evaluate_without_split_column_scores_all_of_it_and_fits_nothing(
    tmp_path, tiny_rows, model_copy
):
    columns = [c for c in tiny_rows[0] if c != "split"]
    data = write_ham_dir(tmp_path / "nosplit", tiny_rows, columns=columns)
    card_before = (model_copy / "card.json").read_bytes()
    served_temperature = read_card(model_copy).temperature

    metrics = _evaluate(data=str(data), model=str(model_copy), refit=True, bootstrap=50)
    assert metrics["split_column"] is False and metrics["split"] == "all"
    assert metrics["images"] == len(tiny_rows)
    assert metrics["temperature"] == served_temperature  # the card's, not fitted here
    refit = metrics["refit"]
    assert "half of the lesions" in refit["fitted_on"]
    assert 0 < refit["evaluated_images"] < len(tiny_rows)
    assert refit["served"]["temperature"] == served_temperature
    assert (model_copy / "card.json").read_bytes() == card_before


@pytest.mark.django_db
def test_calibrate_refuses_to_rewrite_the_active_stored_version(model_copy, tmp_path):
    from django.core.management.base import CommandError

    from classifier.services import register_model_version

    register_model_version(artifact_dir=model_copy, name="stored", activate=True)
    with pytest.raises(CommandError, match="does not change once registered"):
        call_command("calibrate_model", data=str(tmp_path), no_progress=True)
