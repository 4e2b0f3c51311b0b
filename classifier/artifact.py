"""The model artifact: a directory with ``weights.safetensors`` and ``card.json``.

The card records everything inference needs to reproduce training (architecture,
classes, input size, normalisation, preprocessing, temperature, thresholds) plus
the sha256 of the weights, which is checked on every load. Beside them: the ONNX
exports (``model.onnx`` fp32, ``model.int8.onnx``) and the gate statistics, each
with its sha256 in the card. An export's bytes differ between CPUs, so an export
whose bytes differ from the recorded ones is accepted when it reproduces the card's
reference outputs (``classifier.export_check``). This module manages those files;
making an export is ``classifier.onnx_backend``'s job (imported one way: from here).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.errors import ArtifactError, EngineError
from classifier.model_card import CARD_FILE, INT8_ONNX_FILE, ONNX_FILE, WEIGHTS_FILE, ModelCard

if TYPE_CHECKING:  # torch is imported only where weights are touched
    import torch
    from torch import nn


logger = logging.getLogger(__name__)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def save_artifact(
    model: nn.Module, card: ModelCard, directory: Path, *, export_onnx: bool = True
) -> ModelCard:
    """Write weights, card (and an ONNX export) into ``directory``; returns the filled card.

    Files are written under temporary names and renamed into place, card last,
    so a crash never leaves a card that points at half-written weights. The ONNX
    export lets CPU workers run without PyTorch; if exporting fails the artifact
    is still complete (and logged as such), it only lacks that shortcut.
    """
    from safetensors.torch import save_file

    card.validate()
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    state = {k: v.detach().to("cpu").contiguous() for k, v in model.state_dict().items()}
    head_out = _head_out_features(state)
    if head_out is not None and head_out != len(card.classes):
        raise ArtifactError(
            f"model outputs {head_out} classes but the card lists {len(card.classes)}"
        )

    weights_tmp = temp_path(directory, WEIGHTS_FILE)
    onnx_tmp = temp_path(directory, ONNX_FILE)
    card_tmp = temp_path(directory, CARD_FILE)
    try:
        save_file(state, str(weights_tmp), metadata={"arch": card.arch})
        card.weights_sha256 = sha256_of(weights_tmp)
        card.model_id = card.model_id or f"{card.arch}-{card.weights_sha256[:12]}"
        card.created_at = card.created_at or datetime.now(UTC).isoformat(timespec="seconds")
        # Imported here: exporting builds on this module's reading and writing.
        from classifier.export import write_onnx_export

        card.onnx = write_onnx_export(model, card, onnx_tmp) if export_onnx else {}
        card_tmp.write_text(json.dumps(card.to_dict(), indent=2, sort_keys=True) + "\n")
        os.replace(weights_tmp, directory / WEIGHTS_FILE)
        if card.onnx:
            os.replace(onnx_tmp, directory / ONNX_FILE)
        else:
            (directory / ONNX_FILE).unlink(missing_ok=True)  # a stale export must not linger
        (directory / INT8_ONNX_FILE).unlink(missing_ok=True)  # quantized from older weights
        os.replace(card_tmp, directory / CARD_FILE)
    finally:
        for leftover in (weights_tmp, onnx_tmp, card_tmp):
            leftover.unlink(missing_ok=True)
    return card


def read_head_weights(directory: Path, card: ModelCard) -> np.ndarray:
    """(num_classes, channels) weights of the linear head, read without torch (for CAM)."""
    from safetensors import safe_open

    key = (card.onnx or {}).get("head_weight_key") or "classifier.weight"
    with safe_open(str(Path(directory) / WEIGHTS_FILE), framework="numpy") as handle:
        if key not in handle.keys():  # noqa: SIM118 (safe_open is not a dict)
            raise ArtifactError(f"{directory}: weights have no {key} for the heatmap")
        weights = handle.get_tensor(key).astype(np.float32)
    if weights.ndim != 2 or weights.shape[0] != len(card.classes):
        raise ArtifactError(f"{directory}: {key} has shape {weights.shape}, not (classes, C)")
    return weights


def read_card(directory: Path) -> ModelCard:
    """Read and validate ``card.json`` only (cheap: no weights are touched)."""
    directory = Path(directory)
    if not directory.is_dir():
        raise ArtifactError(f"model artifact not found: {directory} is not a directory")
    card_path = directory / CARD_FILE
    if not card_path.is_file():
        raise ArtifactError(f"model artifact {directory} has no {CARD_FILE}")
    try:
        data = json.loads(card_path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ArtifactError(f"{card_path} is not valid JSON: {exc}") from None
    try:
        return ModelCard.from_dict(data)
    except (TypeError, ValueError) as exc:
        raise ArtifactError(f"{card_path}: {exc}") from None


def load_artifact(
    directory: Path, *, device: str | torch.device = "cpu"
) -> tuple[nn.Module, ModelCard]:
    """Load an artifact, verifying the weights' sha256 and every tensor's shape."""
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    from classifier.factory import create_model

    directory = Path(directory)
    card = read_card(directory)
    weights_path = verify_weights(directory, card)
    try:
        state = load_file(str(weights_path))
    except (SafetensorError, OSError, ValueError) as exc:
        raise ArtifactError(f"cannot read {weights_path}: {exc}") from None

    try:
        model = create_model(card.arch, num_classes=len(card.classes), pretrained=False)
    except EngineError as exc:
        raise ArtifactError(f"{directory}: {exc}") from None
    _check_state_matches(model.state_dict(), state, directory)
    model.load_state_dict(state, strict=True)
    model.eval()
    return model.to(device), card


def load_gate(directory: Path, card: ModelCard):
    """The card's feature gate (sha256-checked), or None when the artifact has none."""
    from classifier.gate import FeatureGate

    entry = card.gate or {}
    if not entry.get("file"):
        return None
    path = Path(directory) / entry["file"]
    if not path.is_file():
        raise ArtifactError(f"model artifact {directory} has no {entry['file']}")
    if sha256_of(path) != entry.get("sha256"):
        raise ArtifactError(
            f"{path} is corrupt or was replaced: its sha256 does not match the card"
        )
    return FeatureGate.from_file(path, threshold=float(entry["threshold"]))


