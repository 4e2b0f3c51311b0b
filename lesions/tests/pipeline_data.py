"""Analyses in a given state, made through the same service calls a worker makes."""

from __future__ import annotations

import io

from PIL import Image

from classifier.labels import HAM7
from lesions.models import Analysis, LesionImage
from lesions.pipeline.inference import ServedModelInfo
from lesions.services.analyses import claim_analysis, complete_analysis

DEFAULT_MODEL = ServedModelInfo(model_version_id=None, model_id="test-model", sha256="ab" * 32)


def result_dict(top: str = "mel", *, confidence: float = 0.55, uncertain: bool = True) -> dict:
    """A result shaped like ``Prediction.to_dict()``: ``top`` has ``confidence``."""
    rest = (1 - confidence) / (len(HAM7) - 1)
    probabilities = {code: (confidence if code == top else rest) for code in HAM7}
    return {
        "label": top,
        "label_display": {"mel": "Melanoma", "nv": "Melanocytic nevus"}.get(top, top),
        "probabilities": probabilities,
        "confidence": confidence,
        "uncertain": uncertain,
        "uncertainty_message": "Low confidence: consider a specialist's opinion."
        if uncertain
        else "",
        "entropy": 0.7,
        "risk_level": "high",
        "recommended_action": "Refer to a dermatologist within two weeks.",
        "malignant_probability": 0.6,
        "tta_views": 8,
        "tta_spread": dict.fromkeys(HAM7, 0.01),
        "model_id": "test-model",
    }


def heatmap_bytes() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (64, 64), (200, 40, 40)).save(out, "JPEG")
    return out.getvalue()


def finish(image: LesionImage, *, task_id: str = "task-1", **result_options) -> Analysis:
    """Claim the image's queued analysis and complete it, as a worker would."""
    analysis = image.analyses.get(status="queued")
    claim = claim_analysis(analysis_pk=analysis.pk, task_id=task_id)
    assert claim is not None
    assert complete_analysis(
        claim=claim,
        result=result_dict(**result_options),
        heatmap_jpeg=heatmap_bytes(),
        model=DEFAULT_MODEL,
        inference_ms=120,
    )
    return Analysis.objects.get(pk=analysis.pk)
