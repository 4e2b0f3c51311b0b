"""The upload path: an uploaded image is judged by its content (``validation``), only its pixels
are kept, re-encoded without metadata (``pixels``), and a thumbnail is made (``thumbnails``)."""

from .pixels import to_rgb
from .thumbnails import make_thumbnail
from .validation import MAX_UPLOAD_BYTES, CleanImage, clean_image, read_upload, sha256_of

__all__ = [
    "MAX_UPLOAD_BYTES",
    "CleanImage",
    "clean_image",
    "make_thumbnail",
    "read_upload",
    "sha256_of",
    "to_rgb",
]
