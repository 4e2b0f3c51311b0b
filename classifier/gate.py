"""The not-assessable gate: image quality checks, then a feature-space distance check.

A classifier always names one of its classes, even for a photo of a cat. The gate
says when it should not be asked:

1. **Quality** of the decoded image (fixed limits, well outside the training data: on
   HAM10000 the grey mean is 46-230, the grey standard deviation >= 5 and the variance
   of the Laplacian at 256 px >= 2.4): nearly uniform, too dark, too bright, heavy blur.
2. **Out of distribution**: the distance of the image's penultimate features (global
   average pool of the last feature map, averaged over the TTA views) from the
   training images' features. Class-conditional Mahalanobis distance with one shared
   covariance (Lee et al., 2018), kept small by a probabilistic-PCA form: the top
   ``k`` eigen-directions of the within-class covariance with their own variances, the
   rest with one pooled residual variance. The threshold is the val quantile that
   rejects the chosen share of val images (at most 2 %).

The statistics live in the artifact (``gate.npz``, its sha256 and the threshold in the
card's ``gate`` entry) and are fitted by ``train_model`` and ``calibrate_model``.
"""

from __future__ import annotations

import io
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from classifier.errors import ArtifactError

GATE_FILE = "gate.npz"
QUALITY_SIDE = 256  # checks run on the image shrunk to this side, so limits do not scale
UNIFORM_STD = 3.0  # every channel's standard deviation below this: nearly uniform
DARK_MEAN, BRIGHT_MEAN = 30.0, 240.0
SATURATED_SHARE = 0.5  # more than half the pixels blown out (grey > 250)
BLUR_LAPLACIAN_VAR = 1.0
QUALITY_LIMITS = {
    "uniform_channel_std_below": UNIFORM_STD,
    "dark_grey_mean_below": DARK_MEAN,
    "bright_grey_mean_above": BRIGHT_MEAN,
    "saturated_share_above": SATURATED_SHARE,
    "blur_laplacian_variance_below": BLUR_LAPLACIAN_VAR,
    "at_side_px": QUALITY_SIDE,
}
OOD_REASON = (
    "The image does not look like the dermoscopic lesion images the model was trained on "
    "(it may not show a skin lesion, or show it too small, too far or with another "
    "device): the model cannot assess it."
)


def quality_problem(rgb: np.ndarray) -> str:
    """Why the decoded RGB image cannot be assessed, or "" when it passes."""
    height, width = rgb.shape[:2]
    scale = QUALITY_SIDE / max(height, width)
    small = cv2.resize(
        rgb,
        (max(1, round(width * scale)), max(1, round(height * scale))),
        interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR,
    )
    # OpenCV's mean/std work on the uint8 pixels directly: a third of the time numpy's
    # float64 copies took (part of every analysis's budget), the same figures.
    _, channel_std = cv2.meanStdDev(small)
    if float(channel_std.max()) < UNIFORM_STD:
        return "The image is nearly uniform: no lesion can be seen in it."
    grey = cv2.cvtColor(small, cv2.COLOR_RGB2GRAY)
    mean = cv2.mean(grey)[0]
    if mean < DARK_MEAN:
        return "The image is too dark to assess."
    if mean > BRIGHT_MEAN or cv2.countNonZero(cv2.compare(grey, 250, cv2.CMP_GT)) > (
        SATURATED_SHARE * grey.size
    ):
        return "The image is too bright (overexposed) to assess."
    _, laplacian_std = cv2.meanStdDev(cv2.Laplacian(grey, cv2.CV_32F))
    if float(laplacian_std[0, 0]) ** 2 < BLUR_LAPLACIAN_VAR:
        return "The image is too blurred to assess."
    return ""


