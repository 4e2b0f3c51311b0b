"""The model as an inference worker process serves it: loaded once per process, not per task.

Celery's prefork pool forks its child processes from the main worker process; the model is
loaded in each child after the fork (``worker_process_init``, see ``lesions.pipeline.tasks``), so
CUDA is initialised where it is used and no runtime threads are forked half-way. Each
task asks which model is active (one small query) and the model is reloaded only when
another version was activated.

Only worker processes import this module; the web process never loads the engine.
"""

from __future__ import annotations

import io
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings

from classifier.errors import EngineError
from classifier.model_card import CARD_FILE
from classifier.predictor import Predictor
from classifier.registry import served_model

logger = logging.getLogger(__name__)

# A model that failed to load is tried again at most this often (seconds), so that a
# broken artifact fails each analysis at once instead of re-reading gigabytes per task.
RETRY_FAILED_LOAD_AFTER = 30.0


@dataclass(frozen=True)
class ServedModelInfo:
    """Which model produced a result, as the worker records it on the analysis."""

    model_version_id: int | None
    model_id: str
    sha256: str


class ModelUnavailable(Exception):
    """The served model cannot be loaded; the message says why, for the failure reason."""


@dataclass(frozen=True)
class LoadedModel:
    key: str
    predictor: Predictor
    info: ServedModelInfo


@dataclass(frozen=True)
class _LoadFailure:
    key: str
    at: float
    message: str


_lock = threading.Lock()
_loaded: LoadedModel | None = None
_failure: _LoadFailure | None = None


def current_model() -> LoadedModel:
    """The predictor for the model that is active now; loads or reloads it when needed."""
    global _loaded, _failure
    served = served_model()
    with _lock:
        _raise_if_failed_recently(served.key)
        try:
            # A registered version is downloaded from the model store the first time this
            # machine serves it; afterwards this reuses the local copy (two stat calls).
            directory = served.directory
        except (EngineError, OSError) as exc:
            raise _unavailable(served.key, served, exc) from exc
        # The registry's key names the version and its weights; the directory is part of what
        # is loaded too (a version re-registered from another copy is another artifact), and so
        # is its card: calibrate_model changes thresholds and gate without touching the weights.
        key = f"{served.key}@{directory}#{_card_stamp(directory)}"
        if _loaded is not None and _loaded.key == key:
            return _loaded
        _raise_if_failed_recently(key)
        _loaded = None  # drop the old model before loading the next one (memory)
        started = time.monotonic()
        try:
            predictor = _load_predictor(directory)
        except (EngineError, OSError, ValueError) as exc:
            raise _unavailable(key, served, exc) from exc
        _failure = None
        version = served.version
        _loaded = LoadedModel(
            key=key,
            predictor=predictor,
            info=ServedModelInfo(
                model_version_id=version.pk if version else None,
                model_id=predictor.model_id,
                sha256=version.sha256 if version else predictor.card.weights_sha256,
            ),
        )
        logger.info(
            "Loaded model %s (%s backend, %s) in %.1f s",
            served.key,
            predictor.backend.name,
            predictor.device,
            time.monotonic() - started,
        )
        return _loaded


def _raise_if_failed_recently(key: str) -> None:
    if (
        _failure is not None
        and _failure.key == key
        and time.monotonic() - _failure.at < RETRY_FAILED_LOAD_AFTER
    ):
        raise ModelUnavailable(_failure.message)


def _unavailable(key: str, served: Any, exc: Exception) -> ModelUnavailable:
    """Remember the failure (no re-download or re-read per task) and say it in plain words."""
    global _failure
    # The clinician sees the short reason; the details (paths, hashes) go to the log.
    message = (
        "The model could not be loaded: its files are missing or damaged. "
        "An administrator has to restore them or activate another model version."
    )
    _failure = _LoadFailure(key=key, at=time.monotonic(), message=message)
    logger.error("Cannot load the model %s: %s", served.key, exc)
    return ModelUnavailable(message)


def _card_stamp(directory: Any) -> int:
    try:
        return (Path(directory) / CARD_FILE).stat().st_mtime_ns
    except OSError:
        return 0  # loading will fail with the reason


def _load_predictor(directory: Any) -> Predictor:
    threads = settings.DERMASCAN_INFERENCE_THREADS or None
    predictor = Predictor.from_artifact(
        directory, backend=settings.DERMASCAN_INFERENCE_BACKEND, threads=threads
    )
    if threads and predictor.backend.name == "torch":
        import torch

        torch.set_num_threads(threads)
    return predictor


def heatmap_jpeg(heatmap: Any) -> bytes | None:
    """The heatmap overlay (a PIL image) as JPEG bytes for storage."""
    if heatmap is None:
        return None
    out = io.BytesIO()
    heatmap.convert("RGB").save(out, "JPEG", quality=85)
    return out.getvalue()
