"""ONNX Runtime backend: the same network, exported to output logits AND the last feature map.

Exporting both outputs keeps the fast CAM path (no backward pass) under ONNX
Runtime. ``save_artifact`` stores the export as ``model.onnx`` next to the
weights, so a CPU worker can serve the model without importing PyTorch at all
(PyTorch and timm alone take ~750 MB of RSS). This module imports torch only
inside the export functions.

    python -m classifier.onnx_backend ARTIFACT_DIR   # add/refresh the export of an artifact
"""

from __future__ import annotations

import copy
import io
import json
import sys
import threading
import warnings
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.errors import ArtifactError, EngineError

if TYPE_CHECKING:
    from torch import nn

    from classifier.artifact import ModelCard

INPUT_NAME, LOGITS_NAME, FEATURES_NAME = "input", "logits", "features"
OPSET = 17


# --- export (needs torch) -------------------------------------------------------------


def export_onnx(model: nn.Module, input_size: int, destination: str | Path | None = None) -> bytes:
    """Export ``model`` (dynamic batch, fixed square size) and return the ONNX bytes.

    Works on a deep copy: the exporter may switch the module it traces into
    training mode, which would silently update the live model's BatchNorm stats.
    """
    import torch

    class LogitsAndFeatures(torch.nn.Module):
        def __init__(self, network: nn.Module) -> None:
            super().__init__()
            self.network = network

        def forward(self, batch: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            features = self.network.forward_features(batch)
            return self.network.forward_head(features), features

    wrapper = LogitsAndFeatures(copy.deepcopy(model).float().cpu()).eval()
    wrapper.network.to(memory_format=torch.contiguous_format)
    example = torch.zeros(2, 3, input_size, input_size)
    buffer = io.BytesIO()
    dynamic = {INPUT_NAME: {0: "batch"}, LOGITS_NAME: {0: "batch"}, FEATURES_NAME: {0: "batch"}}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter deprecation chatter, not actionable here
        try:
            # The TorchScript-based exporter handles timm's dynamic "same" padding; the
            # dynamo exporter currently fails to convert its Pad op to opset 17.
            torch.onnx.export(
                wrapper,
                (example,),
                buffer,
                input_names=[INPUT_NAME],
                output_names=[LOGITS_NAME, FEATURES_NAME],
                dynamic_axes=dynamic,
                opset_version=OPSET,
                dynamo=False,
            )
        except Exception as exc:  # exporter internals vary by torch version
            raise EngineError(f"ONNX export failed: {exc}") from None
    data = buffer.getvalue()
    if destination is not None:
        Path(destination).write_bytes(data)
    return data


def onnx_card_entry(model: nn.Module, card: ModelCard, path: Path) -> dict:
    """What the card records about an export written to ``path`` for ``card``'s weights."""
    from classifier.artifact import ONNX_FILE, sha256_of
    from classifier.cam import supports_fast_cam

    fast_cam = supports_fast_cam(model)
    head_key = ""
    if fast_cam:
        head = model.get_classifier()
        prefix = next(name for name, module in model.named_modules() if module is head)
        head_key = f"{prefix}.weight"
    return {
        "file": ONNX_FILE,
        "sha256": sha256_of(path),
        "weights_sha256": card.weights_sha256,
        "opset": OPSET,
        "fast_cam": fast_cam,
        "head_weight_key": head_key,
    }


# --- using an export stored in an artifact (torch-free) --------------------------------


def usable_export(directory: Path, card: ModelCard) -> Path | None:
    """The artifact's ONNX file if it exists and was exported from these very weights.

    A missing or stale export returns None (the caller falls back to PyTorch); an
    export whose bytes do not match its recorded sha256 is corrupt: ArtifactError.
    """
    from classifier.artifact import sha256_of

    entry = card.onnx or {}
    path = Path(directory) / str(entry.get("file", ""))
    if not entry or not path.is_file() or entry.get("weights_sha256") != card.weights_sha256:
        return None
    if sha256_of(path) != entry.get("sha256"):
        raise ArtifactError(f"{path} is corrupt or was replaced: sha256 does not match the card")
    return path


def read_head_weights(directory: Path, card: ModelCard) -> np.ndarray:
    """(num_classes, channels) weights of the linear head, read without torch."""
    from safetensors import safe_open

    from classifier.artifact import WEIGHTS_FILE

    key = (card.onnx or {}).get("head_weight_key") or "classifier.weight"
    with safe_open(str(Path(directory) / WEIGHTS_FILE), framework="numpy") as handle:
        if key not in handle.keys():  # noqa: SIM118 (safe_open is not a dict)
            raise ArtifactError(f"{directory}: weights have no {key} for the heatmap")
        weights = handle.get_tensor(key).astype(np.float32)
    if weights.ndim != 2 or weights.shape[0] != len(card.classes):
        raise ArtifactError(f"{directory}: {key} has shape {weights.shape}, not (classes, C)")
    return weights


# --- the runtime ----------------------------------------------------------------------


class OnnxBackend:
    """Runs the exported network with ONNX Runtime; safe to share between threads."""

    name = "onnx"

    def __init__(
        self,
        source: Callable[[], bytes] | Path,
        *,
        threads: int | None = None,
        cuda: bool = False,
    ) -> None:
        self._source = source
        self._threads = threads
        self._cuda = cuda
        self._session = None
        self._lock = threading.Lock()

    @classmethod
    def from_model(cls, model: nn.Module, input_size: int, **options) -> OnnxBackend:
        return cls(lambda: export_onnx(model, input_size), **options)

    @property
    def device(self) -> str:
        providers = self._get_session().get_providers()
        return "cuda" if "CUDAExecutionProvider" in providers else "cpu"

    def _get_session(self):
        # Created on first use under a lock: two threads must not both build it.
        with self._lock:
            if self._session is None:
                self._session = self._create_session()
            return self._session

    def _create_session(self):
        try:
            import onnxruntime as ort
        except ImportError:
            raise EngineError("backend='onnx' needs the onnxruntime package") from None
        options = ort.SessionOptions()
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        # Memory patterns pre-plan buffers per input shape: ~100 MB more RSS for no
        # measurable speed here (one 8-view batch of lite0 at 224 px).
        options.enable_mem_pattern = False
        # No busy-waiting between ops: on a CPU shared with other workers, spinning threads
        # steal the cores they wait for (measured on 2 busy cores: 96 ms -> 56 ms per call).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        if self._threads:
            options.intra_op_num_threads = self._threads
            options.inter_op_num_threads = 1
        providers = ["CPUExecutionProvider"]
        if self._cuda and "CUDAExecutionProvider" in ort.get_available_providers():
            providers.insert(0, "CUDAExecutionProvider")
        model = str(self._source) if isinstance(self._source, Path) else self._source()
        try:
            return ort.InferenceSession(model, options, providers=providers)
        except Exception as exc:  # ORT raises its own exception types for bad files
            raise ArtifactError(f"ONNX Runtime cannot load the model: {exc}") from None

    def warm_up(self) -> None:
        self._get_session()

    def run(self, batch: np.ndarray, *, features: bool) -> tuple[np.ndarray, np.ndarray | None]:
        session = self._get_session()
        wanted = [LOGITS_NAME, FEATURES_NAME] if features else [LOGITS_NAME]
        outputs = session.run(wanted, {INPUT_NAME: np.ascontiguousarray(batch, np.float32)})
        return outputs[0], (outputs[1] if features else None)


def add_export(directory: Path) -> dict:
    """Export an existing artifact's weights to ONNX and record it in its card."""
    import os

    from classifier.artifact import CARD_FILE, ONNX_FILE, load_artifact, temp_path

    directory = Path(directory)
    model, card = load_artifact(directory)
    temp = temp_path(directory, ONNX_FILE)
    card_temp = temp_path(directory, CARD_FILE)
    try:
        export_onnx(model, card.input_size, temp)
        card.onnx = onnx_card_entry(model, card, temp)
        card_temp.write_text(json.dumps(card.to_dict(), indent=2, sort_keys=True) + "\n")
        os.replace(temp, directory / ONNX_FILE)
        os.replace(card_temp, directory / CARD_FILE)
    finally:
        temp.unlink(missing_ok=True)
        card_temp.unlink(missing_ok=True)
    return card.onnx


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m classifier.onnx_backend ARTIFACT_DIR")
    try:
        entry = add_export(Path(sys.argv[1]))
    except EngineError as exc:
        sys.exit(f"error: {exc}")
    print(json.dumps(entry, indent=2))
