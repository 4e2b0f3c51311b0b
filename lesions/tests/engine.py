"""Analyses made by the real engine (the committed default model) on real images, in-process.

For tests of what happens after a result (reviews, change detection, the worklist) that
need real predictions but not a worker process: the image goes through the upload
service, its queued analysis is claimed and completed with the same service calls a
worker makes.
"""

from __future__ import annotations

import datetime

import pytest
from django.conf import settings
from django.db import transaction

from lesions.models import Analysis, Lesion, LesionImage
from lesions.pipeline.inference import ServedModelInfo
from lesions.services.analyses import claim_analysis, complete_analysis
from lesions.tests.factories import LesionImageFactory, days_ago
from lesions.tests.images import sample_bytes


@pytest.fixture(scope="session")
def engine():
    """The default model, loaded once per test session (a few seconds)."""
    from classifier.predictor import Predictor

    return Predictor.from_artifact(settings.DERMASCAN_DEFAULT_MODEL)


def analyse_sample(
    engine,
    lesion: Lesion,
    diagnosis: str,
    *,
    captured_on: datetime.date | None = None,
    **image_options,
) -> Analysis:
    """Upload the committed ``diagnosis`` sample to ``lesion`` and analyse it with the engine."""
    from lesions.pipeline.inference import heatmap_jpeg

    # Claimed before the upload commits: the task it sends on commit finds the analysis taken,
    # so a live worker left running by another test (serving another model) cannot race us.
    with transaction.atomic():
        image: LesionImage = LesionImageFactory(
            lesion=lesion,
            image_bytes=sample_bytes(diagnosis),
            captured_on=captured_on or days_ago(1),
            **image_options,
        )
        analysis = image.analyses.get(status="queued")
        claim = claim_analysis(analysis_pk=analysis.pk, task_id=f"engine-{analysis.pk}")
    prediction = engine.predict(sample_bytes(diagnosis), tta=True, heatmap=True)
    assert complete_analysis(
        claim=claim,
        result=prediction.to_dict(),
        heatmap_jpeg=heatmap_jpeg(prediction.heatmap),
        model=ServedModelInfo(model_version_id=None, model_id=engine.model_id, sha256="cd" * 32),
        inference_ms=50,
    )
    return Analysis.objects.select_related("image__lesion").get(pk=analysis.pk)
