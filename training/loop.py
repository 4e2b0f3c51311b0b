"""The training loop, laid out like timm's train.py.

``train`` builds a :class:`Learner` (network, EMA, optimiser, loss), optionally
restores ``last.pt``, then per epoch runs :func:`train_one_epoch`, :func:`validate`
(the EMA weights) and :func:`~training.checkpoint.save_checkpoint`, and stops early
when validation balanced accuracy stops improving.

Repeatability: every epoch reseeds torch, numpy (sampling, mixup) and the
augmentation pipeline from ``seed`` and the epoch number, so a run resumed from
a checkpoint continues exactly as an uninterrupted one would, and two CPU runs
with one seed give the same weights.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import albumentations as A
import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from classifier.preprocessing import DataConfig, normalise
from training.augment import apply, build_train_transform
from training.checkpoint import RunState, restore_checkpoint, save_checkpoint
from training.checkpoint import load_init_state as load_init_state  # training.pipeline's import
from training.errors import TrainingError
from training.learner import Learner, build_learner
from training.metrics import balanced_accuracy
from training.mixing import mix_batch
from training.recipe import TrainConfig
from training.sampling import epoch_batches, epoch_class_counts


@dataclass
class TrainResult:
    model: nn.Module  # the best EMA weights, in eval mode
    history: list[dict]
    best_epoch: int
    best_score: float
    stopped_early: bool
    device: str
    seconds: float
    extra: dict = field(default_factory=dict)


def select_device() -> torch.device:
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def seed_everything(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % (2**32))


def seed_epoch(seed: int, epoch: int, transform: A.Compose) -> np.random.Generator:
    """Reseed torch and the augmentations; returns the epoch's numpy generator."""
    epoch_seed = seed * 1000 + epoch
    torch.manual_seed(epoch_seed)
    rng = np.random.default_rng(epoch_seed)
    transform.set_random_seed(epoch_seed)
    return rng


def train_one_epoch(
    learner: Learner,
    state: RunState,
    config: TrainConfig,
    *,
    epoch: int,
    batches: list[np.ndarray],
    images: np.ndarray,
    labels: np.ndarray,
    data_config: DataConfig,
    transform: A.Compose,
    rng: np.random.Generator,
    progress: bool = True,
) -> dict:
    """One pass over ``batches``: per step the scheduled lr, augmentation, mixup/CutMix,
    loss, backward, gradient clipping and the EMA update. Advances ``state.step``.

    Returns the epoch's training loss and balanced accuracy (of the dominant label of a
    mixed image), the last learning rate, the images seen and the seconds taken.
    """
    model, device = learner.model, learner.device
    use_amp = device.type == "cuda"
    model.train()
    for module in learner.frozen:
        module.eval()  # frozen stages keep their ImageNet BatchNorm statistics
    started = time.perf_counter()
    loss_sum, seen, running, predicted, truth = 0.0, 0, 0.0, [], []
    lr = learner.lr_at(state.step)  # what an epoch without a batch reports
    bar = tqdm(
        batches,
        desc=f"epoch {epoch + 1}/{config.epochs}",
        unit="batch",
        disable=not progress,
        dynamic_ncols=True,
    )
    for batch_indices in bar:
        lr = learner.lr_at(state.step)
        for group in learner.optimizer.param_groups:
            group["lr"] = lr
        augmented = np.stack([apply(transform, images[i]) for i in batch_indices])
        inputs = torch.from_numpy(normalise(augmented, data_config)).to(device)
        inputs = inputs.contiguous(memory_format=torch.channels_last)
        hard = torch.from_numpy(labels[batch_indices]).long().to(device)
        targets = F.one_hot(hard, learner.num_classes).float()
        inputs, targets = mix_batch(
            inputs,
            targets,
            rng,
            mixup_alpha=config.mixup_alpha,
            cutmix_alpha=config.cutmix_alpha,
            prob=config.mix_prob,
        )
        with torch.autocast(device_type=device.type, enabled=use_amp):
            logits = model(inputs)
        loss = learner.loss_fn(logits.float(), targets)
        if not torch.isfinite(loss):
            raise TrainingError(f"loss became {loss.item()} at epoch {epoch + 1}; lower --lr")
        learner.optimizer.zero_grad(set_to_none=True)
        learner.scaler.scale(loss).backward()
        learner.scaler.unscale_(learner.optimizer)
        nn.utils.clip_grad_norm_(learner.trainable, config.grad_clip)
        learner.scaler.step(learner.optimizer)
        learner.scaler.update()
        learner.ema.update(model)
        state.step += 1

        loss_sum += loss.item() * len(batch_indices)
        seen += len(batch_indices)
        predicted.append(logits.argmax(1).cpu().numpy())
        truth.append(targets.argmax(1).cpu().numpy())  # dominant label of a mixed image
        running = balanced_accuracy(np.concatenate(truth), np.concatenate(predicted))
        bar.set_postfix(loss=f"{loss_sum / seen:.3f}", bal_acc=f"{running:.3f}", lr=f"{lr:.1e}")
    bar.close()
    return {
        "loss": loss_sum / max(seen, 1),
        "balanced_accuracy": float(running),
        "lr": lr,
        "images": seen,
        "seconds": time.perf_counter() - started,
    }


