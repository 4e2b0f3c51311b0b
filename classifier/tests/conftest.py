"""Shared fixtures: one real (untrained) artifact per session, real images from HAM10000, a
model store folder and a machine's model cache per test."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

REPO_ROOT = Path(__file__).resolve().parents[2]
SAMPLES = REPO_ROOT / "tests" / "samples"


def data_dir() -> Path:
    configured = os.environ.get("DERMASCAN_DATA_DIR")
    return Path(configured) if configured else REPO_ROOT.parent / "shared" / "data" / "ham10000"


@pytest.fixture(scope="session")
def ham_images() -> list[Path]:
    """A few real HAM10000 images (one per class, sorted, so runs are repeatable)."""
    images = data_dir() / "images"
    metadata = data_dir() / "metadata.csv"
    if not images.is_dir() or not metadata.is_file():
        pytest.skip(f"HAM10000 data not found at {data_dir()} (set DERMASCAN_DATA_DIR)")
    import csv

    first_per_class: dict[str, Path] = {}
    with metadata.open(newline="") as handle:
        for row in csv.DictReader(handle):
            path = images / f"{row['image_id']}.jpg"
            if row["dx"] not in first_per_class and path.is_file():
                first_per_class[row["dx"]] = path
    return [first_per_class[dx] for dx in sorted(first_per_class)]


@pytest.fixture(scope="session")
def sample_images() -> list[Path]:
    return sorted(SAMPLES.glob("*.jpg"))


@pytest.fixture(scope="session")
def sample_rgb(sample_images) -> np.ndarray:
    from classifier.preprocessing import load_rgb

    return load_rgb(sample_images[0])


@pytest.fixture(scope="session")
def untrained_artifact(tmp_path_factory) -> Path:
    from classifier.testing import build_untrained_artifact

    return build_untrained_artifact(tmp_path_factory.mktemp("artifact") / "lite0", seed=0)


@pytest.fixture(scope="session")
def predictor(untrained_artifact):
    from classifier.predictor import Predictor

    return Predictor.from_artifact(untrained_artifact, device="cpu", backend="torch")


@pytest.fixture(scope="session")
def lite0_model(untrained_artifact):
    """The artifact's network as a plain eval-mode module (not shared with ``predictor``)."""
    from classifier.artifact import load_artifact

    model, _ = load_artifact(untrained_artifact)
    return model


@pytest.fixture
def store(settings, tmp_path) -> Path:
    """The remote model store, and this (the training) machine's own cache."""
    location = tmp_path / "store"
    settings.STORAGES = {
        **settings.STORAGES,
        "models": {
            "BACKEND": "django.core.files.storage.FileSystemStorage",
            "OPTIONS": {"location": str(location)},
        },
    }
    settings.DERMASCAN_MODEL_CACHE = tmp_path / "training-machine-cache"
    return location


@pytest.fixture
def another_machine(settings, tmp_path):
    """Switches to a worker machine: same database and store, an empty cache of its own."""

    def switch(name: str = "worker") -> Path:
        settings.DERMASCAN_MODEL_CACHE = tmp_path / f"{name}-cache"
        return settings.DERMASCAN_MODEL_CACHE

    return switch
