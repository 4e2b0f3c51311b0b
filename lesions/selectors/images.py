"""Reads of lesion images: one image, its newest result, two images compared side by side."""

from __future__ import annotations

from dataclasses import dataclass

from django.shortcuts import get_object_or_404

from lesions.models import (
    Analysis,
    AnalysisStatus,
    LesionImage,
    ResultState,
    User,
)


def get_image_for(user: User, image_pk: int) -> LesionImage:
    return get_object_or_404(
        LesionImage.objects.visible_to(user).select_related("lesion__patient"), pk=image_pk
    )


def newest_result_of(image: LesionImage) -> Analysis | None:
    """The image's newest analysis if it finished (what compare and the report show)."""
    newest = image.analyses.newest_first().with_model_version().first()
    return newest if newest is not None and newest.status == AnalysisStatus.DONE else None


@dataclass(frozen=True)
class ComparedImage:
    image: LesionImage
    analysis: Analysis | None  # its newest analysis if finished


@dataclass(frozen=True)
class Comparison:
    earlier: ComparedImage
    later: ComparedImage
    interval_days: int
    class_changes: list[dict]  # per class: name, before, after, change (percentage points)
    different_modalities: bool


def _comparable(analysis: Analysis | None) -> bool:
    """A not-assessable result's probabilities mean nothing: it is left out of comparisons."""
    return (
        analysis is not None
        and analysis.result_state != ResultState.NOT_ASSESSABLE
        and bool(analysis.probabilities)
    )


def compare_images(first: LesionImage, second: LesionImage) -> Comparison:
    """Two images of a lesion, earlier capture first whatever order they were picked in."""
    earlier, later = sorted(
        (first, second), key=lambda image: (image.captured_on, image.created_at, image.pk)
    )
    before, after = newest_result_of(earlier), newest_result_of(later)
    rows = []
    if _comparable(before) and _comparable(after):
        from classifier.labels import display_name

        codes = sorted(
            set(before.probabilities) | set(after.probabilities),
            key=lambda code: -after.probabilities.get(code, 0.0),
        )
        for code in codes:
            p_before = 100 * before.probabilities.get(code, 0.0)
            p_after = 100 * after.probabilities.get(code, 0.0)
            rows.append(
                {
                    "code": code,
                    "name": display_name(code),
                    "before": p_before,
                    "after": p_after,
                    "change": p_after - p_before,
                }
            )
    return Comparison(
        earlier=ComparedImage(earlier, before),
        later=ComparedImage(later, after),
        interval_days=(later.captured_on - earlier.captured_on).days,
        class_changes=rows,
        different_modalities=earlier.modality != later.modality,
    )
