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
from dataclasses import MISSING, asdict, dataclass, field, fields
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.errors import ArtifactError, EngineError
from classifier.export_check import (
    FP32_ATOL,
    check_behaviour,
    reference_entry,
    reference_inputs,
)
from classifier.preprocessing import DataConfig, PreprocessConfig
from classifier.tta import VIEWS

if TYPE_CHECKING:  # torch is imported only where weights are touched
    import torch
    from torch import nn

FORMAT_VERSION = 1
WEIGHTS_FILE = "weights.safetensors"
CARD_FILE = "card.json"
ONNX_FILE = "model.onnx"
INT8_ONNX_FILE = "model.int8.onnx"
logger = logging.getLogger(__name__)

DEFAULT_UNCERTAINTY = {"confidence_threshold": 0.6, "entropy_threshold": 0.9}


@dataclass
class ModelCard:
    arch: str
    classes: list[str]
    input_size: int
    mean: list[float]
    std: list[float]
    interpolation: str = "bicubic"
    preprocessing: dict = field(default_factory=lambda: PreprocessConfig().to_dict())
    temperature: float = 1.0
    uncertainty: dict = field(default_factory=lambda: dict(DEFAULT_UNCERTAINTY))
    metrics: dict = field(default_factory=dict)
    training: dict = field(default_factory=dict)
    model_id: str = ""
    created_at: str = ""
    weights_sha256: str = ""
    format_version: int = FORMAT_VERSION
    # Added by this engine (optional for readers): the ONNX export of the same weights,
    # {"file", "sha256", "weights_sha256", "opset", "fast_cam", "head_weight_key",
    # "reference"}; {} when the artifact has none. "reference" holds the logits the export
    # must reproduce on seeded inputs (classifier.export_check); older cards lack it.
    onnx: dict = field(default_factory=dict)
    # The int8 export (training.quantize): the same keys as ``onnx`` plus the calibration
    # images, the fp32-vs-int8 comparison on test and ``served`` (int8 is served only when
    # it stays within the tolerances of fp32; ``reason`` says why not otherwise).
    onnx_int8: dict = field(default_factory=dict)
    # The operating point (classifier.operating_point): t_mel, t_mal, their targets and the
    # sensitivity/specificity they give on val and test; {} = not measured (0.5 / 0.5).
    operating_point: dict = field(default_factory=dict)
    # The not-assessable gate (classifier.gate): {"file", "sha256", "threshold", ...} and its
    # measured rejection rates; {} = quality checks only.
    gate: dict = field(default_factory=dict)
    # The TTA views the model is served with (classifier.tta names), chosen on val by
    # bench/tta_views.py; older cards: all 8 symmetries of the square.
    tta_views: list[str] = field(default_factory=lambda: list(VIEWS))

    @classmethod
    def for_model(
        cls,
        arch: str,
        classes: list[str] | tuple[str, ...],
        *,
        preprocessing: PreprocessConfig | None = None,
        input_size: int | None = None,
        **extra,
    ) -> ModelCard:
        """A card whose size/mean/std come from timm's config for ``arch``."""
        from classifier.factory import model_data_config

        data = model_data_config(arch, input_size=input_size)
        return cls(
            arch=arch,
            classes=list(classes),
            input_size=data.input_size,
            mean=list(data.mean),
            std=list(data.std),
            interpolation=data.interpolation,
            preprocessing=(preprocessing or PreprocessConfig()).to_dict(),
            **extra,
        )

    @property
    def data_config(self) -> DataConfig:
        return DataConfig(
            input_size=int(self.input_size),
            mean=tuple(float(v) for v in self.mean),
            std=tuple(float(v) for v in self.std),
            interpolation=self.interpolation,
        )

    @property
    def preprocess_config(self) -> PreprocessConfig:
        return PreprocessConfig.from_dict(self.preprocessing)

    @property
    def served_views(self) -> tuple[str, ...]:
        return tuple(self.tta_views)

    @property
    def confidence_threshold(self) -> float:
        return float(self.uncertainty.get("confidence_threshold", 0.6))

    @property
    def entropy_threshold(self) -> float:
        return float(self.uncertainty.get("entropy_threshold", 0.9))

    def to_dict(self) -> dict:
        data = asdict(self)
        data["classes"] = list(self.classes)
        return data

    @classmethod
    def from_dict(cls, data: dict) -> ModelCard:
        if not isinstance(data, dict):
            raise ArtifactError("model card must be a JSON object")
        names = {f.name for f in fields(cls)}
        required = {
            f.name for f in fields(cls) if f.default is MISSING and f.default_factory is MISSING
        }
        missing = sorted(required - set(data))
        if missing:
            raise ArtifactError(f"model card lacks required keys: {', '.join(missing)}")
        # Unknown keys are ignored: newer writers may add information we do not use.
        card = cls(**{k: v for k, v in data.items() if k in names})
        card.classes = list(card.classes)
        card.validate()
        return card

    def validate(self) -> None:
        """Raise ArtifactError if the card cannot describe a usable model."""
        problems = []
        if int(self.format_version) > FORMAT_VERSION:
            problems.append(
                f"format_version {self.format_version} is newer than this code ({FORMAT_VERSION})"
            )
        if not self.classes or len(set(self.classes)) != len(self.classes):
            problems.append("classes must be a non-empty list without duplicates")
        if len(self.mean) != 3 or len(self.std) != 3 or min(self.std) <= 0:
            problems.append("mean and std need three values each, std > 0")
        if int(self.input_size) < 16:
            problems.append(f"input_size {self.input_size} is too small")
        if (
            not self.tta_views
            or set(self.tta_views) - set(VIEWS)
            or "identity" not in self.tta_views
        ):
            problems.append(f"tta_views must be views of {', '.join(VIEWS)}, identity among them")
        if not float(self.temperature) > 0:
            problems.append(f"temperature must be positive, got {self.temperature}")
        try:
            PreprocessConfig.from_dict(self.preprocessing)
        except (TypeError, ValueError) as exc:
            problems.append(str(exc))
        if problems:
            raise ArtifactError("invalid model card: " + "; ".join(problems))


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
        card.onnx = _export_onnx(model, card, onnx_tmp) if export_onnx else {}
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


def _export_onnx(model: nn.Module, card: ModelCard, destination: Path) -> dict:
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
