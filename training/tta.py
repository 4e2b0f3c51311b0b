"""Test-time augmentation over cached images, with the engine's own views.

The views (the 8 symmetries of the square) come from ``classifier.tta``, so the
logits scored here are those the Predictor averages when it serves the model.
All views' logits are kept ((N, V, K)) so the temperature can be fitted on the
combined output (see ``classifier.calibration.combine_views``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from classifier.preprocessing import DataConfig, normalise
from classifier.tta import VIEWS, make_views


@torch.no_grad()
def tta_view_logits(
    model: nn.Module,
    images: np.ndarray,
    data_config: DataConfig,
    *,
    device: torch.device,
    tta: bool = True,
    batch_size: int = 16,
    progress=None,
) -> np.ndarray:
    """(N, V, K) logits for uint8 images (N, S, S, 3); V = 8 with TTA, else 1."""
    model.eval()
    views = VIEWS if tta else ("identity",)
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(normalise(images[start : start + batch_size], data_config))
        stacked = make_views(batch, views).to(device).contiguous(memory_format=torch.channels_last)
        logits = model(stacked).float().cpu()
        outputs.append(logits.view(len(batch), len(views), -1))  # image-major, as make_views
        if progress is not None:
            progress(len(batch))
    if not outputs:
        return np.zeros((0, len(views), 0), dtype=np.float32)
    return torch.cat(outputs).numpy()
