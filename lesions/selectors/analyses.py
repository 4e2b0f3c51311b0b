"""Reads of analyses: one analysis, the served model, images still analysed by older models."""

from __future__ import annotations

from django.db.models import (
    QuerySet,
)
from django.shortcuts import get_object_or_404

from lesions.models import (
    Analysis,
    LesionImage,
    User,
)
from lesions.selectors.reviews import reviews_prefetch


def get_analysis_for(user: User, analysis_pk: int) -> Analysis:
    return get_object_or_404(
        Analysis.objects.visible_to(user).select_related("image__lesion").with_model_version(),
        pk=analysis_pk,
    )


def served_model_sha256() -> str | None:
    """Weights hash of the model the workers serve now (None if it cannot be read)."""
    from classifier.artifact import read_card
    from classifier.errors import ArtifactError
    from classifier.registry import served_model

    served = served_model()
    if served.version is not None:
        return served.version.sha256
    try:
        return read_card(served.directory).weights_sha256
    except ArtifactError:
        return None


def images_analysed_by_older_models() -> QuerySet[LesionImage]:
    """Images whose newest analysis is a result of another model than the one served now."""
    current = served_model_sha256()
    if current is None:
        return LesionImage.objects.none()
    outdated = (
        Analysis.objects.latest_per_image()
        .filter(status="done")
        .exclude(model_sha256=current)
        .values("image_id")
    )
    return LesionImage.objects.filter(pk__in=outdated)


def get_analysis_with_reviews(analysis_pk: int) -> Analysis:
    """An analysis (already checked visible) with its reviews, as the review panel needs."""
    return (
        Analysis.objects.select_related("image")
        .prefetch_related(reviews_prefetch())
        .get(pk=analysis_pk)
    )