@torch.no_grad()
def predict_logits(
    model: nn.Module,
    images: np.ndarray,
    data_config: DataConfig,
    *,
    device: torch.device,
    batch_size: int = 64,
) -> np.ndarray:
    """Plain (no TTA) logits for uint8 images (N, S, S, 3)."""
    model.eval()
    outputs = []
    for start in range(0, len(images), batch_size):
        batch = torch.from_numpy(normalise(images[start : start + batch_size], data_config))
        batch = batch.to(device).contiguous(memory_format=torch.channels_last)
        outputs.append(model(batch).float().cpu())
    return torch.cat(outputs).numpy() if outputs else np.zeros((0, 0), dtype=np.float32)


def validate(
    model: nn.Module,
    images: np.ndarray,
    labels: np.ndarray,
    data_config: DataConfig,
    *,
    device: torch.device,
) -> dict:
    """Cross-entropy, accuracy and balanced accuracy of ``model`` on the val images."""
    logits = predict_logits(model, images, data_config, device=device)
    loss = F.cross_entropy(torch.from_numpy(logits), torch.from_numpy(labels).long())
    predicted = logits.argmax(1)
    return {
        "val_loss": float(loss),
        "val_accuracy": float((predicted == labels).mean()),
        "val_balanced_accuracy": float(balanced_accuracy(labels, predicted)),
    }


def train(
    *,
    config: TrainConfig,
    train_images: np.ndarray,
    train_labels: np.ndarray,
    val_images: np.ndarray,
    val_labels: np.ndarray,
    num_classes: int,
    data_config: DataConfig,
    checkpoint_dir: Path,
    resume: Path | None = None,
    stop_after: int | None = None,
    init_state: dict | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TrainResult:
    """Run the recipe; writes ``last.pt`` every epoch and ``best.pt`` on improvement.

    ``stop_after`` ends this invocation after that many epochs (a time-boxed session);
    ``resume`` with the same config then continues the same schedule. ``init_state``
    starts from earlier weights (a warm restart: a new schedule, fresh optimiser).
    """
    if len(train_labels) < 2:
        raise TrainingError("the train split has fewer than 2 images")
    if len(val_labels) < 1:
        raise TrainingError("the val split is empty: early stopping needs validation images")
    started = time.perf_counter()
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)
    counts = epoch_class_counts(train_labels, num_classes, config)
    learner = build_learner(
        config,
        num_classes=num_classes,
        class_counts=counts,
        epoch_size=sum(counts) if config.balance == "undersample" else len(train_labels),
        device=select_device(),
        init_state=init_state,
    )
    # Until an epoch improves, the "best" weights are the starting ones.
    state = RunState(best_weights=copy.deepcopy(learner.ema.module.state_dict()))
    if resume is not None:
        state = restore_checkpoint(
            resume,
            config=config,
            model=learner.model,
            ema=learner.ema,
            optimizer=learner.optimizer,
            best_weights=state.best_weights,
            best_path=checkpoint_dir / "best.pt",
        )
        log(f"resumed from {resume} after epoch {state.epochs_done}")

    transform = build_train_transform(seed=config.seed, device_shift=config.device_shift)
    stopped_early = False
    end = config.epochs
    if stop_after is not None:
        end = min(end, state.epochs_done + stop_after)
    for epoch in range(state.epochs_done, end):
        if state.bad_epochs >= config.patience:
            stopped_early = True
            break
        rng = seed_epoch(config.seed, epoch, transform)
        batches = epoch_batches(train_labels, config, rng)
        epoch_start = time.perf_counter()
        fit = train_one_epoch(
            learner,
            state,
            config,
            epoch=epoch,
            batches=batches,
            images=train_images,
            labels=train_labels,
            data_config=data_config,
            transform=transform,
            rng=rng,
            progress=progress,
        )
        scores = validate(
            learner.ema.module, val_images, val_labels, data_config, device=learner.device
        )
        record = epoch_record(epoch, fit, scores, time.perf_counter() - epoch_start)
        improved = state.finish_epoch(record)
        if improved:
            state.best_weights = copy.deepcopy(learner.ema.module.state_dict())
        save_checkpoint(
            checkpoint_dir,
            config=config,
            model=learner.model,
            ema=learner.ema,
            optimizer=learner.optimizer,
            state=state,
            improved=improved,
        )
        log(
            f"epoch {epoch + 1}/{config.epochs}: train loss {record['train_loss']:.4f}, "
            f"val loss {record['val_loss']:.4f}, "
            f"val balanced accuracy {record['val_balanced_accuracy']:.4f}"
            f"{' (best)' if improved else ''}, {record['epoch_seconds']:.0f} s, "
            f"{record['images_per_second']:.1f} img/s"
        )
    else:
        stopped_early = state.bad_epochs >= config.patience and len(state.history) < config.epochs

    learner.ema.module.load_state_dict(state.best_weights)
    return TrainResult(
        model=learner.ema.module.eval(),
        history=state.history,
        best_epoch=state.best_epoch,
        best_score=state.best_score,
        stopped_early=stopped_early,
        device=str(learner.device),
        seconds=time.perf_counter() - started,
        extra={
            "steps": state.step,
            "steps_per_epoch": learner.steps_per_epoch,
            "epoch_class_counts": counts,
        },
    )


def epoch_record(epoch: int, fit: dict, scores: dict, seconds: float) -> dict:
    """One line of the history (the model card's training curve)."""
    return {
        "epoch": epoch + 1,
        "train_loss": fit["loss"],
        "train_balanced_accuracy": fit["balanced_accuracy"],
        **scores,
        "lr": fit["lr"],
        "train_images": int(fit["images"]),
        "train_seconds": round(fit["seconds"], 1),
        "images_per_second": round(fit["images"] / max(fit["seconds"], 1e-9), 2),
        "epoch_seconds": round(seconds, 1),
    }
