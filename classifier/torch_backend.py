"""The PyTorch backend (CPU or CUDA) and the choice of device, made without importing torch
where it is not needed."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import torch
    from torch import nn


class TorchBackend:
    def __init__(self, model: nn.Module, device: torch.device) -> None:
        import torch

        self._torch = torch
        self.model = model
        self.device = device
        # channels_last is markedly faster for depthwise convs on CPU and on tensor cores.
        self.model.to(memory_format=torch.channels_last)

    @property
    def name(self) -> str:
        """What health and the heartbeat report: "torch", or "torch-cuda" on a GPU."""
        return "torch-cuda" if self.device.type == "cuda" else "torch"

    def warm_up(self) -> None:
        pass

    def run(self, batch: np.ndarray, *, features: bool) -> tuple[np.ndarray, np.ndarray | None]:
        torch = self._torch
        # inference_mode keeps no autograd state, so concurrent calls do not interfere.
        with torch.inference_mode():
            x = torch.from_numpy(batch).to(self.device, non_blocking=True)
            x = x.contiguous(memory_format=torch.channels_last)
            feature_map = self.model.forward_features(x)
            logits = self.model.forward_head(feature_map)
            logits_np = logits.float().cpu().numpy()
            features_np = feature_map.float().cpu().numpy() if features else None
        return logits_np, features_np


def default_device() -> torch.device:
    import torch

    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def torch_device(device) -> torch.device:
    import torch

    return torch.device(device) if device else default_device()


def gpu_present() -> bool:
    """An NVIDIA GPU is visible, judged without importing torch (which costs ~500 MB)."""
    import os

    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/proc/driver/nvidia/version").exists() or Path("/dev/nvidia0").exists()
