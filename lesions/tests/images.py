"""Image bytes for tests: small generated images and the committed real samples."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
from django.conf import settings
from PIL import Image

SAMPLES_DIR = Path(settings.BASE_DIR) / "tests" / "samples"


def sample_path(diagnosis: str = "mel") -> Path:
    """One of the committed HAM10000 samples, e.g. ``sample_path("nv")``."""
    (path,) = SAMPLES_DIR.glob(f"{diagnosis}_*.jpg")
    return path


def sample_bytes(diagnosis: str = "mel") -> bytes:
    return sample_path(diagnosis).read_bytes()


def textured_image(size: tuple[int, int] = (64, 48), *, seed: int = 0) -> Image.Image:
    """An RGB image with a gradient and noise, so different seeds give different bytes."""
    width, height = size
    rng = np.random.default_rng(seed)
    ramp = np.linspace(40, 215, width, dtype=np.float64)[None, :, None]
    base = np.broadcast_to(ramp, (height, width, 3)) + rng.normal(0, 12, (height, width, 3))
    return Image.fromarray(base.clip(0, 255).astype(np.uint8), mode="RGB")


def encode(image: Image.Image, image_format: str = "JPEG", **params: Any) -> bytes:
    out = io.BytesIO()
    image.save(out, image_format, **params)
    return out.getvalue()


def jpeg_bytes(size: tuple[int, int] = (64, 48), *, seed: int = 0, **params: Any) -> bytes:
    return encode(textured_image(size, seed=seed), "JPEG", quality=90, **params)


def png_bytes(image: Image.Image | None = None, **params: Any) -> bytes:
    return encode(image if image is not None else textured_image(), "PNG", **params)


def stored_files(media_root: Path) -> list[Path]:
    """Every file under the media folder (lesion images and thumbnails)."""
    return sorted(path for path in Path(media_root).rglob("*") if path.is_file())
