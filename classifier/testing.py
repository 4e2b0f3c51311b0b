"""Helpers for tests (here and in other apps) that need a real, loadable artifact.

The artifact built here is a genuine model — ImageNet EfficientNet-Lite0
backbone, seeded random head — so tests exercise the whole engine; its
predictions are meaningless, which the card says.
"""

from __future__ import annotations

from pathlib import Path

import torch

from classifier.artifact import save_artifact
from classifier.factory import DEFAULT_ARCH, create_model
from classifier.labels import HAM7
from classifier.model_card import ModelCard
from classifier.preprocessing import PreprocessConfig


def build_untrained_artifact(
    directory: str | Path,
    *,
    classes: tuple[str, ...] | list[str] = HAM7,
    seed: int = 0,
    arch: str = DEFAULT_ARCH,
    preprocessing: PreprocessConfig | None = None,
    temperature: float = 1.0,
) -> Path:
    """Write an artifact with ImageNet backbone weights and a seeded random head."""
    model = create_model(arch, num_classes=len(classes), pretrained=True)
    head = model.get_classifier()
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        # Larger-than-default weights so probabilities are not all ~1/K (more realistic spread).
        head.weight.copy_(torch.randn(head.weight.shape, generator=generator) * 0.05)
        head.bias.zero_()
    card = ModelCard.for_model(
        arch,
        classes,
        preprocessing=preprocessing,
        temperature=temperature,
        model_id=f"untrained-{arch}-seed{seed}",
        training={"note": "untrained: ImageNet backbone and a random head, for tests only"},
    )
    directory = Path(directory)
    save_artifact(model.eval(), card, directory)
    return directory
