"""Device-shift ablation on a GPU machine: two runs that differ only in ``device_shift``.

Run from the repository root on the GPU machine, after ``bench/gpu_pack.py`` built
``.gpu/`` here (docs/training-gpu.md has the command line):

    python3 bench/gpu_ablation.py --pack .gpu --out DIR

It trains EfficientNet-Lite0 at 192 px with the default model's recipe (the
``training.recipe`` of ``classifier/default_model/card.json``: full fine-tuning,
the class-balanced sampler, Shades-of-Gray colour constancy, ...) twice, at the
same time, on the one GPU: ``off`` as the recipe is, ``on`` with
``device_shift``. Same seed, same fixed number of epochs (early stopping off),
so both see the same batches, the same seed augmentations and the same mixup;
``on`` adds the device-shift block on top. Each writes an uncalibrated artifact
(weights.safetensors, card.json, history.json; no ONNX export) into
``DIR/off`` and ``DIR/on``: calibrate and evaluate them afterwards with
``calibrate_model`` / ``evaluate_model`` where the full data set is.

Before the runs, the packed images are unpacked to PNG and preprocessed once
(the project's ``training.cache.prepare_image``, on all cores); the training
loop itself is ``training.loop.train`` unchanged, with its augmentation in the
main process. While they train, val is prepared a second time under simulated
other devices (colour casts, gamma, blur, JPEG, half resolution, 4:3 stretch,
black corners, applied to the image *before* the project's preprocessing, as a
real capture would be); at the end both artifacts are scored on each, plain
logits, no TTA. Val also picked each run's best epoch, so these are a quick
look, not the test result.

Nothing waits forever: past ``--time-limit`` the runs are stopped between
steps and keep their best epoch so far (the summary says so); anything still
alive 30 s later is killed.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))
os.environ.setdefault("NO_ALBUMENTATIONS_UPDATE", "1")  # no network there: skip the check

ARCH = "tf_efficientnet_lite0"
WEIGHTS_FILE = "lite0_imagenet_fp16.safetensors"  # bench/gpu_pack.py writes it
DEFAULT_CARD = REPO_ROOT / "classifier" / "default_model" / "card.json"
RUNS = ("off", "on")
FINISH_RESERVE_S = 40  # after the training deadline: artifacts and the stress scores
KILL_GRACE_S = 30
# Simulated other devices for the quick look at val, applied to the decoded image.
STRESS = (
    "clean",
    "warm",
    "cold",
    "gamma_1.5",
    "blur",
    "jpeg_40",
    "half_resolution",
    "stretch_4_3",
    "black_corners",
    "other_scope",
)


class OutOfTime(Exception):
    """SIGTERM from the parent: the time limit is reached."""


# --- shared ------------------------------------------------------------------------


def recipe_config(args, *, device_shift: bool):
    """The default model's recipe, for a fixed number of epochs and this machine."""
    from dataclasses import replace

    from classifier.preprocessing import PreprocessConfig
    from training.recipe import TrainConfig

    card = json.loads(DEFAULT_CARD.read_text())
    config = TrainConfig.from_dict(card["training"]["recipe"])
    return replace(
        config,
        img_size=args.img_size,
        epochs=args.epochs,
        patience=args.epochs,  # a fixed budget: never stops early
        seed=args.seed,
        threads=args.threads,
        max_images=args.max_images,
        device_shift=device_shift,
        # What the default model serves (colour constancy on; max_side follows the size).
        preprocessing=PreprocessConfig.from_dict(card["preprocessing"]).to_dict(),
    )


def work_paths(work: Path) -> dict[str, Path]:
    return {
        "ham": work / "ham",
        "arrays": work / "arrays",
        "stress": work / "stress",
    }


# --- the parent ---------------------------------------------------------------------


class Log:
    """Lines to stdout and to ``ablation.log`` in the output folder, from several threads."""

    def __init__(self, path: Path) -> None:
        self.handle = open(path, "a", buffering=1)  # noqa: SIM115 (closed in main)
        self.lock = threading.Lock()
        self.started = time.perf_counter()

    def __call__(self, message: str, *, prefix: str = "") -> None:
        stamp = f"{time.perf_counter() - self.started:6.1f}s"
        with self.lock:
            for line in message.rstrip("\n").splitlines() or [""]:
                text = f"{stamp} {prefix}{line}"
                print(text, flush=True)
                self.handle.write(text + "\n")


