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

import numpy as np
from django.core.exceptions import ValidationError
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin, UnidentifiedImageError

logger = logging.getLogger(__name__)

MAX_UPLOAD_BYTES = 20 * 1024 * 1024
MAX_PIXELS = 40_000_000
# Larger images are kept reduced (by 2, 4 or 8) to at most this many pixels: 4,000 px a side
# is far beyond what the classifier (160-224 px) or a clinician's screen needs.
MAX_KEPT_PIXELS = 16_000_000
MIN_SIDE = 32
THUMBNAIL_SIDE = 384

_MAGIC_NUMBERS = {
    b"\xff\xd8\xff": "JPEG",
    b"\x89PNG\r\n\x1a\n": "PNG",
}
_CONTENT_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png"}
_EXTENSIONS = {"JPEG": "jpg", "PNG": "png"}
# Everything Pillow may raise on a malformed file while parsing or decoding it.
_DECODE_ERRORS = (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, IndexError)
_SRGB = ImageCms.createProfile("sRGB")
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
        _reduce_while_decoding(image)
    # One decode at a time per process: the budget above holds per web worker process, even
    # with several threads (gthread) or concurrent requests in it.
    with _DECODE_SLOT:
        try:
            image.load()
        except _DECODE_ERRORS as exc:
            raise _corrupt() from exc
        # Read what the encoder reuses before the decoded frame is released.
        jpeg_params = _jpeg_params(image) if image_format == "JPEG" else {}
        # Rebinding drops the full-size frame as soon as the reduced one exists.
        image = _apply_orientation(_reduce_after_decoding(image))
        rgb = to_rgb(image)
        del image
        return CleanImage(
            content=_encode(rgb, image_format, jpeg_params=jpeg_params),
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


def to_rgb(image: Image.Image) -> Image.Image:
    """8-bit sRGB pixels from any mode a JPEG or PNG can carry, with no metadata attached.

    An embedded colour profile is applied (a wide-gamut or greyscale profile changes the
    colours the pixels mean), then dropped: what is stored is plain sRGB. An RGB image
    without a profile is returned itself (its metadata cleared), not copied.
    """
    profile = _embedded_profile(image)
    if image.mode.startswith("I"):
        image = _sixteen_bit_to_eight(image)
    alpha = None
    if _has_transparency(image):
        # Flatten onto white: the classifier and the eye both expect an opaque photo.
        target = "LA" if image.mode in ("L", "LA", "La") else "RGBA"
        with_alpha = image if image.mode == target else image.convert(target)
        alpha = with_alpha.getchannel("A")
        image = with_alpha.convert(with_alpha.mode[:-1])
        del with_alpha
    elif image.mode not in ("L", "RGB", "CMYK"):
        image = image.convert("RGB")
    rgb = _profile_to_srgb(image, profile) if profile is not None else None
    if rgb is None:
        rgb = image.convert("RGB") if image.mode != "RGB" else image
    del image
    if alpha is not None:
        flattened = Image.new("RGB", rgb.size, (255, 255, 255))
        flattened.paste(rgb, mask=alpha)
        rgb = flattened
    rgb.info.clear()  # Pillow's encoders write a comment or profile found here
    return rgb


def make_thumbnail(rgb: Image.Image) -> bytes:
    scale = min(1.0, THUMBNAIL_SIDE / max(rgb.size))
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    # resize() with a reducing gap never copies the full-size image first.
    thumbnail = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    thumbnail.info.clear()
    out = io.BytesIO()
    thumbnail.save(out, "JPEG", quality=85)
    return out.getvalue()


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


def _apply_orientation(image: Image.Image) -> Image.Image:
    try:
        # In place: a copy would double the memory of an image that needs no turning.
        ImageOps.exif_transpose(image, in_place=True)
        return image
    except Exception:  # a broken EXIF block must not refuse a good photo
        logger.warning("Unreadable EXIF orientation; image kept as stored", exc_info=True)
        return image


def _has_transparency(image: Image.Image) -> bool:
    return image.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in image.info


_PROFILE_MODES = {"GRAY": "L", "RGB": "RGB", "CMYK": "CMYK"}


def _embedded_profile(image: Image.Image) -> ImageCms.ImageCmsProfile | None:
    icc_profile = image.info.get("icc_profile")
    if not icc_profile:
        return None
    try:
        return ImageCms.ImageCmsProfile(io.BytesIO(icc_profile))
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        logger.info("Embedded ICC profile not readable; converting without it")
        return None


def _profile_to_srgb(image: Image.Image, profile: ImageCms.ImageCmsProfile) -> Image.Image | None:
    """The pixels in sRGB, or None when the profile does not describe them (then ignored)."""
    space = profile.profile.xcolor_space.strip()
    if _PROFILE_MODES.get(space) != image.mode:
        logger.info("ICC profile for %s does not fit a %s image; ignored", space, image.mode)
        return None
    try:
        return ImageCms.profileToProfile(image, profile, _SRGB, outputMode="RGB")
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        logger.info("Embedded ICC profile not usable; converting without it")
        return None


def _sixteen_bit_to_eight(image: Image.Image) -> Image.Image:
    """16-bit greyscale scaled to 8 bits (convert("L") would clip every value above 255)."""
    levels = np.asarray(image, dtype=np.uint32)  # in place from here: no float copies
    np.clip(levels, 0, 65535, out=levels)
    levels += 128
    levels //= 257
    return Image.fromarray(levels.astype(np.uint8), mode="L")


def _reduction_factor(width: int, height: int) -> int:
    """The smallest of 1, 2, 4, 8 that brings the image within MAX_KEPT_PIXELS."""
    for factor in (1, 2, 4, 8):
        if (width // factor) * (height // factor) <= MAX_KEPT_PIXELS:
            return factor
    return 8  # unreachable while MAX_PIXELS <= 64 x MAX_KEPT_PIXELS


def _reduce_while_decoding(image: Image.Image) -> None:
    """JPEG only: ask libjpeg to decode at 1/2, 1/4 or 1/8 scale, so memory stays bounded."""
    factor = _reduction_factor(*image.size)
    if factor > 1:
        width, height = image.size
        image.draft(image.mode, (width // factor, height // factor))


def _reduce_after_decoding(image: Image.Image) -> Image.Image:
    factor = _reduction_factor(*image.size)
    if factor == 1:
        return image
    if image.mode in ("RGBA", "LA"):
        # Image.reduce() would first copy the whole frame to premultiplied alpha (+100 %
        # memory); the core reduce averages the channels as they are, which differs only at
        # the edges of half-transparent areas, flattened onto white right after anyway.
        return image._new(image.im.reduce((factor, factor), (0, 0, *image.size)))
    try:
        return image.reduce(factor)
    except ValueError:  # modes reduce() does not take (palette, 1-bit, 16-bit grey)
        size = (image.width // factor, image.height // factor)
        return image.resize(size, Image.Resampling.NEAREST)


def _jpeg_params(image: Image.Image) -> dict[str, object]:
    params: dict[str, object] = {"quality": 95}
    quantization = getattr(image, "quantization", None)
    if quantization:
        # Reusing the upload's quantisation tables avoids a visible generation loss.
        params = {"qtables": quantization}
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling != -1:
            params["subsampling"] = sampling
    return params


def _encode(rgb: Image.Image, image_format: str, *, jpeg_params: dict[str, object]) -> bytes:
    """Re-encode without any metadata. PNG stays lossless; JPEG keeps its own quality."""
    out = io.BytesIO()
    if image_format == "PNG":
        rgb.save(out, "PNG")
    else:
        rgb.save(out, "JPEG", **jpeg_params)
    return out.getvalue()


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
