"""Training benchmark: seconds per epoch and images/s of the default recipe.

    python bench/training.py [--train-images 320] [--threads 2] [--write-docs]

It runs the real training loop (``training.loop.train``: augmentation, mixup/
cutmix, focal loss, AdamW, EMA, validation) for one short epoch on real
HAM10000 images, on the CPU and, when one is present, on the GPU, each in its
own subprocess. From the measured rates it projects a full epoch of the
recipe (the class-capped epoch of the train split plus validation) and the
one-time preprocessing of the data set. The recipe is the default model's
(``classifier/default_model/card.json``); the figures recorded while that
model was trained (``history.json``) are reported beside the projection.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

from bench.report import write_section  # noqa: E402

SECTION = "## Training"
DEFAULT_MODEL = REPO_ROOT / "classifier" / "default_model"
DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "ham10000"


def default_recipe() -> dict:
    card = DEFAULT_MODEL / "card.json"
    if card.is_file():
        return json.loads(card.read_text()).get("training", {}).get("recipe", {})
    return {}


def measure(device: str, args) -> dict:
    """One device, in this process: preprocessing, one short epoch, TTA inference."""
    import numpy as np
    import torch

    from classifier.factory import model_data_config
    from training.data import load_dataset
    from training.evaluation import split_arrays
    from training.loop import epoch_class_counts, train
    from training.pipeline import _cap_per_split
    from training.recipe import TrainConfig
    from training.tta import tta_view_logits

    torch.set_num_threads(args.threads)
    recipe = default_recipe()
    config = TrainConfig.from_dict(recipe) if recipe else TrainConfig(img_size=128)
    config.epochs, config.threads, config.patience = 1, args.threads, 99
    config.batch_size = args.batch_size or config.batch_size

    full = load_dataset(args.data, labels=config.labels)
    from dataclasses import replace

    subset = replace(full, samples=_cap_per_split(full, args.train_images))
    subset = replace(
        subset,
        samples=[s for s in subset.samples if s.split == "train"]
        + [s for s in subset.samples if s.split == "val"][: args.val_images],
    )
    data_config = model_data_config(config.arch, input_size=config.img_size)
    kwargs = dict(
        classes=list(full.classes),
        preprocessing=config.preprocess_config,
        data_config=data_config,
        cache_dir=None,
        progress=False,
    )
    started = time.perf_counter()
    train_x, train_y = split_arrays(subset, "train", **kwargs)
    val_x, val_y = split_arrays(subset, "val", **kwargs)
    preprocess_rate = (len(train_y) + len(val_y)) / (time.perf_counter() - started)

    with tempfile.TemporaryDirectory() as checkpoints:
        result = train(
            config=config,
            train_images=train_x,
            train_labels=train_y,
            val_images=val_x,
            val_labels=val_y,
            num_classes=len(full.classes),
            data_config=data_config,
            checkpoint_dir=Path(checkpoints),
            progress=False,
            log=lambda m: None,
        )
    epoch = result.history[0]
    train_rate = epoch["images_per_second"]
    val_rate = len(val_y) / max(epoch["epoch_seconds"] - epoch["train_seconds"], 1e-9)

    device_t = torch.device(device)
    model = result.model.to(device_t)
    tta_images = train_x[: args.tta_images]
    tta_view_logits(model, tta_images[:8], data_config, device=device_t)  # warm-up
    started = time.perf_counter()
    tta_view_logits(model, tta_images, data_config, device=device_t)
    tta_rate = len(tta_images) / (time.perf_counter() - started)

    train_labels_full = np.array(
        [full.classes.index(s.label) for s in full.in_split("train")], dtype=np.int64
    )
    counts = epoch_class_counts(train_labels_full, len(full.classes), config)
    epoch_images = sum(counts) if config.balance == "undersample" else len(train_labels_full)
    val_images = len(full.in_split("val"))
    return {
        "device": device if device == "cpu" else torch.cuda.get_device_name(0),
        "threads": args.threads,
        "recipe": {
            "arch": config.arch,
            "img_size": data_config.input_size,
            "batch_size": config.batch_size,
            "freeze_blocks": config.freeze_blocks,
            "balance": config.balance,
            "max_per_class": config.max_per_class,
        },
        "measured_on": {"train_images": int(len(train_y)), "val_images": int(len(val_y))},
        "preprocess_images_per_s": preprocess_rate,
        "train_images_per_s": train_rate,
        "val_images_per_s": val_rate,
        "tta_images_per_s": tta_rate,
        "epoch_images": int(epoch_images),
        "val_split_images": int(val_images),
        "projected_epoch_s": epoch_images / train_rate + val_images / val_rate,
        "projected_preprocess_s": (len(full.samples)) / preprocess_rate,
        "projected_final_tta_s": (val_images + len(full.in_split("test"))) / tta_rate,
    }


def recorded_history() -> dict | None:
    history = DEFAULT_MODEL / "history.json"
    card = DEFAULT_MODEL / "card.json"
    if not history.is_file() or not card.is_file():
        return None
    epochs = json.loads(history.read_text())
    training = json.loads(card.read_text()).get("training", {})
    if not epochs:
        return None
    seconds = [e["epoch_seconds"] for e in epochs]
    rates = [e["images_per_second"] for e in epochs]
    first = training.get("first_stage") or {}
    first_seconds = [e["epoch_seconds"] for e in first.get("history", [])]
    return {
        "first_stage_epochs": len(first_seconds),
        "first_stage_px": (first.get("recipe") or {}).get("img_size"),
        "first_stage_s": sum(first_seconds),
        "epochs": len(epochs),
        "device": training.get("device"),
        "median_epoch_s": sorted(seconds)[len(seconds) // 2],
        "min_epoch_s": min(seconds),
        "max_epoch_s": max(seconds),
        "median_images_per_s": sorted(rates)[len(rates) // 2],
        "total_s": training.get("train_seconds"),
    }


def run_child(device: str, args) -> dict:
    env = dict(os.environ)
    if device == "cpu":
        env["CUDA_VISIBLE_DEVICES"] = ""  # the loop picks CUDA whenever it sees one
    command = [sys.executable, __file__, "--child", device, *sys.argv[1:]]
    command = [c for c in command if c != "--write-docs"]
    output = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if output.returncode != 0:
        raise SystemExit(f"{device} run failed:\n{output.stderr[-3000:]}")
    return json.loads(output.stdout.strip().splitlines()[-1])


def render(report: dict) -> str:
    lines = [
        SECTION,
        "",
        f"Measured {report['date']} with `{report['command']}`.",
        f"Machine: {report['nproc']} CPU cores, torch {report['torch']}; load average "
        f"before/after {report['load_before']} / {report['load_after']}"
        + (" (other jobs were using the CPU at the same time)." if report["loaded"] else "."),
        "The real loop (augmentation, mixup/cutmix, focal loss, AdamW, EMA) ran one short epoch "
        "on real images; a full epoch of the recipe is projected from the measured rates.",
        "",
        "| device | img px | batch | train images/s | val images/s | TTA images/s (8 views) "
        "| projected s/epoch | preprocessing once, s |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for r in report["results"]:
        lines.append(
            f"| {r['device']} ({r['threads']} threads) | {r['recipe']['img_size']} | "
            f"{r['recipe']['batch_size']} | {r['train_images_per_s']:.1f} | "
            f"{r['val_images_per_s']:.1f} | {r['tta_images_per_s']:.1f} | "
            f"{r['projected_epoch_s']:.0f} | {r['projected_preprocess_s']:.0f} |"
        )
    r = report["results"][0]
    lines += [
        "",
        f"An epoch of the recipe is {r['epoch_images']} training images (classes capped at "
        f"{r['recipe']['max_per_class']} per epoch, {r['recipe']['balance']}) plus "
        f"{r['val_split_images']} validation images without TTA; stem and first "
        f"{r['recipe']['freeze_blocks']} stages frozen.",
    ]
    if report.get("recorded"):
        h = report["recorded"]
        lines += [
            "",
            f"Recorded while the default model trained ({h['epochs']} epochs on {h['device']}, "
            f"1 thread, other jobs on the machine): median {h['median_epoch_s']:.0f} s per "
            f"epoch (range {h['min_epoch_s']:.0f}-{h['max_epoch_s']:.0f}), median "
            f"{h['median_images_per_s']:.1f} training images/s; whole run including "
            f"preprocessing, calibration and TTA evaluation {h['total_s']:.0f} s"
            + (
                f", after a first stage of {h['first_stage_epochs']} epochs at "
                f"{h['first_stage_px']} px ({h['first_stage_s']:.0f} s of epochs)."
                if h.get("first_stage_epochs")
                else "."
            ),
        ]
    if not any(r["device"] != "cpu" for r in report["results"]):
        lines += ["", "No GPU on this machine: the GPU row appears when one is present."]
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--train-images", type=int, default=320)
    parser.add_argument("--val-images", type=int, default=128)
    parser.add_argument("--tta-images", type=int, default=64)
    parser.add_argument("--batch-size", type=int, default=None)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--write-docs", action="store_true")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "dermascan_site.settings")
    if args.child:
        print(json.dumps(measure(args.child, args)))
        return

    import torch

    load_before = os.getloadavg()[0]
    devices = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    results = [run_child(device, args) for device in devices]
    load_after = os.getloadavg()[0]
    report = {
        "date": time.strftime("%Y-%m-%d"),
        "command": "python bench/training.py " + " ".join(sys.argv[1:]),
        "nproc": os.cpu_count(),
        "cpu": platform.processor() or platform.machine(),
        "torch": torch.__version__,
        "load_before": round(load_before, 1),
        "load_after": round(load_after, 1),
        "loaded": max(load_before, load_after) > 0.5 * (os.cpu_count() or 1),
        "results": results,
        "recorded": recorded_history(),
    }
    print(json.dumps(report, indent=2))
    section = render(report)
    print(section)
    if args.write_docs:
        write_section(SECTION, section)


if __name__ == "__main__":
    main()
