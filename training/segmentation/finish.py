"""Turn trained weights into a served artifact: ONNX export, the int8 decision, test figures.

int8 (ONNX Runtime static QDQ, calibrated on train images) is served only when its val Dice is
within ``INT8_TOLERANCE`` of fp32's; otherwise the card serves fp32 and says why. The test
split is scored once, at the end, with the served file.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import numpy as np

from classifier.onnx_backend import quantize_int8
from classifier.segmentation.export import export_onnx, load_weights, sha256_of, write_card
from classifier.segmentation.processing import to_input
from classifier.segmentation.runtime import FP32_FILE, INT8_FILE, read_card
from training.segmentation.data import read_pair, split_samples
from training.segmentation.evaluate import evaluate_segmenter

INT8_TOLERANCE = 0.01
CALIBRATION_IMAGES = 64


def finish_artifact(
    directory: str | Path,
    data_dir: str | Path,
    *,
    bootstrap_rounds: int = 1000,
    limit: int | None = None,
    log=print,
) -> dict:
    directory = Path(directory)
    card = read_card(directory)
    size = int(card["image_size"])
    model = load_weights(directory)
    export_onnx(model, size, directory / FP32_FILE)
    calibration = split_samples(data_dir, "train")[::97][:CALIBRATION_IMAGES]
    quantize_int8(
        directory / FP32_FILE,
        directory / INT8_FILE,
        (to_input(read_pair(s)[0], size) for s in calibration),
    )
    options = {"bootstrap_rounds": 0, "limit": limit}
    val_fp32 = evaluate_segmenter(directory, data_dir, split="val", precision="fp32", **options)
    val_int8 = evaluate_segmenter(directory, data_dir, split="val", precision="int8", **options)
    keep_int8 = val_int8["dice"] >= val_fp32["dice"] - INT8_TOLERANCE
    log(
        f"val Dice fp32 {val_fp32['dice']:.4f}, int8 {val_int8['dice']:.4f}: "
        f"serve {'int8' if keep_int8 else 'fp32'}"
    )
    card["serve"] = "int8" if keep_int8 else "fp32"
    card["int8"] = {
        "rule": f"served when its val Dice is within {INT8_TOLERANCE} of fp32's",
        "val_dice_fp32": val_fp32["dice"],
        "val_dice_int8": val_int8["dice"],
        "served": keep_int8,
        "calibration": f"{len(calibration)} train images, min/max, QDQ per-channel",
    }
    write_card(directory, card)
    test = evaluate_segmenter(
        directory, data_dir, split="test", bootstrap_rounds=bootstrap_rounds, limit=limit
    )
    card["metrics"] = {
        "val": {
            k: val_int8[k] if keep_int8 else val_fp32[k] for k in ("dice", "jaccard", "images")
        },
        "test": test,
        "measured_at": date.today().isoformat(),
    }
    card["files"] = {
        name: {"sha256": sha256_of(directory / name), "bytes": (directory / name).stat().st_size}
        for name in ("weights.safetensors", FP32_FILE, INT8_FILE)
        if (directory / name).is_file()
    }
    if not keep_int8:
        (directory / INT8_FILE).unlink()
        card["files"].pop(INT8_FILE, None)
    write_card(directory, card)
    log(
        f"test Dice {test['dice']:.4f} {test.get('intervals_95', {}).get('dice')}, "
        f"Jaccard {test['jaccard']:.4f}"
    )
    return card


def served_parity(directory: str | Path, data_dir: str | Path, images: int = 8) -> float:
    """Largest |probability| difference between torch and the served ONNX file on real images."""
    import torch

    from classifier.segmentation.runtime import Segmenter

    segmenter = Segmenter(directory)
    model = load_weights(directory)
    worst = 0.0
    for sample in split_samples(data_dir, "val", limit=images):
        batch = to_input(read_pair(sample)[0], segmenter.image_size)
        with torch.no_grad():
            reference = torch.sigmoid(model(torch.from_numpy(batch)))[:, 0].numpy()
        worst = max(worst, float(np.abs(segmenter.probabilities(batch) - reference).max()))
    return worst
