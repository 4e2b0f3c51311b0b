"""Reads for the model page: the served model's card, and the registered versions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from classifier.artifact import ModelCard, read_card
from classifier.errors import ArtifactError
from classifier.models import ModelVersion
from classifier.registry import served_model

# Only these files of an artifact are ever served over HTTP (never weights or other files).
FIGURE_NAMES = ("confusion_matrix", "roc_curves", "reliability_diagram", "training_curves")


@dataclass(frozen=True)
class ModelPage:
    card: ModelCard | None
    version: ModelVersion | None
    directory: Path
    figures: tuple[str, ...]
    error: str = ""


def model_page(version: ModelVersion | None = None) -> ModelPage:
    """The card of ``version``, or of the served model when none is given."""
    if version is None:
        served = served_model()
        directory, version = served.directory, served.version
    else:
        directory = version.directory
    try:
        card = read_card(directory)
    except ArtifactError as exc:
        return ModelPage(
            card=None, version=version, directory=directory, figures=(), error=str(exc)
        )
    figures = tuple(name for name in FIGURE_NAMES if (directory / f"{name}.png").is_file())
    return ModelPage(card=card, version=version, directory=directory, figures=figures)


def figure_path(directory: Path, name: str) -> Path | None:
    if name not in FIGURE_NAMES:
        return None
    path = Path(directory) / f"{name}.png"
    return path if path.is_file() else None


def registered_versions():
    return ModelVersion.objects.newest_first()
