"""Checks and cleans uploaded lesion images by their content (Pillow), never by their name.

Order matters: cheap checks on the raw bytes first (size, magic number), then the
header (pixel count, so decompression bombs are refused before anything is
decoded), then a full decode (truncated and corrupt files fail here). What is
stored is a re-encoded copy: EXIF orientation applied, the embedded colour profile
applied and then dropped (the pixels are 8-bit sRGB), and nothing else kept: no EXIF,
GPS, ICC profile, comment, XMP or text chunk survives in the file or its thumbnail.

Memory is bounded: the decoded frame of the largest accepted upload (40 megapixels at
4 bytes) is 160 MB, and what is kept is reduced to at most ``MAX_KEPT_PIXELS`` at once:
a JPEG is reduced while it is decoded (libjpeg's DCT scaling, Pillow's draft mode), so
it never costs more than the reduced size; a PNG cannot be, so it is reduced right after.
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import warnings
from dataclasses import dataclass
from typing import IO

from django.core.exceptions import ValidationError
from PIL import Image, UnidentifiedImageError

from lesions.uploads.pixels import (
    apply_orientation,
    encode,
    jpeg_settings,
    reduce_after_decoding,
    reduce_while_decoding,
    to_rgb,
)
from lesions.uploads.thumbnails import make_thumbnail

logger = logging.getLogger(__name__)


MAX_UPLOAD_BYTES = 20 * 1024 * 1024


MAX_PIXELS = 40_000_000


# Larger images are kept reduced (by 2, 4 or 8) to at most this many pixels: 4,000 px a side
# is far beyond what the classifier (160-224 px) or a clinician's screen needs.


MIN_SIDE = 32


_MAGIC_NUMBERS = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
}


_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}


_EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}


# Everything Pillow may raise on a malformed file while parsing or decoding it.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError)


_DECODE_SLOT = threading.Lock()


@dataclass(frozen=True)
class CleanImage:
    """An accepted upload, ready to store."""

    content: bytes
    format: str  # "JPEG" or "PNG"
    width: int
    height: int
    upload_sha256: str
    thumbnail: bytes

    @property
    def content_type(self) -> str:
        return _CONTENT_TYPES[self.format]

    @property
    def extension(self) -> str:
        return _EXTENSIONS[self.format]


def read_upload(uploaded_file: IO[bytes]) -> bytes:
    """The upload's bytes, refusing empty and oversized files without reading them whole."""
    declared_size = getattr(uploaded_file, "size", None)
    if declared_size is not None and declared_size > MAX_UPLOAD_BYTES:
        raise _too_large_file(declared_size)
    if hasattr(uploaded_file, "seek"):
        uploaded_file.seek(0)
    data = uploaded_file.read(MAX_UPLOAD_BYTES + 1)
    if not data:
        raise ValidationError("The file is empty.", code="empty_file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large_file(len(data))
    return data


def clean_image(data: bytes) -> CleanImage:
    """Validate ``data`` as a JPEG or PNG image and return its cleaned, metadata-free copy."""
    if not data:
        raise ValidationError("The file is empty.", code="empty_file")
    if len(data) > MAX_UPLOAD_BYTES:
        raise _too_large_file(len(data))
    image_format = sniff_format(data)
    image = _open_header(data, image_format)
    _check_dimensions(*image.size)
    if image_format == "PNG":
        _verify_png_checksums(data)
    else:
        check_jpeg_structure(data)
        reduce_while_decoding(image)
    # One decode at a time per process: the budget above holds per web worker process, even
    # with several threads (gthread) or concurrent requests in it.
    with _DECODE_SLOT:
        try:
            image.load()
        except _DECODE_ERRORS as exc:
            raise _corrupt() from exc
        # Read what the encoder reuses before the decoded frame is released.
        saved_settings = jpeg_settings(image) if image_format == "JPEG" else {}
        # Rebinding drops the full-size frame as soon as the reduced one exists.
        image = apply_orientation(reduce_after_decoding(image))
        rgb = to_rgb(image)
        del image
        return CleanImage(
            content=encode(rgb, image_format, jpeg_options=saved_settings),
            format=image_format,
            width=rgb.width,
            height=rgb.height,
            upload_sha256=sha256_of(data),
            thumbnail=make_thumbnail(rgb),
        )


def sha256_of(data: bytes) -> str:
    """The upload's hash, which identifies a duplicate before anything is decoded."""
    return hashlib.sha256(data).hexdigest()


def sniff_format(data: bytes) -> str:
    """JPEG or PNG from the file's first bytes; anything else (SVG, HTML, GIF...) is refused."""
    for magic, image_format in _MAGIC_NUMBERS.items():
        if data.startswith(magic):
            return image_format
    raise ValidationError(
        "Only JPEG and PNG images are accepted (the file's content was checked, not its name).",
        code="unsupported_format",
    )


# Markers that may start a segment of a JPEG stream (ITU T.81 table B.1), besides SOS and EOI.
_JPEG_SEGMENT_MARKERS = frozenset(
    [0xC4, 0xCC, 0xDB, 0xDC, 0xDD, 0xDE, 0xDF, 0xFE]
    + [m for m in range(0xC0, 0xD0) if m not in (0xC4, 0xC8, 0xCC)]  # SOFn
    + list(range(0xE0, 0xF0))  # APPn
)


_SOS, _EOI = 0xDA, 0xD9


def check_jpeg_structure(data: bytes) -> None:
    """Walk the JPEG's segments and scans up to its end-of-image marker.

    libjpeg only *warns* about damaged scan data and Pillow ignores its warnings, so a
    JPEG with garbage in place of pixels would otherwise be accepted. Bytes after the
    end-of-image marker (camera trailers, the second frame of an MPO) are allowed.
    """
    position, size = 2, len(data)
    while position < size:
        if data[position] != 0xFF:
            raise _corrupt()
        while position < size and data[position] == 0xFF:  # fill bytes
            position += 1
        if position >= size:
            break
        marker = data[position]
        position += 1
        if marker == _EOI:
            return
        if marker != _SOS and marker not in _JPEG_SEGMENT_MARKERS:
            raise _corrupt()
        length = int.from_bytes(data[position : position + 2], "big")
        if length < 2 or position + length > size:
            raise _corrupt()
        position += length
        if marker == _SOS:
            position = _end_of_scan(data, position)
    raise _corrupt()


def _end_of_scan(data: bytes, position: int) -> int:
    """Where the entropy-coded data that starts at ``position`` ends (at the next marker)."""
    while True:
        position = data.find(b"\xff", position)
        if position < 0 or position + 1 >= len(data):
            raise _corrupt()
        following = data[position + 1]
        if following == 0x00 or 0xD0 <= following <= 0xD7:  # stuffed byte, restart marker
            position += 2
        elif following == 0xFF:
            position += 1
        else:
            return position


def _open_header(data: bytes, image_format: str) -> Image.Image:
    """Parse the header only; Pillow decodes nothing until load()."""
    try:
        with warnings.catch_warnings():
            # Pillow only warns between 89 and 179 megapixels; any bomb is an error here.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data), formats=[image_format])
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ValidationError(
            f"The image has too many pixels; the limit is {MAX_PIXELS // 1_000_000} megapixels.",
            code="too_many_pixels",
        ) from exc
    except _DECODE_ERRORS as exc:
        raise _corrupt() from exc
    # A JPEG with several frames (phone MPO files) is still a JPEG; its first frame is used.
    if image.format not in (image_format, "MPO"):
        raise _corrupt()
    return image


def _check_dimensions(width: int, height: int) -> None:
    if width * height > MAX_PIXELS:
        raise ValidationError(
            f"The image is {width} × {height} pixels ({width * height / 1e6:.1f} megapixels); "
            f"the limit is {MAX_PIXELS // 1_000_000} megapixels.",
            code="too_many_pixels",
        )
    if min(width, height) < MIN_SIDE:
        raise ValidationError(
            f"The image is {width} × {height} pixels; each side must be at least "
            f"{MIN_SIDE} pixels.",
            code="too_small",
        )


def _verify_png_checksums(data: bytes) -> None:
    """PNG carries a CRC per chunk; load() skips them, verify() checks them all."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            Image.open(io.BytesIO(data), formats=["PNG"]).verify()
    except _DECODE_ERRORS as exc:
        raise _corrupt() from exc


def _too_large_file(size: int) -> ValidationError:
    return ValidationError(
        f"The file is {size / 1024 / 1024:.1f} MB; the limit is "
        f"{MAX_UPLOAD_BYTES // 1024 // 1024} MB.",
        code="file_too_large",
    )


def _corrupt() -> ValidationError:
    return ValidationError(
        "The image could not be read: the file is truncated or corrupt.", code="corrupt_image"
    )
