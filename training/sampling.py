"""Which training images make up an epoch: class balancing, shuffling, batches."""

from __future__ import annotations

import numpy as np

from training.recipe import TrainConfig


def epoch_indices(labels: np.ndarray, config: TrainConfig, rng: np.random.Generator) -> np.ndarray:
    """Which training images (with repeats for the sampler) make up this epoch, shuffled."""
    if config.balance == "undersample":
        chosen = []
        for cls in np.unique(labels):
            members = np.flatnonzero(labels == cls)
            take = min(len(members), config.max_per_class)
            chosen.append(rng.choice(members, size=take, replace=False))
        indices = np.concatenate(chosen)
    elif config.balance == "sampler":
        counts = np.bincount(labels)
        weights = 1.0 / counts[labels].astype(np.float64) ** config.class_weight_power
        indices = rng.choice(len(labels), size=len(labels), replace=True, p=weights / weights.sum())
    else:
        indices = np.arange(len(labels))
    return rng.permutation(indices)


def epoch_batches(
    labels: np.ndarray, config: TrainConfig, rng: np.random.Generator
) -> list[np.ndarray]:
    """This epoch's images in batches of ``config.batch_size`` (a last single image dropped)."""
    indices = epoch_indices(labels, config, rng)
    size = config.batch_size
    batches = [indices[i : i + size] for i in range(0, len(indices), size)]
    return [b for b in batches if len(b) >= 2]  # BatchNorm cannot train on one image


def epoch_class_counts(labels: np.ndarray, num_classes: int, config: TrainConfig) -> list[int]:
    """Expected images per class in an epoch (what the loss's class weights correct for)."""
    counts = np.bincount(labels, minlength=num_classes)
    if config.balance == "undersample":
        counts = np.minimum(counts, config.max_per_class)
    elif config.balance == "sampler":
        return [1] * num_classes  # the sampler already balances (to the chosen power)
    return [int(c) for c in counts]
