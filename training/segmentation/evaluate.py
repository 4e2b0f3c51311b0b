"""Scoring a segmenter artifact on a folder laid out like HAM10000 (metadata.csv, images/, masks/).

Each image is segmented as served (``classifier.segmentation.runtime.Segmenter``: resize,
ONNX Runtime, threshold, largest component, hole filling, back to the image's size) and
compared with its mask at the image's own resolution.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from classifier.segmentation.runtime import Segmenter
from training.segmentation.data import read_pair, split_samples
from training.segmentation.metrics import overlap_scores, segmentation_report


def evaluate_segmenter(
    artifact_dir: str | Path,
    data_dir: str | Path,
    *,
    split: str = "test",
    bootstrap_rounds: int = 1000,
    limit: int | None = None,
    threads: int | None = None,
    precision: str | None = None,
) -> dict:
    """Dice/Jaccard overall and per class, with lesion-grouped intervals; ``precision`` picks
    the fp32 or int8 file regardless of what the card serves (for the int8 decision)."""
    segmenter = Segmenter(artifact_dir, threads=threads, precision=precision)
    samples = split_samples(data_dir, split, limit=limit)
    dice, jaccard = np.zeros(len(samples)), np.zeros(len(samples))
    for index, sample in enumerate(samples):
        rgb, truth = read_pair(sample)
        dice[index], jaccard[index] = overlap_scores(segmenter.segment(rgb).mask, truth)
    report = segmentation_report(
        dice,
        jaccard,
        [s.label for s in samples],
        np.array([s.group for s in samples]),
        bootstrap_rounds=bootstrap_rounds,
    )
    report.update(split=split, precision=segmenter.precision, artifact=str(artifact_dir))
    return report
