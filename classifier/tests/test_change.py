"""Change between two visits, on real HAM10000 images with synthetic second visits."""

from __future__ import annotations

import numpy as np
import pytest

from classifier.measurements.change import compare_visits
from classifier.measurements.synthetic import Retake, grow, retake
from classifier.tests.test_measurements import real_pair

# Test-split images whose lesion lies inside the frame (a grown lesion must stay in it).
IMAGES = ("ISIC_0025837", "ISIC_0025286", "ISIC_0033900")


@pytest.mark.parametrize("image_id", IMAGES)
def test_rotated_zoomed_relit_retake_is_not_a_change(image_id):
    rgb, mask = real_pair(image_id)
    params = Retake(
        angle_deg=70,
        scale=1.15,
        shift=(0.05, -0.04),
        gain=0.85,
        gamma=1.2,
        cast=(1.05, 0.97, 0.95),
        jpeg_quality=80,
    )
    later, later_mask = retake(rgb, mask, params)
    result = compare_visits(rgb, mask, later, later_mask)
    assert result.alignment.ok, result.alignment.reason
    assert result.alignment.scale == pytest.approx(1 / 1.15, abs=0.01)
    assert abs(result.area_change) < 0.05  # the flag needs 12 %
    assert result.changed is False


@pytest.mark.parametrize("image_id", IMAGES)
def test_twenty_percent_growth_is_measured_and_flagged(image_id):
    rgb, mask = real_pair(image_id)
    grown, grown_mask = grow(rgb, mask, 1.2)
    true_growth = grown_mask.sum() / mask.sum() - 1
    later, later_mask = retake(grown, grown_mask, Retake.random(np.random.default_rng(3)))
    result = compare_visits(rgb, mask, later, later_mask, field_of_view_mm=15.0)
    assert result.alignment.ok, result.alignment.reason
    assert result.area_change == pytest.approx(true_growth, abs=0.03)
    assert result.area_change_mm2 > 0
    assert result.changed is True
    assert result.overlay.shape == rgb.shape
    assert result.to_dict()["thresholds"]["area_change"] > 0


def test_a_different_lesion_is_refused_with_a_reason():
    rgb, mask = real_pair(IMAGES[0])
    other, other_mask = real_pair("ISIC_0034011")
    result = compare_visits(rgb, mask, other, other_mask)
    assert result.alignment.ok is False
    assert result.changed is None and result.reasons[0].startswith("not comparable")
