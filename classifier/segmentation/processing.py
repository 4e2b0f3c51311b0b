"""Pre- and post-processing of the lesion segmenter: plain numpy and OpenCV, no torch.

Input: the image resized to the model's square size (INTER_AREA, the way the training data was
shrunk) and normalised with mean = std = 0.5 (timm's config for tf_efficientnet_lite0).
Output: the probability map resized back to the image, thresholded, reduced to its largest
connected component (a mole is one region; specks of hair or ruler are not) with its holes
filled (a pale regression area inside a lesion is still lesion).
"""

from __future__ import annotations

import cv2
import numpy as np

MEAN = STD = 0.5
DEFAULT_THRESHOLD = 0.5


def to_input(rgb: np.ndarray, size: int) -> np.ndarray:
    """RGB uint8 (H, W, 3) -> float32 batch (1, 3, size, size), normalised."""
    small = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
    scaled = (small.astype(np.float32) / 255.0 - MEAN) / STD
    return np.ascontiguousarray(scaled.transpose(2, 0, 1)[None])


def sigmoid(logits: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-np.clip(logits, -60, 60)))


def probability_to_mask(
    probability: np.ndarray, height: int, width: int, *, threshold: float = DEFAULT_THRESHOLD
) -> np.ndarray:
    """Model-size probability (S, S) -> boolean lesion mask (height, width), cleaned."""
    full = cv2.resize(
        probability.astype(np.float32), (width, height), interpolation=cv2.INTER_LINEAR
    )
    return clean_mask(full >= threshold)


def clean_mask(mask: np.ndarray) -> np.ndarray:
    """Largest 8-connected component of ``mask`` with its holes filled (empty stays empty)."""
    binary = mask.astype(np.uint8)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(binary, connectivity=8)
    if count <= 1:
        return np.zeros(mask.shape, bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return fill_holes(labels == largest)


def fill_holes(mask: np.ndarray) -> np.ndarray:
    """Fill every background region that does not touch the image border."""
    inverse = (~mask).astype(np.uint8)
    count, labels = cv2.connectedComponents(inverse, connectivity=4)
    border = np.unique(np.concatenate([labels[0], labels[-1], labels[:, 0], labels[:, -1]]))
    outside = np.isin(labels, border[border > 0])
    return ~outside
