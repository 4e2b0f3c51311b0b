"""Training augmentations (Albumentations), the list of the DermaScan seed.

They run on the cached, already preprocessed image at network size; geometry
first, then colour, then noise/blur, elastic skin deformation and occlusions.
``device_shift`` appends what changes between dermatoscopes and clinics (see
:func:`device_shift_transform`).
"""

from __future__ import annotations

import math
from typing import Any

import albumentations as A
import cv2
import numpy as np

# Mixed into the device-shift seeds, so its draws are a stream of their own.
DEVICE_SHIFT_STREAM = 0xD5


def build_train_transform(*, seed: int, device_shift: bool = False) -> A.Compose:
    """Seeded pipeline; call ``set_random_seed`` per epoch for repeatable, resumable runs."""
    transforms = [
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
    ]
    if device_shift:
        transforms.append(device_shift_transform())
    return A.Compose(transforms, seed=seed)


def device_shift_transform() -> DeviceShift:
    """What another clinic's dermatoscope and software do to the same lesion.

    In capture order: hair on the skin, a sensor of another aspect ratio, optics
    (defocus, vignetting), illumination and white balance, the camera's tone curve,
    the scope's circular field of view (black corners), then a lower resolution
    and JPEG compression. Each is drawn independently, so most images get a few.
    """
    return DeviceShift(
        [
            Hair(count_range=(1, 6), p=0.25),
            # Up to 4:3 either way; the flips and rotations before choose the axis.
            A.Affine(
                scale={"x": (0.75, 1.33), "y": (1.0, 1.0)},
                border_mode=cv2.BORDER_REFLECT_101,
                p=0.3,
            ),
            A.OneOf(
                [
                    A.Defocus(radius=(1, 3), alias_blur=(0.1, 0.3), p=1.0),
                    A.GaussianBlur(blur_limit=(3, 5), sigma_limit=(0.5, 1.5), p=1.0),
                ],
                p=0.3,
            ),
            Vignette(strength_range=(0.15, 0.5), p=0.3),
            A.PlanckianJitter(mode="blackbody", temperature_limit=(4500, 8500), p=0.4),
            # Per-channel gain: a white balance that is off (tint) rather than warm/cold.
            A.MultiplicativeNoise(multiplier=(0.9, 1.1), per_channel=True, p=0.3),
            A.RandomGamma(gamma_limit=(70, 150), p=0.3),
            A.RandomBrightnessContrast(
                brightness_limit=(-0.15, 0.1), contrast_limit=(-0.3, 0.1), p=0.3
            ),
            DermatoscopeCorners(radius_range=(0.95, 1.3), p=0.3),
            A.Downscale(
                scale_range=(0.5, 0.9),
                interpolation_pair={"downscale": cv2.INTER_AREA, "upscale": cv2.INTER_LINEAR},
                p=0.25,
            ),
            A.ImageCompression(quality_range=(40, 90), p=0.3),
        ]
    )


class DeviceShift(A.Sequential):
    """Applies its transforms in order, each with a random stream of its own.

    Albumentations 2 seeds every transform of a Compose with the same seed, so
    transforms that draw alike decide alike (two p=0.5 flips always fire together).
    Here each child gets a seed derived from the pipeline's, so the shifts are
    drawn independently and repeatably, and the transforms before them draw
    exactly what they draw without this block.
    """

    def __init__(self, transforms: list, p: float = 1.0):
        super().__init__(transforms, p=p)

    def set_random_seed(self, seed: int | None) -> None:
        super().set_random_seed(seed)
        if seed is not None:
            _seed_apart(self.transforms, [DEVICE_SHIFT_STREAM, seed])


def _seed_apart(transforms: list, entropy: list[int]) -> None:
    states = np.random.SeedSequence(entropy).generate_state(len(transforms), dtype=np.uint32)
    for position, (transform, state) in enumerate(zip(transforms, states, strict=True)):
        transform.set_random_seed(int(state))
        if getattr(transform, "transforms", None):  # OneOf & co: their children too
            _seed_apart(transform.transforms, [*entropy, position])


