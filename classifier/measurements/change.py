"""Change of one lesion between two visits: align, measure both in the earlier frame, compare.

``compare_visits`` registers the later image onto the earlier one (``registration.align``),
warps the later mask into the earlier image's pixels (so a zoomed or rotated photograph does
not read as growth), measures both, and reports the differences. ``changed`` is True when the
area changed by at least ``AREA_CHANGE`` (relative) or the longest diameter by at least
``DIAMETER_CHANGE``. With ground-truth masks no retake is flagged and 97 % of 20 % growths
are; with the segmenter's masks its outline noise (p90 of |area error| about 13 %) flags about
10 % of retakes and misses about 28 % of 20 % growths (bench/change_detection.py): the
targets (<= 5 %, >= 90 %) are NOT met yet; see docs/segmentation.md. New or lost colours
and asymmetry change are reported beside the flag, not in it: the colour rules are sensitive
to lighting (docs/segmentation.md has the false-change rates).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from classifier.measurements.lesion import LesionMeasurements, measure
from classifier.measurements.registration import Alignment, align

AREA_CHANGE = 0.12
DIAMETER_CHANGE = 0.12
EARLIER_COLOUR = (0, 200, 0)  # RGB outline colours of the overlay
LATER_COLOUR = (230, 0, 200)


@dataclass
class VisitChange:
    alignment: Alignment
    earlier: LesionMeasurements | None = None
    later: LesionMeasurements | None = None
    area_change: float | None = None  # relative: +0.25 = a quarter larger
    diameter_change: float | None = None
    area_change_mm2: float | None = None
    diameter_change_mm: float | None = None
    asymmetry_change: float | None = None  # mean shape asymmetry, later - earlier
    new_colours: list[str] = field(default_factory=list)
    lost_colours: list[str] = field(default_factory=list)
    changed: bool | None = None  # None: not comparable (see alignment.reason)
    reasons: list[str] = field(default_factory=list)
    overlay: np.ndarray | None = None  # RGB, the earlier image with both outlines

    def to_dict(self) -> dict:
        return {
            "comparable": self.alignment.ok,
            "alignment": self.alignment.to_dict(),
            "earlier": self.earlier.to_dict() if self.earlier else None,
            "later": self.later.to_dict() if self.later else None,
            "area_change": self.area_change,
            "diameter_change": self.diameter_change,
            "area_change_mm2": self.area_change_mm2,
            "diameter_change_mm": self.diameter_change_mm,
            "asymmetry_change": self.asymmetry_change,
            "new_colours": self.new_colours,
            "lost_colours": self.lost_colours,
            "changed": self.changed,
            "reasons": self.reasons,
            "thresholds": {"area_change": AREA_CHANGE, "diameter_change": DIAMETER_CHANGE},
        }


def warp_into(
    earlier_shape: tuple, later: np.ndarray, matrix: np.ndarray, *, mask: bool
) -> np.ndarray:
    size = (earlier_shape[1], earlier_shape[0])
    if mask:
        moved = cv2.warpAffine(later.astype(np.float32), matrix, size, flags=cv2.INTER_LINEAR)
        return moved >= 0.5
    return cv2.warpAffine(
        later, matrix, size, flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )


def compare_visits(
    earlier_rgb: np.ndarray,
    earlier_mask: np.ndarray,
    later_rgb: np.ndarray,
    later_mask: np.ndarray,
    *,
    field_of_view_mm: float | None = None,
    method: str = "features",
) -> VisitChange:
    """Compare two visits' images and masks; ``field_of_view_mm`` is the earlier image's width."""
    alignment = align(earlier_rgb, later_rgb, earlier_mask, later_mask, method=method)
    result = VisitChange(alignment=alignment)
    if not alignment.ok:
        result.reasons = [f"not comparable: {alignment.reason}"]
        return result
    moved_mask = warp_into(earlier_rgb.shape, later_mask, alignment.matrix, mask=True)
    moved_rgb = warp_into(earlier_rgb.shape, later_rgb, alignment.matrix, mask=False)
    result.earlier = measure(earlier_rgb, earlier_mask, field_of_view_mm=field_of_view_mm)
    result.later = measure(moved_rgb, moved_mask, field_of_view_mm=field_of_view_mm)
    before, after = result.earlier, result.later
    result.area_change = after.area_px / before.area_px - 1
    result.diameter_change = after.diameter_px / before.diameter_px - 1
    if field_of_view_mm:
        result.area_change_mm2 = after.area_mm2 - before.area_mm2
        result.diameter_change_mm = after.diameter_mm - before.diameter_mm
    result.asymmetry_change = float(
        np.mean(after.asymmetry_shape) - np.mean(before.asymmetry_shape)
    )
    result.new_colours = [c for c in after.colours if c not in before.colours]
    result.lost_colours = [c for c in before.colours if c not in after.colours]
    if abs(result.area_change) >= AREA_CHANGE:
        result.reasons.append(f"area {result.area_change:+.0%} (threshold {AREA_CHANGE:.0%})")
    if abs(result.diameter_change) >= DIAMETER_CHANGE:
        result.reasons.append(
            f"longest diameter {result.diameter_change:+.0%} (threshold {DIAMETER_CHANGE:.0%})"
        )
    result.changed = bool(result.reasons)
    result.overlay = outline_overlay(earlier_rgb, earlier_mask, moved_mask)
    return result


def outline_overlay(
    rgb: np.ndarray, earlier_mask: np.ndarray, later_mask: np.ndarray
) -> np.ndarray:
    """``rgb`` with the earlier outline (green) and the aligned later outline (magenta)."""
    canvas = np.ascontiguousarray(rgb.copy())
    thickness = max(1, round(max(rgb.shape[:2]) / 256))
    for mask, colour in ((earlier_mask, EARLIER_COLOUR), (later_mask, LATER_COLOUR)):
        contours, _ = cv2.findContours(
            mask.astype(np.uint8), cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE
        )
        cv2.drawContours(canvas, contours, -1, colour, thickness)
    return canvas
