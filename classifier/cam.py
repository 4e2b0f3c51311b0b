"""Class activation maps for the predicted class, and their overlay on the image.

Grad-CAM weights each channel k of the last convolutional feature map A by the
spatial mean of dy_c/dA_k. When the head is global average pooling followed by
a linear layer, y_c = b_c + sum_k w_ck * mean(A_k), so dy_c/dA_k(i, j) = w_ck / (h*w)
everywhere and Grad-CAM = ReLU(sum_k w_ck A_k) / (h*w): the plain CAM of Zhou et
al. After min-max normalisation the two are identical, so the fast path needs
no backward pass (``tests/test_cam.py`` checks this against :func:`gradcam_backward`).
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING

import cv2
import numpy as np
from PIL import Image

from classifier.tta import VIEWS, invert_views

if TYPE_CHECKING:  # torch is imported lazily: ONNX-only workers run without it
    import torch
    from torch import nn


def supports_fast_cam(model: nn.Module) -> bool:
    """True when the head is global average pool -> (dropout) -> linear, as in EfficientNet."""
    from torch import nn

    pool = getattr(model, "global_pool", None)
    get_classifier = getattr(model, "get_classifier", None)
    if pool is None or get_classifier is None or not hasattr(model, "forward_features"):
        return False
    return getattr(pool, "pool_type", None) == "avg" and isinstance(get_classifier(), nn.Linear)


def class_weights(model: nn.Module) -> np.ndarray:
    """(num_classes, channels) weights of the linear head, as float32 numpy."""
    return model.get_classifier().weight.detach().float().cpu().numpy()


def cam_from_features(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """ReLU(sum_k w_k A_k): features (N, C, h, w), weights (C,) -> maps (N, h, w)."""
    maps = np.einsum("nchw,c->nhw", features.astype(np.float32, copy=False), weights)
    return np.maximum(maps, 0.0)


def tta_cam(
    features: np.ndarray, weights: np.ndarray, views: tuple[str, ...] = VIEWS
) -> np.ndarray:
    """Average CAM over TTA views, each view's map turned back to the original orientation.

    features: (V, C, h, w) for one image's V views -> (h, w).
    """
    maps = cam_from_features(features, weights)
    return invert_views(maps, views)[0].mean(axis=0)


def gradcam_backward(model: nn.Module, batch: torch.Tensor, class_index: int) -> np.ndarray:
    """Textbook Grad-CAM with a backward pass at the last feature map: (N, 3, S, S) -> (N, h, w).

    Kept as the reference for the fast path and for heads that are not pool+linear.
    """
    import torch

    was_training = model.training
    model.eval()
    try:
        with torch.enable_grad():
            features = model.forward_features(batch.detach())
            features.retain_grad()
            logits = model.forward_head(features)
            model.zero_grad(set_to_none=True)
            logits[:, class_index].sum().backward()
            alpha = features.grad.mean(dim=(2, 3), keepdim=True)
            maps = torch.relu((alpha * features).sum(dim=1))
    finally:
        model.zero_grad(set_to_none=True)
        model.train(was_training)
    return maps.detach().float().cpu().numpy()


def normalise_map(heat: np.ndarray) -> np.ndarray:
    """Min-max to 0..1 (a flat map becomes all zeros: nothing stands out)."""
    heat = np.asarray(heat, dtype=np.float32)
    low, high = float(heat.min()), float(heat.max())
    if high - low < 1e-12:
        return np.zeros_like(heat)
    return (heat - low) / (high - low)


def upsample_map(heat: np.ndarray, height: int, width: int) -> np.ndarray:
    """Feature-map resolution -> image resolution, normalised to 0..1.

    Bicubic rather than bilinear: small inputs give coarse maps (4x4 at 128 px) and
    bilinear draws them as visible squares. Cubic overshoot is clipped at zero.
    """
    resized = cv2.resize(heat.astype(np.float32), (width, height), interpolation=cv2.INTER_CUBIC)
    return normalise_map(np.maximum(resized, 0.0))


def overlay_heatmap(rgb: np.ndarray, heat: np.ndarray, *, alpha: float = 0.4) -> Image.Image:
    """JET-coloured ``heat`` (H, W, 0..1) blended over ``rgb`` (H, W, 3 uint8)."""
    coloured = cv2.applyColorMap(np.uint8(np.clip(heat, 0, 1) * 255), cv2.COLORMAP_JET)
    coloured = cv2.cvtColor(coloured, cv2.COLOR_BGR2RGB)
    blended = cv2.addWeighted(rgb, 1.0 - alpha, coloured, alpha, 0.0)
    return Image.fromarray(blended)


def png_bytes(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=False)
    return buffer.getvalue()
