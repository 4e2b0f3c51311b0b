"""Mixup and CutMix on a batch with one-hot targets (one of the two per mixed batch)."""

from __future__ import annotations

import numpy as np
import torch


def mix_batch(
    images: torch.Tensor,
    targets: torch.Tensor,
    rng: np.random.Generator,
    *,
    mixup_alpha: float = 0.2,
    cutmix_alpha: float = 0.2,
    prob: float = 0.5,
    switch_prob: float = 0.5,
) -> tuple[torch.Tensor, torch.Tensor]:
    """With probability ``prob`` mix the batch with its reverse; returns (images, targets)."""
    if len(images) < 2 or rng.random() >= prob or (mixup_alpha <= 0 and cutmix_alpha <= 0):
        return images, targets
    use_cutmix = cutmix_alpha > 0 and (mixup_alpha <= 0 or rng.random() < switch_prob)
    partner = torch.arange(len(images) - 1, -1, -1)
    if use_cutmix:
        lam = float(rng.beta(cutmix_alpha, cutmix_alpha))
        height, width = images.shape[-2:]
        cut_h, cut_w = int(height * np.sqrt(1 - lam)), int(width * np.sqrt(1 - lam))
        cy, cx = int(rng.integers(height)), int(rng.integers(width))
        top, bottom = max(cy - cut_h // 2, 0), min(cy + cut_h // 2, height)
        left, right = max(cx - cut_w // 2, 0), min(cx + cut_w // 2, width)
        images = images.clone()
        images[:, :, top:bottom, left:right] = images[partner, :, top:bottom, left:right]
        lam = 1 - (bottom - top) * (right - left) / (height * width)  # the area really swapped
    else:
        lam = float(rng.beta(mixup_alpha, mixup_alpha))
        images = images * lam + images[partner] * (1 - lam)
    return images, targets * lam + targets[partner] * (1 - lam)
