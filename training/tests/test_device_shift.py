"""The device-shift augmentations: off by default, repeatable, and doing what they say."""

from __future__ import annotations

from pathlib import Path

import albumentations as A
import cv2
import numpy as np
import pytest

from classifier.preprocessing import load_rgb
from training.augment import (
    DermatoscopeCorners,
    DeviceShift,
    Hair,
    Vignette,
    augmentation_summary,
    build_train_transform,
)
from training.recipe import TrainConfig

SAMPLES = sorted((Path(__file__).resolve().parents[2] / "tests" / "samples").glob("*.jpg"))
SEED_PIPELINE = [  # the seed's list, as it was before the switch existed
    "HorizontalFlip",
    "VerticalFlip",
    "RandomRotate90",
    "Transpose",
    "Affine",
    "HueSaturationValue",
    "RandomBrightnessContrast",
    "CLAHE",
    "OneOf",
    "ElasticTransform",
    "CoarseDropout",
]


@pytest.fixture(scope="module")
def images() -> list[np.ndarray]:
    """The real sample images at a small network size (the cache's uint8 RGB)."""
    return [cv2.resize(load_rgb(path), (96, 96), interpolation=cv2.INTER_AREA) for path in SAMPLES]


def augment_all(transform: A.Compose, images: list[np.ndarray], *, epoch_seed: int) -> list:
    transform.set_random_seed(epoch_seed)
    return [transform(image=image)["image"] for image in images]


def test_the_switch_is_off_by_default_and_off_keeps_the_seed_pipeline(images):
    assert TrainConfig().device_shift is False
    assert TrainConfig.from_dict({"epochs": 3}).device_shift is False  # an older card's recipe
    default, off = build_train_transform(seed=0), build_train_transform(seed=0, device_shift=False)
    assert [type(t).__name__ for t in off.transforms] == SEED_PIPELINE
    for a, b in zip(
        augment_all(default, images, epoch_seed=5),
        augment_all(off, images, epoch_seed=5),
        strict=True,
    ):
        assert np.array_equal(a, b)
    assert len(augmentation_summary()) == 6
    assert not any("device shift" in line for line in augmentation_summary())


def test_switching_on_appends_one_block_and_leaves_the_seed_draws_alone(images):
    off = build_train_transform(seed=0)
    on = build_train_transform(seed=0, device_shift=True)
    assert [type(t).__name__ for t in on.transforms] == SEED_PIPELINE + ["DeviceShift"]
    on.transforms[-1].p = 0.0  # the block skipped: what the seed transforms drew is left
    for a, b in zip(
        augment_all(off, images, epoch_seed=3),
        augment_all(on, images, epoch_seed=3),
        strict=True,
    ):
        assert np.array_equal(a, b)
    summary = augmentation_summary(device_shift=True)
    assert summary[:6] == augmentation_summary()
    assert any("Planckian" in line for line in summary)
    assert any("corners" in line for line in summary)


def test_on_keeps_shape_and_dtype_and_is_repeatable_for_a_seed(images):
    transform = build_train_transform(seed=0, device_shift=True)
    first = augment_all(transform, images * 4, epoch_seed=11)
    again = augment_all(transform, images * 4, epoch_seed=11)
    other = augment_all(transform, images * 4, epoch_seed=12)
    assert all(out.shape == (96, 96, 3) and out.dtype == np.uint8 for out in first)
    assert all(np.array_equal(a, b) for a, b in zip(first, again, strict=True))
    assert not all(np.array_equal(a, b) for a, b in zip(first, other, strict=True))


def test_the_shifts_draw_independently_of_each_other():
    block = build_train_transform(seed=4, device_shift=True).transforms[-1]
    assert isinstance(block, DeviceShift)
    first_draws = [t.py_random.random() for t in block.transforms]
    assert len(set(first_draws)) == len(first_draws)  # Albumentations alone gives one value


def test_corners_blacken_the_corners_of_a_real_image_and_keep_its_centre(images):
    image = images[0]
    corners = A.Compose([DermatoscopeCorners(radius_range=(1.0, 1.0), p=1.0)], seed=0)
    out = corners(image=image)["image"]
    for rows, cols in [(slice(0, 8), slice(0, 8)), (slice(-8, None), slice(-8, None))]:
        assert out[rows, cols].max() <= 13
        assert image[rows, cols].mean() > 60  # the real image was not dark there
    assert np.array_equal(out[40:56, 40:56], image[40:56, 40:56])


def test_vignette_darkens_the_corners_more_than_the_centre(images):
    image = images[1]
    out = A.Compose([Vignette(strength_range=(0.5, 0.5), p=1.0)], seed=0)(image=image)["image"]
    ratio = out.astype(float) / np.maximum(image.astype(float), 1)
    assert ratio[:6, :6].mean() < 0.65
    assert ratio[44:52, 44:52].mean() > 0.95


def test_hair_draws_a_few_thin_dark_strokes(images):
    image = images[2]
    out = A.Compose([Hair(count_range=(3, 3), p=1.0)], seed=1)(image=image)["image"]
    changed = np.any(out != image, axis=-1)
    assert 0.01 < changed.mean() < 0.25  # thin strokes, not a veil
    assert out[changed].mean() < image[changed].mean() - 30


def test_a_training_run_with_the_switch_on_is_repeatable(tmp_path):
    import torch

    from classifier.factory import model_data_config
    from training.loop import train

    config = TrainConfig(
        img_size=32, pretrained=False, epochs=1, batch_size=4, threads=1, device_shift=True
    )
    rng = np.random.default_rng(0)
    arrays = dict(
        train_images=rng.integers(0, 256, (12, 32, 32, 3), dtype=np.uint8),
        train_labels=np.arange(12) % 3,
        val_images=rng.integers(0, 256, (6, 32, 32, 3), dtype=np.uint8),
        val_labels=np.arange(6) % 3,
        num_classes=3,
        data_config=model_data_config(config.arch, input_size=32),
    )
    runs = [
        train(config=config, checkpoint_dir=tmp_path / name, progress=False, log=print, **arrays)
        for name in ("a", "b")
    ]
    first, second = (run.model.state_dict() for run in runs)
    assert all(torch.equal(first[k], second[k]) for k in first)


def test_train_model_takes_the_switch():
    from training.management.commands.train_model import Command

    parser = Command().create_parser("manage.py", "train_model")
    assert parser.parse_args(["--data", "d", "--device-shift"]).device_shift is True
    assert parser.parse_args(["--data", "d"]).device_shift is False
