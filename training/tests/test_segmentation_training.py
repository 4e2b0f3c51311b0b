"""Training, finishing and scoring the lesion segmenter on a few real HAM10000 images + masks."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from django.conf import settings
from django.core.management import call_command

from training.segmentation.metrics import overlap_scores, segmentation_report
from training.segmentation.train import SegTrainConfig, train_segmenter
from training.tests.conftest import write_ham_dir

TINY = SegTrainConfig(epochs=1, image_size=64, store_size=64, batch_size=4, limit=6, patience=5)


@pytest.fixture(scope="module")
def masked_ham_dir(tmp_path_factory, tiny_rows) -> Path:
    root = write_ham_dir(tmp_path_factory.mktemp("seg") / "ham", tiny_rows)
    (root / "masks").mkdir()
    source = Path(settings.DERMASCAN_DATA_DIR) / "masks"
    for row in tiny_rows:
        shutil.copyfile(
            source / f"{row['image_id']}.png", root / "masks" / f"{row['image_id']}.png"
        )
    return root


@pytest.fixture(scope="module")
def runs(masked_ham_dir, tmp_path_factory) -> tuple[Path, dict, dict]:
    """One epoch, then resumed for a second, then finished (one training run for the module:
    the first steps of oneDNN on a busy 2-core machine take seconds each)."""
    from training.segmentation.finish import finish_artifact

    out = tmp_path_factory.mktemp("segmenter")
    first = train_segmenter(masked_ham_dir, out, TINY, device="cpu", log=lambda _: None)
    more = SegTrainConfig(**{**TINY.__dict__, "epochs": 2})
    resumed = train_segmenter(
        masked_ham_dir, out, more, device="cpu", resume=True, log=lambda _: None
    )
    finish_artifact(out, masked_ham_dir, bootstrap_rounds=20, limit=4, log=lambda _: None)
    return out, first, resumed


@pytest.fixture(scope="module")
def finished_artifact(runs) -> Path:
    return runs[0]


def test_overlap_scores_of_two_offset_squares():
    a = np.zeros((10, 10), bool)
    b = np.zeros((10, 10), bool)
    a[0:4, 0:4], b[0:4, 2:6] = True, True  # 16 px each, 8 shared
    assert overlap_scores(a, b) == pytest.approx((0.5, 8 / 24))
    assert overlap_scores(np.zeros((3, 3)), np.zeros((3, 3))) == (1.0, 1.0)


def test_report_has_classes_and_lesion_grouped_intervals():
    dice = np.array([0.9, 0.8, 0.95, 0.7])
    report = segmentation_report(
        dice,
        dice - 0.1,
        ["nv", "nv", "mel", "mel"],
        np.array(["a", "a", "b", "c"]),
        bootstrap_rounds=50,
    )
    assert report["dice"] == pytest.approx(0.8375) and report["lesions"] == 3
    low, high = report["intervals_95"]["dice"]
    assert 0.7 <= low <= report["dice"] <= high <= 0.95
    assert report["per_class"]["mel"]["images"] == 2


def test_training_resumes_where_it_stopped(runs):
    _, first, resumed = runs
    assert first["epochs_run"] == 1
    assert [h["epoch"] for h in resumed["history"]] == [1, 2]
    assert resumed["history"][0] == first["history"][0]


def test_finished_artifact_serves_and_describes_itself(finished_artifact):
    from classifier.segmentation.runtime import Segmenter

    card = json.loads((finished_artifact / "card.json").read_text())
    assert card["serve"] in ("fp32", "int8") and card["image_size"] == 64
    assert card["int8"]["served"] == (card["serve"] == "int8")
    assert 0 <= card["metrics"]["test"]["dice"] <= 1
    assert len(card["data"]["masks_sha256"]) == 64
    segmenter = Segmenter(finished_artifact)
    mask = segmenter.segment(np.full((90, 120, 3), 128, np.uint8)).mask
    assert mask.shape == (90, 120) and mask.dtype == bool


def test_evaluate_model_scores_a_segmenter_on_a_folder(finished_artifact, masked_ham_dir, capsys):
    call_command(
        "evaluate_model",
        "--segmentation",
        "--model",
        str(finished_artifact),
        "--data",
        str(masked_ham_dir),
        "--split",
        "all",
        "--bootstrap",
        "20",
        "--json",
    )
    report = json.loads(capsys.readouterr().out)
    assert report["images"] == 35 and report["split"] == "all"
    assert set(report["per_class"]) == {"akiec", "bcc", "bkl", "df", "mel", "nv", "vasc"}
    assert report["intervals_95"]["dice"][0] <= report["dice"]
