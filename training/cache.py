"""Each image preprocessed once, resized to the network size and kept as uint8.

The deterministic steps (border removal, CLAHE, brightness, bilateral filter)
cost far more than a training step's augmentation on a CPU, and they give the
same result every epoch, so they run once per image. The result is exactly what
``classifier.preprocessing`` feeds the network at inference time, before
normalisation. Optionally stored as ``.npy`` so a second run (or ``--resume``)
skips the work.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classifier.errors import ImageError
from classifier.preprocessing import PreprocessConfig, load_rgb, preprocess_image, resize_square
from training.data import DataError, Sample


def prepare_image(
    path: Path, *, preprocessing: PreprocessConfig, size: int, interpolation: str
) -> np.ndarray:
    """The network's view of one file as uint8 (size, size, 3); DataError if unreadable."""
    try:
        rgb = load_rgb(path)
    except ImageError as exc:
        raise DataError(f"unreadable image: {exc}") from None
    return resize_square(preprocess_image(rgb, preprocessing), size, interpolation)


def build_image_cache(
    samples: list[Sample],
    *,
    preprocessing: PreprocessConfig,
    size: int,
    interpolation: str = "bicubic",
    cache_dir: Path | None = None,
    progress: bool = True,
) -> np.ndarray:
    """uint8 array (N, size, size, 3) in the order of ``samples``."""
    key = _cache_key(samples, preprocessing, size, interpolation)
    cache_path = Path(cache_dir) / f"images-{key}.npy" if cache_dir else None
    if cache_path is not None and cache_path.is_file():
        cached = np.load(cache_path, mmap_mode="r")
        if cached.shape == (len(samples), size, size, 3):
            return np.array(cached)  # into memory, writable

    images = np.empty((len(samples), size, size, 3), dtype=np.uint8)
    for index, sample in enumerate(
        tqdm(samples, desc=f"preprocess {size}px", unit="img", disable=not progress)
    ):
        images[index] = prepare_image(
            sample.path, preprocessing=preprocessing, size=size, interpolation=interpolation
        )
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp.npy")
        np.save(tmp, images)
        os.replace(tmp, cache_path)
    return images


def _cache_key(
    samples: list[Sample], preprocessing: PreprocessConfig, size: int, interpolation: str
) -> str:
    digest = hashlib.sha256()
    header = {"pre": preprocessing.to_dict(), "size": size, "interp": interpolation}
    digest.update(json.dumps(header, sort_keys=True).encode())
    for sample in samples:
        stat = sample.path.stat()
        digest.update(f"{sample.path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()[:20]
