"""Training augmentations (Albumentations), the list of the DermaScan seed.

They run on the cached, already preprocessed image at network size; geometry
first, then colour, then noise/blur, elastic skin deformation and occlusions.
"""

from __future__ import annotations

import albumentations as A
import cv2
import numpy as np


def build_train_transform(*, seed: int) -> A.Compose:
    """Seeded pipeline; call ``set_random_seed`` per epoch for repeatable, resumable runs."""
    return A.Compose(
        [
            A.HorizontalFlip(p=0.5),
            A.VerticalFlip(p=0.5),
            A.RandomRotate90(p=0.5),
            A.Transpose(p=0.5),
            # ShiftScaleRotate(shift 0.1, scale 0.2, rotate 45) of the seed, in its
            # Albumentations 2 spelling; reflected borders so no black corners appear.
            A.Affine(
                translate_percent=(-0.1, 0.1),
                scale=(0.8, 1.2),
                rotate=(-45, 45),
                border_mode=cv2.BORDER_REFLECT_101,
                p=0.7,
            ),
            A.HueSaturationValue(hue_shift_limit=10, sat_shift_limit=20, val_shift_limit=10, p=0.5),
            A.RandomBrightnessContrast(brightness_limit=0.2, contrast_limit=0.2, p=0.5),
            A.CLAHE(clip_limit=2.0, p=0.1),
            A.OneOf(
                [
                    A.GaussNoise(std_range=(0.02, 0.06), p=1.0),
                    A.GaussianBlur(blur_limit=(3, 5), p=1.0),
                    A.MotionBlur(blur_limit=(3, 5), p=1.0),
                ],
                p=0.3,
            ),
            # Skin deformation; costly on a CPU, hence applied to a fifth of the images.
            A.ElasticTransform(alpha=30, sigma=6, border_mode=cv2.BORDER_REFLECT_101, p=0.2),
            A.CoarseDropout(
                num_holes_range=(1, 4),
                hole_height_range=(0.05, 0.12),
                hole_width_range=(0.05, 0.12),
                p=0.3,
            ),
        ],
        seed=seed,
    )


def augmentation_summary() -> list[str]:
    """Human-readable list for the model card."""
    return [
        "HorizontalFlip 0.5, VerticalFlip 0.5, RandomRotate90 0.5, Transpose 0.5",
        "Affine (ShiftScaleRotate) shift 0.1, scale 0.8-1.2, rotate 45 deg, p 0.7",
        "HueSaturationValue 10/20/10 p 0.5, RandomBrightnessContrast 0.2/0.2 p 0.5, CLAHE p 0.1",
        "one of GaussNoise / GaussianBlur / MotionBlur, p 0.3",
        "ElasticTransform alpha 30 sigma 6, p 0.2",
        "CoarseDropout 1-4 holes of 5-12 %, p 0.3",
    ]


def apply(transform: A.Compose, image: np.ndarray) -> np.ndarray:
    return transform(image=image)["image"]
