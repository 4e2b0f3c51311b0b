"""An ONNX export is checked by what it computes, not by its bytes.

The bytes of an export differ from one CPU or build to another (constant folding and
the exporter's float arithmetic), so a re-export on another machine never hashes like
the recorded one. What must hold everywhere is its behaviour: on a fixed, seeded set of
inputs it reproduces the logits recorded in the card within a tolerance. For the fp32
export the reference is the PyTorch model itself; for the int8 export, the int8 file's
own outputs when it was made (quantization moves logits further than any CPU does).

Pure numpy + ONNX Runtime: no Django, no torch.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from classifier.errors import ArtifactError

# The inputs: smooth seeded colour fields with fine noise, image-like enough that every
# stage of the network sees activations in its usual range. numpy's PCG64 and the plain
# float32 arithmetic below give the same array on every x86-64 machine.
REFERENCE_SEED = 20261204
REFERENCE_COUNT = 4
_COARSE = 12  # coarse grid cells per side
# Largest logit deviation accepted. fp32: ONNX Runtime and PyTorch, on one CPU or another,
# agree to ~1e-6 on the default model; a changed weight moves logits by far more.
FP32_ATOL = 1e-3
# int8: rounding in the int8 kernels (AVX2, AVX-512 VNNI, AMX) moves logits by far less;
# int8 against fp32 differs by ~0.1, so an fp32 file passed off as int8 is refused too.
INT8_ATOL = 0.03

# Files already checked by this process: (path, size, mtime_ns) -> the reference they met
_checked: dict[tuple[str, int, int], str] = {}


def reference_inputs(
    input_size: int,
    mean: tuple[float, ...] | list[float],
    std: tuple[float, ...] | list[float],
    *,
    count: int = REFERENCE_COUNT,
    seed: int = REFERENCE_SEED,
) -> np.ndarray:
    """``count`` normalised NCHW float32 images of ``input_size`` pixels, the same everywhere."""
    rng = np.random.default_rng(seed)
    coarse = rng.uniform(0.15, 0.85, (count, 3, _COARSE, _COARSE)).astype(np.float32)
    cell = -(-input_size // _COARSE)  # ceil
    field = np.repeat(np.repeat(coarse, cell, axis=2), cell, axis=3)[..., :input_size, :input_size]
    noise = rng.normal(0.0, 0.05, field.shape).astype(np.float32)
    pixels = np.clip(field + noise, 0.0, 1.0)
    mean_ = np.asarray(mean, np.float32).reshape(1, 3, 1, 1)
    std_ = np.asarray(std, np.float32).reshape(1, 3, 1, 1)
    return np.ascontiguousarray((pixels - mean_) / std_, dtype=np.float32)


def reference_entry(logits: np.ndarray, *, atol: float, source: str) -> dict:
    """What the card records: the inputs' recipe, the expected logits, the tolerance."""
    return {
        "inputs": f"seeded colour fields, seed {REFERENCE_SEED}, {len(logits)} images",
        "seed": REFERENCE_SEED,
        "count": len(logits),
        "logits": np.round(np.asarray(logits, np.float64), 6).tolist(),
        "atol": atol,
        "source": source,
    }


def export_logits(path: Path, inputs: np.ndarray) -> np.ndarray:
    """The export's logits for ``inputs`` (one thread: the check must not hog a worker)."""
    from classifier.onnx_backend import OnnxBackend

    logits, _ = OnnxBackend(Path(path), threads=1).run(inputs, features=False)
    return np.asarray(logits, np.float64)


def deviation(path: Path, reference: dict, input_size: int, mean, std) -> float:
    """Largest absolute logit difference between the export and its reference."""
    inputs = reference_inputs(
        input_size, mean, std, count=int(reference["count"]), seed=int(reference["seed"])
    )
    expected = np.asarray(reference["logits"], np.float64)
    actual = export_logits(path, inputs)
    if actual.shape != expected.shape:
        return float("inf")
    return float(np.abs(actual - expected).max())


def check_behaviour(path: Path, reference: dict, input_size: int, mean, std) -> None:
    """Raise ArtifactError unless the export at ``path`` reproduces ``reference``.

    Checked once per process per file version (path, size, mtime): a worker that
    reloads its model does not rerun the check.
    """
    path = Path(path)
    stat = os.stat(path)
    key = (str(path.resolve()), stat.st_size, stat.st_mtime_ns)
    fingerprint = repr((reference.get("seed"), reference.get("logits"), reference.get("atol")))
    if _checked.get(key) == fingerprint:
        return
    try:
        worst = deviation(path, reference, input_size, mean, std)
    except ArtifactError as exc:  # not even loadable: damaged bytes
        raise ArtifactError(f"{path} is corrupt or was replaced: {exc}") from None
    atol = float(reference["atol"])
    if not worst <= atol:  # also catches NaN
        raise ArtifactError(
            f"{path} is corrupt or was replaced: it does not reproduce the card's reference "
            f"outputs (largest logit deviation {worst:.4g}, tolerance {atol})"
        )
    _checked[key] = fingerprint
