"""Serving a segmenter artifact on CPU with ONNX Runtime (no torch import).

``Segmenter.from_artifact(dir)`` reads card.json, picks the file the card serves
(``model.int8.onnx`` only where the card says int8 held Dice within 0.01, else ``model.onnx``)
and ``segment(rgb)`` returns the cleaned boolean mask at the image's own size.
"""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from classifier.errors import ArtifactError, EngineError
from classifier.segmentation.processing import probability_to_mask, sigmoid, to_input

INPUT_NAME, OUTPUT_NAME = "input", "logits"
CARD_FILE, WEIGHTS_FILE = "card.json", "weights.safetensors"
FP32_FILE, INT8_FILE = "model.onnx", "model.int8.onnx"
DEFAULT_SEGMENTER = Path(__file__).resolve().parents[1] / "default_segmenter"


def read_card(directory: str | Path) -> dict:
    path = Path(directory) / CARD_FILE
    if not path.is_file():
        raise ArtifactError(f"not a segmenter artifact: {path} is missing")
    try:
        card = json.loads(path.read_text())
    except ValueError as exc:
        raise ArtifactError(f"{path} is not valid JSON: {exc}") from None
    for key in ("image_size", "threshold", "serve"):
        if key not in card:
            raise ArtifactError(f"{path} lacks {key!r}")
    return card


@dataclass(frozen=True)
class Segmentation:
    mask: np.ndarray  # bool (H, W), the image's own size
    probability: np.ndarray  # float32 (S, S), the model's size, before cleaning

    @property
    def area_fraction(self) -> float:
        return float(self.mask.mean())


class Segmenter:
    """The artifact's ONNX model in an ONNX Runtime session; safe to share between threads."""

    def __init__(
        self, directory: str | Path, *, threads: int | None = None, precision: str | None = None
    ) -> None:
        """``precision``: "fp32" or "int8" to override what the card serves (evaluation)."""
        self.directory = Path(directory)
        self.card = read_card(self.directory)
        self.image_size = int(self.card["image_size"])
        self.threshold = float(self.card["threshold"])
        self.precision = precision or ("int8" if self.card["serve"] == "int8" else "fp32")
        self.model_file = self.directory / (INT8_FILE if self.precision == "int8" else FP32_FILE)
        if not self.model_file.is_file():
            raise ArtifactError(f"{self.model_file} is missing (the card serves {self.precision})")
        self._threads = threads
        self._session = None
        self._lock = threading.Lock()

    @classmethod
    def default(cls, **options) -> Segmenter:
        return cls(DEFAULT_SEGMENTER, **options)

    def _get_session(self):
        with self._lock:  # two threads must not both build the session
            if self._session is None:
                self._session = _create_session(self.model_file, self._threads)
            return self._session

    def probabilities(self, batch: np.ndarray) -> np.ndarray:
        """Normalised batch (N, 3, S, S) -> probabilities (N, S, S)."""
        (logits,) = self._get_session().run(
            [OUTPUT_NAME], {INPUT_NAME: np.ascontiguousarray(batch, np.float32)}
        )
        return sigmoid(logits[:, 0])

    def segment(self, rgb: np.ndarray) -> Segmentation:
        if rgb.ndim != 3 or rgb.shape[2] != 3:
            raise EngineError(f"expected an RGB image (H, W, 3), got shape {rgb.shape}")
        probability = self.probabilities(to_input(rgb, self.image_size))[0]
        mask = probability_to_mask(probability, *rgb.shape[:2], threshold=self.threshold)
        return Segmentation(mask=mask, probability=probability)


def _create_session(model_file: Path, threads: int | None):
    try:
        import onnxruntime as ort
    except ImportError:
        raise EngineError("the segmenter needs the onnxruntime package") from None
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    # No busy-waiting: on cores shared with other workers spinning threads steal them
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    if threads:
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
    try:
        return ort.InferenceSession(str(model_file), options, providers=["CPUExecutionProvider"])
    except Exception as exc:  # ORT raises its own exception types for bad files
        raise ArtifactError(f"ONNX Runtime cannot load {model_file}: {exc}") from None
