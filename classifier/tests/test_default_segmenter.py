"""The committed default segmenter, as served (ONNX Runtime), on real HAM10000 test images."""

from __future__ import annotations

import csv

import cv2
import numpy as np
import pytest

from classifier.segmentation.runtime import DEFAULT_SEGMENTER, Segmenter, read_card
from classifier.tests.conftest import data_dir

DICE_FLOOR = 0.85  # test Dice of the whole split is 0.93; 16 images vary more
IMAGES = 16  # the first test images of metadata.csv: every class but df and vasc


@pytest.fixture(scope="module")
def test_pairs() -> list[tuple[str, np.ndarray, np.ndarray]]:
    root = data_dir()
    if not (root / "masks").is_dir():
        pytest.skip(f"HAM10000 masks not found under {root}")
    pairs = []
    with open(root / "metadata.csv", newline="") as handle:
        for row in csv.DictReader(handle):
            if row["split"] != "test":
                continue
            bgr = cv2.imread(str(root / "images" / f"{row['image_id']}.jpg"))
            grey = cv2.imread(str(root / "masks" / f"{row['image_id']}.png"), 0)
            pairs.append((row["dx"], cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), grey >= 128))
            if len(pairs) == IMAGES:
                break
    return pairs


def test_card_describes_the_served_file_and_its_test_figures():
    card = read_card(DEFAULT_SEGMENTER)
    assert card["kind"] == "lesion-segmenter"
    served = "model.int8.onnx" if card["serve"] == "int8" else "model.onnx"
    assert (DEFAULT_SEGMENTER / served).is_file()
    assert card["metrics"]["test"]["images"] == 1351
    low, high = card["metrics"]["test"]["intervals_95"]["dice"]
    assert low <= card["metrics"]["test"]["dice"] <= high


def test_default_segmenter_outlines_real_lesions(test_pairs):
    segmenter = Segmenter.default(threads=1)
    scores = []
    for _, rgb, truth in test_pairs:
        mask = segmenter.segment(rgb).mask
        assert mask.shape == truth.shape
        scores.append(2 * (mask & truth).sum() / (mask.sum() + truth.sum()))
    assert np.mean(scores) > DICE_FLOOR, scores
    assert min(scores) > 0.5, scores
