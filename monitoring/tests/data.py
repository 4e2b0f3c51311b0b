"""Analyses and confirmed diagnoses made through the real services, for monitoring's tests.

Each case is a real upload (``LesionImageFactory`` -> ``add_lesion_image``), finished the
way a worker finishes it (``claim_analysis`` / ``complete_analysis``) with a result in the
state asked for, and, when a diagnosis is given, a histopathology review
(``record_review``), which sets the lesion's confirmed diagnosis.
"""

from __future__ import annotations

import datetime
import itertools

from django.utils import timezone

from classifier.labels import HAM7
from lesions.models import Analysis, Clinic, Lesion, LesionImage, Modality, User
from lesions.pipeline.inference import ServedModelInfo
from lesions.services import record_review
from lesions.services.analyses import claim_analysis, complete_analysis
from lesions.tests.factories import ClinicianFactory, LesionFactory, LesionImageFactory
from lesions.tests.images import jpeg_bytes
from lesions.tests.pipeline_data import DEFAULT_MODEL, heatmap_bytes

_seeds = itertools.count(5000)

# (top class, melanoma probability, malignant probability) a result of each state has.
STATE_RESULTS = {
    "high": ("mel", 0.6, 0.7),
    "moderate": ("bcc", 0.05, 0.3),
    "low": ("nv", 0.01, 0.02),
    "inconclusive": ("nv", 0.02, 0.03),
    "not_assessable": ("nv", 0.02, 0.03),
}
REASONS = {
    "inconclusive": "Low confidence: consider a specialist's opinion.",
    "not_assessable": "The image is too blurred to assess.",
}


def result_for(state: str, *, distance: float | None = 1.0, mel: float | None = None) -> dict:
    """A ``Prediction.to_dict()`` in ``state``; ``mel`` overrides the melanoma probability."""
    top, p_mel, p_mal = STATE_RESULTS[state]
    p_mel = p_mel if mel is None else mel
    rest = (1 - p_mel) / (len(HAM7) - 1)
    probabilities = {code: (p_mel if code == "mel" else rest) for code in HAM7}
    return {
        "label": top,
        "label_display": top,
        "probabilities": probabilities,
        "confidence": max(probabilities.values()),
        "uncertain": state == "inconclusive",
        "uncertainty_message": REASONS.get("inconclusive", "") if state == "inconclusive" else "",
        "entropy": 0.5,
        "risk_level": state if state in ("high", "moderate", "low") else "",
        "recommended_action": "",
        "malignant_probability": max(p_mal, p_mel),
        "tta_views": 4,
        "tta_spread": dict.fromkeys(HAM7, 0.01),
        "model_id": DEFAULT_MODEL.model_id,
        "result_state": state,
        "state_reason": REASONS.get(state, ""),
        "melanoma_probability": p_mel,
        "ood_score": distance,
    }


def analysed_case(
    clinic: Clinic,
    state: str,
    *,
    diagnosis: str = "",
    distance: float | None = 1.0,
    mel: float | None = None,
    modality: str = Modality.DERMOSCOPIC,
    days_ago: int = 1,
    reviewer: User | None = None,
    model: ServedModelInfo = DEFAULT_MODEL,
    lesion: Lesion | None = None,
) -> Analysis:
    """One uploaded, analysed (and optionally confirmed) lesion of ``clinic``."""
    reviewer = reviewer or ClinicianFactory(clinic=clinic)
    image: LesionImage = LesionImageFactory(
        lesion=lesion or LesionFactory(patient__clinic=clinic),
        uploaded_by=reviewer,
        modality=modality,
        image_bytes=jpeg_bytes(seed=next(_seeds)),
    )
    analysis = image.analyses.get()
    claim = claim_analysis(analysis_pk=analysis.pk, task_id=f"monitoring-{analysis.pk}")
    assert claim is not None
    assert complete_analysis(
        claim=claim,
        result=result_for(state, distance=distance, mel=mel),
        heatmap_jpeg=heatmap_bytes(),
        model=model,
        inference_ms=50,
    )
    if days_ago:
        when = timezone.now() - datetime.timedelta(days=days_ago)
        Analysis.objects.filter(pk=analysis.pk).update(created_at=when)
    analysis = Analysis.objects.get(pk=analysis.pk)
    if diagnosis:
        record_review(
            analysis=analysis,
            reviewer=reviewer,
            agrees_with_model=False,
            diagnosis=diagnosis,
            basis="histopathology",
            management="excise",
        )
    return analysis


def registered_version(*, number: int = 1, quantiles: dict | None = None, val_na: float = 0.02):
    """A model version row whose card has val's gate distances (no artifact behind it)."""
    from classifier.models import ModelVersion

    card = {
        "model_id": f"monitored-{number}",
        "gate": {"val_not_assessable_rate": val_na, "val_distance_quantiles": quantiles or {}},
    }
    version = ModelVersion.objects.create(
        number=number,
        name=f"monitored-{number}",
        artifact_path="nowhere",
        arch="test",
        classes=list(HAM7),
        card=card,
        sha256="cd" * 32,
    )
    served = ServedModelInfo(
        model_version_id=version.pk, model_id=card["model_id"], sha256="cd" * 32
    )
    return version, served


def uniform_quantiles(low: float = 0.0, high: float = 2.0) -> dict[str, float]:
    """Val quantiles of distances spread evenly over [low, high]."""
    from classifier.gate import DISTANCE_QUANTILE_LEVELS

    return {f"{p:.2f}": low + (high - low) * p for p in DISTANCE_QUANTILE_LEVELS}