def environment() -> dict:
    import platform

    import albumentations
    import cv2
    import numpy as np
    import timm
    import torch

    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "cuda": torch.version.cuda,
        "gpu": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "numpy": np.__version__,
        "opencv": cv2.__version__,
        "albumentations": albumentations.__version__,
        "timm": timm.__version__,
        "cpus": os.cpu_count(),
    }
    return info


def unpack_one(task: tuple[bytes, str]) -> None:
    import cv2
    import numpy as np

    encoded, target = task
    bgr = cv2.imdecode(np.frombuffer(encoded, np.uint8), cv2.IMREAD_COLOR)
    if bgr is None:  # an OpenCV built without WebP: Pillow decodes it as well
        import io

        from PIL import Image

        with Image.open(io.BytesIO(encoded)) as image:
            image.convert("RGB").save(target, compress_level=1)
        return
    cv2.imwrite(target, bgr, [cv2.IMWRITE_PNG_COMPRESSION, 1])


def unpack(pack: Path, ham: Path, pool) -> int:
    """The packed WebPs as a HAM10000-layout folder of PNGs (lossless, what load_dataset reads)."""
    import numpy as np

    if ham.exists():
        shutil.rmtree(ham)
    (ham / "images").mkdir(parents=True)
    shutil.copyfile(pack / "ham" / "metadata.csv", ham / "metadata.csv")
    with np.load(pack / "ham" / "images.npz") as archive:  # bench/gpu_pack.py's layout
        ids, offsets, data = archive["ids"], archive["offsets"], archive["data"]
    tasks = [
        (data[start:end].tobytes(), str(ham / "images" / f"{image_id.decode()}.png"))
        for image_id, start, end in zip(ids, offsets[:-1], offsets[1:], strict=True)
    ]
    for _ in pool.imap_unordered(unpack_one, tasks, chunksize=64):
        pass
    return len(tasks)


def prepare_one(task: tuple) -> object:
    """The network's view of one image, as ``training.cache.build_image_cache`` makes it."""
    import cv2

    from classifier.preprocessing import PreprocessConfig
    from training.cache import prepare_image

    cv2.setNumThreads(1)
    path, preprocessing, size, interpolation = task
    return prepare_image(
        Path(path),
        preprocessing=PreprocessConfig.from_dict(preprocessing),
        size=size,
        interpolation=interpolation,
    )


def prepare_arrays(args, paths: dict[str, Path], pool, log: Log) -> dict:
    """Train and val preprocessed once, saved for both runs (same order as split_arrays)."""
    import numpy as np

    from classifier.factory import model_data_config
    from training.pipeline import prepare_data

    config = recipe_config(args, device_shift=False)
    data, _ = prepare_data(paths["ham"], config)
    data_config = model_data_config(config.arch, input_size=config.img_size)
    preprocessing = config.preprocess_config(data_config.input_size).to_dict()
    index = {code: i for i, code in enumerate(data.classes)}
    paths["arrays"].mkdir(parents=True, exist_ok=True)
    counts = {}
    for split in ("train", "val"):
        samples = data.in_split(split)
        tasks = [
            (str(s.path), preprocessing, data_config.input_size, data_config.interpolation)
            for s in samples
        ]
        images = np.stack(list(pool.imap(prepare_one, tasks, chunksize=32)))
        labels = np.array([index[s.label] for s in samples], dtype=np.int64)
        np.save(paths["arrays"] / f"{split}_images.npy", images)
        np.save(paths["arrays"] / f"{split}_labels.npy", labels)
        counts[split] = len(labels)
    log(f"preprocessed train {counts['train']} and val {counts['val']} images")
    return {
        "val_paths": [str(s.path) for s in data.in_split("val")],
        "preprocessing": preprocessing,
        "size": data_config.input_size,
        "interpolation": data_config.interpolation,
        "classes": list(data.classes),
    }


