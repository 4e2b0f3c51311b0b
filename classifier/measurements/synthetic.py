"""Synthetic second visits with a known answer, for tests and bench/change_detection.py.

``retake`` imitates photographing the same, unchanged lesion again: rotation, zoom, shift,
brightness, gamma, a colour cast and JPEG re-encoding. ``grow`` enlarges the lesion radially
about its centroid by a known area factor over skin that stays where it was, so registration
on the skin still works and the true growth is known from the grown ground-truth mask.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np


@dataclass(frozen=True)
class Retake:
    angle_deg: float
    scale: float
    shift: tuple[float, float]  # fraction of the width, height
    gain: float
    gamma: float
    cast: tuple[float, float, float]
    jpeg_quality: int

    @classmethod
    def random(cls, rng: np.random.Generator) -> Retake:
        return cls(
            angle_deg=float(rng.uniform(-180, 180)),
            scale=float(math.exp(rng.uniform(math.log(0.85), math.log(1.2)))),
            shift=(float(rng.uniform(-0.08, 0.08)), float(rng.uniform(-0.08, 0.08))),
            gain=float(rng.uniform(0.8, 1.2)),
            gamma=float(math.exp(rng.uniform(math.log(0.8), math.log(1.25)))),
            cast=tuple(float(v) for v in rng.uniform(0.92, 1.08, 3)),
            jpeg_quality=int(rng.integers(75, 96)),
        )


def retake(rgb: np.ndarray, mask: np.ndarray, params: Retake) -> tuple[np.ndarray, np.ndarray]:
    """(image, mask) photographed again with ``params``; the mask follows the geometry only."""
    h, w = mask.shape
    matrix = cv2.getRotationMatrix2D((w / 2, h / 2), params.angle_deg, params.scale)
    matrix[:, 2] += (params.shift[0] * w, params.shift[1] * h)
    moved = cv2.warpAffine(
        rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    moved_mask = (
        cv2.warpAffine(mask.astype(np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR) >= 0.5
    )
    light = np.clip(moved.astype(np.float32) / 255.0 * params.gain * np.array(params.cast), 0, 1)
    light = (light**params.gamma * 255).round().astype(np.uint8)
    ok, encoded = cv2.imencode(
        ".jpg", light[..., ::-1], [cv2.IMWRITE_JPEG_QUALITY, params.jpeg_quality]
    )
    return cv2.imdecode(encoded, cv2.IMREAD_COLOR)[..., ::-1].copy(), moved_mask


def grow(rgb: np.ndarray, mask: np.ndarray, area_factor: float) -> tuple[np.ndarray, np.ndarray]:
    """Enlarge the lesion by ``area_factor`` (1.2 = 20 % more area) about its centroid.

    The lesion, scaled by k = sqrt(area_factor) about its centroid, is laid over the unchanged
    skin with a 2-px feathered edge: a growing mole covers the skin around it, the skin does
    not move (so registration on the skin is not fooled into reading growth as zoom). The
    true growth is the grown mask's area over the old one's (less where it leaves the frame).
    """
    ys, xs = np.nonzero(mask)
    cy, cx = float(ys.mean()), float(xs.mean())
    k = math.sqrt(area_factor)
    h, w = mask.shape
    matrix = np.float32([[k, 0, (1 - k) * cx], [0, k, (1 - k) * cy]])
    scaled = cv2.warpAffine(
        rgb, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT
    )
    scaled_mask = cv2.warpAffine(mask.astype(np.float32), matrix, (w, h), flags=cv2.INTER_LINEAR)
    grown_mask = (scaled_mask >= 0.5) | mask.astype(bool)
    alpha = cv2.GaussianBlur(grown_mask.astype(np.float32), (0, 0), 2.0)[..., None]
    alpha = np.maximum(alpha, grown_mask[..., None])  # the lesion itself stays fully covered
    grown = (alpha * scaled + (1 - alpha) * rgb).round().astype(np.uint8)
    return grown, grown_mask
