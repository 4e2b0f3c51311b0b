"""Temperature scaling and the uncertainty rule.

Temperature scaling (Guo et al., 2017) divides logits by one scalar T fitted on
held-out data to minimise negative log-likelihood; it changes confidence, never
the ranking. A prediction is *uncertain* when its confidence is below a
threshold or its normalised entropy is above one (the seed API's rule).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

TEMPERATURE_BOUNDS = (0.05, 20.0)


def softmax(logits: np.ndarray, temperature: float = 1.0, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax of ``logits / temperature`` (float64 for summing to 1)."""
    scaled = np.asarray(logits, dtype=np.float64) / float(temperature)
    scaled -= scaled.max(axis=axis, keepdims=True)
    exp = np.exp(scaled)
    return exp / exp.sum(axis=axis, keepdims=True)


def combine_views(view_logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    """(N, V, K) logits of V TTA views -> (N, K): the mean of the views' tempered softmaxes.

    What the Predictor serves; (N, K) logits are one view each.
    """
    z = np.asarray(view_logits, dtype=np.float64)
    if z.ndim == 2:
        return softmax(z, temperature)
    return softmax(z, temperature).mean(axis=1)


def fit_temperature(logits: np.ndarray, labels: np.ndarray) -> float:
    """The T > 0 that minimises the NLL of the served probabilities on ``labels``.

    ``logits`` are (N, K), or (N, V, K) for V TTA views, in which case the NLL is that
    of :func:`combine_views` (the mean of the views' tempered softmaxes), as served.
    A golden-section search over log T: the NLL is smooth and unimodal in log T, so
    this converges to ~1e-5 without a learning rate to tune. Accepts numpy arrays or
    anything ``np.asarray`` understands (e.g. CPU tensors).
    """
    z = np.asarray(logits, dtype=np.float64)
    y = np.asarray(labels).astype(np.int64)
    if z.ndim not in (2, 3) or y.ndim != 1 or len(z) != len(y):
        raise ValueError("fit_temperature needs logits (N, K) or (N, V, K) and labels (N,)")
    if len(y) == 0:
        raise ValueError("fit_temperature needs at least one example")
    rows = np.arange(len(y))

    def nll(log_t: float) -> float:
        if z.ndim == 3:
            return float(-np.log(combine_views(z, math.exp(log_t))[rows, y] + 1e-12).mean())
        scaled = z / math.exp(log_t)
        top = scaled.max(axis=1)
        log_norm = top + np.log(np.exp(scaled - top[:, None]).sum(axis=1))
        return float((log_norm - scaled[rows, y]).mean())

    a, b = (math.log(bound) for bound in TEMPERATURE_BOUNDS)
    ratio = (math.sqrt(5) - 1) / 2
    c, d = b - ratio * (b - a), a + ratio * (b - a)
    fc, fd = nll(c), nll(d)
    while b - a > 1e-5:
        if fc < fd:
            b, d, fd = d, c, fc
            c = b - ratio * (b - a)
            fc = nll(c)
        else:
            a, c, fc = c, d, fd
            d = a + ratio * (b - a)
            fd = nll(d)
    return float(math.exp((a + b) / 2))


def normalised_entropy(probabilities: np.ndarray, axis: int = -1) -> np.ndarray | float:
    """Shannon entropy divided by log(K): 0 = one-hot, 1 = uniform."""
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 1e-12, 1.0)
    count = p.shape[axis]
    if count < 2:
        return 0.0
    entropy = -(p * np.log(p)).sum(axis=axis) / math.log(count)
    return float(entropy) if np.ndim(entropy) == 0 else entropy


@dataclass(frozen=True)
class Uncertainty:
    uncertain: bool
    confidence: float
    entropy: float
    message: str
    reason: str = ""  # the message's first sentence (why), without its advice; "" if confident


def assess_uncertainty(
    probabilities: np.ndarray,
    *,
    confidence_threshold: float = 0.6,
    entropy_threshold: float = 0.9,
) -> Uncertainty:
    """Flag low-confidence or near-uniform predictions, with a message for a person."""
    p = np.asarray(probabilities, dtype=np.float64)
    confidence = float(p.max())
    entropy = float(normalised_entropy(p))
    reasons = []
    if confidence < confidence_threshold:
        reasons.append(f"confidence {confidence:.0%} is below {confidence_threshold:.0%}")
    if entropy > entropy_threshold:
        reasons.append(
            f"the probabilities are spread across classes "
            f"(entropy {entropy:.2f} > {entropy_threshold:.2f})"
        )
    reason = ""
    if reasons:
        reason = "The model could not classify this image confidently: " + " and ".join(reasons)
        message = (
            reason + ". Treat the result as inconclusive and have a dermatologist review the "
            "lesion; retaking the image (in focus, lesion centred, no glare) may help."
        )
        reason += "."
    else:
        message = f"Confident prediction ({confidence:.0%})."
    return Uncertainty(bool(reasons), confidence, entropy, message, reason)


def expected_calibration_error(
    probabilities: np.ndarray, labels: np.ndarray, *, bins: int = 15
) -> float:
    """ECE: |accuracy - confidence| averaged over equal-width confidence bins."""
    p = np.asarray(probabilities, dtype=np.float64)
    y = np.asarray(labels)
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(np.float64)
    edges = np.linspace(0.0, 1.0, bins + 1)
    ece = 0.0
    for low, high in zip(edges[:-1], edges[1:], strict=True):
        in_bin = (confidence > low) & (confidence <= high)
        if in_bin.any():
            ece += in_bin.mean() * abs(correct[in_bin].mean() - confidence[in_bin].mean())
    return float(ece)