def shifted(rgb, name: str):
    """``rgb`` as another device might have captured it (deterministic)."""
    import cv2
    import numpy as np

    def cast(gains):
        return np.clip(rgb.astype(np.float32) * np.float32(gains), 0, 255).astype(np.uint8)

    height, width = rgb.shape[:2]
    if name == "clean":
        return rgb
    if name == "warm":
        return cast((1.25, 1.0, 0.8))
    if name == "cold":
        return cast((0.8, 1.0, 1.25))
    if name == "gamma_1.5":
        table = np.clip(255 * (np.arange(256) / 255) ** 1.5 + 0.5, 0, 255).astype(np.uint8)
        return cv2.LUT(rgb, table)
    if name == "blur":
        return cv2.GaussianBlur(rgb, (0, 0), 1.5)
    if name == "jpeg_40":
        _, encoded = cv2.imencode(".jpg", rgb, [cv2.IMWRITE_JPEG_QUALITY, 40])
        return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    if name == "half_resolution":
        small = cv2.resize(rgb, (width // 2, height // 2), interpolation=cv2.INTER_AREA)
        return cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    if name == "stretch_4_3":
        wide = cv2.resize(rgb, (width * 4 // 3, height), interpolation=cv2.INTER_LINEAR)
        left = (wide.shape[1] - width) // 2
        return np.ascontiguousarray(wide[:, left : left + width])
    if name == "black_corners":
        mask = np.zeros((height, width), np.uint8)
        cv2.circle(mask, (width // 2, height // 2), min(height, width) // 2, 255, -1)
        return np.where(mask[..., None] > 0, rgb, 0).astype(np.uint8)
    if name == "other_scope":  # a warm, softer, more compressed scope with a round field
        rgb = shifted(shifted(rgb, "black_corners"), "blur")
        rgb = np.clip(rgb.astype(np.float32) * np.float32((1.15, 1.0, 0.85)), 0, 255)
        _, encoded = cv2.imencode(".jpg", rgb.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 60])
        return cv2.imdecode(encoded, cv2.IMREAD_UNCHANGED)
    raise ValueError(name)


def stress_one(task: tuple) -> object:
    import cv2
    import numpy as np

    from classifier.preprocessing import (
        PreprocessConfig,
        load_rgb,
        preprocess_image,
        resize_square,
    )

    cv2.setNumThreads(1)
    path, preprocessing, size, interpolation = task
    config = PreprocessConfig.from_dict(preprocessing)
    rgb = load_rgb(path)
    return np.stack(
        [
            resize_square(preprocess_image(shifted(rgb, name), config), size, interpolation)
            for name in STRESS
        ]
    )


def prepare_stress(prepared: dict, paths: dict[str, Path], pool) -> None:
    import numpy as np

    tasks = [
        (path, prepared["preprocessing"], prepared["size"], prepared["interpolation"])
        for path in prepared["val_paths"]
    ]
    views = np.stack(list(pool.imap(stress_one, tasks, chunksize=16)))  # (N, shifts, S, S, 3)
    paths["stress"].mkdir(parents=True, exist_ok=True)
    np.save(paths["stress"] / "val_shifted.npy", views)


def start_run(name: str, args, log: Log) -> tuple[subprocess.Popen, threading.Thread]:
    command = [sys.executable, "-u", str(Path(__file__).resolve()), "--child", name]
    command += [
        f"--{k.replace('_', '-')}={v}"
        for k, v in vars(args).items()
        if k not in {"child", "allow_cpu", "no_stress"} and v is not None
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1", NO_ALBUMENTATIONS_UPDATE="1")
    process = subprocess.Popen(
        command,
        cwd=REPO_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        bufsize=1,
    )  # in our process group: an outer `timeout` signals the runs too

    def relay() -> None:
        for line in process.stdout:
            log(line, prefix=f"[{name}] ")

    relaying = threading.Thread(target=relay, daemon=True)
    relaying.start()
    return process, relaying


def wait_for_runs(
    runs: dict[str, subprocess.Popen], deadline: float, log: Log, stop: threading.Event
) -> dict:
    """Wait; at ``deadline`` (or on SIGTERM) ask the runs to stop, kill them 30 s later."""
    asked = None
    while any(p.poll() is None for p in runs.values()):
        now = time.monotonic()
        if asked is None and (now > deadline or stop.is_set()):
            log("time limit (or SIGTERM): stopping the runs; each keeps its best epoch so far")
            for process in runs.values():
                if process.poll() is None:
                    process.send_signal(signal.SIGTERM)
            asked = now
        if asked is not None and now > asked + KILL_GRACE_S:
            for name, process in runs.items():
                if process.poll() is None:
                    log(f"run {name} did not stop: killed")
                    process.kill()
            break
        time.sleep(0.5)
    for process in runs.values():
        process.wait(timeout=10)
    return {name: process.returncode for name, process in runs.items()}


def score_stress(out: Path, paths: dict[str, Path], prepared: dict, log: Log) -> dict:
    """Balanced accuracy, accuracy and melanoma AUC of each artifact on each shifted val."""
    import numpy as np
    import torch
    from sklearn.metrics import roc_auc_score

    from classifier.artifact import load_artifact
    from training.loop import predict_logits, select_device
    from training.metrics import balanced_accuracy

    views = np.load(paths["stress"] / "val_shifted.npy", mmap_mode="r")
    labels = np.load(paths["arrays"] / "val_labels.npy")
    mel = prepared["classes"].index("mel") if "mel" in prepared["classes"] else None
    device = select_device()
    scores: dict = {}
    for name in RUNS:
        if not (out / name / "card.json").is_file():
            continue
        model, card = load_artifact(out / name, device=device)
        model = model.to(memory_format=torch.channels_last)
        scores[name] = {}
        for position, shift in enumerate(STRESS):
            images = np.ascontiguousarray(views[:, position])
            logits = predict_logits(model, images, card.data_config, device=device, batch_size=256)
            predicted = logits.argmax(1)
            row = {
                "balanced_accuracy": float(balanced_accuracy(labels, predicted)),
                "accuracy": float((predicted == labels).mean()),
            }
            positive = labels == mel
            if mel is not None and 0 < positive.sum() < len(labels):
                probs = torch.softmax(torch.from_numpy(logits), 1).numpy()
                row["melanoma_auc"] = float(roc_auc_score(positive, probs[:, mel]))
            scores[name][shift] = row
    lines = [f"val under simulated devices ({len(labels)} images, plain logits, best epoch):"]
    lines.append(
        f"{'':16} {'bal.acc off':>11} {'on':>7} {'on-off':>7}   {'mel AUC off':>11} {'on':>7}"
    )
    for shift in STRESS:
        off = scores.get("off", {}).get(shift, {})
        on = scores.get("on", {}).get(shift, {})

        def fmt(row, key):
            return f"{row[key]:.3f}" if key in row else "  -  "

        delta = (
            f"{on['balanced_accuracy'] - off['balanced_accuracy']:+.3f}" if off and on else "  -  "
        )
        lines.append(
            f"{shift:16} {fmt(off, 'balanced_accuracy'):>11} {fmt(on, 'balanced_accuracy'):>7} "
            f"{delta:>7}   {fmt(off, 'melanoma_auc'):>11} {fmt(on, 'melanoma_auc'):>7}"
        )
    log("\n".join(lines))
    return scores


def run_summary(out: Path, name: str) -> dict:
    card_path, history_path = out / name / "card.json", out / name / "history.json"
    if not card_path.is_file():
        return {"artifact": None}
    training = json.loads(card_path.read_text()).get("training", {})
    history = json.loads(history_path.read_text()) if history_path.is_file() else []
    return {
        "artifact": f"{name}/",
        "epochs_run": len(history),
        "stopped_by_time_limit": training.get("gpu_ablation", {}).get("stopped_by_time_limit"),
        "best_epoch": training.get("best_epoch"),
        "best_val_balanced_accuracy": training.get("best_val_balanced_accuracy"),
        "val_balanced_accuracy_by_epoch": [round(h["val_balanced_accuracy"], 4) for h in history],
        "median_epoch_seconds": sorted(h["epoch_seconds"] for h in history)[len(history) // 2]
        if history
        else None,
        "train_images_per_second": [h["images_per_second"] for h in history],
        "train_seconds": training.get("train_seconds"),
    }


def parent(args) -> int:
    import multiprocessing

    started_wall = time.monotonic()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    for name in RUNS:
        shutil.rmtree(out / name, ignore_errors=True)
    log = Log(out / "ablation.log")
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    paths = work_paths(work)
    summary: dict = {"command": " ".join(sys.argv), "args": vars(args)}
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda signum, frame: stop.set())
    runs: dict[str, subprocess.Popen] = {}
    try:
        summary["environment"] = env = environment()
        log("environment: " + ", ".join(f"{k} {v}" for k, v in env.items()))
        if env["gpu"] is None and not args.allow_cpu:
            log("no CUDA device: stopping (--allow-cpu runs on the CPU, for a local test)")
            return 2
        pack = Path(args.pack)
        if not (pack / WEIGHTS_FILE).is_file() or not (pack / "ham" / "metadata.csv").is_file():
            log(f"{pack} lacks the packed data or weights: run bench/gpu_pack.py first")
            return 2
        summary["pack"] = json.loads((pack / "manifest.json").read_text())
        jobs = args.jobs or os.cpu_count() or 2
        context = multiprocessing.get_context("spawn")  # torch is imported here; never fork
        with context.Pool(jobs) as pool:
            count = unpack(pack, paths["ham"], pool)
            log(f"unpacked {count} images to {paths['ham']}")
            prepared = prepare_arrays(args, paths, pool, log)
        log(
            f"training {args.epochs} epochs x 2 runs ({', '.join(RUNS)}) at {args.img_size} px, "
            f"seed {args.seed}; limit {args.time_limit} s from the start"
        )
        relays = []
        for name in RUNS:
            runs[name], relaying = start_run(name, args, log)
            relays.append(relaying)
        stress = not args.no_stress
        if stress:
            try:  # beside the runs, on the cores their augmentation leaves free
                with context.Pool(max(1, jobs - 4)) as pool:
                    prepare_stress(prepared, paths, pool)
                log(f"val prepared under {len(STRESS)} simulated devices")
            except Exception as exc:  # a quick look only: the runs go on without it
                log(f"simulated devices skipped: {type(exc).__name__}: {exc}")
                stress = False
        deadline = started_wall + args.time_limit - FINISH_RESERVE_S
        summary["return_codes"] = wait_for_runs(runs, deadline, log, stop)
        for relaying in relays:
            relaying.join(timeout=5)
        summary["runs"] = {name: run_summary(out, name) for name in RUNS}
        for name, run in summary["runs"].items():
            if run["artifact"]:
                log(
                    f"{name}: {run['epochs_run']} epochs, best val balanced accuracy "
                    f"{run['best_val_balanced_accuracy']:.4f} at epoch {run['best_epoch']}, "
                    f"median {run['median_epoch_seconds']} s per epoch"
                )
            else:
                log(f"{name}: no artifact (see its lines above)")
        epochs = {r.get("epochs_run") for r in summary["runs"].values()}
        if len(epochs) > 1:
            log(
                f"the runs ended after different numbers of epochs {sorted(epochs, key=str)}: "
                "compare them at the same epoch in history.json"
            )
        if stress and any(r["artifact"] for r in summary["runs"].values()):
            summary["val_under_simulated_devices"] = score_stress(out, paths, prepared, log)
        ok = all(r["artifact"] for r in summary["runs"].values())
        return 0 if ok else 1
    except Exception as exc:  # keep what there is, and say what failed
        log(f"failed: {type(exc).__name__}: {exc}")
        import traceback

        log(traceback.format_exc())
        summary["error"] = f"{type(exc).__name__}: {exc}"
        return 1
    finally:
        for process in runs.values():
            if process.poll() is None:  # the parent failed: no run outlives it
                process.kill()
        summary["seconds"] = round(time.monotonic() - started_wall, 1)
        (out / "ablation.json").write_text(json.dumps(summary, indent=2, default=str) + "\n")
        log(f"done in {summary['seconds']} s; files in {out}")
        log.handle.close()


# --- one run --------------------------------------------------------------------------


def use_packed_imagenet_weights(pack: Path) -> None:
    """The factory's ImageNet init for lite0, read from the packed float16 copy."""
    import classifier.factory as factory
    from classifier.errors import EngineError

    path = pack / WEIGHTS_FILE

    def packed_state_dict(arch: str) -> dict:
        from safetensors.torch import load_file

        if arch != ARCH:
            raise EngineError(f"the pack holds ImageNet weights for {ARCH} only, not {arch}")
        state = load_file(str(path))
        return {k: v.float() if v.is_floating_point() else v for k, v in state.items()}

    factory.lite_imagenet_state_dict = packed_state_dict


def child(args) -> int:
    import cv2
    import numpy as np

    from classifier.factory import model_data_config
    from training.loop import train
    from training.pipeline import prepare_data

    name = args.child
    cv2.setNumThreads(2)
    config = recipe_config(args, device_shift=name == "on")
    use_packed_imagenet_weights(Path(args.pack))
    paths = work_paths(Path(args.work))
    data, split_method = prepare_data(paths["ham"], config)  # the parent's, for the card
    arrays = {
        f"{split}_{kind}": np.load(paths["arrays"] / f"{split}_{kind}.npy")
        for split in ("train", "val")
        for kind in ("images", "labels")
    }
    data_config = model_data_config(config.arch, input_size=config.img_size)
    checkpoints = Path(args.work) / f"checkpoints-{name}"
    started = time.perf_counter()

    def log(message: str) -> None:
        if message.startswith("epoch "):
            done = int(message.split("/")[0].split()[1])
            left = (time.perf_counter() - started) / done * (config.epochs - done)
            message += f"; about {left:.0f} s of training left"
        print(message, flush=True)

    def out_of_time(signum, frame) -> None:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)  # once: then write the artifact
        raise OutOfTime

    signal.signal(signal.SIGTERM, out_of_time)
    stopped = False
    try:
        train(
            config=config,
            train_images=arrays["train_images"],
            train_labels=arrays["train_labels"],
            val_images=arrays["val_images"],
            val_labels=arrays["val_labels"],
            num_classes=len(data.classes),
            data_config=data_config,
            checkpoint_dir=checkpoints,
            progress=False,
            log=log,
        )
    except OutOfTime:
        stopped = True
        print("stopped by the time limit", flush=True)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # writing the artifact: let it finish
    return write_artifact(
        args,
        name=name,
        config=config,
        data=data,
        split_method=split_method,
        checkpoints=checkpoints,
        train_labels=arrays["train_labels"],
        seconds=time.perf_counter() - started,
        stopped=stopped,
    )


def write_artifact(
    args,
    *,
    name: str,
    config,
    data,
    split_method: str,
    checkpoints: Path,
    train_labels,
    seconds: float,
    stopped: bool,
) -> int:
    """The best EMA epoch (best.pt) and the history (last.pt) as an uncalibrated artifact."""
    import torch

    from classifier.artifact import save_artifact
    from classifier.factory import create_model, model_data_config
    from classifier.model_card import ModelCard
    from training.augment import augmentation_summary
    from training.card import HISTORY_FILE, LIMITATIONS
    from training.pipeline import _source_name, balance_rationale, recipe_notes, speed_choices
    from training.sampling import epoch_class_counts

    if not (checkpoints / "best.pt").is_file() or not (checkpoints / "last.pt").is_file():
        print("no epoch finished: no artifact", flush=True)
        return 1
    best = torch.load(checkpoints / "best.pt", map_location="cpu", weights_only=True)
    last = torch.load(checkpoints / "last.pt", map_location="cpu", weights_only=False)
    history = last["history"]
    classes = list(data.classes)
    data_config = model_data_config(config.arch, input_size=config.img_size)
    model = create_model(
        config.arch,
        num_classes=len(classes),
        pretrained=False,
        drop_rate=config.drop_rate,
        drop_path_rate=config.drop_path_rate,
    )
    model.load_state_dict(best["ema"])
    manifest = json.loads((Path(args.pack) / "manifest.json").read_text())
    summary = data.summary()
    summary.update(
        {
            "source": f"{manifest['data']['source']} (train and val, packed: "
            f"{manifest['data']['encoding']}; PNG on the GPU machine)",
            "split_method": split_method,
            "source_name": _source_name(Path(manifest["data"]["source"])),
        }
    )
    counts = epoch_class_counts(train_labels, len(classes), config)
    device = torch.cuda.get_device_name(0) if torch.cuda.is_available() else "cpu"
    card = ModelCard.for_model(
        config.arch,
        classes,
        preprocessing=config.preprocess_config(data_config.input_size),
        input_size=data_config.input_size,
        temperature=1.0,  # calibrate_model fits it, with the operating point and the gate
        model_id=f"ablation-lite0-{data_config.input_size}-s{config.seed}-shift-{name}",
        training={
            "data": summary,
            "recipe": {k: v for k, v in config.to_dict().items() if k != "preprocessing"},
            "augmentations": augmentation_summary(device_shift=config.device_shift),
            "speed_choices": speed_choices(config, data_config.input_size),
            "notes": recipe_notes(config)
            + [
                "device-shift ablation run (bench/gpu_ablation.py): a fixed budget of "
                f"{config.epochs} epochs (early stopping off), the pair differing only in "
                "device_shift; ImageNet init from the packed float16 copy of the "
                "efficientnet-lite0 package's weights (bench/gpu_pack.py); not calibrated "
                "here: run calibrate_model and evaluate_model on the full data set"
            ],
            "balance_rationale": balance_rationale(
                config, epoch_images=sum(counts), train_images=summary["counts"]["train"]["total"]
            ),
            "best_epoch": int(best["epoch"]),
            "best_val_balanced_accuracy": float(best["score"]),
            "epochs_run": len(history),
            "stopped_early": False,
            "device": device,
            "train_seconds": round(seconds, 1),
            "history_file": HISTORY_FILE,
            "figures": [],
            "epoch_class_counts": counts,
            "first_stage": None,
            "limitations": LIMITATIONS,
            "gpu_ablation": {"run": name, "stopped_by_time_limit": stopped},
        },
    )
    out = Path(args.out) / name
    save_artifact(model.eval(), card, out, export_onnx=False)
    (out / HISTORY_FILE).write_text(json.dumps(history, indent=2) + "\n")
    for path in out.iterdir():
        path.chmod(0o644)  # temp-file writes are private
    print(
        f"artifact written to {out}: {len(history)} epochs, best val balanced accuracy "
        f"{float(best['score']):.4f} at epoch {int(best['epoch'])}",
        flush=True,
    )
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pack", default=str(REPO_ROOT / ".gpu"), help="bench/gpu_pack.py's")
    parser.add_argument("--out", default=None, help="output folder")
    parser.add_argument(
        "--work", default=str(Path(tempfile.gettempdir()) / "dermascan-ablation"), help="scratch"
    )
    parser.add_argument("--epochs", type=int, default=12)
    parser.add_argument("--img-size", type=int, default=192)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=4, help="torch CPU threads per run")
    parser.add_argument("--time-limit", type=int, default=420, help="seconds, start to end")
    parser.add_argument("--jobs", type=int, default=None, help="preprocessing processes")
    parser.add_argument("--max-images", type=int, default=None, help="cap per split (tests)")
    parser.add_argument("--allow-cpu", action="store_true", help="run without CUDA (tests)")
    parser.add_argument("--no-stress", action="store_true", help="skip the simulated devices")
    parser.add_argument("--child", choices=RUNS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if not args.out:
        parser.error("--out is required")
    for name in ("pack", "out", "work"):  # the runs get them too, from any folder
        setattr(args, name, str(Path(getattr(args, name)).resolve()))
    return child(args) if args.child else parent(args)


if __name__ == "__main__":
    sys.exit(main())
