"""Streaming stored images (lesion images, thumbnails, heatmaps) with the same headers for the
pages, the admin and the API: each checks its own permissions first."""

from __future__ import annotations

from django.db.models.fields.files import FieldFile
from django.http import FileResponse, Http404

from lesions.models import Analysis, LesionImage


def stream_file(
    stored: FieldFile,
    *,
    content_type: str,
    filename: str,
    missing: str,
    cache_control: str = "no-store",
) -> FileResponse:
    """Stream ``stored`` from its storage backend (local folder or S3); 404 if it is gone."""
    try:
        handle = stored.storage.open(stored.name, "rb")
    except FileNotFoundError as exc:
        raise Http404(missing) from exc
    # FileResponse closes the handle when the response is done.
    response = FileResponse(handle, content_type=content_type, filename=filename)
    # Health data: kept by no cache, not even the browser's (it would outlive the session).
    response["Cache-Control"] = cache_control
    response["X-Content-Type-Options"] = "nosniff"
    return response


def stream_image(
    image: LesionImage, *, thumbnail: bool = False, cache_control: str = "no-store"
) -> FileResponse:
    stored = image.thumbnail if thumbnail else image.file
    extension = "jpg" if thumbnail else stored.name.rsplit(".", 1)[-1]
    return stream_file(
        stored,
        content_type="image/jpeg" if thumbnail else image.content_type,
        filename=f"lesion-image-{image.pk}{'-thumbnail' if thumbnail else ''}.{extension}",
        missing="The image file is missing from storage.",
        cache_control=cache_control,
    )


def stream_heatmap(analysis: Analysis, *, cache_control: str = "no-store") -> FileResponse:
    if not analysis.heatmap:
        raise Http404("This analysis has no heatmap.")
    return stream_file(
        analysis.heatmap,
        content_type="image/jpeg",
        filename=f"heatmap-{analysis.pk}.jpg",
        missing="The heatmap file is missing from storage.",
        cache_control=cache_control,
    )