class Vignette(A.ImageOnlyTransform):
    """Radial darkening toward the corners (lens and ring-light fall-off).

    The gain is 1 - strength * (r / r_corner)^2 around a slightly off-centre point.
    """

    def __init__(self, strength_range: tuple[float, float] = (0.15, 0.5), p: float = 0.5):
        super().__init__(p=p)
        self.strength_range = strength_range

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict:
        height, width = params["shape"][:2]
        return {
            "strength": self.py_random.uniform(*self.strength_range),
            "centre": (
                width / 2 * (1 + self.py_random.uniform(-0.1, 0.1)),
                height / 2 * (1 + self.py_random.uniform(-0.1, 0.1)),
            ),
        }

    def apply(self, img: np.ndarray, strength: float, centre: tuple, **params: Any) -> np.ndarray:
        height, width = img.shape[:2]
        ys, xs = np.ogrid[:height, :width]
        squared = ((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2) / ((width**2 + height**2) / 4)
        gain = np.clip(1.0 - strength * squared, 0.0, 1.0).astype(np.float32)
        return _blend_to_uint8(img.astype(np.float32) * gain[..., None])

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("strength_range",)


class DermatoscopeCorners(A.ImageOnlyTransform):
    """The contact scope's circular field of view: black outside a circle.

    ``radius_range`` is in half the shorter side: 1 touches the edges (the corners
    black), sqrt(2) passes through the corners (nothing black). The rim is a few
    pixels soft and the black not quite zero, as in real captures.
    """

    def __init__(self, radius_range: tuple[float, float] = (0.95, 1.3), p: float = 0.5):
        super().__init__(p=p)
        self.radius_range = radius_range

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict:
        height, width = params["shape"][:2]
        half = min(height, width) / 2
        return {
            "radius": half * self.py_random.uniform(*self.radius_range),
            "centre": (
                width / 2 + half * self.py_random.uniform(-0.05, 0.05),
                height / 2 + half * self.py_random.uniform(-0.05, 0.05),
            ),
            "softness": self.py_random.uniform(1.0, 4.0),
            "black": self.py_random.uniform(0.0, 12.0),
        }

    def apply(
        self,
        img: np.ndarray,
        radius: float,
        centre: tuple,
        softness: float,
        black: float,
        **params: Any,
    ) -> np.ndarray:
        height, width = img.shape[:2]
        ys, xs = np.ogrid[:height, :width]
        distance = np.sqrt((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2)
        inside = np.clip((radius - distance) / softness + 0.5, 0.0, 1.0).astype(np.float32)
        inside = inside[..., None]
        return _blend_to_uint8(img.astype(np.float32) * inside + black * (1.0 - inside))

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("radius_range",)


class Hair(A.ImageOnlyTransform):
    """A few thin dark hairs: curved strokes (quadratic Bezier) in dark brown to black."""

    def __init__(self, count_range: tuple[int, int] = (1, 6), p: float = 0.5):
        super().__init__(p=p)
        self.count_range = count_range

    def get_params_dependent_on_data(self, params: dict[str, Any], data: dict[str, Any]) -> dict:
        height, width = params["shape"][:2]
        side = min(height, width)
        hairs = []
        for _ in range(self.py_random.randint(*self.count_range)):
            start = self.random_generator.uniform((0, 0), (width, height))
            angle = self.py_random.uniform(0, 2 * math.pi)
            length = side * self.py_random.uniform(0.3, 1.0)
            end = start + length * np.array([math.cos(angle), math.sin(angle)])
            bend = self.random_generator.normal(0.0, 0.25 * length, size=2)
            t = np.linspace(0.0, 1.0, 24)[:, None]
            control = (start + end) / 2 + bend
            points = (1 - t) ** 2 * start + 2 * (1 - t) * t * control + t**2 * end
            shade = self.py_random.uniform(10, 60)
            hairs.append(
                {
                    "points": np.round(points).astype(np.int32),
                    "colour": (shade, shade * 0.8, shade * 0.6),
                    "thickness": self.py_random.randint(1, max(1, round(side / 128))),
                }
            )
        return {"hairs": hairs, "opacity": self.py_random.uniform(0.6, 0.95)}

    def apply(
        self, img: np.ndarray, hairs: list[dict], opacity: float, **params: Any
    ) -> np.ndarray:
        drawn = np.ascontiguousarray(img).copy()
        for hair in hairs:
            cv2.polylines(
                drawn, [hair["points"]], False, hair["colour"], hair["thickness"], cv2.LINE_AA
            )
        return cv2.addWeighted(drawn, opacity, img, 1.0 - opacity, 0.0)

    def get_transform_init_args_names(self) -> tuple[str, ...]:
        return ("count_range",)


def _blend_to_uint8(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values), 0, 255).astype(np.uint8)


def augmentation_summary(*, device_shift: bool = False) -> list[str]:
    """Human-readable list for the model card."""
    summary = [
        "HorizontalFlip 0.5, VerticalFlip 0.5, RandomRotate90 0.5, Transpose 0.5",
        "Affine (ShiftScaleRotate) shift 0.1, scale 0.8-1.2, rotate 45 deg, p 0.7",
        "HueSaturationValue 10/20/10 p 0.5, RandomBrightnessContrast 0.2/0.2 p 0.5, CLAHE p 0.1",
        "one of GaussNoise / GaussianBlur / MotionBlur, p 0.3",
        "ElasticTransform alpha 30 sigma 6, p 0.2",
        "CoarseDropout 1-4 holes of 5-12 %, p 0.3",
    ]
    if device_shift:
        summary += [
            "device shift (other dermatoscopes and clinics), each drawn independently: "
            "hair (1-6 thin dark curves) p 0.25",
            "anisotropic stretch up to 4:3 (Affine x scale 0.75-1.33) p 0.3",
            "one of Defocus radius 1-3 / GaussianBlur sigma 0.5-1.5, p 0.3; "
            "vignetting (corner gain 0.5-0.85) p 0.3",
            "PlanckianJitter 4500-8500 K p 0.4, per-channel gain 0.9-1.1 p 0.3",
            "RandomGamma 70-150 p 0.3, RandomBrightnessContrast -0.15..0.1 / -0.3..0.1 p 0.3",
            "black dermatoscope corners (circular field, radius 0.95-1.3 x half side) p 0.3",
            "Downscale 0.5-0.9 then up p 0.25, JPEG quality 40-90 p 0.3",
        ]
    return summary


def apply(transform: A.Compose, image: np.ndarray) -> np.ndarray:
    return transform(image=image)["image"]
