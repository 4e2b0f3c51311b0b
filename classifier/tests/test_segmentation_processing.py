"""Pre/post-processing of the lesion segmenter on real HAM10000 masks."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.segmentation.processing import clean_mask, probability_to_mask, to_input
from classifier.tests.conftest import data_dir


@pytest.fixture(scope="module")
def real_mask() -> np.ndarray:
    import cv2

    path = data_dir() / "masks" / "ISIC_0027419.png"
    if not path.is_file():
        pytest.skip(f"HAM10000 masks not found at {path.parent}")
    return cv2.imread(str(path), cv2.IMREAD_GRAYSCALE) >= 128


def test_input_is_normalised_to_minus_one_one():
    rgb = np.zeros((300, 200, 3), np.uint8)
    rgb[..., 0] = 255
    batch = to_input(rgb, 128)
    assert batch.shape == (1, 3, 128, 128) and batch.dtype == np.float32
    assert np.allclose(batch[0, 0], 1.0) and np.allclose(batch[0, 1:], -1.0)


def test_specks_are_dropped_and_holes_filled(real_mask):
    noisy = real_mask.copy()
    noisy[2:6, 2:6] = True  # a speck of hair or ruler in the corner
    ys, xs = np.nonzero(real_mask)
    cy, cx = int(ys.mean()), int(xs.mean())
    noisy[cy - 3 : cy + 3, cx - 3 : cx + 3] = False  # a pale regression area inside
    cleaned = clean_mask(noisy)
    assert not cleaned[2:6, 2:6].any()
    assert cleaned[cy - 3 : cy + 3, cx - 3 : cx + 3].all()


def test_empty_probability_gives_empty_mask():
    assert not probability_to_mask(np.zeros((64, 64)), 100, 80).any()


def test_probability_is_resized_back_to_the_image(real_mask):
    import cv2

    small = cv2.resize(real_mask.astype(np.float32), (128, 128), interpolation=cv2.INTER_AREA)
    mask = probability_to_mask(small, *real_mask.shape)
    assert mask.shape == real_mask.shape
    overlap = (mask & real_mask).sum() * 2 / (mask.sum() + real_mask.sum())
    assert overlap > 0.98
