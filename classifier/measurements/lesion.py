"""One image's measurements, in pixels always and in millimetres when calibrated."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field

import numpy as np

from classifier.errors import EngineError
from classifier.measurements import colours, shape
from classifier.measurements.abcd import abcd_summary, border_abruptness

MIN_LESION_PIXELS = 20  # below this a mask is noise, not a lesion to measure


@dataclass
class LesionMeasurements:
    area_px: int
    area_fraction: float  # of the image
    diameter_px: float  # longest (Feret max)
    width_px: float  # perpendicular to the longest diameter
    diameter_angle_deg: float
    asymmetry_shape: tuple[float, float]  # XOR ratio about the major, minor principal axis
    asymmetry_colour: tuple[float, float]  # Delta E*76 of the halves' mean Lab, same axes
    compactness: float  # P^2 / (4 pi A), 1 = disc
    border_abrupt_segments: int  # of 8
    colour_shares: dict[str, float]
    colours: list[str]
    mm_per_px: float | None = None
    area_mm2: float | None = None
    diameter_mm: float | None = None
    width_mm: float | None = None
    abcd: dict = field(default_factory=dict)

    def to_dict(self) -> dict:
        data = asdict(self)
        data["asymmetry_shape"] = list(self.asymmetry_shape)
        data["asymmetry_colour"] = list(self.asymmetry_colour)
        return data


def measure(
    rgb: np.ndarray, mask: np.ndarray, *, field_of_view_mm: float | None = None
) -> LesionMeasurements:
    """Measure the lesion ``mask`` (bool, H x W) on ``rgb`` (uint8, H x W x 3).

    ``field_of_view_mm``: the width of the whole image in millimetres (the dermatoscope's
    field of view); adds mm and mm^2 figures, assuming square pixels.
    """
    mask = np.asarray(mask, bool)
    if rgb.shape[:2] != mask.shape:
        raise EngineError(f"image {rgb.shape[:2]} and mask {mask.shape} differ in size")
    if mask.sum() < MIN_LESION_PIXELS:
        raise EngineError("no lesion found in the mask: nothing to measure")
    axes = shape.principal_axes(mask)
    diameter, width, angle = shape.feret(mask)
    lab = colours.to_lab(rgb)
    shares = colours.colour_shares(rgb, mask)
    result = LesionMeasurements(
        area_px=int(mask.sum()),
        area_fraction=float(mask.mean()),
        diameter_px=diameter,
        width_px=width,
        diameter_angle_deg=math.degrees(angle),
        asymmetry_shape=shape.shape_asymmetry(mask, axes),
        asymmetry_colour=colour_asymmetry(lab, mask, axes),
        compactness=shape.compactness(mask),
        border_abrupt_segments=border_abruptness(lab[..., 0], mask, axes),
        colour_shares=shares,
        colours=colours.colours_present(shares),
    )
    if field_of_view_mm:
        scale = field_of_view_mm / rgb.shape[1]
        result.mm_per_px = scale
        result.area_mm2 = result.area_px * scale**2
        result.diameter_mm = diameter * scale
        result.width_mm = width * scale
    result.abcd = abcd_summary(result)
    return result


def colour_asymmetry(lab: np.ndarray, mask: np.ndarray, axes: shape.Axes) -> tuple[float, float]:
    """CIE76 distance between the mean Lab colours of the two halves, about each axis."""
    scores = []
    for axis_angle in (axes.angle, axes.angle + math.pi / 2):
        one, other = shape.half_masks(mask, axes, axis_angle)
        if not one.any() or not other.any():
            scores.append(0.0)
            continue
        scores.append(float(np.linalg.norm(lab[one].mean(0) - lab[other].mean(0))))
    return scores[0], scores[1]
