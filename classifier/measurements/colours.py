"""Dermoscopic colours present in a lesion: white, red, light brown, dark brown, blue-grey, black.

The image is first colour-normalised with Shades-of-Gray (p = 6, the classifier's
``preprocessing.shades_of_gray``): HAM10000's images carry a strong magenta cast and devices
differ, so the rules see colours relative to the skin's, not the camera's. Each lesion pixel is
then put in one class by rules on CIELAB (L* 0-100, a*, b*; chroma C = sqrt(a*^2 + b*^2), hue
h = atan2(b*, a*) in degrees), the first rule that matches wins:

| colour      | rule                                          |
| ----------- | --------------------------------------------- |
| black       | L < 22                                        |
| white       | L > 82 and C < 12                             |
| blue-grey   | L < 65 and (C < 8 or b < -3)                  |
| red         | C >= 15 and h < 25                            |
| dark brown  | L < 40                                        |
| light brown | C >= 8                                        |
| (none)      | the rest: pale, near-neutral, skin-like       |

A colour is "present" when it covers at least ``MIN_SHARE`` (5 %) of the lesion area.
The thresholds are a HEURISTIC, set on the Lab percentiles of HAM10000 train lesions per
diagnosis (after colour constancy: nevi h about 20-55 deg, C 10-30; vascular lesions a* up to
33) in the spirit of the six colours of the dermoscopy consensus (Argenziano et al. 2003) and
Lab colour prototypes (Seidenari et al. 2003; Barata et al. 2015 on colour constancy). They
were not fitted to expert colour annotations (HAM10000 has none).
"""

from __future__ import annotations

import cv2
import numpy as np

from classifier.preprocessing import shades_of_gray

COLOURS = ("white", "red", "light_brown", "dark_brown", "blue_grey", "black")
MIN_SHARE = 0.05
NONE = len(COLOURS)  # label of pixels that match no colour rule


def to_lab(rgb: np.ndarray) -> np.ndarray:
    """RGB uint8 -> float32 Lab with L in 0-100 (OpenCV's float path, D65)."""
    return cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB)


def colour_labels(lab: np.ndarray) -> np.ndarray:
    """Index into COLOURS for every pixel of ``lab`` (..., 3)."""
    lightness, a, b = lab[..., 0], lab[..., 1], lab[..., 2]
    chroma = np.hypot(a, b)
    hue = np.degrees(np.arctan2(b, a))
    labels = np.full(lightness.shape, NONE, np.int8)
    rules = [  # first matching rule wins: applied in reverse so earlier rules overwrite
        ("black", lightness < 22),
        ("white", (lightness > 82) & (chroma < 12)),
        ("blue_grey", (lightness < 65) & ((chroma < 8) | (b < -3))),
        ("red", (chroma >= 15) & (hue < 25)),
        ("dark_brown", lightness < 40),
        ("light_brown", chroma >= 8),
    ]
    for name, rule in reversed(rules):
        labels[rule] = COLOURS.index(name)
    return labels


def colour_shares(rgb: np.ndarray, mask: np.ndarray) -> dict[str, float]:
    """Share of the lesion area of each colour (the rest matched no rule)."""
    labels = colour_labels(to_lab(shades_of_gray(rgb))[mask])
    counts = np.bincount(labels.astype(np.int64), minlength=len(COLOURS) + 1)
    return {name: float(counts[i] / max(1, labels.size)) for i, name in enumerate(COLOURS)}


def colours_present(shares: dict[str, float], *, min_share: float = MIN_SHARE) -> list[str]:
    return [name for name in COLOURS if shares[name] >= min_share]
