"""DICOM objects of an export scope: each image (Dermoscopic Photography or VL Photographic,
``images``) and each finished result as a Comprehensive SR (``report``)."""

from __future__ import annotations

from collections.abc import Iterator

from pydicom import Dataset

from interop.dicom.images import image_dataset, to_bytes
from interop.dicom.report import analysis_report
from interop.selectors import ExportScope

__all__ = ["count_objects", "objects_for", "to_bytes"]


def objects_for(scope: ExportScope) -> Iterator[Dataset]:
    """One at a time, so a long record is never in memory all at once."""
    for image in scope.images:
        image_ds = image_dataset(image)
        yield image_ds
        analysis = scope.analyses.get(image.pk)
        if analysis is not None:
            analysis.image = image
            yield analysis_report(analysis, image_ds)


def count_objects(scope: ExportScope) -> int:
    return len(scope.images) + sum(1 for image in scope.images if image.pk in scope.analyses)
