"""Learning rate per optimisation step: linear warm-up, then cosine decay to a floor."""

from __future__ import annotations

import math


def warmup_cosine_lr(
    step: int, *, total_steps: int, warmup_steps: int, base_lr: float, min_lr: float
) -> float:
    if warmup_steps > 0 and step < warmup_steps:
        return base_lr * (step + 1) / warmup_steps
    span = max(total_steps - warmup_steps, 1)
    progress = min(max(step - warmup_steps, 0) / span, 1.0)
    return min_lr + 0.5 * (base_lr - min_lr) * (1 + math.cos(math.pi * progress))
