"""Focal loss with class weights and label smoothing, on soft targets (mixup-safe)."""

from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F


class FocalLoss(nn.Module):
    """-sum_c w_c * t_c * (1 - p_c)^gamma * log p_c, averaged over the batch.

    ``t`` is the (mixed) one-hot target after label smoothing; ``w`` the class
    weights. With gamma 0 and no weights it is plain smoothed cross-entropy.
    """

    def __init__(
        self,
        *,
        gamma: float = 2.0,
        class_weights: torch.Tensor | None = None,
        label_smoothing: float = 0.1,
    ) -> None:
        super().__init__()
        self.gamma = gamma
        self.label_smoothing = label_smoothing
        self.register_buffer("class_weights", class_weights if class_weights is not None else None)

    def forward(self, logits: torch.Tensor, targets: torch.Tensor) -> torch.Tensor:
        num_classes = logits.shape[1]
        if targets.ndim == 1:
            targets = F.one_hot(targets, num_classes).to(logits.dtype)
        targets = targets * (1 - self.label_smoothing) + self.label_smoothing / num_classes
        log_probs = F.log_softmax(logits.float(), dim=1)
        focal = (1 - log_probs.exp()).clamp(min=0).pow(self.gamma)
        per_class = -targets * focal * log_probs
        if self.class_weights is not None:
            per_class = per_class * self.class_weights
        return per_class.sum(dim=1).mean()


def class_weights_for(counts: list[int], *, power: float = 0.5) -> torch.Tensor:
    """(max / n_c) ** power, scaled to mean 1; power 0.5 tempers extreme ratios."""
    tensor = torch.tensor([max(c, 1) for c in counts], dtype=torch.float32)
    weights = (tensor.max() / tensor).pow(power)
    return weights / weights.mean()
