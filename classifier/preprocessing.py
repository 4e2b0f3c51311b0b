"""Image loading and the dermoscopy preprocessing pipeline (from the DermaScan seed).

Every step is switchable and its settings are stored in the model artifact, so
training and inference always run the same pipeline. Order: black border
removal, optional hair removal, optional Shades-of-Gray colour constancy, CLAHE
on L (LAB), gentle brightness, bilateral filter. All functions take and return
RGB uint8 arrays (H, W, 3).
"""

from __future__ import annotations

import io
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

import cv2
import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from classifier.errors import ImageError

if TYPE_CHECKING:
    import torch


@dataclass(frozen=True)
class DataConfig:
    """How images must be sized and normalised for one architecture (timm's view).

    Built by :func:`classifier.factory.model_data_config`; lives here so that
    preprocessing does not import timm.
    """

    input_size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    interpolation: str = "bicubic"
    crop_pct: float = 1.0

    def to_dict(self) -> dict:
        data = asdict(self)
        data["mean"] = list(self.mean)
        data["std"] = list(self.std)
        return data


MIN_IMAGE_SIDE = 32
BORDER_DARK_LEVEL = 20  # grey level at or below which a pixel counts as black border
BORDER_DARK_FRACTION = 0.98  # a row/column is border when this share of it is black
BORDER_MIN_KEEP = 0.5  # never crop away more than half of a side (dark lesion, not a frame)


@dataclass
class PreprocessConfig:
    remove_border: bool = True
    clahe: bool = True
    clahe_clip: float = 2.0
    clahe_grid: int = 8
    brightness: float = 1.05
    bilateral: bool = True
    bilateral_d: int = 9
    bilateral_sigma_color: float = 75
    bilateral_sigma_space: float = 75
    hair_removal: bool = False
    # Shades-of-Gray colour constancy (Finlayson & Trezzi 2004; used by the ISIC 2018/2019
    # leaders): divides out the illuminant estimated by the Minkowski p-norm of each channel,
    # so images from other cameras and lighting look alike. Off by default: older artifacts
    # were trained without it, and a missing key must mean the pipeline they were trained on.
    color_constancy: bool = False
    color_constancy_power: int = 6
    # Larger images are shrunk (area interpolation) before the filters, so a phone photo
    # is filtered at a scale close to the training images and costs bounded time.
    max_side: int = 512

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> PreprocessConfig:
        """Build from a stored dict; unknown keys are an error (the pipeline could differ)."""
        data = dict(data or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"Unknown preprocessing settings: {', '.join(unknown)}")
        return cls(**data)

    @classmethod
    def none(cls) -> PreprocessConfig:
        """Every step off: the raw image is only resized and normalised."""
        return cls(remove_border=False, clahe=False, brightness=1.0, bilateral=False)


# --- loading -----------------------------------------------------------------


def load_rgb(source: str | Path | bytes | BinaryIO | Image.Image) -> np.ndarray:
    """Decode ``source`` into an RGB uint8 array with EXIF orientation applied."""
    image = _open(source)
    try:
        image.load()  # decode now, so a truncated file fails here and not later
        image = ImageOps.exif_transpose(image)
        rgb = _to_rgb(image)
    except ImageError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ImageError(f"{_describe(source)}: cannot decode the image ({exc})") from None
    if min(rgb.shape[:2]) < MIN_IMAGE_SIDE:
        raise ImageError(
            f"{_describe(source)}: image is {rgb.shape[1]}x{rgb.shape[0]} px, "
            f"at least {MIN_IMAGE_SIDE} px per side is needed"
        )
    return rgb


def _open(source) -> Image.Image:
    if isinstance(source, Image.Image):
        return source
    try:
        if isinstance(source, (bytes, bytearray, memoryview)):
            if not len(source):
                raise ImageError("empty upload: no image data")
            return Image.open(io.BytesIO(bytes(source)))
        if isinstance(source, (str, Path)):
            path = Path(source)
            if not path.exists():
                raise ImageError(f"{path}: file not found")
            if not path.is_file():
                raise ImageError(f"{path}: not a file")
            if path.stat().st_size == 0:
                raise ImageError(f"{path}: file is empty")
            return Image.open(path)
        return Image.open(source)
    except UnidentifiedImageError:
        raise ImageError(
            f"{_describe(source)}: not an image, or a format that cannot be read"
        ) from None
    except Image.DecompressionBombError as exc:
        raise ImageError(f"{_describe(source)}: image too large ({exc})") from None
    except OSError as exc:
        raise ImageError(f"{_describe(source)}: cannot open ({exc})") from None


