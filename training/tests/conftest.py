"""Small real data sets for the training tests, built from the shared HAM10000 copy."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest
from django.conf import settings

CLASSES = ("akiec", "bcc", "bkl", "df", "mel", "nv", "vasc")
PER_CLASS = {"train": 3, "val": 1, "test": 1}  # 7 classes x 5 = 35 real images


def _real_rows() -> list[dict]:
    metadata = Path(settings.DERMASCAN_DATA_DIR) / "metadata.csv"
    if not metadata.is_file():
        pytest.skip(f"real data not found at {metadata} (set DERMASCAN_DATA_DIR)")
    with open(metadata, newline="") as handle:
        return list(csv.DictReader(handle))


def write_ham_dir(root: Path, rows: list[dict], *, columns=None, copy=True) -> Path:
    """A HAM10000-layout folder (metadata.csv + images/) holding ``rows``' images."""
    images = root / "images"
    images.mkdir(parents=True, exist_ok=True)
    source = Path(settings.DERMASCAN_DATA_DIR) / "images"
    columns = columns or list(rows[0].keys())
    with open(root / "metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns, extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow(row)
            if copy:
                shutil.copyfile(
                    source / f"{row['image_id']}.jpg", images / f"{row['image_id']}.jpg"
                )
    return root


@pytest.fixture(scope="session")
def tiny_rows() -> list[dict]:
    """A few real images per class and split, lesion groups kept whole."""
    chosen, taken = [], {}
    for row in _real_rows():
        key = (row["split"], row["dx"])
        if taken.get(key, 0) < PER_CLASS[row["split"]]:
            taken[key] = taken.get(key, 0) + 1
            chosen.append(row)
    return chosen


@pytest.fixture
def tiny_ham_dir(tmp_path, tiny_rows) -> Path:
    return write_ham_dir(tmp_path / "tiny_ham", tiny_rows)
