"""How images from other clinics differ from HAM10000's: colour, light, focus, framing, cases.

Every figure is measured the same way on both sets, on the stored RGB image as decoded
(before the model's preprocessing, whose colour constancy evens part of the colour out):

- colour: per-channel mean and standard deviation in RGB (0-255) and CIELAB (L* 0-100, a*
  red-green, b* yellow-blue);
- brightness: mean grey level (0-255), the quality gate's measure;
- sharpness: variance of the Laplacian of the grey image at 256 px, the gate's blur
  measure. Both copies were upscaled from 150-200 px sources, so it reflects the source
  resolution and JPEG as much as the focus;
- dark corners (vignette): the share of the four corner squares (1/8 of the side) darker
  than 0.6 x the image's median grey; an image counts as vignetted above one half;
- lesion fraction: the share of the frame the lesion covers, from one segmentation used on
  both sets (Otsu on the blurred blue channel, in which pigment is darkest, leaving out
  dark corners; then the largest component, holes filled). HAM's hand masks give a second
  figure for HAM and show how far the segmentation can be trusted (Dice);
- the case mix and the served gate's feature distance (classifier.gate).

Shifts are the Kolmogorov-Smirnov statistic and the standardised mean difference against
the HAM images of the same classes (melanomas and nevi), so the case mix does not pose as
an image difference.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import cv2
import numpy as np
from PIL import Image
from scipy import ndimage
from scipy.stats import ks_2samp
from tqdm import tqdm

from classifier.predictor import Predictor
from classifier.preprocessing import load_rgb
from training.data import DataError, Sample
from training.external import (
    ExternalSet,
    gate_distances,
    melanoma_vs_nevus,
    served_states,
)
from training.metrics import json_safe
from training.served import ServedOutputs, split_outputs

FIGURE_FILE = "domain_comparison.png"
SIDE = 256  # figures are measured at this side, so both sets are on one scale
CORNER = 1 / 8  # side of a corner square, as a share of the image side
DARK_CORNER = 0.6  # a corner pixel darker than this times the median grey is dark
VIGNETTED = 0.5  # more than this share of the corners dark: the image is vignetted
BLUR_SIGMA = 4.0  # px at 256: smooths hair and pigment network before the threshold
CHANNELS = ("r", "g", "b")
LAB = ("l", "a", "b")
# (key, label) of the per-image figures, in the order the report and the figure use.
FIGURES = (
    *((f"rgb_mean_{c}", f"mean {c.upper()} (0-255)") for c in CHANNELS),
    *((f"rgb_std_{c}", f"std {c.upper()}") for c in CHANNELS),
    ("lab_mean_l", "mean L* (0-100)"),
    ("lab_mean_a", "mean a* (red +)"),
    ("lab_mean_b", "mean b* (yellow +)"),
    ("lab_std_l", "std L*"),
    ("lab_std_a", "std a*"),
    ("lab_std_b", "std b*"),
    ("brightness", "brightness: grey mean (0-255)"),
    ("sharpness_log10", "sharpness: log10 variance of Laplacian"),
    ("dark_corners", "dark-corner share"),
    ("lesion_fraction", "lesion fraction of the frame (Otsu)"),
)


def segment_lesion(rgb: np.ndarray) -> np.ndarray:
    """(H, W) bool lesion mask of an RGB image: blurred blue channel, Otsu, largest blob."""
    blue = cv2.GaussianBlur(np.ascontiguousarray(rgb[..., 2]), (0, 0), BLUR_SIGMA)
    field = ~_vignette(blue.astype(np.float32))
    if not field.any():
        return np.zeros(blue.shape, bool)
    threshold, _ = cv2.threshold(
        blue[field].reshape(-1, 1), 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU
    )
    mask = ((blue <= threshold) & field).astype(np.uint8)
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (7, 7))
    mask = cv2.morphologyEx(cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel), cv2.MORPH_CLOSE, kernel)
    count, labels, stats, _ = cv2.connectedComponentsWithStats(mask, connectivity=8)
    if count <= 1:
        return np.zeros(blue.shape, bool)
    largest = 1 + int(np.argmax(stats[1:, cv2.CC_STAT_AREA]))
    return ndimage.binary_fill_holes(labels == largest)


def _vignette(channel: np.ndarray) -> np.ndarray:
    """Dark regions (below DARK_CORNER x the median) that reach a corner and lie mostly
    outside the central disc: otherwise Otsu takes the dermatoscope's black ring for the
    darkest "lesion"."""
    height, width = channel.shape
    dark = (channel < DARK_CORNER * np.median(channel)).astype(np.uint8)
    _, labels = cv2.connectedComponents(dark, connectivity=8)
    k = max(1, round(height * CORNER))
    corners = np.concatenate(
        [labels[:k, :k].ravel(), labels[:k, -k:].ravel(), labels[-k:, :k].ravel()]
        + [labels[-k:, -k:].ravel()]
    )
    rows, cols = np.mgrid[:height, :width]
    radius = np.hypot(
        (rows - (height - 1) / 2) / (height / 2), (cols - (width - 1) / 2) / (width / 2)
    )
    vignette = np.zeros(channel.shape, bool)
    for label in set(np.unique(corners).tolist()) - {0}:
        component = labels == label
        if (radius[component] > 0.8).mean() > 0.5:
            vignette |= component
    return vignette


def image_figures(rgb: np.ndarray, *, mask: np.ndarray | None = None) -> dict[str, float]:
    """The per-image figures of the module docstring, at SIDE px; with a hand ``mask`` (same
    size as ``rgb``) also its lesion fraction and its Dice with the segmentation."""
    if rgb.shape[:2] != (SIDE, SIDE):
        # Squashed to a square like both data sets: area fractions survive a stretch.
        rgb = cv2.resize(rgb, (SIDE, SIDE), interpolation=cv2.INTER_AREA)
    pixels = rgb.reshape(-1, 3).astype(np.float64)
    lab = cv2.cvtColor(rgb.astype(np.float32) / 255.0, cv2.COLOR_RGB2LAB).reshape(-1, 3)
    grey = cv2.cvtColor(rgb, cv2.COLOR_RGB2GRAY).astype(np.float32)
    k = round(SIDE * CORNER)
    corners = np.concatenate(
        [grey[:k, :k].ravel(), grey[:k, -k:].ravel(), grey[-k:, :k].ravel(), grey[-k:, -k:].ravel()]
    )
    figures = {f"rgb_mean_{c}": float(pixels[:, i].mean()) for i, c in enumerate(CHANNELS)}
    figures |= {f"rgb_std_{c}": float(pixels[:, i].std()) for i, c in enumerate(CHANNELS)}
    figures |= {f"lab_mean_{c}": float(lab[:, i].mean()) for i, c in enumerate(LAB)}
    figures |= {f"lab_std_{c}": float(lab[:, i].std()) for i, c in enumerate(LAB)}
    figures["brightness"] = float(grey.mean())
    laplacian = float(cv2.Laplacian(grey, cv2.CV_32F).var())
    figures["sharpness_log10"] = float(np.log10(max(laplacian, 1e-3)))
    figures["dark_corners"] = float((corners < DARK_CORNER * np.median(grey)).mean())
    lesion = segment_lesion(rgb)
    figures["lesion_fraction"] = float(lesion.mean())
    if mask is not None:
        hand = cv2.resize(mask.astype(np.uint8), (SIDE, SIDE), interpolation=cv2.INTER_NEAREST) > 0
        figures["lesion_fraction_mask"] = float(hand.mean())
        overlap = 2 * (lesion & hand).sum()
        figures["dice_with_mask"] = float(overlap / max(lesion.sum() + hand.sum(), 1))
    return figures


def measure_images(
    paths: list[Path],
    *,
    masks: Iterable[Path | None] | None = None,
    progress: bool = False,
    desc: str = "images",
) -> dict[str, np.ndarray]:
    """(N,) arrays of every figure; with masks also the hand mask's fraction and its Dice."""
    masks = list(masks) if masks is not None else [None] * len(paths)
    rows = []
    for path, mask_path in tqdm(
        list(zip(paths, masks, strict=True)), desc=desc, unit="img", disable=not progress
    ):
        mask = np.asarray(Image.open(mask_path).convert("L")) > 127 if mask_path else None
        rows.append(image_figures(load_rgb(path), mask=mask))
    keys = list(dict.fromkeys(key for row in rows for key in row))  # masks may be partial
    return {key: np.array([row.get(key, np.nan) for row in rows]) for key in keys}


