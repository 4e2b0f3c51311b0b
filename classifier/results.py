"""Turning the network's outputs into a result: per-view probabilities averaged, the uncertainty
flag, and the result state with its risk level and action (calibration and risk live in
``calibration``, ``operating_point`` and ``risk``; this module puts them together)."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from PIL import Image

from classifier.artifact import (
    ModelCard,
)
from classifier.calibration import assess_uncertainty
from classifier.labels import display_name
from classifier.operating_point import OperatingPoint
from classifier.risk import NOT_ASSESSABLE, assess_result


@dataclass
class Prediction:
    label: str
    label_display: str
    probabilities: dict[str, float]
    confidence: float
    uncertain: bool
    uncertainty_message: str
    entropy: float
    risk_level: str
    recommended_action: str
    malignant_probability: float
    tta_views: int
    tta_spread: dict[str, float]
    model_id: str
    # The one state of the result (classifier.risk.STATES) and why, for the clinician.
    result_state: str = ""
    state_reason: str = ""
    melanoma_probability: float = 0.0
    ood_score: float | None = None  # feature-space distance; None without gate statistics
    heatmap: Image.Image | None = field(default=None, repr=False)
    heatmap_raw: np.ndarray | None = field(default=None, repr=False)

    def to_dict(self) -> dict:
        """JSON-safe summary (no images)."""
        return {
            "label": self.label,
            "label_display": self.label_display,
            "probabilities": {k: float(v) for k, v in self.probabilities.items()},
            "confidence": float(self.confidence),
            "uncertain": bool(self.uncertain),
            "uncertainty_message": self.uncertainty_message,
            "entropy": float(self.entropy),
            "risk_level": self.risk_level,
            "recommended_action": self.recommended_action,
            "malignant_probability": float(self.malignant_probability),
            "tta_views": int(self.tta_views),
            "tta_spread": {k: float(v) for k, v in self.tta_spread.items()},
            "model_id": self.model_id,
            "result_state": self.result_state,
            "state_reason": self.state_reason,
            "melanoma_probability": float(self.melanoma_probability),
            "ood_score": None if self.ood_score is None else float(self.ood_score),
        }

    @property
    def assessable(self) -> bool:
        return self.result_state != NOT_ASSESSABLE


def build_prediction(
    view_probabilities: np.ndarray,
    *,
    classes: tuple[str, ...],
    card: ModelCard,
    model_id: str,
    operating_point: OperatingPoint | None = None,
    not_assessable_reason: str = "",
) -> Prediction:
    """Average per-view probabilities (V, K) and derive label, uncertainty and the state."""
    probs = view_probabilities.mean(axis=0)
    probs = probs / probs.sum()
    spread = view_probabilities.std(axis=0)
    label = classes[int(probs.argmax())]
    probabilities = {code: float(p) for code, p in zip(classes, probs, strict=True)}
    uncertainty = assess_uncertainty(
        probs,
        confidence_threshold=card.confidence_threshold,
        entropy_threshold=card.entropy_threshold,
    )
    result = assess_result(
        probabilities,
        label=label,
        operating_point=operating_point or OperatingPoint.from_card(card.operating_point),
        uncertain=uncertainty.uncertain,
        uncertainty_message=uncertainty.reason,
        not_assessable_reason=not_assessable_reason,
    )
    return Prediction(
        label=label,
        label_display=display_name(label),
        probabilities=probabilities,
        confidence=uncertainty.confidence,
        uncertain=uncertainty.uncertain,
        uncertainty_message=uncertainty.message,
        entropy=uncertainty.entropy,
        risk_level=result.level,
        recommended_action=result.action,
        malignant_probability=result.malignant_probability,
        tta_views=int(view_probabilities.shape[0]),
        tta_spread={code: float(s) for code, s in zip(classes, spread, strict=True)},
        model_id=model_id,
        result_state=result.state,
        state_reason=result.reason,
        melanoma_probability=result.melanoma_probability,
    )
