"""The quick check (``/api/v1/predict/``) as a worker runs it: nothing is stored.

The answer has the fields of the seed apps' ``/predict`` (uncertain, prediction,
confidence, probabilities, recommendation, tta_used, model, heatmap), so their clients work.
"""

from __future__ import annotations

import base64
import io

from classifier.errors import ImageError


def quick_prediction(image: bytes, *, tta: bool, heatmap: bool) -> dict:
    """Predict ``image`` (already validated and cleaned by ``lesions.uploads``)."""
    from lesions.pipeline.inference import ModelUnavailable, current_model

    try:
        loaded = current_model()
    except ModelUnavailable as exc:
        return {"error": {"code": "model_unavailable", "message": str(exc)}}
    try:
        prediction = loaded.predictor.predict(image, tta=tta, heatmap=heatmap)
    except ImageError:
        return {
            "error": {
                "code": "unreadable_image",
                "message": "The file could not be read as an image.",
            }
        }
    result = prediction.to_dict()
    return {
        "uncertain": result["uncertain"],
        "prediction": result["label_display"],
        "prediction_code": result["label"],
        "confidence": result["confidence"],
        "probabilities": result["probabilities"],
        "malignant_probability": result["malignant_probability"],
        "recommendation": {
            "severity": result["risk_level"],
            "action": result["recommended_action"],
            "description": result["uncertainty_message"]
            or f"Most likely {result['label_display']} "
            f"({100 * result['confidence']:.0f} % confidence).",
        },
        "tta_used": result["tta_views"] > 1,
        "tta_views": result["tta_views"],
        "model": result["model_id"],
        "heatmap": _png_data_url(prediction.heatmap) if heatmap else None,
    }


def _png_data_url(image) -> str | None:
    if image is None:
        return None
    out = io.BytesIO()
    image.convert("RGB").save(out, "PNG")
    return "data:image/png;base64," + base64.b64encode(out.getvalue()).decode()
