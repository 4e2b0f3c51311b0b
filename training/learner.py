"""What a training step works on: the network, its EMA, the optimiser, loss and schedule."""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from classifier.factory import create_model
from training.ema import ModelEma
from training.errors import TrainingError
from training.losses import FocalLoss, class_weights_for
from training.recipe import TrainConfig
from training.schedule import warmup_cosine_lr


@dataclass
class Learner:
    """What every optimisation step uses and updates."""

    model: nn.Module
    ema: ModelEma
    optimizer: torch.optim.Optimizer
    scaler: torch.amp.GradScaler
    loss_fn: nn.Module
    trainable: list[nn.Parameter]
    frozen: list[nn.Module]  # stem and first stages kept at their ImageNet weights
    num_classes: int
    device: torch.device
    lr_at: Callable[[int], float]  # learning rate of an optimisation step
    steps_per_epoch: int


def reset_head(model: nn.Module, *, std: float = 0.01) -> None:
    """Small random head: timm's default (uniform 1/sqrt(classes)) starts with logits of
    several units on ImageNet features, a large, noisy loss that slows the first epoch."""
    head = model.get_classifier()
    if isinstance(head, nn.Linear):
        with torch.no_grad():
            head.weight.normal_(0.0, std)
            head.bias.zero_()


def freeze_early_layers(model: nn.Module, blocks: int) -> list[nn.Module]:
    """Freeze the stem and the first ``blocks`` stages; returns the frozen modules."""
    if blocks <= 0 or not hasattr(model, "blocks"):
        return []
    frozen = [m for m in (getattr(model, "conv_stem", None), getattr(model, "bn1", None)) if m]
    frozen += list(model.blocks[:blocks])
    for module in frozen:
        for param in module.parameters():
            param.requires_grad_(False)
    return frozen


def build_learner(
    config: TrainConfig,
    *,
    num_classes: int,
    class_counts: list[int],
    epoch_size: int,
    device: torch.device,
    init_state: dict | None = None,
) -> Learner:
    """Network (fresh head, or ``init_state``), EMA, AdamW, focal loss and lr schedule."""
    model = create_model(
        config.arch,
        num_classes=num_classes,
        pretrained=config.pretrained,
        drop_rate=config.drop_rate,
        drop_path_rate=config.drop_path_rate,
    )
    if init_state is not None:
        try:
            model.load_state_dict(init_state, strict=True)
        except RuntimeError as exc:
            raise TrainingError(f"--init-from weights do not fit this model: {exc}") from None
    else:
        reset_head(model)
    frozen = freeze_early_layers(model, config.freeze_blocks)
    model = model.to(device).to(memory_format=torch.channels_last)
    trainable = [p for p in model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(
        trainable, lr=config.lr, betas=(0.9, 0.999), weight_decay=config.weight_decay
    )
    loss_fn = FocalLoss(
        gamma=config.focal_gamma,
        class_weights=class_weights_for(class_counts, power=config.class_weight_power),
        label_smoothing=config.label_smoothing,
    )
    steps_per_epoch = max(1, math.ceil(epoch_size / config.batch_size))
    return Learner(
        model=model,
        ema=ModelEma(model, decay=config.ema_decay),
        optimizer=optimizer,
        scaler=torch.amp.GradScaler("cuda", enabled=device.type == "cuda"),
        loss_fn=loss_fn.to(device),
        trainable=trainable,
        frozen=frozen,
        num_classes=num_classes,
        device=device,
        lr_at=functools.partial(
            warmup_cosine_lr,
            total_steps=steps_per_epoch * config.epochs,
            warmup_steps=int(round(config.warmup_epochs * steps_per_epoch)),
            base_lr=config.lr,
            min_lr=config.min_lr,
        ),
        steps_per_epoch=steps_per_epoch,
    )