@dataclass
class FeatureGate:
    """Shared-covariance class-conditional Mahalanobis distance in a PPCA form."""

    means: np.ndarray  # (K, C) class means of the training features
    components: np.ndarray  # (k, C) top eigen-directions of the within-class covariance
    variances: np.ndarray  # (k,) their variances
    residual_variance: float  # mean variance of the remaining directions
    threshold: float = float("inf")

    @classmethod
    def fit(cls, features: np.ndarray, labels: np.ndarray, *, components: int = 32) -> FeatureGate:
        x = np.asarray(features, dtype=np.float64)
        y = np.asarray(labels)
        classes = np.unique(y)
        if x.ndim != 2 or len(x) != len(y) or len(classes) == 0:
            raise ValueError("FeatureGate.fit needs features (N, C) and labels (N,)")
        means = np.zeros((int(y.max()) + 1, x.shape[1]))
        for c in classes:
            means[c] = x[y == c].mean(axis=0)
        centred = x - means[y]
        covariance = centred.T @ centred / max(len(x) - len(classes), 1)
        eigenvalues, eigenvectors = np.linalg.eigh(covariance)  # ascending
        k = min(components, x.shape[1] - 1)
        top = eigenvectors[:, ::-1][:, :k].T
        variances = np.maximum(eigenvalues[::-1][:k], 1e-8)
        rest = eigenvalues[::-1][k:]
        residual = float(max(rest.mean() if rest.size else 1e-8, 1e-8))
        present = np.zeros(len(means), bool)
        present[classes] = True
        return cls(means[present], top, variances, residual)

    def score(self, features: np.ndarray) -> np.ndarray:
        """(N, C) features -> (N,) distance to the nearest class (larger = farther)."""
        x = np.asarray(features, dtype=np.float64)
        # In blocks: (rows, K, C) differences of a whole data set would take gigabytes.
        return np.concatenate(
            [self._score_block(x[start : start + 256]) for start in range(0, len(x), 256)]
            or [np.zeros(0)]
        )

    def _score_block(self, x: np.ndarray) -> np.ndarray:
        diff = x[:, None, :] - self.means[None].astype(np.float64)  # (N, K, C)
        projected = diff @ self.components.T.astype(np.float64)  # (N, K, k)
        inside = (projected**2 / self.variances.astype(np.float64)).sum(axis=2)
        residual = (diff**2).sum(axis=2) - (projected**2).sum(axis=2)
        distance = inside + np.maximum(residual, 0.0) / self.residual_variance
        return distance.min(axis=1) / x.shape[1]  # per feature: comparable across widths

    def set_threshold(self, val_features: np.ndarray, *, reject_share: float) -> float:
        """Threshold rejecting ``reject_share`` of the val images (the largest scores)."""
        scores = self.score(val_features)
        self.threshold = float(np.quantile(scores, 1.0 - reject_share, method="higher"))
        return self.threshold

    def rejects(self, features: np.ndarray) -> np.ndarray:
        return self.score(features) > self.threshold

    def to_bytes(self) -> bytes:
        out = io.BytesIO()
        # float16 keeps the file small (~170 KB at 64 components); scores use float64.
        np.savez_compressed(
            out,
            means=self.means.astype(np.float16),
            components=self.components.astype(np.float16),
            variances=self.variances.astype(np.float32),
            residual_variance=np.float32(self.residual_variance),
        )
        return out.getvalue()

    @classmethod
    def from_file(cls, path: Path, *, threshold: float) -> FeatureGate:
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise ArtifactError(f"cannot read the gate statistics {path}: {exc}") from None
        return cls.from_bytes(data, threshold=threshold, name=str(path))

    @classmethod
    def from_bytes(
        cls, data: bytes, *, threshold: float = float("inf"), name: str = "gate"
    ) -> FeatureGate:
        """The gate as stored (float16 statistics): what is served, so thresholds use it too."""
        try:
            with np.load(io.BytesIO(data)) as stored:
                return cls(
                    means=stored["means"].astype(np.float64),
                    components=stored["components"].astype(np.float64),
                    variances=stored["variances"].astype(np.float64),
                    residual_variance=float(stored["residual_variance"]),
                    threshold=float(threshold),
                )
        except (OSError, KeyError, ValueError, EOFError) as exc:
            raise ArtifactError(f"cannot read the gate statistics {name}: {exc}") from None


# The val distances monitoring compares a clinic's uploads with (the card's
# ``gate.val_distance_quantiles``): enough points to draw the distribution function.
DISTANCE_QUANTILE_LEVELS = tuple(round(0.05 * i, 2) for i in range(1, 20)) + (0.98, 0.99)


def distance_quantiles(scores: np.ndarray) -> dict[str, float]:
    """{"0.05": q, …, "0.99": q} of a split's gate distances (JSON keys are strings)."""
    scores = np.asarray(scores, dtype=np.float64)
    if scores.size == 0:
        return {}
    values = np.quantile(scores, DISTANCE_QUANTILE_LEVELS)
    return {
        f"{level:.2f}": float(v) for level, v in zip(DISTANCE_QUANTILE_LEVELS, values, strict=True)
    }


def pooled_features(feature_maps: np.ndarray) -> np.ndarray:
    """(V, C, h, w) feature maps of one image's views -> (C,) pooled, averaged over views."""
    return np.asarray(feature_maps, dtype=np.float32).mean(axis=(0, 2, 3))
