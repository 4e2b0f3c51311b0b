"""Exponential moving average of the weights (evaluated and exported instead of the raw ones)."""

from __future__ import annotations

import copy

import torch
from torch import nn


class ModelEma:
    """EMA with warm-up: decay_t = min(decay, (1 + t) / (10 + t)).

    The warm-up lets the average follow the fast early changes of a short run
    (a fixed 0.9995 would still be mostly ImageNet weights after a few hundred steps).
    """

    def __init__(self, model: nn.Module, *, decay: float = 0.999) -> None:
        self.module = copy.deepcopy(model).eval()
        for param in self.module.parameters():
            param.requires_grad_(False)
        self.decay = decay
        self.updates = 0

    @torch.no_grad()
    def update(self, model: nn.Module) -> None:
        self.updates += 1
        decay = min(self.decay, (1 + self.updates) / (10 + self.updates))
        own = self.module.state_dict()
        for key, value in model.state_dict().items():
            if value.dtype.is_floating_point:
                own[key].mul_(decay).add_(value.detach(), alpha=1 - decay)
            else:
                own[key].copy_(value)

    def state_dict(self) -> dict:
        return {"module": self.module.state_dict(), "updates": self.updates, "decay": self.decay}

    def load_state_dict(self, state: dict) -> None:
        self.module.load_state_dict(state["module"])
        self.updates = int(state["updates"])
        self.decay = float(state["decay"])
