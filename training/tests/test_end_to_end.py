"""A tiny real run: train_model -> artifact -> Predictor -> evaluate_model --json -> registry."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command

from classifier.models import ModelVersion
from classifier.predictor import Predictor
from classifier.registry import served_model


@pytest.mark.django_db
def test_tiny_run_gives_an_artifact_the_engine_serves_and_evaluate_scores(
    tmp_path, tiny_ham_dir, tiny_rows
):
    out = tmp_path / "artifact"
    call_command(
        "train_model",
        data=str(tiny_ham_dir),
        out=str(out),
        checkpoint_dir=str(tmp_path / "ckpt"),
        epochs=1,
        img_size=64,
        batch_size=8,
        name="tiny-e2e",
        activate=True,
        no_progress=True,
        stdout=io.StringIO(),
    )
    for name in (
        "weights.safetensors",
        "card.json",
        "card.md",
        "history.json",
        "confusion_matrix.png",
        "roc_curves.png",
        "reliability_diagram.png",
        "training_curves.png",
    ):
        assert (out / name).is_file(), name
    assert (tmp_path / "ckpt" / "last.pt").is_file()

    card = json.loads((out / "card.json").read_text())
    assert card["input_size"] == 64
    assert card["temperature"] > 0
    assert card["training"]["data"]["counts"]["train"]["total"] == 21
    assert card["metrics"]["test"]["tta_views"] == 8

    version = ModelVersion.objects.get(name="tiny-e2e")
    assert version.is_active and version.sha256 == card["weights_sha256"]
    # served from this machine's copy out of the model store: the same files
    served_dir = served_model().directory
    assert served_dir.parent == Path(settings.DERMASCAN_MODEL_CACHE)
    for name in ("weights.safetensors", "card.json", "gate.npz"):
        assert (served_dir / name).read_bytes() == (out / name).read_bytes()

    predictor = Predictor.from_artifact(out)
    image = tiny_ham_dir / "images" / f"{tiny_rows[0]['image_id']}.jpg"
    prediction = predictor.predict(image, tta=True, heatmap=False)
    assert prediction.label in card["classes"]
    assert sum(prediction.probabilities.values()) == pytest.approx(1.0, abs=1e-5)
    assert prediction.tta_views == 8

    stdout = io.StringIO()
    call_command(
        "evaluate_model",
        data=str(tiny_ham_dir),
        version=version.number,
        json=True,
        report_dir=str(tmp_path / "report"),
        stdout=stdout,
        stderr=io.StringIO(),
    )
    metrics = json.loads(stdout.getvalue())
    assert metrics["images"] == 7 and metrics["split"] == "test"
    assert set(metrics["per_class"]) == set(card["classes"])
    assert 0.0 <= metrics["balanced_accuracy"] <= 1.0
    assert metrics["melanoma"]["auc"] is not None
    # scored as served: the card's temperature, thresholds and gate reproduce its figures
    assert (out / "gate.npz").is_file() and card["gate"]["sha256"]
    assert {"t_mel", "t_mal", "val", "test"} <= set(card["operating_point"])
    assert {key: metrics[key] for key in card["metrics"]["test"]} == card["metrics"]["test"]
    assert (tmp_path / "report" / "roc_curves.png").is_file()