def describe(values: np.ndarray) -> dict[str, float]:
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return {"n": 0}
    return {
        "n": int(len(values)),
        "mean": float(values.mean()),
        "sd": float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        "median": float(np.median(values)),
        "q10": float(np.quantile(values, 0.1)),
        "q90": float(np.quantile(values, 0.9)),
    }


def shift(reference: np.ndarray, other: np.ndarray) -> dict[str, float]:
    """Kolmogorov-Smirnov statistic and standardised mean difference (other - reference)."""
    a, b = np.asarray(reference, float), np.asarray(other, float)
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2) if len(a) > 1 and len(b) > 1 else 0.0
    return {
        "ks": float(ks_2samp(a, b).statistic),
        "smd": float((b.mean() - a.mean()) / pooled) if pooled > 0 else 0.0,
    }


def case_mix(labels: list[str]) -> dict:
    counts = Counter(labels)
    mel_nv = counts.get("mel", 0) + counts.get("nv", 0)
    return {
        "counts": dict(sorted(counts.items())),
        "images": len(labels),
        "melanoma_share_of_mel_nv": counts.get("mel", 0) / mel_nv if mel_nv else None,
    }


def compare_domains(
    *,
    reference: dict[str, np.ndarray],
    reference_labels: list[str],
    external: dict[str, np.ndarray],
    external_labels: list[str],
    reference_gate: np.ndarray | None = None,
    external_gate: np.ndarray | None = None,
    gate_threshold: float | None = None,
) -> dict:
    """The JSON summary: per figure HAM (all; mel+nv) vs external, and the shifts."""
    same_classes = np.isin(reference_labels, ["mel", "nv"])
    # A list, not a dict: card.json is written with sorted keys and the order is meaningful.
    figures = []
    for key, label in FIGURES:
        figures.append(
            {
                "key": key,
                "label": label,
                "reference": describe(reference[key]),
                "reference_mel_nv": describe(reference[key][same_classes]),
                "external": describe(external[key]),
                **shift(reference[key][same_classes], external[key]),
            }
        )
    summary = {
        "figures": figures,
        "vignetted_share": {
            "reference": float((reference["dark_corners"] > VIGNETTED).mean()),
            "reference_mel_nv": float((reference["dark_corners"][same_classes] > VIGNETTED).mean()),
            "external": float((external["dark_corners"] > VIGNETTED).mean()),
        },
        "case_mix": {
            "reference": case_mix(reference_labels),
            "external": case_mix(external_labels),
        },
    }
    if "lesion_fraction_mask" in reference:
        masked = np.isfinite(reference["lesion_fraction_mask"])
        hand, otsu = reference["lesion_fraction_mask"], reference["lesion_fraction"]
        summary["segmentation_check"] = {
            "images_with_mask": int(masked.sum()),
            "lesion_fraction_mask": describe(hand),
            "lesion_fraction_mask_mel_nv": describe(hand[same_classes]),
            "dice_mean": float(np.nanmean(reference["dice_with_mask"])),
            "dice_median": float(np.nanmedian(reference["dice_with_mask"])),
            "correlation": float(np.corrcoef(otsu[masked], hand[masked])[0, 1]),
        }
    if reference_gate is not None and external_gate is not None:
        summary["gate_distance"] = {
            "threshold": gate_threshold,
            "reference": describe(reference_gate)
            | {"above_threshold": _above(reference_gate, gate_threshold)},
            "reference_mel_nv": describe(reference_gate[same_classes])
            | {"above_threshold": _above(reference_gate[same_classes], gate_threshold)},
            "external": describe(external_gate)
            | {"above_threshold": _above(external_gate, gate_threshold)},
            **shift(reference_gate[same_classes], external_gate),
        }
    summary["largest_shifts"] = [row["key"] for row in sorted(figures, key=lambda r: -r["ks"])[:5]]
    return summary


