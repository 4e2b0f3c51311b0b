"""Which artifact the workers serve: the active ModelVersion, else the committed default."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from django.conf import settings

from classifier.models import ModelVersion


@dataclass(frozen=True)
class ServedModel:
    directory: Path
    version: ModelVersion | None  # None: the default model shipped with the code

    @property
    def key(self) -> str:
        """Changes whenever another artifact becomes the served one (workers reload on change)."""
        if self.version is None:
            return f"default:{self.directory}"
        return f"v{self.version.number}:{self.version.sha256}"


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.active().first()


def served_model() -> ServedModel:
    version = active_model_version()
    if version is not None:
        return ServedModel(directory=version.directory, version=version)
    return ServedModel(directory=Path(settings.DERMASCAN_DEFAULT_MODEL), version=None)


def active_artifact_dir() -> Path:
    """Directory of the artifact to load (active version, or settings.DERMASCAN_DEFAULT_MODEL)."""
    return served_model().directory
