"""GPU worker check: latency, throughput and parity with the CPU result, in one run.

    python bench/gpu_check.py [--model DIR] [--images 256] [--json OUT]

Loads the model the way a GPU worker does (``Predictor.from_artifact`` picks PyTorch
on CUDA when a GPU is visible) and the way a CPU worker does (its served ONNX export,
and PyTorch on the CPU), then measures on the committed sample images:

- parity: per image, the largest probability difference, the same most likely class,
  the same result state, and the correlation of the heatmaps, GPU against CPU;
- latency: one analysis (8 TTA views as one batch and the CAM heatmap), median and p95;
- throughput: images per second when a worker hands the GPU several images at once.

Needs only the engine (no Django, no database), so it runs on a bare GPU machine with
torch, timm, onnxruntime, opencv and safetensors; ``bench/gpu.sh`` wraps it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from classifier.predictor import Predictor  # noqa: E402

SAMPLES = sorted((REPO_ROOT / "tests" / "samples").glob("*.jpg"))


def timed(function, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return times


def parity(gpu: Predictor, cpu: Predictor, images: list[bytes]) -> dict:
    worst, same_class, same_state, correlations = 0.0, 0, 0, []
    for data in images:
        a, b = gpu.predict(data), cpu.predict(data)
        worst = max(
            worst, max(abs(a.probabilities[c] - b.probabilities[c]) for c in a.probabilities)
        )
        same_class += a.label == b.label
        same_state += a.result_state == b.result_state
        if a.heatmap_raw is not None and b.heatmap_raw is not None:
            correlations.append(
                float(np.corrcoef(a.heatmap_raw.ravel(), b.heatmap_raw.ravel())[0, 1])
            )
    return {
        "cpu_backend": cpu.backend_name,
        "images": len(images),
        "max_probability_difference": round(worst, 6),
        "same_most_likely_class": same_class,
        "same_result_state": same_state,
        "min_heatmap_correlation": round(min(correlations), 4) if correlations else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", default=str(REPO_ROOT / "classifier" / "default_model"))
    parser.add_argument("--images", type=int, default=256, help="images for the throughput run")
    parser.add_argument("--json", default=None)
    args = parser.parse_args()

    import torch

    if not torch.cuda.is_available():
        sys.exit("no CUDA device: this check is for a GPU machine (tests never need one)")
    images = [path.read_bytes() for path in SAMPLES]
    # What a worker on this machine picks by itself (it looks for the NVIDIA driver)
    auto_backend = Predictor.from_artifact(args.model).backend_name
    gpu = Predictor.from_artifact(args.model, device="cuda")
    cpu_served = Predictor.from_artifact(args.model, device="cpu")
    cpu_torch = Predictor.from_artifact(args.model, device="cpu", backend="torch")
    for _ in range(5):  # CUDA context, cuDNN autotuning, first allocations
        gpu.predict(images[0])
    torch.cuda.synchronize()

    latency = timed(lambda: gpu.predict(images[0]), 50)
    batch = [images[i % len(images)] for i in range(args.images)]
    throughput = {}
    for group in (1, 8, 32):
        started = time.perf_counter()
        for start in range(0, len(batch), group):
            gpu.predict_batch(batch[start : start + group], heatmap=True)
        torch.cuda.synchronize()
        throughput[f"{group} images per call"] = round(
            len(batch) / (time.perf_counter() - started), 1
        )
    report = {
        "device": torch.cuda.get_device_name(0),
        "torch": torch.__version__,
        "model": gpu.model_id,
        "gpu_backend": gpu.backend_name,
        "backend_a_worker_picks_here": auto_backend,
        "latency_ms": {
            "median": round(statistics.median(latency), 2),
            "p95": round(float(np.percentile(latency, 95)), 2),
        },
        "images_per_s": throughput,
        "parity_with_cpu_torch": parity(gpu, cpu_torch, images),
        "parity_with_cpu_served": parity(gpu, cpu_served, images),
    }
    text = json.dumps(report, indent=2)
    print(text)
    if args.json:
        Path(args.json).write_text(text + "\n")


if __name__ == "__main__":
    main()
