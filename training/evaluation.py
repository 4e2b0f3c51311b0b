"""Scoring a model on a split: TTA, temperature fitted on val, metrics and figures."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from torch import nn
from tqdm import tqdm

from classifier.preprocessing import DataConfig, PreprocessConfig
from training import plots
from training.cache import build_image_cache
from training.data import DataError, LabelledData
from training.metrics import (
    classification_metrics,
    combine_views,
    expected_calibration_error,
    fit_temperature,
    json_safe,
)
from training.tta import tta_view_logits


def split_arrays(
    data: LabelledData,
    split: str,
    *,
    classes: list[str],
    preprocessing: PreprocessConfig,
    data_config: DataConfig,
    cache_dir: Path | None,
    progress: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Cached uint8 images and class indices of one split ("all" = every sample)."""
    samples = data.in_split(split)
    index = {code: i for i, code in enumerate(classes)}
    unknown = sorted({s.label for s in samples} - set(index))
    if unknown:
        raise DataError(f"classes {', '.join(unknown)} are not among the model's {classes}")
    images = build_image_cache(
        samples,
        preprocessing=preprocessing,
        size=data_config.input_size,
        interpolation=data_config.interpolation,
        cache_dir=cache_dir,
        progress=progress,
    )
    labels = np.array([index[s.label] for s in samples], dtype=np.int64)
    return images, labels


def view_logits(
    model: nn.Module,
    images: np.ndarray,
    data_config: DataConfig,
    *,
    device: torch.device,
    tta: bool,
    desc: str,
    progress: bool = True,
) -> np.ndarray:
    with tqdm(total=len(images), desc=desc, unit="img", disable=not progress) as bar:
        return tta_view_logits(
            model, images, data_config, device=device, tta=tta, progress=bar.update
        )


def evaluate(
    model: nn.Module,
    *,
    data: LabelledData,
    split: str,
    classes: list[str],
    preprocessing: PreprocessConfig,
    data_config: DataConfig,
    device: torch.device,
    tta: bool = True,
    cache_dir: Path | None = None,
    report_dir: Path | None = None,
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Metrics of ``split`` with a temperature fitted on ``val``; figures into report_dir."""
    target_images, target_labels = split_arrays(
        data,
        split,
        classes=classes,
        preprocessing=preprocessing,
        data_config=data_config,
        cache_dir=cache_dir,
        progress=progress,
    )
    if len(target_labels) == 0:
        raise DataError(f"{data.root}: the {split!r} split has no images")
    target_logits = view_logits(
        model,
        target_images,
        data_config,
        device=device,
        tta=tta,
        desc=f"{split} TTA",
        progress=progress,
    )
    if split == "val":
        val_logits, val_labels = target_logits, target_labels
    else:
        val_images, val_labels = split_arrays(
            data,
            "val",
            classes=classes,
            preprocessing=preprocessing,
            data_config=data_config,
            cache_dir=cache_dir,
            progress=progress,
        )
        val_logits = view_logits(
            model,
            val_images,
            data_config,
            device=device,
            tta=tta,
            desc="val TTA",
            progress=progress,
        )
    if len(val_labels):
        temperature = fit_temperature(val_logits, val_labels)
        fitted_on = "val"
    else:
        temperature, fitted_on = 1.0, "none (no val images)"
        log("no val images: temperature left at 1.0")

    before = combine_views(target_logits, 1.0)
    after = combine_views(target_logits, temperature)
    metrics = classification_metrics(after, target_labels, classes)
    idx = np.arange(len(target_labels))
    metrics.update(
        {
            "split": split,
            "tta_views": int(target_logits.shape[1]),
            "temperature": temperature,
            "temperature_fitted_on": fitted_on,
            "ece_before_temperature": expected_calibration_error(before, target_labels),
            "ece_after_temperature": expected_calibration_error(after, target_labels),
            "nll_before_temperature": float(-np.log(before[idx, target_labels] + 1e-12).mean()),
            "nll_after_temperature": float(-np.log(after[idx, target_labels] + 1e-12).mean()),
        }
    )
    if report_dir is not None:
        report_dir = Path(report_dir)
        plots.plot_confusion_matrix(
            metrics["confusion_matrix"], classes, report_dir / plots.CONFUSION_FILE
        )
        plots.plot_roc_curves(after, target_labels, classes, report_dir / plots.ROC_FILE)
        plots.plot_reliability(
            before,
            after,
            target_labels,
            report_dir / plots.RELIABILITY_FILE,
            ece_before=metrics["ece_before_temperature"],
            ece_after=metrics["ece_after_temperature"],
            temperature=temperature,
        )
    return json_safe(metrics)
