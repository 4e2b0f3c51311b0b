"""Saving a trained segmenter as a self-describing artifact directory (needs torch).

weights.safetensors   the network's state dict in float16 (half the bytes; the ONNX files
                      are exported from exactly these values, and they are what is scored)
model.onnx            fp32 export, fixed square size, dynamic batch, output = logits
model.int8.onnx       only when int8 keeps Dice within 0.01 of fp32 (the card says which)
card.json             what it is, how it was trained, how it scores (see runtime.read_card)
"""

from __future__ import annotations

import copy
import hashlib
import io
import json
import warnings
from pathlib import Path

import torch

from classifier.errors import EngineError
from classifier.onnx_backend import _static_padding
from classifier.segmentation.model import LesionSegmenter
from classifier.segmentation.runtime import CARD_FILE, INPUT_NAME, OUTPUT_NAME, WEIGHTS_FILE

OPSET = 17


def export_onnx(model: LesionSegmenter, input_size: int, destination: str | Path) -> None:
    """fp32 ONNX of ``model`` with constant "same" pads (see onnx_backend._static_padding)."""
    network = copy.deepcopy(model).float().cpu().eval()
    # The encoder takes the image itself, so the classifier's fix of timm's dynamic "same"
    # padding (constant pads for the one exported size; int8 needs them) applies as it is.
    network.encoder = _static_padding(network.encoder, input_size)
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # exporter deprecation chatter, not actionable
        try:
            torch.onnx.export(
                network,
                (torch.zeros(1, 3, input_size, input_size),),
                buffer,
                input_names=[INPUT_NAME],
                output_names=[OUTPUT_NAME],
                dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                opset_version=OPSET,
                dynamo=False,
            )
        except Exception as exc:  # exporter internals vary by torch version
            raise EngineError(f"ONNX export failed: {exc}") from None
    Path(destination).write_bytes(buffer.getvalue())


def save_weights(model: LesionSegmenter, directory: Path) -> str:
    from safetensors.torch import save_file

    state = {
        k: (v.detach().half() if v.is_floating_point() else v).cpu().contiguous()
        for k, v in model.state_dict().items()
    }
    path = directory / WEIGHTS_FILE
    save_file(state, str(path), metadata={"encoder": model.encoder_arch})
    return sha256_of(path)


def load_weights(directory: str | Path) -> LesionSegmenter:
    """The torch network of an artifact directory, in eval mode (no ImageNet load needed)."""
    from safetensors.torch import load_file

    model = LesionSegmenter()
    state = load_file(str(Path(directory) / WEIGHTS_FILE))
    model.load_state_dict({k: v.float() if v.is_floating_point() else v for k, v in state.items()})
    return model.eval()


def write_card(directory: Path, card: dict) -> None:
    (directory / CARD_FILE).write_text(json.dumps(card, indent=2, sort_keys=True) + "\n")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
