"""Joint image + mask augmentation as batched tensor ops on the training device.

Dermoscopy has no "up": any rotation and both flips are allowed. A random similarity
(rotation, scale 0.8-1.25, shift up to 10 %) is one ``affine_grid``/``grid_sample`` for the
image and its mask together, so they stay aligned; reflection padding avoids black wedges the
served images never have. Colour: brightness, contrast, saturation, per-channel gain (white
balance of another dermatoscope) and gamma, on the image only.
"""

from __future__ import annotations

import math

import torch
from torch.nn import functional


def augment_batch(
    images: torch.Tensor, masks: torch.Tensor, out_size: int, generator: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """uint8 images (N, S, S, 3) and masks (N, S, S) on the device -> float images
    (N, 3, o, o) in [0, 1] and masks (N, 1, o, o), o = ``out_size``."""
    n, device = images.shape[0], images.device
    x = images.permute(0, 3, 1, 2).float() / 255.0
    m = masks[:, None].float()

    def uniform(low: float, high: float, *shape: int) -> torch.Tensor:
        return (torch.rand(n, *shape, generator=generator) * (high - low) + low).to(device)

    angle = uniform(-math.pi, math.pi)
    scale = torch.exp(uniform(math.log(0.8), math.log(1.25)))
    flip = torch.where(uniform(0, 1) < 0.5, -1.0, 1.0)
    shift = uniform(-0.1, 0.1, 2)
    cos, sin = torch.cos(angle) / scale, torch.sin(angle) / scale
    theta = torch.stack(
        [
            torch.stack([cos * flip, -sin, shift[:, 0]], 1),
            torch.stack([sin * flip, cos, shift[:, 1]], 1),
        ],
        1,
    )
    grid = functional.affine_grid(theta, [n, 3, out_size, out_size], align_corners=False)
    x = functional.grid_sample(
        x, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )
    m = functional.grid_sample(
        m, grid, mode="bilinear", padding_mode="reflection", align_corners=False
    )
    return colour_jitter(x, uniform), (m >= 0.5).float()


def colour_jitter(x: torch.Tensor, uniform) -> torch.Tensor:
    grey = x.mean(dim=1, keepdim=True)
    x = grey + (x - grey) * uniform(0.7, 1.3, 1, 1, 1)  # saturation
    x = x * uniform(0.9, 1.1, 3, 1, 1)  # per-channel gain: white balance
    mean = x.mean(dim=(1, 2, 3), keepdim=True)
    x = mean + (x - mean) * uniform(0.75, 1.25, 1, 1, 1)  # contrast
    x = x * uniform(0.8, 1.2, 1, 1, 1)  # brightness
    return x.clamp(0, 1) ** uniform(0.8, 1.25, 1, 1, 1)  # gamma


def normalise(x: torch.Tensor) -> torch.Tensor:
    """[0, 1] -> the encoder's mean = std = 0.5 normalisation."""
    return (x - 0.5) / 0.5


def resize_batch(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 (N, S, S, 3) -> float (N, 3, size, size) in [0, 1], area-averaged like serving."""
    x = images.permute(0, 3, 1, 2).float() / 255.0
    if x.shape[-1] == size:
        return x
    return functional.interpolate(x, size=(size, size), mode="area")
