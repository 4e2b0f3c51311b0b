"""How much of the classifier's heatmap falls on the lesion: the heatmap check of issue 23.

    python -m training.segmentation.heatmap [--data DIR] [--model DIR] [--split test] [--write-docs]

For every image of the split the classifier is run as served (its card's TTA views, its
backend) and the CAM of the class it shows (Grad-CAM's equal for this head, classifier/cam.py)
is compared with the hand-corrected lesion mask: share inside = sum(CAM * mask) / sum(CAM).
A heatmap spread evenly would score the mask's area fraction, so that is reported beside it;
the ratio of the two ("lift") says how much the model concentrates on the lesion. Reported
per true class; not-assessable images (no class, no heatmap shown) are left out.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

import numpy as np

from classifier.preprocessing import find_border_crop, limit_size
from training.segmentation.data import read_pair, split_samples

DEFAULT_MODEL = Path(__file__).resolve().parents[2] / "classifier" / "default_model"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "segmentation.md"
HEADING = "## Heatmap on the lesion"


def heatmap_mask_share(heat: np.ndarray, mask: np.ndarray) -> float:
    total = float(heat.sum())
    return float((heat * mask).sum() / total) if total > 0 else float("nan")


def mask_in_heatmap_frame(rgb: np.ndarray, mask: np.ndarray, max_side: int) -> np.ndarray:
    """The mask cropped and sized like the image the predictor draws its heatmap on."""
    import cv2

    image = limit_size(rgb, max_side)
    small = cv2.resize(mask.astype(np.uint8), image.shape[1::-1], interpolation=cv2.INTER_NEAREST)
    top, bottom, left, right = find_border_crop(image)
    return small[top:bottom, left:right].astype(bool)


def heatmap_report(model_dir: Path, data_dir: Path, split: str, limit: int | None = None) -> dict:
    from classifier.predictor import Predictor

    predictor = Predictor.from_artifact(model_dir, backend="auto")
    max_side = predictor.preprocess_config.max_side
    shares, baselines = defaultdict(list), defaultdict(list)
    skipped = 0
    for sample in split_samples(data_dir, split, limit=limit):
        rgb, truth = read_pair(sample)
        prediction = predictor.predict(rgb, heatmap=True)
        if prediction.heatmap_raw is None:
            skipped += 1
            continue
        mask = mask_in_heatmap_frame(rgb, truth, max_side)
        shares[sample.label].append(heatmap_mask_share(prediction.heatmap_raw, mask))
        baselines[sample.label].append(float(mask.mean()))
    rows = {}
    for label in sorted(shares) + ["all"]:
        s = np.concatenate(list(shares.values())) if label == "all" else np.array(shares[label])
        b = (
            np.concatenate(list(baselines.values()))
            if label == "all"
            else np.array(baselines[label])
        )
        rows[label] = {
            "images": int(len(s)),
            "share_inside_mean": float(np.nanmean(s)),
            "share_inside_median": float(np.nanmedian(s)),
            "mask_area_mean": float(b.mean()),
            "lift": float(np.nanmean(s) / b.mean()),
            "images_over_half_inside": float(np.nanmean(s > 0.5)),
        }
    return {
        "model": predictor.model_id,
        "backend": predictor.backend_name,
        "split": split,
        "not_assessable_skipped": skipped,
        "per_class": rows,
    }


def docs_section(report: dict, command: str) -> str:
    lines = [
        HEADING,
        "",
        f"`{command}`: `{report['model']}` ({report['backend']}) on {report['split']}, the CAM of "
        f"the class shown; {report['not_assessable_skipped']} not-assessable images left out.",
        "",
        "| true class | images | CAM mass inside the mask, mean (median) | lesion area share "
        "| lift | images with > 50 % inside |",
        "| --- | ---: | ---: | ---: | ---: | ---: |",
    ]
    for label, r in report["per_class"].items():
        lines.append(
            f"| {label} | {r['images']} | {r['share_inside_mean']:.1%} "
            f"({r['share_inside_median']:.1%}) "
            f"| {r['mask_area_mean']:.1%} | {r['lift']:.2f} | {r['images_over_half_inside']:.0%} |"
        )
    return "\n".join(lines) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--data", type=Path, default=Path(__file__).resolve().parents[3] / "shared/data/ham10000"
    )
    parser.add_argument("--model", type=Path, default=DEFAULT_MODEL)
    parser.add_argument("--split", default="test")
    parser.add_argument("--limit", type=int, default=None)
    parser.add_argument("--write-docs", action="store_true", help=f"update {DOCS.name}")
    args = parser.parse_args()
    report = heatmap_report(args.model, args.data, args.split, args.limit)
    section = docs_section(
        report, "python -m training.segmentation.heatmap " + " ".join(sys.argv[1:])
    )
    print(section)
    if args.write_docs:
        from bench.report import write_section

        write_section(HEADING, section, docs=DOCS)


if __name__ == "__main__":
    main()
