"""ONNX exports of an artifact: writing them with their reference logits, adding one to an
existing artifact, and choosing the export a CPU worker may serve."""

from __future__ import annotations

import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

from classifier.artifact import load_artifact, sha256_of, temp_path, write_card
from classifier.errors import ArtifactError, EngineError
from classifier.export_check import (
    FP32_ATOL,
    check_behaviour,
    reference_entry,
    reference_inputs,
)
from classifier.model_card import ONNX_FILE, ModelCard

if TYPE_CHECKING:
    from torch import nn

logger = logging.getLogger(__name__)


def write_onnx_export(model: nn.Module, card: ModelCard, destination: Path) -> dict:
    from classifier.onnx_backend import export_onnx

    try:
        export_onnx(model, card.input_size, destination)
    except EngineError as exc:
        logger.warning("artifact %s saved without ONNX export: %s", card.model_id, exc)
        return {}
    return onnx_card_entry(model, card, destination)


def onnx_card_entry(model: nn.Module, card: ModelCard, path: Path) -> dict:
    """What the card records about an export written to ``path`` for ``card``'s weights."""
    from classifier.cam import supports_fast_cam
    from classifier.onnx_backend import OPSET

    fast_cam = supports_fast_cam(model)
    head_key = ""
    if fast_cam:
        head = model.get_classifier()
        prefix = next(name for name, module in model.named_modules() if module is head)
        head_key = f"{prefix}.weight"
    reference = pytorch_reference(model, card)
    # A fresh export must already behave like the weights it came from.
    check_behaviour(path, reference, card.input_size, card.mean, card.std)
    return {
        "file": ONNX_FILE,
        "sha256": sha256_of(path),
        "weights_sha256": card.weights_sha256,
        "opset": OPSET,
        "fast_cam": fast_cam,
        "head_weight_key": head_key,
        "reference": reference,
    }


def pytorch_reference(model: nn.Module, card: ModelCard) -> dict:
    """The PyTorch model's logits on the reference inputs: what any fp32 export must give."""
    import torch

    inputs = torch.from_numpy(reference_inputs(card.input_size, card.mean, card.std))
    parameter = next(model.parameters())
    was_training = model.training
    model.eval()
    try:
        with torch.no_grad():
            logits = model(inputs.to(parameter.device, parameter.dtype)).float().cpu().numpy()
    finally:
        model.train(was_training)
    return reference_entry(logits, atol=FP32_ATOL, source="pytorch")


def add_export(directory: Path) -> dict:
    """Write ``model.onnx`` for an artifact's weights; returns the card's ``onnx`` entry.

    When the card already records an export of these weights (a committed artifact ships
    the card, not the 13 MB file), the new file must behave like it: the same bytes, or
    the recorded reference outputs within their tolerance (bytes differ between CPUs).
    The card is then left as it is; otherwise the export is recorded as a new entry.
    """
    from classifier.onnx_backend import export_onnx

    directory = Path(directory)
    model, card = load_artifact(directory)
    recorded = dict(card.onnx or {})
    temp = temp_path(directory, ONNX_FILE)
    try:
        export_onnx(model, card.input_size, temp)
        entry = onnx_card_entry(model, card, temp)
        if recorded.get("weights_sha256") == card.weights_sha256 and recorded.get("sha256"):
            if entry["sha256"] != recorded["sha256"]:
                if not recorded.get("reference"):
                    raise ArtifactError(
                        f"the ONNX export of {directory} hashes to {entry['sha256'][:12]}…, the "
                        f"card records {recorded['sha256'][:12]}… and no reference outputs to "
                        "check it by: re-export it with `manage.py export_onnx --model DIR` "
                        "on a copy and register that"
                    )
                check_behaviour(temp, recorded["reference"], card.input_size, card.mean, card.std)
            os.replace(temp, directory / ONNX_FILE)
            return recorded
        card.onnx = entry
        os.replace(temp, directory / ONNX_FILE)
        write_card(card, directory)
        return entry
    finally:
        temp.unlink(missing_ok=True)


def usable_export(directory: Path, card: ModelCard, *, int8: bool = False) -> Path | None:
    """The artifact's fp32 (or int8) ONNX file if it was exported from these very weights.

    A missing or stale export returns None (the caller falls back). An export is
    verified by its bytes (the recorded sha256) or, when they differ, by its behaviour
    (the card's reference outputs, see ``classifier.export_check``); one that meets
    neither is corrupt: ArtifactError.
    """
    entry = (card.onnx_int8 if int8 else card.onnx) or {}
    path = Path(directory) / str(entry.get("file", ""))
    if not entry or not path.is_file() or entry.get("weights_sha256") != card.weights_sha256:
        return None
    if sha256_of(path) == entry.get("sha256"):
        return path
    if not entry.get("reference"):
        raise ArtifactError(
            f"{path} is corrupt or was replaced: its sha256 does not match the card, which "
            "records no reference outputs to check it by"
        )
    check_behaviour(path, entry["reference"], card.input_size, card.mean, card.std)
    return path
