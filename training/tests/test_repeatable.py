"""Same seed, same weights on the CPU; a resumed run continues exactly where it stopped."""

from __future__ import annotations

import pytest
import torch

from classifier.factory import model_data_config
from classifier.preprocessing import PreprocessConfig
from training.evaluation import split_arrays
from training.loop import TrainingError, train
from training.recipe import TrainConfig


@pytest.fixture(scope="module")
def arrays(tiny_rows, tmp_path_factory):
    from training.data import load_dataset
    from training.tests.conftest import write_ham_dir

    data = load_dataset(write_ham_dir(tmp_path_factory.mktemp("ham"), tiny_rows))
    data_config = model_data_config("tf_efficientnet_lite0", input_size=32)
    kwargs = dict(
        classes=list(data.classes),
        preprocessing=PreprocessConfig(),
        data_config=data_config,
        cache_dir=None,
        progress=False,
    )
    train_x, train_y = split_arrays(data, "train", **kwargs)
    val_x, val_y = split_arrays(data, "val", **kwargs)
    return dict(
        train_images=train_x,
        train_labels=train_y,
        val_images=val_x,
        val_labels=val_y,
        num_classes=7,
        data_config=data_config,
    )


def run(arrays, directory, *, seed=0, epochs=1, recipe=None, **kwargs):
    config = TrainConfig(
        epochs=epochs, batch_size=8, img_size=32, seed=seed, threads=1, **(recipe or {})
    )
    return train(
        config=config,
        checkpoint_dir=directory,
        progress=False,
        log=lambda m: None,
        **arrays,
        **kwargs,
    )


def same_weights(a, b) -> bool:
    sa, sb = a.state_dict(), b.state_dict()
    return all(torch.equal(sa[k], sb[k]) for k in sa)


def same_tensors(a, b) -> bool:
    """Nested dicts/lists of tensors and numbers, equal element for element."""
    if isinstance(a, torch.Tensor):
        return isinstance(b, torch.Tensor) and torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same_tensors(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same_tensors(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def without_timings(history: list[dict]) -> list[dict]:
    return [{k: v for k, v in h.items() if "second" not in k} for h in history]


def test_same_seed_gives_identical_weights_and_history(arrays, tmp_path):
    first = run(arrays, tmp_path / "a")
    second = run(arrays, tmp_path / "b")
    assert same_weights(first.model, second.model)
    assert without_timings(first.history) == without_timings(second.history)


def test_other_seed_gives_other_weights(arrays, tmp_path):
    first = run(arrays, tmp_path / "a")
    other = run(arrays, tmp_path / "b", seed=1)
    assert not same_weights(first.model, other.model)


def test_the_default_recipe_is_the_one_resumed_below():
    # The resume test runs TrainConfig's defaults: if the shipped recipe changes, this says so.
    recipe = TrainConfig()
    assert (recipe.balance, recipe.freeze_blocks) == ("sampler", 0)
    assert recipe.mixup_alpha > 0 and recipe.cutmix_alpha > 0 and recipe.mix_prob > 0
    assert recipe.warmup_epochs > 0 and 0 < recipe.ema_decay < 1


@pytest.mark.parametrize(
    "recipe",
    [
        {},  # the default: class-balanced sampler, full fine-tuning, mixup/CutMix, EMA
        {"balance": "undersample", "max_per_class": 2, "freeze_blocks": 2},
    ],
    ids=["default", "undersample-frozen-stem"],
)
def test_resumed_run_matches_an_uninterrupted_one(arrays, tmp_path, recipe):
    straight = run(arrays, tmp_path / "straight", epochs=3, recipe=recipe)
    cut = run(arrays, tmp_path / "cut", epochs=3, recipe=recipe, stop_after=1)
    assert len(cut.history) == 1 and (tmp_path / "cut" / "last.pt").is_file()
    resumed = run(
        arrays, tmp_path / "cut", epochs=3, recipe=recipe, resume=tmp_path / "cut" / "last.pt"
    )
    assert [h["epoch"] for h in resumed.history] == [1, 2, 3]
    assert without_timings(resumed.history) == without_timings(straight.history)
    assert resumed.best_epoch == straight.best_epoch
    steps = 3 * straight.extra["steps_per_epoch"]
    assert resumed.extra["steps"] == straight.extra["steps"] == steps
    assert same_weights(resumed.model, straight.model)  # the best epoch's EMA weights
    # ... and the state after the last epoch: final EMA, raw weights, optimiser moments.
    ends = [
        torch.load(d / "last.pt", map_location="cpu", weights_only=False)
        for d in (tmp_path / "straight", tmp_path / "cut")
    ]
    for key in ("model", "optimizer"):
        assert same_tensors(ends[0][key], ends[1][key]), key
    assert same_tensors(ends[0]["ema"]["module"], ends[1]["ema"]["module"])
    assert ends[0]["ema"]["updates"] == ends[1]["ema"]["updates"] == steps


def test_resume_refuses_a_checkpoint_of_another_recipe(arrays, tmp_path):
    run(arrays, tmp_path / "a")
    config = TrainConfig(epochs=2, batch_size=8, img_size=48, threads=1)
    with pytest.raises(TrainingError, match="img_size=32.*img_size=48"):
        train(
            config=config,
            checkpoint_dir=tmp_path / "a",
            resume=tmp_path / "a" / "last.pt",
            progress=False,
            log=lambda m: None,
            **arrays,
        )


def test_init_from_a_checkpoint_starts_from_its_weights(arrays, tmp_path):
    from training.loop import load_init_state

    first = run(arrays, tmp_path / "a")
    state, info = load_init_state(tmp_path / "a" / "best.pt")
    assert info["checkpoint"] == "best.pt"
    assert all(torch.equal(state[k], v) for k, v in first.model.state_dict().items())
    continued = run(arrays, tmp_path / "b", init_state=state)
    assert len(continued.history) == 1
    with pytest.raises(TrainingError, match="neither an artifact directory nor a file"):
        load_init_state(tmp_path / "missing.pt")