def write_card(card: ModelCard, directory: Path) -> None:
    """Replace ``card.json`` atomically (the weights are untouched, so their sha256 holds)."""
    card.validate()
    card_tmp = temp_path(Path(directory), CARD_FILE)
    try:
        card_tmp.write_text(json.dumps(card.to_dict(), indent=2, sort_keys=True) + "\n")
        os.replace(card_tmp, Path(directory) / CARD_FILE)
    finally:
        card_tmp.unlink(missing_ok=True)


def verify_weights(directory: Path, card: ModelCard) -> Path:
    """Path of the weights file after checking it against the card's sha256."""
    weights_path = Path(directory) / WEIGHTS_FILE
    if not weights_path.is_file():
        raise ArtifactError(f"model artifact {directory} has no {WEIGHTS_FILE}")
    if not card.weights_sha256:
        raise ArtifactError(f"{Path(directory) / CARD_FILE} has no weights_sha256 to verify")
    actual = sha256_of(weights_path)
    if actual != card.weights_sha256:
        raise ArtifactError(
            f"{weights_path} is corrupt or was replaced: sha256 {actual[:12]}… "
            f"does not match the card's {card.weights_sha256[:12]}…"
        )
    return weights_path


def _check_state_matches(expected: dict, actual: dict, directory: Path) -> None:
    missing = sorted(set(expected) - set(actual))
    unexpected = sorted(set(actual) - set(expected))
    wrong = [
        f"{k} {tuple(actual[k].shape)} != {tuple(expected[k].shape)}"
        for k in expected
        if k in actual and tuple(actual[k].shape) != tuple(expected[k].shape)
    ]
    if missing or unexpected or wrong:
        parts = []
        if missing:
            parts.append(f"missing tensors {missing[:3]}")
        if unexpected:
            parts.append(f"unexpected tensors {unexpected[:3]}")
        if wrong:
            parts.append(f"shape mismatch {wrong[:3]}")
        raise ArtifactError(
            f"weights in {directory} do not fit the card's architecture: " + "; ".join(parts)
        )


def _head_out_features(state: dict) -> int | None:
    for key in ("classifier.weight", "head.fc.weight", "fc.weight", "head.weight"):
        if key in state and state[key].ndim == 2:
            return int(state[key].shape[0])
    return None


def temp_path(directory: Path, name: str) -> Path:
    """An empty hidden file in ``directory`` to write ``name`` into before renaming it."""
    handle, path = tempfile.mkstemp(prefix=f".{name}.", suffix=".tmp", dir=directory)
    os.close(handle)
    os.chmod(path, 0o644)  # mkstemp makes 0600; artifacts are read by other users (web, workers)
    return Path(path)
