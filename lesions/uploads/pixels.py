"""What is kept of an upload: its pixels only, as 8-bit sRGB, upright, re-encoded.

Re-encoding from decoded pixels is what strips the metadata (EXIF with GPS and camera serials,
comments, XMP, embedded profiles once applied): nothing of the original file's bytes is kept."""

from __future__ import annotations

import io
import logging

import numpy as np
from PIL import Image, ImageCms, ImageOps, JpegImagePlugin

_SRGB = ImageCms.createProfile("sRGB")


logger = logging.getLogger(__name__)

# What is kept is reduced to at most this many pixels (see lesions.uploads.validation).
MAX_KEPT_PIXELS = 16_000_000


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


def apply_orientation(image: Image.Image) -> Image.Image:
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


def reduce_while_decoding(image: Image.Image) -> None:
    """JPEG only: ask libjpeg to decode at 1/2, 1/4 or 1/8 scale, so memory stays bounded."""
    factor = _reduction_factor(*image.size)
    if factor > 1:
        width, height = image.size
        image.draft(image.mode, (width // factor, height // factor))


def reduce_after_decoding(image: Image.Image) -> Image.Image:
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


def jpeg_settings(image: Image.Image) -> dict[str, object]:
    params: dict[str, object] = {"quality": 95}
    quantization = getattr(image, "quantization", None)
    if quantization:
        # Reusing the upload's quantisation tables avoids a visible generation loss.
        params = {"qtables": quantization}
        sampling = JpegImagePlugin.get_sampling(image)
        if sampling != -1:
            params["subsampling"] = sampling
    return params


def encode(rgb: Image.Image, image_format: str, *, jpeg_options: dict[str, object]) -> bytes:
    """Re-encode without any metadata. PNG stays lossless; JPEG keeps its own quality."""
    out = io.BytesIO()
    if image_format == "PNG":
        rgb.save(out, "PNG")
    else:
        rgb.save(out, "JPEG", **jpeg_options)
    return out.getvalue()
