"""ONNX: export the network (fp32, and int8 by static quantization) and run it.

The export outputs logits AND the last feature map, which keeps the fast CAM
path (no backward pass) under ONNX Runtime, int8 included. A CPU worker serves
an artifact's export without importing PyTorch at all (PyTorch and timm alone
take ~750 MB of RSS): this module imports torch only inside ``export_onnx``.
Which files an artifact holds, and their checksums, is ``classifier.artifact``'s
business; this module knows nothing about artifacts.
"""

from __future__ import annotations

import copy
import io
import tempfile
import threading
import warnings
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from classifier.errors import ArtifactError, EngineError

if TYPE_CHECKING:
    from torch import nn

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

    network = _static_padding(copy.deepcopy(model).float().cpu(), input_size)
    wrapper = LogitsAndFeatures(network).eval()
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


def _static_padding(model: nn.Module, input_size: int) -> nn.Module:
    """Give timm's TF-"same" convolutions constant pads for the one exported input size.

    ``Conv2dSame`` computes its padding from the input shape at run time, which exports
    as a chain of Shape/Ceil/Pad ops; ONNX Runtime's int8 quantizer mis-sizes that chain
    (5x5 feature maps came out 4x4). The pads are measured once here, with plain ints, so
    the graph holds constants: the same numbers at this size, in fp32 and int8 alike.
    """
    import torch
    from timm.layers.conv2d_same import Conv2dSame
    from timm.layers.padding import pad_same_arg
    from torch.nn import functional

    class FixedPadConv2d(torch.nn.Conv2d):
        fixed_pad: tuple[int, int, int, int] = (0, 0, 0, 0)

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            x = functional.pad(x, self.fixed_pad)
            return functional.conv2d(
                x, self.weight, self.bias, self.stride, 0, self.dilation, self.groups
            )

    sizes: dict[nn.Module, tuple[int, int]] = {}

    def remember(module, args) -> None:
        sizes[module] = tuple(int(v) for v in args[0].shape[-2:])

    convs = [m for m in model.modules() if type(m) is Conv2dSame]
    hooks = [conv.register_forward_pre_hook(remember) for conv in convs]
    with torch.no_grad():
        model.eval()(torch.zeros(1, 3, input_size, input_size))
    for hook in hooks:
        hook.remove()
    for conv in convs:
        pads = pad_same_arg(list(sizes[conv]), conv.weight.shape[-2:], conv.stride, conv.dilation)
        conv.__class__ = FixedPadConv2d
        conv.fixed_pad = tuple(int(p) for p in pads)
    return model


def quantize_int8(
    fp32_model: str | Path, destination: str | Path, calibration: Iterable[np.ndarray]
) -> None:
    """Static int8 quantization of an fp32 export with ONNX Runtime.

    QDQ format (int8 kernels on x86 and ARM alike), per-channel int8 weights, uint8
    activations with ranges from min/max over ``calibration`` (normalised batches the
    network sees when serving). Deterministic for the same inputs.
    """
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    class Batches(CalibrationDataReader):
        def __init__(self) -> None:
            self._batches = iter(calibration)

        def get_next(self) -> dict | None:
            batch = next(self._batches, None)
            return None if batch is None else {INPUT_NAME: np.asarray(batch, np.float32)}

    with tempfile.TemporaryDirectory(prefix="quantize-") as scratch:
        prepared = Path(scratch) / "prepared.onnx"
        try:
            # Shape inference and folding first, as ONNX Runtime's guide asks for
            quant_pre_process(str(fp32_model), str(prepared), skip_symbolic_shape=True)
            quantize_static(
                str(prepared),
                str(destination),
                Batches(),
                quant_format=QuantFormat.QDQ,
                per_channel=True,
                activation_type=QuantType.QUInt8,
                weight_type=QuantType.QInt8,
                calibrate_method=CalibrationMethod.MinMax,
            )
        except Exception as exc:  # the quantizer raises assorted internal errors
            raise EngineError(f"int8 quantization failed: {exc}") from None


# --- the runtime ----------------------------------------------------------------------


class OnnxBackend:
    """Runs the exported network with ONNX Runtime; safe to share between threads."""

    def __init__(
        self,
        source: Callable[[], bytes] | Path,
        *,
        threads: int | None = None,
        cuda: bool = False,
        name: str = "onnx",
    ) -> None:
        self.name = name  # "onnx" (fp32) or "onnx-int8": what health and the card report
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
