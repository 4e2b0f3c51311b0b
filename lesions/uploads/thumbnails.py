"""The small JPEG that lists and pages show instead of the full image."""

from __future__ import annotations

import io

from PIL import Image

THUMBNAIL_SIDE = 384


def make_thumbnail(rgb: Image.Image) -> bytes:
    scale = min(1.0, THUMBNAIL_SIDE / max(rgb.size))
    size = (max(1, round(rgb.width * scale)), max(1, round(rgb.height * scale)))
    # resize() with a reducing gap never copies the full-size image first.
    thumbnail = rgb.resize(size, Image.Resampling.LANCZOS, reducing_gap=3.0)
    thumbnail.info.clear()
    out = io.BytesIO()
    thumbnail.save(out, "JPEG", quality=85)
    return out.getvalue()
