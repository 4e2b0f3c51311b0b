"""Command line: ``python -m classifier.predict IMAGE... [--model PATH] [--json]``.

Prints one result per image (one JSON object per line with ``--json``). An image
that cannot be read gets an error line; the others are still processed and the
exit status is 1. A model that cannot be loaded exits with status 2.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path

DEFAULT_MODEL_DIR = Path(__file__).resolve().parent / "default_model"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m classifier.predict",
        description="Classify dermoscopic images with a DermaScan model artifact.",
    )
    parser.add_argument("images", nargs="+", metavar="IMAGE", help="image files to classify")
    parser.add_argument(
        "--model",
        action="append",
        type=Path,
        metavar="PATH",
        help="model artifact directory (repeat for an ensemble; default: the bundled model)",
    )
    parser.add_argument("--json", action="store_true", help="one JSON object per line")
    parser.add_argument("--heatmap-dir", type=Path, metavar="DIR", help="write heatmap PNGs here")
    parser.add_argument("--no-tta", action="store_true", help="single view instead of 8")
    parser.add_argument(
        "--backend",
        choices=("auto", "torch", "onnx"),
        default="auto",
        help="auto: ONNX Runtime on CPU when the artifact has an export, else PyTorch",
    )
    parser.add_argument("--device", help="cpu, cuda, cuda:1 ... (default: cuda when available)")
    parser.add_argument("--threads", type=int, help="CPU threads for inference")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    # Imports after argument parsing, so --help is instant.
    from classifier.ensemble import EnsemblePredictor
    from classifier.errors import EngineError
    from classifier.predictor import Predictor
    from classifier.risk import DISCLAIMER

    if args.threads and args.backend == "torch":
        import torch

        torch.set_num_threads(args.threads)
    model_dirs = args.model or [DEFAULT_MODEL_DIR]
    try:
        if len(model_dirs) == 1:
            predictor = Predictor.from_artifact(
                model_dirs[0], device=args.device, backend=args.backend, threads=args.threads
            )
        else:
            predictor = EnsemblePredictor.from_artifacts(
                model_dirs, device=args.device, backend=args.backend, threads=args.threads
            )
    except (EngineError, RuntimeError) as exc:
        hint = "" if args.model else " (no bundled model yet: pass --model PATH)"
        print(f"error: cannot load model: {exc}{hint}", file=sys.stderr)
        return 2
    if args.heatmap_dir:
        args.heatmap_dir.mkdir(parents=True, exist_ok=True)

    failures = 0
    used_names: set[str] = set()
    for image in args.images:
        try:
            prediction = predictor.predict(
                image, tta=not args.no_tta, heatmap=args.heatmap_dir is not None
            )
        except EngineError as exc:
            failures += 1
            _report_error(image, str(exc), as_json=args.json)
            continue
        heatmap_path = None
        if args.heatmap_dir is not None and prediction.heatmap is not None:
            heatmap_path = _save_png(prediction.heatmap, args.heatmap_dir, Path(image), used_names)
        if args.json:
            record = {"image": image, **prediction.to_dict()}
            if heatmap_path is not None:
                record["heatmap_path"] = str(heatmap_path)
            print(json.dumps(record), flush=True)
        else:
            print(_format_text(image, prediction, heatmap_path), flush=True)
    if not args.json:
        print(DISCLAIMER)
    return 1 if failures else 0


def _report_error(image: str, message: str, *, as_json: bool) -> None:
    if as_json:
        print(json.dumps({"image": image, "error": message}), flush=True)
    where = "" if message.startswith(image) else f"{image}: "
    print(f"error: {where}{message}", file=sys.stderr, flush=True)


def _format_text(image: str, prediction, heatmap_path: Path | None) -> str:
    flag = "  [UNCERTAIN]" if prediction.uncertain else ""
    lines = [
        f"{image}: {prediction.label_display} ({prediction.label}) "
        f"{prediction.confidence:.1%}{flag}",
        f"  result: {prediction.result_state.replace('_', ' ')}"
        + (f" ({prediction.state_reason})" if prediction.state_reason else ""),
        f"  risk: {prediction.risk_level or 'none'} - {prediction.recommended_action}",
        f"  malignant classes together: {prediction.malignant_probability:.1%}",
    ]
    if prediction.uncertain:
        lines.append(f"  {prediction.uncertainty_message}")
    ranked = sorted(prediction.probabilities.items(), key=lambda item: -item[1])
    lines.append(
        "  probabilities: "
        + ", ".join(f"{code} {p:.1%} (±{prediction.tta_spread[code]:.1%})" for code, p in ranked)
    )
    lines.append(f"  model: {prediction.model_id}, TTA views: {prediction.tta_views}")
    if heatmap_path is not None:
        lines.append(f"  heatmap: {heatmap_path}")
    return "\n".join(lines)


def _save_png(image, directory: Path, source: Path, used: set[str]) -> Path:
    name = f"{source.stem}_heatmap.png"
    counter = 1
    while name in used:
        counter += 1
        name = f"{source.stem}_{counter}_heatmap.png"
    used.add(name)
    target = directory / name
    # Write then rename: a reader never sees a half-written PNG.
    handle, temp = tempfile.mkstemp(prefix=".heatmap.", suffix=".png", dir=directory)
    os.close(handle)
    os.chmod(temp, 0o644)
    try:
        image.save(temp, format="PNG")
        os.replace(temp, target)
    finally:
        Path(temp).unlink(missing_ok=True)
    return target


if __name__ == "__main__":
    sys.exit(main())
