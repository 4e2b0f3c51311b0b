"""Images and their lesion masks, by split, as uint8 arrays held in memory.

The splits are metadata.csv's ``split`` column (lesion-grouped already), read through
``training.data.load_dataset`` like the classifier's; a mask is ``masks/<image_id>.png``.
Holding a split in memory (6,309 train images at 256 px are 1.2 GB) lets augmentation run on
the training device, batch-wise, instead of in CPU workers.
"""

from __future__ import annotations

import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from training.data import DataError, Sample, load_dataset

MASK_DIR = "masks"


@dataclass
class MaskedSplit:
    images: np.ndarray  # uint8 (N, S, S, 3) RGB
    masks: np.ndarray  # uint8 (N, S, S), 0 or 1
    samples: list[Sample]

    @property
    def labels(self) -> list[str]:
        return [s.label for s in self.samples]

    @property
    def groups(self) -> np.ndarray:
        return np.array([s.group for s in self.samples])


def split_samples(data_dir: str | Path, split: str, *, limit: int | None = None) -> list[Sample]:
    """``split``'s samples (train, val, test or all); the whole set when it has no split column."""
    data = load_dataset(data_dir, labels="ham7")
    has_split = all(s.split for s in data.samples)
    samples = data.in_split(split if has_split else "all")
    if not samples:
        raise DataError(f"{data_dir}: the {split!r} split has no images")
    return samples[:limit] if limit else samples


def mask_path(sample: Sample) -> Path:
    return sample.path.parent.parent / MASK_DIR / f"{sample.image_id}.png"


def read_pair(sample: Sample, size: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    """(RGB uint8, mask uint8 0/1) of one sample, both resized to ``size`` when given."""
    bgr = cv2.imread(str(sample.path), cv2.IMREAD_COLOR)
    grey = cv2.imread(str(mask_path(sample)), cv2.IMREAD_GRAYSCALE)
    if bgr is None:
        raise DataError(f"cannot read image {sample.path}")
    if grey is None:
        raise DataError(f"no lesion mask for {sample.image_id}: {mask_path(sample)}")
    if grey.shape != bgr.shape[:2]:
        grey = cv2.resize(grey, bgr.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    rgb = cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    if size is not None and rgb.shape[:2] != (size, size):
        rgb = cv2.resize(rgb, (size, size), interpolation=cv2.INTER_AREA)
        grey = cv2.resize(grey, (size, size), interpolation=cv2.INTER_LINEAR)
    return rgb, (grey >= 128).astype(np.uint8)


def load_split(
    data_dir: str | Path, split: str, *, size: int, limit: int | None = None, workers: int = 4
) -> MaskedSplit:
    samples = split_samples(data_dir, split, limit=limit)
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:  # OpenCV frees the GIL
        pairs = list(pool.map(lambda s: read_pair(s, size), samples))
    return MaskedSplit(
        images=np.stack([p[0] for p in pairs]),
        masks=np.stack([p[1] for p in pairs]),
        samples=samples,
    )


def data_hashes(data_dir: str | Path) -> dict[str, str]:
    """SHA-256 of metadata.csv and of the sorted mask file names and bytes (for the card)."""
    root = Path(data_dir)
    digest = hashlib.sha256()
    for path in sorted((root / MASK_DIR).glob("*.png")):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return {
        "metadata_csv_sha256": hashlib.sha256((root / "metadata.csv").read_bytes()).hexdigest(),
        "masks_sha256": digest.hexdigest(),
    }
