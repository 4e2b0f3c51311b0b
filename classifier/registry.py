"""Which artifact the workers serve: the active ModelVersion, else the committed default."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from django.conf import settings

from classifier import artifact_store
from classifier.models import ModelVersion


@dataclass(frozen=True)
class ServedModel:
    version: ModelVersion | None  # None: the default model shipped with the code

    @property
    def key(self) -> str:
        """Changes whenever another artifact becomes the served one (workers reload on change)."""
        if self.version is None:
            return f"default:{settings.DERMASCAN_DEFAULT_MODEL}"
        return f"v{self.version.number}:{self.version.sha256}"

    @cached_property
    def directory(self) -> Path:
        """The local directory to load from; a stored version is downloaded on first use.

        Raises ArtifactError when the version's files cannot be fetched or fail their check.
        """
        if self.version is None:
            return Path(settings.DERMASCAN_DEFAULT_MODEL)
        return version_directory(self.version)


def active_model_version() -> ModelVersion | None:
    return ModelVersion.objects.active().first()


def served_model() -> ServedModel:
    """The served model (one query); its files are only touched when ``directory`` is read."""
    return ServedModel(version=active_model_version())


def version_directory(version: ModelVersion) -> Path:
    """A local directory with ``version``'s files: this machine's copy from the model store,
    or, for versions registered before the store existed, the directory it was registered from.
    """
    if version.is_stored:
        return artifact_store.local_copy(
            version.store_path, version.manifest, protect=_served_store_paths
        )
    return version.directory


def _served_store_paths() -> list[str]:
    """The served version's copy is never evicted from a machine's cache for another's."""
    return list(ModelVersion.objects.active().values_list("store_path", flat=True))


def active_artifact_dir() -> Path:
    """Directory of the artifact to load (active version, or settings.DERMASCAN_DEFAULT_MODEL)."""
    return served_model().directory
