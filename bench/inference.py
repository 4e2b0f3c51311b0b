"""Inference benchmark: the default engine against the seed design, in one run.

    python bench/inference.py [--images 100] [--seed-images 10] [--threads 2] [--write-docs]

Default engine: the artifact's preprocessing, the TTA views its card serves as ONE batch, the CAM
heatmap from the same forward pass (PyTorch and ONNX Runtime backends).
Seed design: tf_efficientnetv2_m at 384 px, the same preprocessing, the 8 views
as 8 separate calls, Grad-CAM with a backward pass. Weights do not change the
timing, so the seed network is randomly initialised (no weights exist here).

Each engine runs in its own subprocess so that its peak RSS is its own. Images
come from the HAM10000 test split (``--data``, default ../shared/data/ham10000).
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.report import DOCS, command_without_notes, write_section  # noqa: E402

SECTION = "## Inference"
TARGETS = {"median_ms": 25.0, "images_per_s": 40.0, "rss_mb": 400.0, "speedup": 100.0}


# --- measurement helpers ---------------------------------------------------------


def rss_mb() -> float:
    """Current resident set size of this process (Linux /proc), in MB."""
    with open("/proc/self/statm") as handle:
        pages = int(handle.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_rss_mb() -> float:
    """High-water mark of RSS since this process's exec (VmHWM).

    Not getrusage's ru_maxrss: Linux carries that across fork+exec, so a child
    would report the parent's peak.
    """
    with open("/proc/self/status") as handle:
        for line in handle:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1e3  # kB
    return float("nan")


def summarise(latencies_s: list[float]) -> dict:
    import numpy as np

    values = np.asarray(latencies_s) * 1000
    return {
        "n": len(values),
        "median_ms": float(np.median(values)),
        "p95_ms": float(np.percentile(values, 95)),
        "mean_ms": float(values.mean()),
        "images_per_s": float(1000 / values.mean()),
    }


def timed(fn, items, warmup: int = 2) -> list[float]:
    for item in items[:warmup]:
        fn(item)
    latencies = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        latencies.append(time.perf_counter() - start)
    return latencies


def timed_with_cpu(fn, items, warmup: int = 2) -> dict:
    """Wall-clock summary plus CPU seconds per item (all threads of this process).

    On a machine shared with other jobs the wall clock includes waiting for a core;
    CPU time does not, so it shows what the work itself costs.
    """
    for item in items[:warmup]:
        fn(item)
    cpu_start = time.process_time()
    summary = summarise(timed(fn, items, warmup=0))
    summary["cpu_ms"] = (time.process_time() - cpu_start) * 1000 / len(items)
    return summary


# --- the engines (each runs in a child process) --------------------------------------


def run_default(model_dir: Path, images: list[Path], threads: int, backend: str) -> dict:
    if backend == "torch":  # the ONNX paths must not pay for importing torch
        import torch

        torch.set_num_threads(threads)
    from classifier.predictor import Predictor

    baseline = rss_mb()
    start = time.perf_counter()
    predictor = Predictor.from_artifact(model_dir, device="cpu", backend=backend, threads=threads)
    load_s = time.perf_counter() - start
    loaded = rss_mb()

    label = {
        "onnx": "default engine, ONNX Runtime (the card's choice)",
        "onnx-fp32": "default engine, ONNX Runtime fp32",
        "onnx-int8": "default engine, ONNX Runtime int8",
        "torch": "default engine, PyTorch backend",
    }
    result = {"engine": label.get(backend, backend), "load_s": load_s}
    result["torch_imported"] = "torch" in sys.modules
    result["per_image"] = timed_with_cpu(lambda p: predictor.predict(p, heatmap=True), images)
    # Stage split on the same images: preprocessing alone, then one batch of the served views.
    from classifier.tta import make_views

    served = predictor.card.served_views
    result["served_views"] = len(served)
    result["preprocess"] = summarise(timed(predictor.prepare, images))
    prepared = [predictor.prepare(p) for p in images[:20]]
    views = [make_views(item.model_input[None], served) for item in prepared]
    result["network_served_views"] = summarise(
        timed(lambda v: predictor.backend.run(v, features=True), views)
    )
    # Throughput when a worker gets several images at once (8 per call, with heatmaps).
    chunks = [images[i : i + 8] for i in range(0, len(images) - 7, 8)]
    batch_latencies = timed(lambda c: predictor.predict_batch(c, heatmap=True), chunks, 1)
    result["batched_images_per_s"] = 8 * len(batch_latencies) / sum(batch_latencies)
    result["rss_mb"] = {"before_load": baseline, "loaded": loaded, "peak": peak_rss_mb()}
    return result


def run_parallel(model_dir: Path, images: list[Path], workers: int) -> dict:
    """Throughput mode: one ONNX Runtime thread per image, ``workers`` images at once,
    with the export the card serves (int8 when it met the tolerances)."""
    from classifier.predictor import Predictor

    baseline = rss_mb()
    predictor = Predictor.from_artifact(model_dir, device="cpu", backend="onnx", threads=1)
    precision = "int8" if predictor.backend_name == "onnx-int8" else "fp32"
    loaded = rss_mb()
    predictor.predict_batch(images[: 2 * workers], heatmap=True, workers=workers)  # warm-up
    cpu_start, start = time.process_time(), time.perf_counter()
    predictor.predict_batch(images, heatmap=True, workers=workers)
    elapsed = time.perf_counter() - start
    mean_ms = elapsed * 1000 / len(images)
    return {
        "engine": f"default engine, ONNX Runtime {precision}, {workers} images at once "
        "(1 thread each)",
        "throughput_only": True,
        "per_image": {
            "n": len(images),
            "mean_ms": mean_ms,
            "images_per_s": len(images) / elapsed,
            "cpu_ms": (time.process_time() - cpu_start) * 1000 / len(images),
        },
        "rss_mb": {"before_load": baseline, "loaded": loaded, "peak": peak_rss_mb()},
    }


def run_seed(images: list[Path], threads: int) -> dict:
    """The seed documents' inference: v2-M 384, 8 separate calls, backward Grad-CAM."""
    import numpy as np
    import torch

    torch.set_num_threads(threads)
    from classifier.cam import gradcam_backward, overlay_heatmap, upsample_map
    from classifier.factory import create_model, model_data_config
    from classifier.preprocessing import (
        PreprocessConfig,
        load_rgb,
        preprocess_image,
        to_model_input,
    )
    from classifier.tta import VIEWS, apply_view

    baseline = rss_mb()
    model = create_model("tf_efficientnetv2_m", num_classes=3, pretrained=False).eval()
    loaded = rss_mb()
    data_config = model_data_config("tf_efficientnetv2_m")
    config = PreprocessConfig()

    def predict(path: Path):
        rgb = preprocess_image(load_rgb(path), config)
        x = to_model_input(rgb, data_config)[None]
        with torch.no_grad():
            probs = [torch.softmax(model(apply_view(x, v)), dim=1) for v in VIEWS]
        label = int(torch.stack(probs).mean(dim=0).argmax())
        cam = gradcam_backward(model, x, label)[0]
        overlay_heatmap(rgb, upsample_map(cam, *rgb.shape[:2]))
        return np.asarray(probs)

    result = {"engine": "seed design (v2-M 384, 8 calls, backward Grad-CAM)"}
    result["per_image"] = timed_with_cpu(predict, images, warmup=1)
    result["rss_mb"] = {"before_load": baseline, "loaded": loaded, "peak": peak_rss_mb()}
    return result