def _to_rgb(image: Image.Image) -> np.ndarray:
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        # High bit-depth greyscale: stretch to 8 bits instead of clipping.
        values = np.asarray(image, dtype=np.float32)
        top = float(values.max()) or 1.0
        image = Image.fromarray(np.clip(values / top * 255.0, 0, 255).astype(np.uint8))
    if image.mode in ("RGBA", "LA", "PA") or (image.mode == "P" and "transparency" in image.info):
        rgba = image.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, rgba)
    return np.ascontiguousarray(np.asarray(image.convert("RGB"), dtype=np.uint8))


def _describe(source) -> str:
    if isinstance(source, (str, Path)):
        return str(source)
    name = getattr(source, "name", None)
    return str(name) if isinstance(name, str) else "image"


# --- the pipeline ------------------------------------------------------------


def preprocess_image(rgb: np.ndarray, config: PreprocessConfig) -> np.ndarray:
    """Run the enabled steps on an RGB uint8 image; returns a new RGB uint8 image."""
    return preprocess_with_crop(rgb, config)[0]


def preprocess_with_crop(
    rgb: np.ndarray, config: PreprocessConfig
) -> tuple[np.ndarray, np.ndarray]:
    """Like :func:`preprocess_image`, also returning the unfiltered (shrunk, cropped) image.

    The second image has the geometry of the first one, which is what a heatmap
    overlay must be drawn on.
    """
    _check_rgb(rgb)
    image = limit_size(rgb, config.max_side)
    if config.remove_border:
        top, bottom, left, right = find_border_crop(image)
        image = image[top:bottom, left:right]
    geometry = image
    if config.hair_removal:
        image = remove_hair(image)
    if config.color_constancy:
        image = shades_of_gray(image, power=config.color_constancy_power)
    if config.clahe:
        image = apply_clahe(image, clip=config.clahe_clip, grid=config.clahe_grid)
    if config.brightness != 1.0:
        image = cv2.convertScaleAbs(image, alpha=config.brightness, beta=0)
    if config.bilateral:
        image = cv2.bilateralFilter(
            image, config.bilateral_d, config.bilateral_sigma_color, config.bilateral_sigma_space
        )
    return np.ascontiguousarray(image), np.ascontiguousarray(geometry)


def limit_size(rgb: np.ndarray, max_side: int | None) -> np.ndarray:
    height, width = rgb.shape[:2]
    if not max_side or max(height, width) <= max_side:
        return rgb
    scale = max_side / max(height, width)
    size = (max(1, round(width * scale)), max(1, round(height * scale)))
    return cv2.resize(rgb, size, interpolation=cv2.INTER_AREA)


def find_border_crop(rgb: np.ndarray) -> tuple[int, int, int, int]:
    """(top, bottom, left, right) bounds that drop black frame rows and columns.

    A row or column is frame when nearly all of it is black. A dark lesion
    touching the edge is not, and the crop may never remove more than half of
    a side, so the whole image is kept when in doubt.
    """
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    dark = grey <= BORDER_DARK_LEVEL
    content_rows = np.flatnonzero(dark.mean(axis=1) < BORDER_DARK_FRACTION)
    content_cols = np.flatnonzero(dark.mean(axis=0) < BORDER_DARK_FRACTION)
    height, width = grey.shape
    if content_rows.size == 0 or content_cols.size == 0:
        return 0, height, 0, width
    top, bottom = int(content_rows[0]), int(content_rows[-1]) + 1
    left, right = int(content_cols[0]), int(content_cols[-1]) + 1
    if (bottom - top) < BORDER_MIN_KEEP * height or (right - left) < BORDER_MIN_KEEP * width:
        return 0, height, 0, width
    return top, bottom, left, right