def _above(distance: np.ndarray, threshold: float | None) -> float | None:
    return None if threshold is None else float((np.asarray(distance) > threshold).mean())


PLOTTED = (
    "brightness",
    "lab_mean_a",
    "lab_mean_b",
    "rgb_std_b",
    "sharpness_log10",
    "dark_corners",
    "lesion_fraction",
)


def plot_domains(
    *,
    reference: dict[str, np.ndarray],
    reference_labels: list[str],
    external: dict[str, np.ndarray],
    external_labels: list[str],
    names: tuple[str, str],
    path: Path,
    reference_gate: np.ndarray | None = None,
    external_gate: np.ndarray | None = None,
    gate_threshold: float | None = None,
) -> Path:
    """One figure: density histograms, HAM mel+nv against the external set, and the case mix."""
    from training.plots import plt  # imported there with the headless backend

    same = np.isin(reference_labels, ["mel", "nv"])
    labels = dict(FIGURES)
    fig, axes = plt.subplots(3, 3, figsize=(13, 10.5))
    for ax, key in zip(axes.ravel(), [*PLOTTED, "gate"], strict=False):
        if key == "gate":
            if reference_gate is None or external_gate is None:
                ax.axis("off")
                continue
            a, b, title = reference_gate[same], external_gate, "served gate: feature distance"
        else:
            a, b, title = reference[key][same], external[key], labels[key]
        bins = np.histogram_bin_edges(np.concatenate([a, b]), bins=30)
        ax.hist(a, bins=bins, density=True, alpha=0.55, label=f"{names[0]} (mel+nv)")
        ax.hist(b, bins=bins, density=True, alpha=0.55, label=names[1])
        if key == "lesion_fraction" and "lesion_fraction_mask" in reference:
            ax.hist(
                reference["lesion_fraction_mask"][same],
                bins=bins,
                density=True,
                histtype="step",
                color="black",
                label=f"{names[0]} hand masks",
            )
        if key == "dark_corners":
            ax.set_yscale("log")  # most images have none: a linear axis hides the vignetted ones
        if key == "gate" and gate_threshold is not None:
            ax.axvline(gate_threshold, color="red", linestyle="--", label="gate threshold")
        ax.set_title(title, fontsize=10)
        ax.legend(fontsize=7)
    mix = axes.ravel()[-1]
    classes = sorted(set(reference_labels) | set(external_labels))
    x = np.arange(len(classes))
    for offset, (name, codes) in zip(
        (-0.2, 0.2), ((names[0], reference_labels), (names[1], external_labels)), strict=True
    ):
        counts = Counter(codes)
        shares = [counts.get(c, 0) / max(len(codes), 1) for c in classes]
        mix.bar(x + offset, shares, width=0.4, label=f"{name} ({len(codes)} images)")
    mix.set_xticks(x, classes)
    mix.set_ylabel("share of images")
    mix.set_title("case mix", fontsize=10)
    mix.legend(fontsize=7)
    fig.suptitle(f"{names[0]} vs {names[1]}: the same measurements on both (density histograms)")
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def domain_report(
    predictor: Predictor,
    reference: list[Sample],
    external: ExternalSet,
    external_outputs: ServedOutputs,
    *,
    reference_name: str,
    views: tuple[str, ...],
    cache_dir: Path | None,
    figure_path: Path | None,
    bootstrap_rounds: int,
    progress: bool,
) -> dict:
    """Compare ``reference`` (HAM samples, ham7 labels) with an external set, as served.

    Besides the image figures: the gate's distances on both, and the external report's
    melanoma-vs-nevus figures on the reference's melanomas and nevi (lesion-grouped
    intervals), so the two sets are scored on one yardstick.
    """
    reference_labels = [s.label for s in reference]
    if not np.isin(reference_labels, ["mel", "nv"]).any():
        raise DataError(f"{reference_name}: no melanomas or nevi to compare the images with")
    reference_outputs = split_outputs(
        predictor, reference, views=views, cache_dir=cache_dir, progress=progress, desc="reference"
    )
    mask_paths = [s.path.parent.parent / "masks" / f"{s.image_id}.png" for s in reference]
    masks = [p if p.is_file() else None for p in mask_paths]
    reference_figures = measure_images(
        [s.path for s in reference],
        masks=masks if any(masks) else None,
        progress=progress,
        desc="reference figures",
    )
    external_figures = measure_images(
        [s.path for s in external.samples], progress=progress, desc="external figures"
    )
    external_labels = [s.label for s in external.samples]
    gate = predictor.gate
    distances = {
        "reference_gate": gate_distances(reference_outputs, gate),
        "external_gate": gate_distances(external_outputs, gate),
        "gate_threshold": float(gate.threshold) if gate is not None else None,
    }
    summary = compare_domains(
        reference=reference_figures,
        reference_labels=reference_labels,
        external=external_figures,
        external_labels=external_labels,
        **distances,
    )
    score, states = served_states(reference_outputs, card=predictor.card, gate=gate)
    rows = np.flatnonzero(np.isin(reference_labels, ["mel", "nv"]))
    summary["reference_melanoma_vs_nevus"] = melanoma_vs_nevus(
        score[rows],
        states[rows],
        np.array(reference_labels)[rows] == "mel",
        np.array([s.group for s in reference])[rows],
        bootstrap_rounds=bootstrap_rounds,
        bootstrap_unit="lesion",
    )
    names = (reference_name, external.name)
    summary |= {"reference": names[0], "external": names[1], "figure": None}
    if figure_path is not None:
        plot_domains(
            reference=reference_figures,
            reference_labels=reference_labels,
            external=external_figures,
            external_labels=external_labels,
            names=names,
            path=figure_path,
            **distances,
        )
        summary["figure"] = Path(figure_path).name
    return json_safe(summary)
