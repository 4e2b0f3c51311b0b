"""A worker serves the card it finds: a recalibrated card (new thresholds, same weights)
is loaded for the next task without a restart."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lesions.pipeline import inference

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "classifier" / "default_model"


@pytest.mark.django_db
def test_recalibrated_default_model_is_reloaded(settings, tmp_path, monkeypatch):
    model = tmp_path / "model"
    shutil.copytree(DEFAULT_MODEL, model)
    settings.DERMASCAN_DEFAULT_MODEL = model
    settings.DERMASCAN_INFERENCE_BACKEND = "torch"
    monkeypatch.setattr(inference, "_loaded", None)

    first = inference.current_model()
    assert inference.current_model() is first  # loaded once, not per task

    card_path = model / "card.json"
    card = json.loads(card_path.read_text())
    card["operating_point"]["t_mel"] = 0.5
    card_path.write_text(json.dumps(card))
    stat = card_path.stat()
    os.utime(card_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))

    second = inference.current_model()
    assert second is not first and second.predictor.operating_point.t_mel == 0.5


@pytest.fixture
def stored_version(settings, tmp_path, model_artifact):
    """An active version registered on a training machine whose disk the worker cannot see."""
    from classifier.services import register_model_version

    run = shutil.copytree(model_artifact, tmp_path / "training-run")
    version = register_model_version(artifact_dir=run, name="stored", activate=True)
    shutil.rmtree(run)
    settings.DERMASCAN_MODEL_CACHE = tmp_path / "worker-cache"  # this worker has no copy yet
    settings.DERMASCAN_INFERENCE_BACKEND = "torch"
    return version


@pytest.mark.django_db
def test_a_worker_loads_the_active_version_from_the_model_store(
    settings, stored_version, monkeypatch
):
    monkeypatch.setattr(inference, "_loaded", None)
    monkeypatch.setattr(inference, "_failure", None)

    loaded = inference.current_model()
    assert loaded.info.model_version_id == stored_version.pk
    assert loaded.info.sha256 == stored_version.sha256
    assert inference.current_model() is loaded
    copies = [p for p in Path(settings.DERMASCAN_MODEL_CACHE).iterdir() if p.is_dir()]
    assert [p.name for p in copies] == [Path(stored_version.store_path).name]


@pytest.mark.django_db
def test_a_corrupt_stored_version_fails_with_a_reason_and_is_not_fetched_per_task(
    settings, stored_version, model_store, monkeypatch
):
    monkeypatch.setattr(inference, "_loaded", None)
    monkeypatch.setattr(inference, "_failure", None)
    weights = model_store / stored_version.store_path / "weights.safetensors"
    intact = weights.read_bytes()
    weights.write_bytes(intact[:-1] + bytes([intact[-1] ^ 0xFF]))

    with pytest.raises(inference.ModelUnavailable, match="could not be loaded"):
        inference.current_model()
    weights.write_bytes(intact)  # repaired, but the next task within the retry delay...
    with pytest.raises(inference.ModelUnavailable):
        inference.current_model()  # ...does not download again
    assert not Path(settings.DERMASCAN_MODEL_CACHE).exists() or not [
        p for p in Path(settings.DERMASCAN_MODEL_CACHE).iterdir() if p.is_dir()
    ]