def shades_of_gray(rgb: np.ndarray, *, power: int = 6) -> np.ndarray:
    """Scale each channel so that the scene's estimated illuminant becomes neutral grey.

    The illuminant is the per-channel Minkowski ``power``-mean (p=1 is grey world, p=inf
    is max-RGB; 6 is what the ISIC challenge entries used). Gains are normalised so a
    neutral image is unchanged.
    """
    # uint8 pixels take 256 values: the power mean comes from each channel's histogram and
    # the gains are applied through a lookup table, a fifth of the time of float images.
    pixels = np.ascontiguousarray(rgb).reshape(-1, 3)
    counts = np.stack([np.bincount(pixels[:, c], minlength=256) for c in range(3)])
    powers = (np.arange(256, dtype=np.float64) / 255.0) ** power
    illuminant = (counts @ powers / len(pixels)) ** (1.0 / power)
    norm = float(np.linalg.norm(illuminant))
    if norm < 1e-6:  # an all-black image has no illuminant to correct
        return rgb.copy()
    gains = norm / (np.sqrt(3.0) * np.maximum(illuminant, 1e-6))
    table = np.clip(np.arange(256, dtype=np.float64)[:, None] * gains, 0, 255).astype(np.uint8)
    return cv2.LUT(np.ascontiguousarray(rgb), table.reshape(256, 1, 3))


def apply_clahe(rgb: np.ndarray, *, clip: float = 2.0, grid: int = 8) -> np.ndarray:
    """Contrast-limited histogram equalisation of lightness only, so hues stay put."""
    lab = cv2.cvtColor(rgb, cv2.COLOR_RGB2LAB)
    # A CLAHE object per call: OpenCV's objects are not documented as thread-safe.
    clahe = cv2.createCLAHE(clipLimit=clip, tileGridSize=(grid, grid))
    lab[:, :, 0] = clahe.apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2RGB)


def remove_hair(rgb: np.ndarray, *, kernel_size: int = 17, threshold: int = 10) -> np.ndarray:
    """DullRazor-style hair removal: black-hat finds thin dark strands, inpainting fills them."""
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY)
    # Kernel scaled to the image: a strand is a few pixels wide at ~256-600 px.
    size = max(3, int(round(kernel_size * max(rgb.shape[:2]) / 600)) | 1)
    kernel = cv2.getStructuringElement(cv2.MORPH_CROSS, (size, size))
    blackhat = cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, kernel)
    _, mask = cv2.threshold(blackhat, threshold, 255, cv2.THRESH_BINARY)
    if not mask.any():
        return rgb.copy()
    return cv2.inpaint(rgb, mask, 1, cv2.INPAINT_TELEA)


# --- to the network ----------------------------------------------------------

_INTERPOLATION = {
    "bicubic": cv2.INTER_CUBIC,
    "bilinear": cv2.INTER_LINEAR,
    "nearest": cv2.INTER_NEAREST,
}


def resize_square(rgb: np.ndarray, size: int, interpolation: str = "bicubic") -> np.ndarray:
    """Resize the whole image to size x size (no crop: the lesion may reach the edge)."""
    height, width = rgb.shape[:2]
    if (height, width) == (size, size):
        return rgb
    shrinking = size < height and size < width
    flag = cv2.INTER_AREA if shrinking else _INTERPOLATION.get(interpolation, cv2.INTER_CUBIC)
    return cv2.resize(rgb, (size, size), interpolation=flag)


def normalise(rgb: np.ndarray, data_config: DataConfig) -> np.ndarray:
    """uint8 RGB -> float32 channels-first, scaled to 0..1 then standardised by mean/std.

    (H, W, 3) -> (3, H, W), or a batch (N, H, W, 3) -> (N, 3, H, W). The one
    normalisation of the project: training feeds its batches through it as well.
    """
    mean = np.asarray(data_config.mean, dtype=np.float32) * 255.0
    scale = 1.0 / (np.asarray(data_config.std, dtype=np.float32) * 255.0)
    values = (np.asarray(rgb).astype(np.float32) - mean) * scale
    axes = (2, 0, 1) if values.ndim == 3 else (0, 3, 1, 2)
    return np.ascontiguousarray(values.transpose(axes))


def to_model_input(rgb: np.ndarray, data_config: DataConfig) -> torch.Tensor:
    """(3, S, S) float tensor for the network, S = data_config.input_size."""
    import torch  # here, not at module level: ONNX-only workers never load torch

    _check_rgb(rgb)
    square = resize_square(rgb, data_config.input_size, data_config.interpolation)
    return torch.from_numpy(normalise(square, data_config))


def _check_rgb(rgb: np.ndarray) -> None:
    if not isinstance(rgb, np.ndarray) or rgb.ndim != 3 or rgb.shape[2] != 3:
        shape = getattr(rgb, "shape", None)
        raise ImageError(f"expected an RGB array of shape (H, W, 3), got {shape}")
    if rgb.dtype != np.uint8:
        raise ImageError(f"expected a uint8 RGB array, got dtype {rgb.dtype}")
