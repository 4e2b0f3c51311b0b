"""Lesion segmenter speed on CPU: one image at a time, as a worker runs it.

    .venv/bin/python bench/segmentation.py [--segmenter DIR] [--threads 2] [--images 200]
        [--write-docs]

Times ``Segmenter.segment`` (resize, ONNX Runtime, threshold, largest component, hole filling,
resize back) and the network call alone, for the fp32 and the int8 file where the artifact has
it, on real test images (256 px), after 10 warm-up calls.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from classifier.segmentation.processing import to_input  # noqa: E402
from classifier.segmentation.runtime import DEFAULT_SEGMENTER, INT8_FILE, Segmenter  # noqa: E402
from training.segmentation.data import read_pair, split_samples  # noqa: E402

DATA = REPO_ROOT.parent / "shared" / "data" / "ham10000"


def time_calls(call, inputs: list, warm_up: int = 10) -> dict:
    for item in inputs[:warm_up]:
        call(item)
    times = []
    for item in inputs:
        start = time.perf_counter()
        call(item)
        times.append((time.perf_counter() - start) * 1000)
    return {"median_ms": float(np.median(times)), "p90_ms": float(np.percentile(times, 90))}


def measure(directory: Path, threads: int, images: list[np.ndarray]) -> dict:
    report = {}
    precisions = ["fp32"] + (["int8"] if (directory / INT8_FILE).is_file() else [])
    for precision in precisions:
        segmenter = Segmenter(directory, threads=threads, precision=precision)
        batches = [to_input(rgb, segmenter.image_size) for rgb in images]
        report[precision] = {
            "segment": time_calls(segmenter.segment, images),
            "network": time_calls(segmenter.probabilities, batches),
        }
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segmenter", type=Path, default=DEFAULT_SEGMENTER)
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--images", type=int, default=200)
    parser.add_argument("--write-docs", action="store_true")
    args = parser.parse_args()
    images = [read_pair(s)[0] for s in split_samples(args.data, "test", limit=args.images)]
    card = Segmenter(args.segmenter).card
    report = {
        "segmenter": card.get("name"),
        "image_size": card["image_size"],
        "served": card["serve"],
        "threads": args.threads,
        "cpu": platform.processor() or platform.machine(),
        "cores": os.cpu_count(),
        "images": len(images),
        "results": measure(args.segmenter, args.threads, images),
    }
    print(json.dumps(report, indent=2))
    if args.write_docs:
        from bench.report import command_without_notes, write_section

        command = " ".join(["python", *command_without_notes(sys.argv)])
        write_section("## Lesion segmentation", docs_section(report, command))


def docs_section(report: dict, command: str) -> str:
    lines = [
        "## Lesion segmentation",
        "",
        f"`{command}` ({time.strftime('%Y-%m-%d')}): `{report['segmenter']}` "
        f"({report['image_size']} px, serves {report['served']}), {report['images']} test images "
        f"one at a time, ONNX Runtime with {report['threads']} threads on {report['cores']} cores "
        "(machine shared with other work). Target: <= 10 ms median per image.",
        "",
        "| file | whole `segment()` median (p90) | network alone median (p90) |",
        "| --- | ---: | ---: |",
    ]
    for precision, row in report["results"].items():
        whole, net = row["segment"], row["network"]
        lines.append(
            f"| {precision} | {whole['median_ms']:.1f} ms ({whole['p90_ms']:.1f}) "
            f"| {net['median_ms']:.1f} ms ({net['p90_ms']:.1f}) |"
        )
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    main()
