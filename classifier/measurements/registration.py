"""Aligning the later image of a lesion onto the earlier one (similarity transform).

Two methods (bench/change_detection.py measures both on val; see docs/segmentation.md):
1. features: SIFT keypoints (OpenCV 5 has no AKAZE in its main module; SIFT is rotation-
   and scale-invariant and found more matches than ORB on smooth skin) on CLAHE-equalised grey
   images, matches kept by Lowe's ratio test, ``estimateAffinePartial2D`` (rotation,
   uniform scale, shift) with RANSAC; the keypoints INSIDE the lesions are left out, so a
   lesion that grew does not pull the fit towards "zoomed in" (the skin around it is the
   reference, not the mole);
2. ``features+ecc``: the same, refined by ECC (``findTransformECC``, MOTION_AFFINE) on the skin
   around the earlier lesion. ECC alone cannot start from an unknown rotation, and as a
   refinement it was no better: a grown lesion covers skin the ECC template still expects, and
   it pulled the scale by up to 2 %. ``features`` is the default.
Alignment is refused, with a reason, when too few inliers are left, the scale is outside
0.5-2 (another magnification: measure each visit on its own instead), the shear of the
refined fit is large, or the aligned images correlate poorly (another lesion, another site).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

MIN_INLIERS = 12
SCALE_RANGE = (0.5, 2.0)
MIN_CORRELATION = 0.5
MAX_SHEAR = 0.08  # |1 - sx/sy| and skew of the ECC-refined affine
RATIO_TEST = 0.8
RANSAC_PX = 3.0


@dataclass
class Alignment:
    ok: bool
    matrix: np.ndarray | None  # 2x3, later -> earlier pixel coordinates
    method: str
    inliers: int = 0
    scale: float | None = None
    rotation_deg: float | None = None
    correlation: float | None = None
    reason: str = ""

    def to_dict(self) -> dict:
        return {
            "ok": self.ok,
            "method": self.method,
            "inliers": self.inliers,
            "scale": self.scale,
            "rotation_deg": self.rotation_deg,
            "correlation": self.correlation,
            "reason": self.reason,
        }


def _grey(rgb: np.ndarray) -> np.ndarray:
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    return cv2.createCLAHE(clipLimit=2.0, tileGridSize=(8, 8)).apply(grey)


def _skin(mask: np.ndarray, grow: int = 3) -> np.ndarray:
    kernel = np.ones((2 * grow + 1, 2 * grow + 1), np.uint8)
    return (cv2.dilate(mask.astype(np.uint8), kernel) == 0).astype(np.uint8) * 255


def feature_alignment(
    earlier: np.ndarray, later: np.ndarray, earlier_mask: np.ndarray, later_mask: np.ndarray
) -> Alignment:
    detector = cv2.SIFT_create(nfeatures=1500, contrastThreshold=0.01)
    kp1, d1 = detector.detectAndCompute(_grey(earlier), _skin(earlier_mask))
    kp2, d2 = detector.detectAndCompute(_grey(later), _skin(later_mask))
    if d1 is None or d2 is None or len(kp1) < MIN_INLIERS or len(kp2) < MIN_INLIERS:
        return Alignment(False, None, "features", reason="too few keypoints on the skin")
    pairs = cv2.BFMatcher(cv2.NORM_L2).knnMatch(d2, d1, k=2)
    good = [p[0] for p in pairs if len(p) == 2 and p[0].distance < RATIO_TEST * p[1].distance]
    if len(good) < MIN_INLIERS:
        return Alignment(False, None, "features", reason=f"only {len(good)} keypoint matches")
    src = np.float32([kp2[m.queryIdx].pt for m in good])
    dst = np.float32([kp1[m.trainIdx].pt for m in good])
    matrix, inlier_flags = cv2.estimateAffinePartial2D(
        src,
        dst,
        method=cv2.RANSAC,
        ransacReprojThreshold=RANSAC_PX,
        maxIters=5000,
        confidence=0.999,
    )
    inliers = int(inlier_flags.sum()) if inlier_flags is not None else 0
    if matrix is None or inliers < MIN_INLIERS:
        return Alignment(
            False, None, "features", inliers=inliers, reason=f"only {inliers} RANSAC inliers"
        )
    return _described(Alignment(True, matrix, "features", inliers=inliers))


def ecc_refine(
    earlier: np.ndarray, later: np.ndarray, earlier_mask: np.ndarray, start: np.ndarray
) -> tuple[np.ndarray, float] | None:
    """ECC (affine) from ``start`` on the skin around the earlier lesion; None if it diverges."""
    template = _grey(earlier).astype(np.float32)
    moving = _grey(later).astype(np.float32)
    warp = cv2.invertAffineTransform(start).astype(np.float32)  # ECC maps template -> input
    criteria = (cv2.TERM_CRITERIA_EPS | cv2.TERM_CRITERIA_COUNT, 100, 1e-5)
    try:
        cc, warp = cv2.findTransformECC(
            template, moving, warp, cv2.MOTION_AFFINE, criteria, _skin(earlier_mask), 5
        )
    except cv2.error:
        return None
    return cv2.invertAffineTransform(warp), float(cc)


def correlation(
    earlier: np.ndarray, later: np.ndarray, matrix: np.ndarray, region: np.ndarray
) -> float:
    """Pearson correlation of the grey images over ``region`` after warping ``later``."""
    warped = cv2.warpAffine(_grey(later), matrix, earlier.shape[1::-1], flags=cv2.INTER_LINEAR)
    valid = cv2.warpAffine(np.ones(later.shape[:2], np.uint8), matrix, earlier.shape[1::-1]) > 0
    chosen = region.astype(bool) & valid
    if chosen.sum() < 100:
        return 0.0
    a, b = _grey(earlier)[chosen].astype(float), warped[chosen].astype(float)
    return float(np.corrcoef(a, b)[0, 1])


def align(
    earlier: np.ndarray,
    later: np.ndarray,
    earlier_mask: np.ndarray,
    later_mask: np.ndarray,
    *,
    method: str = "features",
) -> Alignment:
    """The later image's transform onto the earlier one, or a refusal with its reason."""
    found = feature_alignment(earlier, later, earlier_mask, later_mask)
    if not found.ok:
        return found
    refined = (
        ecc_refine(earlier, later, earlier_mask, found.matrix) if method == "features+ecc" else None
    )
    if refined is not None and _shear(refined[0]) < MAX_SHEAR:
        candidate = _described(Alignment(True, refined[0], "features+ecc", inliers=found.inliers))
        if _agrees(candidate.matrix, found.matrix, earlier.shape):
            found = candidate
    skin = _skin(earlier_mask) > 0
    found.correlation = correlation(earlier, later, found.matrix, skin)
    if not SCALE_RANGE[0] <= found.scale <= SCALE_RANGE[1]:
        found.ok, found.reason = (
            False,
            f"scale {found.scale:.2f} outside {SCALE_RANGE}: another magnification",
        )
    elif found.correlation < MIN_CORRELATION:
        found.ok = False
        found.reason = (
            f"aligned skin correlates only {found.correlation:.2f}: another site or lesion?"
        )
    return found


def _described(alignment: Alignment) -> Alignment:
    m = alignment.matrix
    alignment.scale = float(math.sqrt(abs(np.linalg.det(m[:, :2]))))
    alignment.rotation_deg = float(math.degrees(math.atan2(m[1, 0], m[0, 0])))
    return alignment


def _shear(matrix: np.ndarray) -> float:
    a = matrix[:, :2]
    sx, sy = np.linalg.norm(a[:, 0]), np.linalg.norm(a[:, 1])
    skew = abs(float(a[:, 0] @ a[:, 1])) / (sx * sy)
    return max(abs(1 - sx / sy), skew)


def _agrees(one: np.ndarray, other: np.ndarray, shape: tuple, tolerance: float = 4.0) -> bool:
    """Both map the image corners within ``tolerance`` px (ECC did not wander off)."""
    h, w = shape[:2]
    corners = np.array([[0, 0, 1], [w, 0, 1], [0, h, 1], [w, h, 1]], float).T
    return float(np.abs(one @ corners - other @ corners).max()) < tolerance
