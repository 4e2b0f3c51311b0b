"""The pieces of the training loop: epoch batches, one training epoch, validation."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from torch import nn

from classifier.factory import model_data_config
from classifier.preprocessing import DataConfig
from training.augment import build_train_transform
from training.checkpoint import RunState
from training.errors import TrainingError
from training.learner import build_learner
from training.loop import seed_epoch, train_one_epoch, validate
from training.recipe import TrainConfig
from training.sampling import epoch_batches, epoch_class_counts

# --- validate ------------------------------------------------------------------


class BrightRowClassifier(nn.Module):
    """Calls an image class k when row k of its red channel is the bright one."""

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x[:, 0, :3, :].mean(-1)


def images_called(classes: list[int]) -> np.ndarray:
    images = np.zeros((len(classes), 8, 8, 3), np.uint8)
    for image, k in zip(images, classes, strict=True):
        image[k] = 255
    return images


def test_validate_reports_loss_accuracy_and_balanced_accuracy():
    labels = np.array([0, 0, 0, 0, 1, 1, 2, 2])
    called = [0, 0, 0, 0, 1, 0, 2, 0]  # recall 4/4, 1/2, 1/2; 6 of 8 right
    data_config = DataConfig(input_size=8, mean=(0.5,) * 3, std=(0.5,) * 3)
    model, images = BrightRowClassifier(), images_called(called)
    scores = validate(model, images, labels, data_config, device=torch.device("cpu"))
    assert scores["val_accuracy"] == pytest.approx(6 / 8)
    assert scores["val_balanced_accuracy"] == pytest.approx((1 + 0.5 + 0.5) / 3)
    # Normalised pixels are +1 (bright row) or -1: logits +1 for the called class, -1 else.
    right = -math.log(math.e / (math.e + 2 / math.e))
    wrong = -math.log((1 / math.e) / (math.e + 2 / math.e))
    assert scores["val_loss"] == pytest.approx((6 * right + 2 * wrong) / 8, rel=1e-6)
    assert list(scores) == ["val_loss", "val_accuracy", "val_balanced_accuracy"]


# --- epoch batches -------------------------------------------------------------


def test_epoch_batches_drop_a_last_single_image():
    config = TrainConfig(balance="none", batch_size=4)
    batches = epoch_batches(np.zeros(9, np.int64), config, np.random.default_rng(0))
    assert [len(b) for b in batches] == [4, 4]  # the ninth image would train BatchNorm alone
    assert len(set(np.concatenate(batches))) == 8


def test_undersampling_caps_each_class_and_the_sampler_keeps_the_epoch_size():
    labels = np.array([0] * 30 + [1] * 4 + [2] * 2)
    capped = TrainConfig(balance="undersample", max_per_class=5, batch_size=4)
    drawn = labels[np.concatenate(epoch_batches(labels, capped, np.random.default_rng(0)))]
    assert np.bincount(drawn).tolist() == [5, 4, 2]
    assert epoch_class_counts(labels, 3, capped) == [5, 4, 2]
    sampler = TrainConfig(balance="sampler", class_weight_power=1.0, batch_size=4)
    drawn = labels[np.concatenate(epoch_batches(labels, sampler, np.random.default_rng(0)))]
    assert len(drawn) == len(labels)
    assert np.bincount(drawn, minlength=3).min() >= 6  # about 12 each instead of 30 / 4 / 2


def test_an_epoch_reseeded_alike_draws_alike():
    labels = np.arange(40) % 4
    config = TrainConfig(batch_size=8)
    transform = build_train_transform(seed=0)
    image = np.random.default_rng(1).integers(0, 256, (32, 32, 3), dtype=np.uint8)
    draws = []
    for _ in range(2):
        rng = seed_epoch(0, 3, transform)
        draws.append((epoch_batches(labels, config, rng), torch.rand(3), transform(image=image)))
    (batches_a, torch_a, aug_a), (batches_b, torch_b, aug_b) = draws
    assert all(np.array_equal(a, b) for a, b in zip(batches_a, batches_b, strict=True))
    assert torch.equal(torch_a, torch_b)
    assert np.array_equal(aug_a["image"], aug_b["image"])
    other = epoch_batches(labels, config, seed_epoch(0, 4, transform))
    assert not all(np.array_equal(a, b) for a, b in zip(batches_a, other, strict=True))


# --- one training epoch --------------------------------------------------------


@pytest.fixture
def small_run():
    """A randomly initialised lite0 at 32 px, its first two stages frozen, and 12 images."""
    torch.manual_seed(0)
    config = TrainConfig(img_size=32, pretrained=False, epochs=2, batch_size=4, freeze_blocks=2)
    labels = np.arange(12) % 3
    images = np.random.default_rng(0).integers(0, 256, (12, 32, 32, 3), dtype=np.uint8)
    learner = build_learner(
        config,
        num_classes=3,
        class_counts=epoch_class_counts(labels, 3, config),
        epoch_size=len(labels),
        device=torch.device("cpu"),
    )
    return config, learner, images, labels


def run_epoch(config, learner, images, labels, state, *, epoch=0):
    transform = build_train_transform(seed=config.seed)
    rng = seed_epoch(config.seed, epoch, transform)
    batches = epoch_batches(labels, config, rng)
    fit = train_one_epoch(
        learner,
        state,
        config,
        epoch=epoch,
        batches=batches,
        images=images,
        labels=labels,
        data_config=model_data_config(config.arch, input_size=32),
        transform=transform,
        rng=rng,
        progress=False,
    )
    return batches, fit


def test_one_epoch_steps_the_schedule_and_the_ema_and_spares_frozen_stages(small_run):
    config, learner, images, labels = small_run
    state = RunState(step=2)  # as if resumed two steps in
    before = {k: v.clone() for k, v in learner.model.state_dict().items()}
    ema_before = {k: v.clone() for k, v in learner.ema.module.state_dict().items()}

    batches, fit = run_epoch(config, learner, images, labels, state)

    assert state.step == 2 + len(batches) == 5
    assert learner.ema.updates == len(batches)
    assert fit["images"] == 12 and 0 <= fit["balanced_accuracy"] <= 1
    assert math.isfinite(fit["loss"]) and fit["seconds"] > 0
    assert fit["lr"] == learner.lr_at(4) == learner.optimizer.param_groups[0]["lr"]
    after = learner.model.state_dict()
    # Stem and first two stages (weights and BatchNorm statistics) did not move ...
    frozen = ("conv_stem.", "bn1.", "blocks.0.", "blocks.1.")
    assert all(torch.equal(before[k], after[k]) for k in before if k.startswith(frozen))
    # ... the later stages and the head did, and so did their average.
    assert not torch.equal(before["blocks.3.0.conv_pw.weight"], after["blocks.3.0.conv_pw.weight"])
    assert not torch.equal(before["classifier.weight"], after["classifier.weight"])
    assert not torch.equal(ema_before["classifier.weight"], learner.ema.module.classifier.weight)


def test_a_loss_that_is_not_finite_stops_the_run_with_advice(small_run):
    config, learner, images, labels = small_run
    with torch.no_grad():
        learner.model.classifier.bias[0] = float("nan")
    with pytest.raises(TrainingError, match="loss became nan at epoch 2; lower --lr"):
        run_epoch(config, learner, images, labels, RunState(), epoch=1)
