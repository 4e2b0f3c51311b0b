"""Lesion measurements on real HAM10000 images and masks, and on shapes with known answers."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from classifier.errors import EngineError
from classifier.measurements import measure
from classifier.measurements.colours import colour_shares
from classifier.measurements.synthetic import grow
from classifier.tests.conftest import data_dir


def real_pair(image_id: str) -> tuple[np.ndarray, np.ndarray]:
    root = data_dir()
    bgr = cv2.imread(str(root / "images" / f"{image_id}.jpg"))
    grey = cv2.imread(str(root / "masks" / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE)
    if bgr is None or grey is None:
        pytest.skip(f"HAM10000 image or mask {image_id} not found under {root}")
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB), grey >= 128


def ellipse(axes=(60, 30), angle=30.0) -> np.ndarray:
    mask = np.zeros((256, 256), np.uint8)
    cv2.ellipse(mask, (128, 128), axes, angle, 0, 360, 1, -1)
    return mask.astype(bool)


def test_ellipse_diameters_and_symmetry():
    rgb = np.full((256, 256, 3), 180, np.uint8)
    result = measure(rgb, ellipse())
    assert result.diameter_px == pytest.approx(121, abs=2)
    assert result.width_px == pytest.approx(61, abs=2)
    assert max(result.asymmetry_shape) < 0.03
    # OpenCV fills the boundary pixels too: half a pixel more on each semi-axis
    assert result.area_px == pytest.approx(math.pi * 60.5 * 30.5, rel=0.01)


def test_disc_has_compactness_one_and_a_notched_one_more():
    rgb = np.full((256, 256, 3), 180, np.uint8)
    disc = np.zeros((256, 256), np.uint8)
    cv2.circle(disc, (128, 128), 60, 1, -1)
    notched = disc.copy()
    for k in range(12):  # twelve notches: an irregular border
        a = 2 * math.pi * k / 12
        cv2.circle(notched, (int(128 + 60 * math.cos(a)), int(128 + 60 * math.sin(a))), 8, 0, -1)
    assert measure(rgb, disc > 0).compactness == pytest.approx(1.0, abs=0.03)
    assert measure(rgb, notched > 0).compactness > 1.3


def test_millimetres_follow_the_field_of_view():
    rgb, mask = real_pair("ISIC_0025837")
    pixels = measure(rgb, mask)
    calibrated = measure(rgb, mask, field_of_view_mm=12.8)  # 0.05 mm per pixel
    assert calibrated.diameter_mm == pytest.approx(pixels.diameter_px * 0.05)
    assert calibrated.area_mm2 == pytest.approx(pixels.area_px * 0.0025)
    assert pixels.diameter_mm is None
    data = calibrated.to_dict()
    assert data["abcd"]["heuristic"] is True and 1 <= data["abcd"]["C"] <= 6


def test_known_growth_is_measured_within_tolerance():
    rgb, mask = real_pair("ISIC_0025837")
    grown_rgb, grown_mask = grow(rgb, mask, 1.3)
    before, after = measure(rgb, mask), measure(grown_rgb, grown_mask)
    assert after.area_px / before.area_px - 1 == pytest.approx(0.30, abs=0.03)
    assert after.diameter_px / before.diameter_px == pytest.approx(math.sqrt(1.3), abs=0.03)


def test_dark_patch_is_black_and_pale_pink_is_not_brown():
    rgb = np.full((100, 100, 3), (215, 170, 160), np.uint8)  # skin
    mask = np.zeros((100, 100), bool)
    mask[30:70, 30:70] = True
    rgb[30:50, 30:70] = (20, 15, 15)
    rgb[50:70, 30:70] = (150, 95, 60)
    shares = colour_shares(rgb, mask)
    assert shares["black"] == pytest.approx(0.5, abs=0.05)
    assert shares["light_brown"] + shares["dark_brown"] == pytest.approx(0.5, abs=0.05)


def test_empty_mask_is_refused():
    with pytest.raises(EngineError):
        measure(np.zeros((50, 50, 3), np.uint8), np.zeros((50, 50), bool))
