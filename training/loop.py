"""The training loop: epochs of augmented, class-balanced batches; EMA; early stopping.

Repeatability: every epoch reseeds torch, numpy (sampling, mixup) and the
augmentation pipeline from ``seed`` and the epoch number, so a run resumed from
a checkpoint continues exactly as an uninterrupted one would, and two CPU runs
with one seed give the same weights.
"""

from __future__ import annotations

import copy
import math
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from torch import nn
from torch.nn import functional as F
from tqdm import tqdm

from classifier.factory import create_model
from classifier.preprocessing import DataConfig, normalise
from training.augment import apply, build_train_transform
from training.ema import ModelEma
from training.losses import FocalLoss, class_weights_for
from training.metrics import balanced_accuracy
from training.mixing import mix_batch
from training.recipe import TrainConfig
from training.schedule import warmup_cosine_lr

CHECKPOINT_FORMAT = 1


class TrainingError(Exception):
    """A run cannot start or continue (bad checkpoint, empty split); message for a person."""


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


def epoch_indices(labels: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Which training images (with repeats for the sampler) make up this epoch, shuffled."""
    if config.balance == "undersample":
        chosen = []
        for cls in np.unique(labels):
            members = np.flatnonzero(labels == cls)
            take = min(len(members), config.max_per_class)
            chosen.append(rng.choice(members, size=take, replace=False))
        indices = np.concatenate(chosen)
    elif config.balance == "sampler":
        counts = np.bincount(labels)
        weights = 1.0 / counts[labels].astype(np.float64) ** config.class_weight_power
        indices = rng.choice(len(labels), size=len(labels), replace=True, p=weights / weights.sum())
    else:
        indices = np.arange(len(labels))
    return rng.permutation(indices)


def epoch_class_counts(labels: np.ndarray, num_classes: int, config: TrainConfig) -> list[int]:
    """Expected images per class in an epoch (what the loss's class weights correct for)."""
    counts = np.bincount(labels, minlength=num_classes)
    if config.balance == "undersample":
        counts = np.minimum(counts, config.max_per_class)
    elif config.balance == "sampler":
        return [1] * num_classes  # the sampler already balances (to the chosen power)
    return [int(c) for c in counts]


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
    device = select_device()
    if config.threads:
        torch.set_num_threads(config.threads)
    seed_everything(config.seed)

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
    use_amp = device.type == "cuda"
    scaler = torch.amp.GradScaler("cuda", enabled=use_amp)
    ema = ModelEma(model, decay=config.ema_decay)

    counts = epoch_class_counts(train_labels, num_classes, config)
    loss_fn = FocalLoss(
        gamma=config.focal_gamma,
        class_weights=class_weights_for(counts, power=config.class_weight_power),
        label_smoothing=config.label_smoothing,
    ).to(device)
    epoch_size = sum(counts) if config.balance == "undersample" else len(train_labels)
    steps_per_epoch = max(1, math.ceil(epoch_size / config.batch_size))
    total_steps = steps_per_epoch * config.epochs
    warmup_steps = int(round(config.warmup_epochs * steps_per_epoch))

    history: list[dict] = []
    start_epoch, step, best_score, best_epoch, bad_epochs = 0, 0, -1.0, 0, 0
    best_state = copy.deepcopy(ema.module.state_dict())
    if resume is not None:
        state = _load_checkpoint(resume, config)
        model.load_state_dict(state["model"])
        ema.load_state_dict(state["ema"])
        optimizer.load_state_dict(state["optimizer"])
        history, step = state["history"], state["step"]
        start_epoch = state["epoch"] + 1
        best_score, best_epoch, bad_epochs = state["best_score"], state["best_epoch"], state["bad"]
        best_path = checkpoint_dir / "best.pt"
        if best_path.is_file():
            best_state = torch.load(best_path, map_location="cpu", weights_only=True)["ema"]
        log(f"resumed from {resume} after epoch {start_epoch}")

    transform = build_train_transform(seed=config.seed)
    stopped_early = False
    last_epoch = (
        config.epochs if stop_after is None else min(config.epochs, start_epoch + stop_after)
    )
    for epoch in range(start_epoch, last_epoch):
        if bad_epochs >= config.patience:
            stopped_early = True
            break
        epoch_seed = config.seed * 1000 + epoch
        torch.manual_seed(epoch_seed)
        rng = np.random.default_rng(epoch_seed)
        transform.set_random_seed(epoch_seed)
        indices = epoch_indices(train_labels, config, rng)
        batches = [
            indices[i : i + config.batch_size] for i in range(0, len(indices), config.batch_size)
        ]
        batches = [b for b in batches if len(b) >= 2]  # BatchNorm cannot train on one image

        model.train()
        for module in frozen:
            module.eval()  # frozen stages keep their ImageNet BatchNorm statistics
        epoch_start = time.perf_counter()
        loss_sum, seen, predicted, truth = 0.0, 0, [], []
        bar = tqdm(
            batches,
            desc=f"epoch {epoch + 1}/{config.epochs}",
            unit="batch",
            disable=not progress,
            dynamic_ncols=True,
        )
        for batch_indices in bar:
            lr = warmup_cosine_lr(
                step,
                total_steps=total_steps,
                warmup_steps=warmup_steps,
                base_lr=config.lr,
                min_lr=config.min_lr,
            )
            for group in optimizer.param_groups:
                group["lr"] = lr
            augmented = np.stack([apply(transform, train_images[i]) for i in batch_indices])
            inputs = torch.from_numpy(normalise(augmented, data_config)).to(device)
            inputs = inputs.contiguous(memory_format=torch.channels_last)
            hard = torch.from_numpy(train_labels[batch_indices]).long().to(device)
            targets = F.one_hot(hard, num_classes).float()
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
            loss = loss_fn(logits.float(), targets)
            if not torch.isfinite(loss):
                raise TrainingError(f"loss became {loss.item()} at epoch {epoch + 1}; lower --lr")
            optimizer.zero_grad(set_to_none=True)
            scaler.scale(loss).backward()
            scaler.unscale_(optimizer)
            nn.utils.clip_grad_norm_(trainable, config.grad_clip)
            scaler.step(optimizer)
            scaler.update()
            ema.update(model)
            step += 1

            loss_sum += loss.item() * len(batch_indices)
            seen += len(batch_indices)
            predicted.append(logits.argmax(1).cpu().numpy())
            truth.append(targets.argmax(1).cpu().numpy())  # dominant label of a mixed image
            running = balanced_accuracy(np.concatenate(truth), np.concatenate(predicted))
            bar.set_postfix(loss=f"{loss_sum / seen:.3f}", bal_acc=f"{running:.3f}", lr=f"{lr:.1e}")
        bar.close()
        train_seconds = time.perf_counter() - epoch_start

        val_logits = predict_logits(ema.module, val_images, data_config, device=device)
        val_loss = float(
            F.cross_entropy(torch.from_numpy(val_logits), torch.from_numpy(val_labels).long())
        )
        val_pred = val_logits.argmax(1)
        val_bal = float(balanced_accuracy(val_labels, val_pred))
        record = {
            "epoch": epoch + 1,
            "train_loss": loss_sum / max(seen, 1),
            "train_balanced_accuracy": float(
                balanced_accuracy(np.concatenate(truth), np.concatenate(predicted))
            )
            if truth
            else 0.0,
            "val_loss": val_loss,
            "val_accuracy": float((val_pred == val_labels).mean()),
            "val_balanced_accuracy": val_bal,
            "lr": lr,
            "train_images": int(seen),
            "train_seconds": round(train_seconds, 1),
            "images_per_second": round(seen / max(train_seconds, 1e-9), 2),
            "epoch_seconds": round(time.perf_counter() - epoch_start, 1),
        }
        history.append(record)
        improved = val_bal > best_score + 1e-6
        if improved:
            best_score, best_epoch, bad_epochs = val_bal, epoch + 1, 0
            best_state = copy.deepcopy(ema.module.state_dict())
            _atomic_save(
                {"ema": best_state, "epoch": epoch + 1, "score": val_bal},
                checkpoint_dir / "best.pt",
            )
        else:
            bad_epochs += 1
        _atomic_save(
            {
                "format": CHECKPOINT_FORMAT,
                "config": config.to_dict(),
                "model": model.state_dict(),
                "ema": ema.state_dict(),
                "optimizer": optimizer.state_dict(),
                "history": history,
                "step": step,
                "epoch": epoch,
                "best_score": best_score,
                "best_epoch": best_epoch,
                "bad": bad_epochs,
            },
            checkpoint_dir / "last.pt",
        )
        log(
            f"epoch {epoch + 1}/{config.epochs}: train loss {record['train_loss']:.4f}, "
            f"val loss {val_loss:.4f}, val balanced accuracy {val_bal:.4f}"
            f"{' (best)' if improved else ''}, {record['epoch_seconds']:.0f} s, "
            f"{record['images_per_second']:.1f} img/s"
        )
    else:
        stopped_early = bad_epochs >= config.patience and len(history) < config.epochs

    ema.module.load_state_dict(best_state)
    return TrainResult(
        model=ema.module.eval(),
        history=history,
        best_epoch=best_epoch,
        best_score=best_score,
        stopped_early=stopped_early,
        device=str(device),
        seconds=time.perf_counter() - started,
        extra={"steps": step, "steps_per_epoch": steps_per_epoch, "epoch_class_counts": counts},
    )


def load_init_state(path: Path) -> tuple[dict, dict]:
    """Weights to start from: an artifact directory, or a best.pt / last.pt checkpoint.

    Returns (state_dict, description for the model card).
    """
    path = Path(path)
    if path.is_dir():
        from classifier.artifact import load_artifact
        from classifier.errors import ArtifactError

        try:
            model, card = load_artifact(path)
        except ArtifactError as exc:
            raise TrainingError(str(exc)) from None
        return model.state_dict(), {"artifact": card.model_id, "sha256": card.weights_sha256}
    if not path.is_file():
        raise TrainingError(f"--init-from: {path} is neither an artifact directory nor a file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated or foreign file: a message, not a traceback
        raise TrainingError(f"cannot read {path}: {exc}") from None
    ema = state.get("ema") if isinstance(state, dict) else None
    if isinstance(ema, dict) and "module" in ema:
        ema = ema["module"]  # last.pt keeps the EMA with its bookkeeping
    if not isinstance(ema, dict):
        raise TrainingError(f"{path} holds no EMA weights (expected a train_model checkpoint)")
    # best.pt stores the 1-based epoch of the weights; last.pt the 0-based loop index
    epoch = state.get("epoch")
    if "format" in state and epoch is not None:
        epoch += 1
    return ema, {"checkpoint": path.name, "epoch": epoch, **earlier_run(path)}


def earlier_run(checkpoint: Path) -> dict:
    """Recipe and history of the run that wrote ``checkpoint`` (from its last.pt), for the card."""
    last = Path(checkpoint).with_name("last.pt")
    if not last.is_file():
        return {}
    try:
        state = torch.load(last, map_location="cpu", weights_only=False)
    except Exception:  # the description is a courtesy; the weights were already read
        return {}
    if not isinstance(state, dict) or "config" not in state:
        return {}
    return {
        "run": last.parent.name,
        "recipe": {k: v for k, v in state["config"].items() if k != "preprocessing"},
        "history": state.get("history", []),
        "best_epoch": state.get("best_epoch"),
        "best_val_balanced_accuracy": state.get("best_score"),
    }


def _atomic_save(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)


def _load_checkpoint(path: Path, config: TrainConfig) -> dict:
    if not Path(path).is_file():
        raise TrainingError(f"checkpoint not found: {path}")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file: say so instead of a traceback
        raise TrainingError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(state, dict) or state.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"{path} is not a train_model checkpoint")
    saved = state["config"]
    for key in ("arch", "labels", "img_size", "freeze_blocks"):
        if saved.get(key) != getattr(config, key):
            raise TrainingError(
                f"checkpoint {path} was made with {key}={saved.get(key)!r}, "
                f"this run has {key}={getattr(config, key)!r}"
            )
    return state
