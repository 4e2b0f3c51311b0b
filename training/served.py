"""What the served model makes of a set of images: logits, pooled features, quality verdicts.

Everything runs through :class:`classifier.predictor.Predictor` (decode, preprocessing,
normalisation, TTA views, network), so calibration and evaluation see exactly the
numbers a worker sees. The raw per-view logits are kept, so a temperature can be fitted
or applied afterwards, and the pooled penultimate features, for the gate. Results can be
cached as ``.npz`` (keyed by the weights, the pipeline and the files), so calibrating
and then evaluating a model computes each split once.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tqdm import tqdm

from classifier.errors import ImageError
from classifier.gate import pooled_features
from classifier.predictor import Predictor
from training.data import DataError, Sample


@dataclass
class ServedOutputs:
    logits: np.ndarray  # (N, V, K) raw logits per TTA view
    features: np.ndarray  # (N, C) pooled penultimate features, averaged over the views
    quality: np.ndarray  # (N,) the quality check's reason, "" when the image passes

    def __len__(self) -> int:
        return len(self.logits)

    def subset(self, rows: np.ndarray) -> ServedOutputs:
        return ServedOutputs(self.logits[rows], self.features[rows], self.quality[rows])


def served_outputs(
    predictor: Predictor,
    images: list,
    *,
    views: tuple[str, ...],
    cache_key: str | None = None,
    cache_dir: Path | None = None,
    progress: bool = True,
    desc: str = "images",
) -> ServedOutputs:
    """Outputs for ``images`` (paths or RGB arrays), in order; cached when both are given."""
    cache_path = None
    if cache_dir is not None and cache_key is not None:
        digest = hashlib.sha256(
            json.dumps(
                {
                    "key": cache_key,
                    # int8 and fp32 exports of the same weights give different logits
                    "backend": predictor.backend_name,
                    "weights": predictor.card.weights_sha256,
                    "pre": predictor.card.preprocessing,
                    "size": predictor.card.input_size,
                    "views": list(views),
                },
                sort_keys=True,
            ).encode()
        ).hexdigest()[:20]
        cache_path = Path(cache_dir) / f"served-{digest}.npz"
        if cache_path.is_file():
            with np.load(cache_path) as stored:
                if len(stored["logits"]) == len(images):
                    return ServedOutputs(stored["logits"], stored["features"], stored["quality"])

    logits, features, quality = [], [], []
    for image in tqdm(images, desc=desc, unit="img", disable=not progress):
        try:
            prepared = predictor.prepare(str(image) if isinstance(image, Path) else image)
        except ImageError as exc:
            raise DataError(f"unreadable image: {exc}") from None
        [(view_logits, maps)] = predictor.view_logits([prepared], views=views, features=True)
        logits.append(view_logits.astype(np.float32))
        features.append(pooled_features(maps))
        quality.append(prepared.quality_problem)
    outputs = ServedOutputs(
        np.stack(logits) if logits else np.zeros((0, len(views), len(predictor.classes))),
        np.stack(features) if features else np.zeros((0, 0), np.float32),
        np.array(quality, dtype=str),
    )
    if cache_path is not None:
        cache_path.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache_path.with_suffix(f".{os.getpid()}.tmp.npz")
        np.savez(tmp, logits=outputs.logits, features=outputs.features, quality=outputs.quality)
        os.replace(tmp, cache_path)
    return outputs


def samples_key(samples: list[Sample]) -> str:
    """Changes when any file of ``samples`` changes (path, size, modification time)."""
    digest = hashlib.sha256()
    for sample in samples:
        stat = sample.path.stat()
        digest.update(f"{sample.path}|{stat.st_size}|{stat.st_mtime_ns}\n".encode())
    return digest.hexdigest()


def split_outputs(
    predictor: Predictor,
    samples: list[Sample],
    *,
    views: tuple[str, ...],
    cache_dir: Path | None,
    progress: bool,
    desc: str,
) -> ServedOutputs:
    return served_outputs(
        predictor,
        [s.path for s in samples],
        views=views,
        cache_key=samples_key(samples),
        cache_dir=cache_dir,
        progress=progress,
        desc=desc,
    )
