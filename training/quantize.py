"""The int8 export of an artifact: calibrated on training images, served only if it keeps up.

Static quantization (``classifier.onnx_backend.quantize_int8``) needs activation
ranges from images the network sees when serving, so it belongs with the data:
a seeded, class-stratified sample of the train split, run through the served
preprocessing. The int8 network is then scored on the test split exactly as it
would be served (8 TTA views, the card's temperature, thresholds and gate) beside
the fp32 export, and the card's ``onnx_int8.served`` says whether workers use it.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from itertools import zip_longest
from pathlib import Path

import numpy as np

from classifier.artifact import (
    load_gate,
    read_card,
    read_head_weights,
    sha256_of,
    temp_path,
    write_card,
)
from classifier.calibration import combine_views
from classifier.export import add_export, usable_export
from classifier.export_check import INT8_ATOL, export_logits, reference_entry, reference_inputs
from classifier.model_card import INT8_ONNX_FILE, ModelCard
from classifier.onnx_backend import quantize_int8
from classifier.predictor import Predictor
from classifier.preprocessing import normalise
from training.cache import prepare_image
from training.data import DataError, LabelledData, Sample
from training.evaluation import served_metrics
from training.served import split_outputs


@dataclass(frozen=True)
class Tolerance:
    """How much worse than fp32 the int8 export may score on test and still be served."""

    balanced_accuracy: float = 0.01
    melanoma_auc: float = 0.005


def calibration_samples(data: LabelledData, count: int, *, seed: int = 0) -> list[Sample]:
    """``count`` train images, as equal per class as the classes allow, chosen by ``seed``."""
    train = data.in_split("train")
    if not train:
        raise DataError(f"{data.root}: int8 calibration needs training images")
    rng = np.random.default_rng(seed)
    shuffled = []
    for code in data.classes:
        members = [s for s in train if s.label == code]
        shuffled.append([members[i] for i in rng.permutation(len(members))])
    # Round robin over the classes: rare classes run out first, the others fill up.
    rounds = zip_longest(*shuffled)
    return [s for round_ in rounds for s in round_ if s is not None][:count]


def calibration_batches(
    samples: list[Sample], card: ModelCard, *, batch_size: int = 16
) -> Iterator[np.ndarray]:
    """Normalised (B, 3, S, S) batches, preprocessed exactly as the served pipeline does."""
    for start in range(0, len(samples), batch_size):
        squares = [
            prepare_image(
                s.path,
                preprocessing=card.preprocess_config,
                size=card.input_size,
                interpolation=card.interpolation,
            )
            for s in samples[start : start + batch_size]
        ]
        yield normalise(np.stack(squares), card.data_config)


def quantize_artifact(
    directory: Path,
    *,
    data: LabelledData,
    images: int = 256,
    seed: int = 0,
    tolerance: Tolerance = Tolerance(),
    progress: bool = True,
    log: Callable[[str], None] = print,
) -> dict:
    """Write ``model.int8.onnx`` into the artifact, compare it with fp32 on test, record both.

    Returns the card's new ``onnx_int8`` entry.
    """
    directory = Path(directory)
    card = read_card(directory)
    fp32_path = usable_export(directory, card)
    if fp32_path is None:
        add_export(directory)
        card = read_card(directory)
        fp32_path = usable_export(directory, card)
    test = data.in_split("test")
    if not test:  # checked first: a run that cannot be compared changes nothing
        raise DataError(f"{data.root}: the int8 comparison needs a test split")
    samples = calibration_samples(data, images, seed=seed)
    log(f"int8: calibrating activation ranges on {len(samples)} train images")
    # Quantized and scored under a temporary name; the file and the card change together at
    # the end, so an interrupted or failed run leaves the artifact as it was.
    temp = temp_path(directory, INT8_ONNX_FILE)
    try:
        quantize_int8(fp32_path, temp, calibration_batches(samples, card))
        comparison = compare_on_test(
            directory, card, {"fp32": fp32_path, "int8": temp}, test, progress=progress
        )
        served, reason = within_tolerance(comparison, tolerance)
        inputs = reference_inputs(card.input_size, card.mean, card.std)
        reference = reference_entry(
            export_logits(temp, inputs), atol=INT8_ATOL, source="the int8 export when made"
        )
        entry = {
            "file": INT8_ONNX_FILE,
            "sha256": sha256_of(temp),
            "weights_sha256": card.weights_sha256,
            "fp32_sha256": card.onnx["sha256"],
            "method": (
                "ONNX Runtime static quantization: QDQ, per-channel int8 weights, uint8 "
                "activations, min/max ranges"
            ),
            "calibration": {
                "images": len(samples),
                "split": "train",
                "selection": f"class-stratified, seed {seed}",
            },
            "comparison": comparison,
            "served": served,
            "reason": reason,
            "reference": reference,
        }
        os.replace(temp, directory / INT8_ONNX_FILE)
        card.onnx_int8 = entry
        write_card(card, directory)
    finally:
        temp.unlink(missing_ok=True)
    log(f"int8: {reason}")
    return entry


def compare_on_test(
    directory: Path,
    card: ModelCard,
    exports: dict[str, Path],
    samples: list[Sample],
    *,
    progress: bool = True,
) -> dict:
    """The fp32 and int8 exports scored as served on the test ``samples``, and how they agree."""
    index = {code: i for i, code in enumerate(card.classes)}
    unknown = sorted({s.label for s in samples} - set(index))
    if unknown:
        raise DataError(f"classes {', '.join(unknown)} are not among the model's {card.classes}")
    labels = np.array([index[s.label] for s in samples], dtype=np.int64)
    groups = np.array([s.group for s in samples])
    gate = load_gate(directory, card)
    head_weights = read_head_weights(directory, card)
    figures, top = {}, {}
    for precision, path in exports.items():
        predictor = Predictor(
            None,
            card,
            backend=f"onnx-{precision}",
            onnx_file=path,
            head_weights=head_weights,
            gate=gate,
        )
        outputs = split_outputs(
            predictor,
            samples,
            views=card.served_views,
            cache_dir=None,
            progress=progress,
            desc=precision,
        )
        metrics = served_metrics(
            outputs, labels, groups, card=card, gate=gate, split="test", bootstrap_rounds=0
        )
        figures[precision] = {
            "balanced_accuracy": metrics["balanced_accuracy"],
            "melanoma_auc": metrics["melanoma"]["auc"],
            "ece_after_temperature": metrics["ece_after_temperature"],
            "melanoma_high_sensitivity": metrics["operating_point"]["melanoma_high"]["sensitivity"],
        }
        top[precision] = combine_views(outputs.logits, card.temperature).argmax(axis=1)
    return figures | {
        "images": len(samples),
        "top_class_agreement": float((top["fp32"] == top["int8"]).mean()),
    }


def within_tolerance(comparison: dict, tolerance: Tolerance) -> tuple[bool, str]:
    fp32, int8 = comparison["fp32"], comparison["int8"]
    drop_ba = fp32["balanced_accuracy"] - int8["balanced_accuracy"]
    drop_auc = fp32["melanoma_auc"] - int8["melanoma_auc"]
    figures = (
        f"balanced accuracy {int8['balanced_accuracy']:.4f} vs {fp32['balanced_accuracy']:.4f}, "
        f"melanoma AUC {int8['melanoma_auc']:.4f} vs {fp32['melanoma_auc']:.4f} (int8 vs fp32)"
    )
    if drop_ba <= tolerance.balanced_accuracy and drop_auc <= tolerance.melanoma_auc:
        return True, f"int8 served: {figures}, within the tolerances"
    return False, (
        f"fp32 served: int8 falls outside the tolerances ({tolerance.balanced_accuracy} "
        f"balanced accuracy, {tolerance.melanoma_auc} melanoma AUC): {figures}"
    )
