"""The inference engine: load an artifact once, then predict images (thread-safe).

One prediction = load (EXIF-corrected RGB) -> preprocessing from the card ->
resize/normalise -> the 8 TTA views as one batch -> temperature-scaled softmax
per view, averaged -> uncertainty and risk -> CAM heatmap from the same forward
pass (the network returns logits and its last feature map together).

Backends: "torch" (PyTorch, CPU or CUDA) and "onnx" (ONNX Runtime). The default,
"auto", picks ONNX Runtime on a machine without a GPU when the artifact carries
an ONNX export; then torch is never imported and a worker stays small.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from PIL import Image

from classifier.artifact import load_gate, read_card, read_head_weights, verify_weights
from classifier.calibration import softmax
from classifier.cam import overlay_heatmap, tta_cam, upsample_map
from classifier.errors import EngineError
from classifier.export import usable_export
from classifier.gate import OOD_REASON, FeatureGate, pooled_features, quality_problem
from classifier.model_card import ModelCard
from classifier.operating_point import OperatingPoint
from classifier.preprocessing import load_rgb, normalise, preprocess_with_crop, resize_square
from classifier.results import Prediction, build_prediction
from classifier.torch_backend import TorchBackend, gpu_present, torch_device
from classifier.tta import VIEWS, invert_views, make_views

if TYPE_CHECKING:
    import torch
    from torch import nn


# "onnx": the artifact's preferred ONNX precision (int8 when its card says it is served);
# "onnx-fp32" / "onnx-int8" force one (comparisons, benchmarks).
BACKENDS = ("auto", "torch", "onnx", "onnx-fp32", "onnx-int8")


# Views per network call in predict_batch. On CPU larger batches are no faster per
# image, and ONNX Runtime's memory arena grows with the batch (8 views at 224 px:
# ~0.3 GB peak RSS, 16: ~0.5 GB), so one image's views per call; a GPU wants more.
MAX_VIEWS_PER_CALL = {"cpu": 8, "cuda": 256}


@dataclass
class PreparedImage:
    """An image ready for the network, plus the picture the heatmap is drawn on."""

    model_input: np.ndarray  # (3, S, S) float32, normalised
    overlay_base: np.ndarray  # (H, W, 3) uint8: border-cropped, unfiltered
    quality_problem: str = ""  # why the decoded image fails the quality checks; "" = passes


class Predictor:
    """Loads a model artifact once; ``predict`` may be called from several threads.

    ``model`` is the torch network; it is None only for an ONNX-only predictor built
    by :meth:`from_artifact`, in which case ``device`` is the string "cpu"/"cuda"
    (a ``torch.device`` otherwise).
    """

    def __init__(
        self,
        model: nn.Module | None,
        card: ModelCard,
        *,
        device: torch.device | str | None = None,
        backend: str = "torch",
        threads: int | None = None,
        confidence_threshold: float | None = None,
        entropy_threshold: float | None = None,
        onnx_file: Path | None = None,
        head_weights: np.ndarray | None = None,
        gate: FeatureGate | None = None,
    ) -> None:
        self.card = card = _with_uncertainty_overrides(
            card, confidence_threshold, entropy_threshold
        )
        self.classes = tuple(card.classes)
        self.data_config = card.data_config
        self.preprocess_config = card.preprocess_config
        self.temperature = float(card.temperature)
        self.operating_point = OperatingPoint.from_card(card.operating_point)
        self.gate = gate  # None: quality checks only (an artifact without gate statistics)
        self._backward_lock = threading.Lock()  # backward Grad-CAM writes .grad
        if backend == "auto":
            backend = "torch"  # a live torch model is here already: no reason to export
        if backend not in BACKENDS:
            raise EngineError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        if model is None:
            if not backend.startswith("onnx") or onnx_file is None or head_weights is None:
                raise EngineError("a Predictor without a torch model needs an ONNX file")
            self._serve_onnx_file(onnx_file, head_weights, device, backend, threads)
        else:
            self._serve_torch_model(model, device, backend, threads)

    def _serve_onnx_file(
        self, onnx_file: Path, head_weights, device, backend: str, threads
    ) -> None:
        from classifier.onnx_backend import OnnxBackend

        self.model = None
        self.fast_cam = True
        self._weights = head_weights
        want_cuda = device is not None and str(device).startswith("cuda")
        self.backend = OnnxBackend(onnx_file, threads=threads, cuda=want_cuda, name=backend)
        self.backend.warm_up()
        self.device = self.backend.device

    def _serve_torch_model(self, model: nn.Module, device, backend: str, threads) -> None:
        from classifier.cam import class_weights, supports_fast_cam

        self.device = torch_device(device)
        self.model = model.eval().to(self.device)
        self.fast_cam = supports_fast_cam(self.model)
        self._weights = class_weights(self.model) if self.fast_cam else None
        if backend == "torch":
            self.backend = TorchBackend(self.model, self.device)
        elif backend == "onnx-int8":
            raise EngineError("int8 runs the artifact's own export: use Predictor.from_artifact")
        else:
            from classifier.onnx_backend import OnnxBackend

            self.backend = OnnxBackend.from_model(
                self.model,
                self.data_config.input_size,
                threads=threads,
                cuda=self.device.type == "cuda",
            )
            self.backend.warm_up()  # export now: load once, not on the first request

    @classmethod
    def from_artifact(
        cls,
        directory: str | Path,
        *,
        device: torch.device | str | None = None,
        backend: str = "auto",
        threads: int | None = None,
        confidence_threshold: float | None = None,
        entropy_threshold: float | None = None,
    ) -> Predictor:
        """Load an artifact (weights verified against the card's sha256).

        backend "auto": ONNX Runtime from the artifact's own export when there is
        no GPU and the export is current, PyTorch otherwise. The int8 export is
        preferred where the card says it is served (it met the fp32 tolerances on test).
        """
        directory = Path(directory)
        options = {
            "threads": threads,
            "confidence_threshold": confidence_threshold,
            "entropy_threshold": entropy_threshold,
        }
        if backend not in BACKENDS:
            raise EngineError(f"Unknown backend {backend!r}; use one of {', '.join(BACKENDS)}")
        card = read_card(directory)
        wants_gpu = str(device).startswith("cuda") if device else gpu_present()
        if backend.startswith("onnx") or (backend == "auto" and not wants_gpu):
            predictor = cls._onnx_only(directory, card, device, backend, options)
            if predictor is not None:
                return predictor
            if backend == "onnx-int8":
                raise EngineError(f"{directory} has no current int8 export")
            # No usable export: PyTorch is always there (auto), or export from the weights
            backend = "torch" if backend == "auto" else "onnx"
        from classifier.artifact import load_artifact

        target = torch_device(device)
        model, card = load_artifact(directory, device=target)
        gate = load_gate(directory, card)
        return cls(model, card, device=target, backend=backend, gate=gate, **options)

    @classmethod
    def _onnx_only(
        cls, directory: Path, card: ModelCard, device, backend: str, options
    ) -> Predictor | None:
        try:
            import onnxruntime  # noqa: F401
        except ImportError:
            return None
        if not card.onnx.get("fast_cam"):
            return None  # heads without fast CAM need torch for the backward pass
        int8_served = bool(card.onnx_int8.get("served"))
        int8 = backend == "onnx-int8" or (backend in ("auto", "onnx") and int8_served)
        onnx_file = usable_export(directory, card, int8=int8)
        if onnx_file is None and int8 and backend != "onnx-int8":
            int8, onnx_file = False, usable_export(directory, card)
        if onnx_file is None:
            return None
        verify_weights(directory, card)  # the heatmap weights come from this file
        return cls(
            None,
            card,
            device=device,
            backend="onnx-int8" if int8 else "onnx",
            onnx_file=onnx_file,
            head_weights=read_head_weights(directory, card),
            gate=load_gate(directory, card),
            **options,
        )

    @property
    def model_id(self) -> str:
        return self.card.model_id

    @property
    def backend_name(self) -> str:
        return self.backend.name

    # --- public API -------------------------------------------------------------

    def predict(self, image, *, tta: bool = True, heatmap: bool = True) -> Prediction:
        """Predict one image (path, bytes, file object, PIL image or RGB array)."""
        return self.predict_batch([image], tta=tta, heatmap=heatmap)[0]

    def predict_batch(
        self, images, *, tta: bool = True, heatmap: bool = False, workers: int = 1
    ) -> list[Prediction]:
        """Predict several images, in order.

        ``workers`` > 1 runs that many images at once on threads (OpenCV, numpy and
        ONNX Runtime release the GIL): on a multi-core CPU, a predictor built with
        ``threads=1`` then keeps every core busy, which one image's batch cannot.
        """
        images = list(images)
        if workers > 1 and len(images) > 1:
            with ThreadPoolExecutor(max_workers=workers) as pool:
                return list(
                    pool.map(lambda image: self._predict_group([image], tta, heatmap)[0], images)
                )
        return self._predict_group(images, tta, heatmap)

    def _predict_group(self, images: list, tta: bool, heatmap: bool) -> list[Prediction]:
        """Images whose views share network calls (up to MAX_VIEWS_PER_CALL per call)."""
        prepared = [self.prepare(image) for image in images]
        views = self.card.served_views if tta else ("identity",)
        results = self.view_outputs(prepared, views=views, features=True)
        predictions = []
        for item, (view_probs, features) in zip(prepared, results, strict=True):
            ood_score, reason = self.gate_check(item, features)
            prediction = build_prediction(
                view_probs,
                classes=self.classes,
                card=self.card,
                model_id=self.model_id,
                operating_point=self.operating_point,
                not_assessable_reason=reason,
            )
            prediction.ood_score = ood_score
            if heatmap and prediction.assessable:  # no class is shown, so no heatmap either
                label_index = self.classes.index(prediction.label)
                overlay, raw = self.heatmap(item, features, label_index, views=views)
                prediction.heatmap, prediction.heatmap_raw = overlay, raw
            predictions.append(prediction)
        return predictions

    def gate_check(
        self, prepared: PreparedImage, features: np.ndarray | None
    ) -> tuple[float | None, str]:
        """(feature distance, why not assessable or ""): quality first, then the features."""
        if features is None or self.gate is None:
            return None, prepared.quality_problem
        score = float(self.gate.score(pooled_features(features)[None])[0])
        if prepared.quality_problem:
            return score, prepared.quality_problem
        return score, (OOD_REASON if score > self.gate.threshold else "")

    # --- steps (also used by the ensemble and the benchmark) -----------------------

    def prepare(self, image) -> PreparedImage:
        rgb = image if isinstance(image, np.ndarray) else load_rgb(image)
        filtered, geometry = preprocess_with_crop(rgb, self.preprocess_config)
        square = resize_square(
            filtered, self.data_config.input_size, self.data_config.interpolation
        )
        return PreparedImage(normalise(square, self.data_config), geometry, quality_problem(rgb))

    def view_outputs(
        self, prepared: list[PreparedImage], *, views: tuple[str, ...], features: bool
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Per image: calibrated per-view probabilities (V, K) and feature maps (V, C, h, w)."""
        return [
            (softmax(logits, self.temperature), maps)
            for logits, maps in self.view_logits(prepared, views=views, features=features)
        ]

    def view_logits(
        self, prepared: list[PreparedImage], *, views: tuple[str, ...], features: bool
    ) -> list[tuple[np.ndarray, np.ndarray | None]]:
        """Per image: raw per-view logits (V, K) and feature maps (V, C, h, w) or None.

        The uncalibrated form of :meth:`view_outputs`, for calibration and evaluation.
        """
        if not prepared:
            return []
        stacked = make_views(np.stack([p.model_input for p in prepared]), views)
        want_features = features
        limit = MAX_VIEWS_PER_CALL["cuda" if str(self.device).startswith("cuda") else "cpu"]
        step = max(1, limit // len(views)) * len(views)  # whole images per call
        logits_parts, feature_parts = [], []
        for start in range(0, len(stacked), step):
            logits, feats = self.backend.run(stacked[start : start + step], features=want_features)
            logits_parts.append(logits)
            feature_parts.append(feats)
        logits = np.concatenate(logits_parts).reshape(len(prepared), len(views), -1)
        feats_all = np.concatenate(feature_parts) if want_features else None
        outputs = []
        for i in range(len(prepared)):
            rows = slice(i * len(views), (i + 1) * len(views))
            outputs.append((logits[i], feats_all[rows] if feats_all is not None else None))
        return outputs

    def heatmap(
        self,
        prepared: PreparedImage,
        features: np.ndarray | None,
        label_index: int,
        *,
        views: tuple[str, ...] = VIEWS,
    ) -> tuple[Image.Image, np.ndarray]:
        """CAM of ``label_index`` averaged over the views, overlaid on the image."""
        if features is not None and self._weights is not None:
            cam = tta_cam(features, self._weights[label_index], views)
        else:
            cam = self._backward_cam(prepared, label_index, views)
        height, width = prepared.overlay_base.shape[:2]
        raw = upsample_map(cam, height, width)
        return overlay_heatmap(prepared.overlay_base, raw), raw

    def _backward_cam(
        self, prepared: PreparedImage, label_index: int, views: tuple[str, ...]
    ) -> np.ndarray:
        # Heads that are not pool+linear (e.g. ConvNeXt's norm head) need real gradients.
        import torch

        from classifier.cam import gradcam_backward

        batch = torch.from_numpy(make_views(prepared.model_input[None], views)).to(self.device)
        with self._backward_lock:
            maps = gradcam_backward(self.model, batch, label_index)
        return invert_views(maps, views)[0].mean(axis=0)


def _with_uncertainty_overrides(
    card: ModelCard, confidence_threshold: float | None, entropy_threshold: float | None
) -> ModelCard:
    """The card with the given uncertainty thresholds; a copy, so the card on disk keeps the
    values it was trained with."""
    overrides = {
        key: float(value)
        for key, value in (
            ("confidence_threshold", confidence_threshold),
            ("entropy_threshold", entropy_threshold),
        )
        if value is not None
    }
    if not overrides:
        return card
    return ModelCard.from_dict(card.to_dict() | {"uncertainty": {**card.uncertainty, **overrides}})
