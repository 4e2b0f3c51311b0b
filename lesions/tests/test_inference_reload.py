"""A worker serves the card it finds: a recalibrated card (new thresholds, same weights)
is loaded for the next task without a restart."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest

from lesions import inference

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