# --- orchestration ------------------------------------------------------------------


def test_images(data_dir: Path, count: int) -> list[Path]:
    metadata = data_dir / "metadata.csv"
    if not metadata.is_file():
        samples = sorted((REPO_ROOT / "tests" / "samples").glob("*.jpg"))
        return (samples * (count // len(samples) + 1))[:count]
    with metadata.open(newline="") as handle:
        rows = [r for r in csv.DictReader(handle) if r["split"] == "test"]
    return [data_dir / "images" / f"{r['image_id']}.jpg" for r in rows[:count]]


def child(args: argparse.Namespace) -> None:
    images = test_images(args.data, args.images)
    if args.engine == "seed":
        result = run_seed(images, args.threads)
    elif args.engine == "parallel":
        result = run_parallel(args.model, images, os.cpu_count() or 1)
    else:
        result = run_default(args.model, images, args.threads, args.engine)
    print("RESULT " + json.dumps(result))


def run_child(engine: str, args: argparse.Namespace, model_dir: Path, count: int) -> dict:
    command = [
        sys.executable, __file__, "--child", engine, "--model", str(model_dir),
        "--images", str(count), "--threads", str(args.threads), "--data", str(args.data),
    ]  # fmt: skip
    env = dict(os.environ, OMP_NUM_THREADS=str(args.threads))
    completed = subprocess.run(command, capture_output=True, text=True, env=env, check=False)
    for line in completed.stdout.splitlines():
        if line.startswith("RESULT "):
            return json.loads(line[len("RESULT ") :])
    raise SystemExit(f"{engine} benchmark failed:\n{completed.stderr[-3000:]}")


def machine() -> dict:
    model = "unknown"
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        found = re.search(r"Model name:\s*(.+)", lscpu)
        model = found.group(1).strip() if found else model
    except OSError:
        pass
    import onnxruntime
    import torch

    return {
        "nproc": os.cpu_count(),
        "cpu": model,
        "python": platform.python_version(),
        "torch": torch.__version__,
        "onnxruntime": onnxruntime.__version__,
    }


def render(report: dict) -> str:
    m = report["machine"]
    lines = [
        SECTION,
        "",
        f"Measured {report['date']} with `{report['command']}`.",
        f"Machine: {m['nproc']} CPU cores ({m['cpu']}), no GPU; Python {m['python']}, "
        f"torch {m['torch']}, onnxruntime {m['onnxruntime']}; {report['threads']} inference "
        f"thread{'' if report['threads'] == 1 else 's'}. "
        f"Load average before/after: {report['load_before']} / {report['load_after']}"
        + " (the second value includes this benchmark's own load)"
        + ("; other jobs were using the CPU when it started." if report["loaded"] else "."),
        f"Model: `{report['model_id']}` ({report['arch']}, {report['input_size']} px). "
        f"Default engine: {report['default_images']} test-split images; seed design: "
        f"{report['seed_images']}.",
        "",
        "| engine | median ms/image | p95 ms | CPU ms/image | images/s (one by one) "
        "| images/s (8 per call) | RSS loaded MB | peak RSS MB |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for result in report["results"]:
        per = result["per_image"]
        batched = result.get("batched_images_per_s")
        batched_text = f"{batched:.1f}" if batched else "-"
        if result.get("throughput_only"):
            median, p95 = "-", "-"
        else:
            median, p95 = f"{per['median_ms']:.1f}", f"{per['p95_ms']:.1f}"
        lines.append(
            f"| {result['engine']} | {median} | {p95} "
            f"| {per['cpu_ms']:.1f} | {per['images_per_s']:.1f} | {batched_text} "
            f"| {result['rss_mb']['loaded']:.0f} | {result['rss_mb']['peak']:.0f} |"
        )
    lines += ["", "Stages of the default engine (median ms per image):", ""]
    lines += [
        "| backend | preprocessing (load, filters, resize) | network, served views, one batch |"
    ]
    lines += ["| --- | ---: | ---: |"]
    for result in report["results"]:
        if "preprocess" in result:
            lines.append(
                f"| {result['engine']} | {result['preprocess']['median_ms']:.1f} "
                f"| {result['network_served_views']['median_ms']:.1f} "
                f"({result['served_views']} views) |"
            )
    lines.append("")
    for result in report["results"]:
        if "load_s" in result:
            lines.append(
                f"- {result['engine']}: model load {result['load_s']:.1f} s; process RSS "
                f"{result['rss_mb']['before_load']:.0f} MB before loading; "
                f"torch imported: {'yes' if result['torch_imported'] else 'no'}."
            )
    lines += ["", "Targets (2 CPU cores):", ""]
    for line in report["verdicts"]:
        lines.append(f"- {line}")
    lines += ["", report.get("notes", "").strip(), ""]
    return "\n".join(lines).rstrip() + "\n"


def verdicts(results: list[dict], seed: dict) -> tuple[list[str], dict]:
    latency_runs = [r for r in results if not r.get("throughput_only")]
    best = min(latency_runs, key=lambda r: r["per_image"]["median_ms"])
    fastest = max(results, key=lambda r: r["per_image"]["images_per_s"])
    speedup = seed["per_image"]["median_ms"] / best["per_image"]["median_ms"]
    checks = [
        ("median latency", best, best["per_image"]["median_ms"], "≤", "median_ms", "ms"),
        ("throughput, one process", fastest, fastest["per_image"]["images_per_s"], "≥",
         "images_per_s", "img/s"),
        ("worker RSS with the model loaded", best, best["rss_mb"]["peak"], "≤", "rss_mb", "MB"),
        ("speed-up over the seed design", best, speedup, "≥", "speedup", "×"),
    ]  # fmt: skip
    lines = []
    for name, run, value, op, key, unit in checks:
        target = TARGETS[key]
        met = value <= target if op == "≤" else value >= target
        lines.append(
            f"{name}: {value:.1f} {unit} ({run['engine']}) — target {op} {target:g} {unit}: "
            f"**{'met' if met else 'missed'}**"
        )
    return lines, {"speedup": speedup, "best": best["engine"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--seed-images", type=int, default=10)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--model", type=Path, help="artifact (default: the bundled model)")
    parser.add_argument("--backends", default="torch,onnx-fp32,onnx-int8")
    parser.add_argument(
        "--data", type=Path, default=REPO_ROOT.parent / "shared" / "data" / "ham10000"
    )
    parser.add_argument("--write-docs", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument("--notes", default="", help="free text appended to the docs section")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        args.engine = args.child
        child(args)
        return

    with tempfile.TemporaryDirectory() as scratch:
        model_dir = args.model or REPO_ROOT / "classifier" / "default_model"
        if not (model_dir / "card.json").is_file():
            from classifier.testing import build_untrained_artifact

            print(f"no artifact at {model_dir}: timing an untrained lite0 artifact instead")
            model_dir = build_untrained_artifact(Path(scratch) / "untrained")
        from classifier.artifact import read_card
        from classifier.export import add_export, usable_export

        card = read_card(model_dir)
        export_note = ""
        if "onnx" in args.backends and usable_export(model_dir, card) is None:
            # An artifact without its fp32 export (bin/setup not run): export a scratch copy.
            copy = Path(scratch) / "with_onnx"
            shutil.copytree(model_dir, copy)
            add_export(copy)
            model_dir = copy
            export_note = (
                "The artifact had no fp32 ONNX export; the benchmark added it to a scratch "
                "copy, as `python manage.py export_onnx --model DIR` does."
            )
        if "onnx-int8" in args.backends and usable_export(model_dir, card, int8=True) is None:
            args.backends = ",".join(b for b in args.backends.split(",") if b != "onnx-int8")
            export_note += " The artifact has no int8 export (quantize_model adds one)."
        load_before = os.getloadavg()[0]
        results = []
        for backend in args.backends.split(","):
            print(f"default engine, {backend} backend, {args.images} images ...", flush=True)
            results.append(run_child(backend, args, model_dir, args.images))
        if "onnx" in args.backends:
            print(f"throughput mode, {args.images} images ...", flush=True)
            results.append(run_child("parallel", args, model_dir, args.images))
        print(f"seed design, {args.seed_images} images ...", flush=True)
        seed = run_child("seed", args, model_dir, args.seed_images)
        load_after = os.getloadavg()[0]

    verdict_lines, summary = verdicts(results, seed)
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "command": "python bench/inference.py " + " ".join(command_without_notes(sys.argv[1:])),
        "machine": machine(),
        "threads": args.threads,
        "load_before": f"{load_before:.1f}",
        "load_after": f"{load_after:.1f}",
        "loaded": load_before > 0.5,
        "model_id": card.model_id,
        "arch": card.arch,
        "input_size": card.input_size,
        "default_images": args.images,
        "seed_images": args.seed_images,
        "results": [*results, seed],
        "verdicts": verdict_lines + [f"speed-up = seed median / {summary['best']} median."],
        "notes": " ".join(n for n in (export_note, args.notes) if n),
    }
    section = render(report)
    print(section)
    print(json.dumps(report["results"], indent=1))
    if args.write_docs:
        write_section(SECTION, section)
        print(f"wrote {DOCS.relative_to(REPO_ROOT)}")


if __name__ == "__main__":
    main()
