"""A HEURISTIC ABCD-style summary after Stolz's total dermoscopy score (TDS).

TDS = 1.3 A + 0.1 B + 0.5 C + 0.5 D (Stolz et al. 1994; > 5.45 suspicious of melanoma,
4.75-5.45 suspicious). Here each term is estimated from the image, not scored by a clinician:
- A (0-2): principal axes that are asymmetric, in shape (XOR ratio > 0.20) or colour
  (Delta E > 8);
- B (0-8): of 8 angular segments of the border, those whose lightness drops abruptly
  (mean |L_inside - L_outside| over a 4-px ring on each side > 10);
- C (1-6): dermoscopic colours present (colours.MIN_SHARE);
- D (1-5): differential structures CANNOT be measured from a mask and colours: fixed at 1,
  so the score here is a lower bound of what a dermatoscopist would give for D.
Not a diagnosis, not validated against clinicians' scores: an orientation for a reader.
"""

from __future__ import annotations

import math

import cv2
import numpy as np

SHAPE_ASYMMETRY_LIMIT = 0.20
COLOUR_ASYMMETRY_LIMIT = 8.0
ABRUPT_LIGHTNESS_STEP = 10.0
RING_PX = 4


def border_abruptness(lightness: np.ndarray, mask: np.ndarray, axes) -> int:
    """How many of 8 angular border segments show an abrupt lightness cut-off."""
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * RING_PX + 1, 2 * RING_PX + 1))
    binary = mask.astype(np.uint8)
    inner = binary.astype(bool) & ~cv2.erode(binary, kernel).astype(bool)
    outer = cv2.dilate(binary, kernel).astype(bool) & ~binary.astype(bool)
    ys, xs = np.indices(mask.shape)
    sector = (
        (np.arctan2(ys - axes.centroid[1], xs - axes.centroid[0]) + math.pi) / (2 * math.pi) * 8
    ).astype(int) % 8
    abrupt = 0
    for s in range(8):
        inside, outside = lightness[inner & (sector == s)], lightness[outer & (sector == s)]
        if (
            len(inside)
            and len(outside)
            and abs(outside.mean() - inside.mean()) > ABRUPT_LIGHTNESS_STEP
        ):
            abrupt += 1
    return abrupt


def abcd_summary(m) -> dict:
    a = sum(
        1
        for shape_score, colour_score in zip(m.asymmetry_shape, m.asymmetry_colour, strict=True)
        if shape_score > SHAPE_ASYMMETRY_LIMIT or colour_score > COLOUR_ASYMMETRY_LIMIT
    )
    b = m.border_abrupt_segments
    c = max(1, len(m.colours))
    d = 1
    tds = 1.3 * a + 0.1 * b + 0.5 * c + 0.5 * d
    band = "suspicious" if tds > 5.45 else "borderline" if tds >= 4.75 else "benign range"
    return {
        "heuristic": True,
        "note": "estimated from the image, D not measured (fixed at 1): not a diagnosis",
        "A": a,
        "B": b,
        "C": c,
        "D": d,
        "tds": round(tds, 2),
        "band": band,
    }
