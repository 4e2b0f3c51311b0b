"""Test-time augmentation over the 8 symmetries of the square (the dihedral group D4).

Dermoscopic lesions have no canonical orientation, so every flip/rotation is an
equally valid view. The views are stacked into ONE batch (one network call),
and maps computed on a view (CAM) are transformed back with the inverse view.
Works on torch tensors and numpy arrays; the last two axes are (H, W), square.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

import numpy as np

VIEWS: tuple[str, ...] = (
    "identity",
    "hflip",
    "vflip",
    "rot90",
    "rot180",
    "rot270",
    "transpose",
    "antitranspose",
)

# Every view except the rotations is its own inverse.
INVERSE: dict[str, str] = {view: view for view in VIEWS} | {"rot90": "rot270", "rot270": "rot90"}

Array = Any  # numpy array or torch tensor


def _torch_or_none(x: Array):
    # torch is never imported here: if it is not loaded already, x cannot be a tensor
    # (this keeps an ONNX-only worker free of torch's memory).
    torch = sys.modules.get("torch")
    return torch if torch is not None and isinstance(x, torch.Tensor) else None


def _flip(x: Array, axes: tuple[int, ...]) -> Array:
    torch = _torch_or_none(x)
    return torch.flip(x, axes) if torch else np.flip(x, axes)


def _rot90(x: Array, k: int) -> Array:
    # Counter-clockwise in the (H, W) plane for both libraries.
    torch = _torch_or_none(x)
    return torch.rot90(x, k, dims=(-2, -1)) if torch else np.rot90(x, k, axes=(-2, -1))


def _transpose(x: Array) -> Array:
    return x.transpose(-2, -1) if _torch_or_none(x) else np.swapaxes(x, -2, -1)


_APPLY: dict[str, Callable[[Array], Array]] = {
    "identity": lambda x: x,
    "hflip": lambda x: _flip(x, (-1,)),
    "vflip": lambda x: _flip(x, (-2,)),
    "rot90": lambda x: _rot90(x, 1),
    "rot180": lambda x: _rot90(x, 2),
    "rot270": lambda x: _rot90(x, 3),
    "transpose": _transpose,
    "antitranspose": lambda x: _flip(_transpose(x), (-2, -1)),
}


def apply_view(x: Array, view: str) -> Array:
    """``x`` seen through ``view`` (last two axes are H, W)."""
    return _APPLY[view](x)


def invert_view(x: Array, view: str) -> Array:
    """Undo ``view``: ``invert_view(apply_view(x, v), v)`` equals ``x``."""
    return _APPLY[INVERSE[view]](x)


def make_views(batch: Array, views: tuple[str, ...] = VIEWS) -> Array:
    """(N, C, H, W) -> (N * V, C, H, W), image-major: rows n*V .. n*V+V-1 are image n."""
    torch = _torch_or_none(batch)
    if torch:
        stacked = torch.stack([apply_view(batch, v).contiguous() for v in views], dim=1)
        return stacked.reshape(-1, *batch.shape[1:])
    stacked = np.stack([np.ascontiguousarray(apply_view(batch, v)) for v in views], axis=1)
    return stacked.reshape(-1, *batch.shape[1:])


def invert_views(maps: Array, views: tuple[str, ...] = VIEWS) -> Array:
    """(N * V, ..., H, W) per-view maps -> (N, V, ..., H, W) all in the original orientation."""
    count = len(views)
    grouped = maps.reshape(-1, count, *maps.shape[1:])
    restored = [invert_view(grouped[:, i], view) for i, view in enumerate(views)]
    torch = _torch_or_none(maps)
    if torch:
        return torch.stack(restored, dim=1)
    return np.stack(restored, axis=1)
