"""Figures for the model card: confusion matrix, ROC curves, reliability diagram, curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")  # headless: no display on servers and workers
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import roc_auc_score, roc_curve  # noqa: E402

from training.metrics import reliability_bins  # noqa: E402

CONFUSION_FILE = "confusion_matrix.png"
ROC_FILE = "roc_curves.png"
RELIABILITY_FILE = "reliability_diagram.png"
CURVES_FILE = "training_curves.png"
FIGURE_FILES = (CONFUSION_FILE, ROC_FILE, RELIABILITY_FILE, CURVES_FILE)


def _save(fig, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return path


def plot_confusion_matrix(matrix: list[list[int]], classes: list[str], path: Path) -> Path:
    counts = np.asarray(matrix, dtype=float)
    rows = counts.sum(axis=1, keepdims=True)
    normalised = np.divide(counts, rows, out=np.zeros_like(counts), where=rows > 0)
    fig, ax = plt.subplots(figsize=(1.0 * len(classes) + 2.5, 1.0 * len(classes) + 2))
    image = ax.imshow(normalised, cmap="Blues", vmin=0, vmax=1)
    ax.set_xticks(range(len(classes)), classes, rotation=45, ha="right")
    ax.set_yticks(range(len(classes)), classes)
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title("Confusion matrix (row-normalised; counts in brackets)")
    for i in range(len(classes)):
        for j in range(len(classes)):
            colour = "white" if normalised[i, j] > 0.5 else "black"
            text = f"{normalised[i, j]:.2f}\n({int(counts[i, j])})"
            ax.text(j, i, text, ha="center", va="center", fontsize=8, color=colour)
    fig.colorbar(image, ax=ax, fraction=0.046)
    return _save(fig, path)


def plot_roc_curves(probs: np.ndarray, labels: np.ndarray, classes: list[str], path: Path) -> Path:
    fig, ax = plt.subplots(figsize=(6.5, 6))
    for index, code in enumerate(classes):
        positive = labels == index
        if not positive.any() or positive.all():
            continue
        fpr, tpr, _ = roc_curve(positive, probs[:, index])
        auc = roc_auc_score(positive, probs[:, index])
        width = 2.5 if code in ("mel", "melanoma") else 1.2
        ax.plot(fpr, tpr, linewidth=width, label=f"{code} (AUC {auc:.3f})")
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8)
    ax.axvline(0.2, color="red", linestyle=":", linewidth=0.8, label="specificity 0.80")
    ax.set_xlabel("1 - specificity (false positive rate)")
    ax.set_ylabel("sensitivity (true positive rate)")
    ax.set_title("One-vs-rest ROC curves")
    ax.legend(loc="lower right", fontsize=8)
    return _save(fig, path)


def plot_reliability(
    probs_before: np.ndarray,
    probs_after: np.ndarray,
    labels: np.ndarray,
    path: Path,
    *,
    ece_before: float,
    ece_after: float,
    temperature: float,
) -> Path:
    fig, ax = plt.subplots(figsize=(6, 6))
    ax.plot([0, 1], [0, 1], linestyle="--", color="grey", linewidth=0.8, label="perfect")
    for probs, name, marker in (
        (probs_before, f"before (ECE {ece_before:.3f})", "o"),
        (probs_after, f"T = {temperature:.2f} (ECE {ece_after:.3f})", "s"),
    ):
        rows = [r for r in reliability_bins(probs, labels) if r["count"]]
        ax.plot(
            [r["confidence"] for r in rows],
            [r["accuracy"] for r in rows],
            marker=marker,
            label=name,
        )
    ax.set_xlabel("confidence (top class probability)")
    ax.set_ylabel("accuracy")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1)
    ax.set_title("Reliability diagram")
    ax.legend(loc="upper left")
    return _save(fig, path)


def plot_training_curves(history: list[dict], path: Path) -> Path:
    epochs = [h["epoch"] for h in history]
    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    axes[0].plot(epochs, [h["train_loss"] for h in history], marker="o", label="train (focal)")
    axes[0].plot(epochs, [h["val_loss"] for h in history], marker="o", label="val (cross-entropy)")
    axes[0].set_title("loss")
    axes[1].plot(epochs, [h["train_balanced_accuracy"] for h in history], marker="o", label="train")
    axes[1].plot(epochs, [h["val_balanced_accuracy"] for h in history], marker="o", label="val")
    axes[1].plot(epochs, [h["val_accuracy"] for h in history], marker=".", label="val accuracy")
    axes[1].set_title("balanced accuracy")
    axes[2].plot(epochs, [h["lr"] for h in history], marker="o")
    axes[2].set_title("learning rate (end of epoch)")
    for ax in axes:
        ax.set_xlabel("epoch")
        ax.grid(alpha=0.3)
    axes[0].legend()
    axes[1].legend()
    return _save(fig, path)
