"""last.pt / best.pt: written in format 1, restored exactly, refused for another recipe."""

from __future__ import annotations

import copy
from dataclasses import replace

import pytest
import torch
from torch import nn

from training.checkpoint import (
    CHECKPOINT_FORMAT,
    RunState,
    load_checkpoint,
    restore_checkpoint,
    save_checkpoint,
)
from training.ema import ModelEma
from training.errors import TrainingError
from training.recipe import TrainConfig

CONFIG = TrainConfig(img_size=32, freeze_blocks=0)


def live_objects(seed: int):
    """A small network with a BatchNorm (integer buffer), its EMA and an AdamW with moments."""
    torch.manual_seed(seed)
    model = nn.Sequential(nn.Linear(4, 6), nn.BatchNorm1d(6), nn.Linear(6, 3))
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2)
    ema = ModelEma(model, decay=0.9)
    for _ in range(3):
        loss = model(torch.randn(8, 4)).square().mean()
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        ema.update(model)
    return model, ema, optimizer


def two_epochs_state(ema: ModelEma) -> RunState:
    state = RunState(step=6, best_weights=copy.deepcopy(ema.module.state_dict()))
    state.finish_epoch({"epoch": 1, "val_balanced_accuracy": 0.4})
    state.finish_epoch({"epoch": 2, "val_balanced_accuracy": 0.3})
    return state


def save(directory, model, ema, optimizer, state: RunState, *, improved: bool) -> None:
    save_checkpoint(
        directory,
        config=CONFIG,
        model=model,
        ema=ema,
        optimizer=optimizer,
        state=state,
        improved=improved,
    )


def same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_save_then_restore_gives_back_weights_optimiser_and_counters(tmp_path):
    model, ema, optimizer = live_objects(seed=0)
    state = two_epochs_state(ema)
    save(tmp_path, model, ema, optimizer, state, improved=True)

    fresh_model, fresh_ema, fresh_optimizer = live_objects(seed=1)
    assert not same(fresh_model.state_dict(), model.state_dict())
    restored = restore_checkpoint(
        tmp_path / "last.pt",
        config=CONFIG,
        model=fresh_model,
        ema=fresh_ema,
        optimizer=fresh_optimizer,
        best_weights={},
        best_path=tmp_path / "best.pt",
    )
    assert same(fresh_model.state_dict(), model.state_dict())
    assert same(fresh_ema.module.state_dict(), ema.module.state_dict())
    assert fresh_ema.updates == ema.updates == 3
    moments = fresh_optimizer.state_dict()["state"]
    assert all(same(moments[i], optimizer.state_dict()["state"][i]) for i in moments)
    assert (restored.epochs_done, restored.step, restored.bad_epochs) == (2, 6, 1)
    assert (restored.best_epoch, restored.best_score) == (1, 0.4)
    assert restored.history == state.history
    assert same(restored.best_weights, state.best_weights)  # read back from best.pt


def test_last_pt_keeps_the_format_1_layout_that_older_runs_resume_from(tmp_path):
    model, ema, optimizer = live_objects(seed=0)
    state = two_epochs_state(ema)
    save(tmp_path, model, ema, optimizer, state, improved=False)
    last = torch.load(tmp_path / "last.pt", map_location="cpu", weights_only=False)
    layout = "format config model ema optimizer history step epoch best_score best_epoch bad"
    assert list(last) == layout.split()
    assert last["format"] == CHECKPOINT_FORMAT == 1
    assert last["epoch"] == 1  # the 0-based index of the second epoch
    assert last["config"] == CONFIG.to_dict()
    assert list(last["ema"]) == ["module", "updates", "decay"]
    assert not (tmp_path / "best.pt").exists()  # no improvement, no best.pt


def test_best_pt_holds_the_best_ema_weights_epoch_and_score(tmp_path):
    model, ema, optimizer = live_objects(seed=0)
    state = RunState(best_weights=copy.deepcopy(ema.module.state_dict()))
    state.finish_epoch({"epoch": 1, "val_balanced_accuracy": 0.25})
    save(tmp_path, model, ema, optimizer, state, improved=True)
    best = torch.load(tmp_path / "best.pt", map_location="cpu", weights_only=True)
    assert (best["epoch"], best["score"]) == (1, 0.25)
    assert same(best["ema"], ema.module.state_dict())
    assert not list(tmp_path.glob("*.tmp"))  # written via a temporary file, then renamed


def test_restore_without_best_pt_keeps_the_given_best_weights(tmp_path):
    model, ema, optimizer = live_objects(seed=0)
    save(tmp_path, model, ema, optimizer, two_epochs_state(ema), improved=False)
    starting = {"weight": torch.ones(2)}
    restored = restore_checkpoint(
        tmp_path / "last.pt",
        config=CONFIG,
        model=model,
        ema=ema,
        optimizer=optimizer,
        best_weights=starting,
        best_path=tmp_path / "best.pt",
    )
    assert restored.best_weights is starting


@pytest.mark.parametrize(
    "key, value",
    [
        ("arch", "tf_efficientnet_lite1"),
        ("img_size", 48),
        ("freeze_blocks", 2),
        ("labels", "three"),
    ],
)
def test_load_refuses_a_checkpoint_of_another_network_or_input(tmp_path, key, value):
    model, ema, optimizer = live_objects(seed=0)
    save(tmp_path, model, ema, optimizer, two_epochs_state(ema), improved=False)
    other = replace(CONFIG, **{key: value})
    made_with = f"{key}={getattr(CONFIG, key)!r}, this run has {key}={value!r}"
    with pytest.raises(TrainingError, match=f"was made with {made_with}"):
        load_checkpoint(tmp_path / "last.pt", other)


def test_load_accepts_a_checkpoint_whose_other_knobs_changed(tmp_path):
    model, ema, optimizer = live_objects(seed=0)
    save(tmp_path, model, ema, optimizer, two_epochs_state(ema), improved=False)
    longer = replace(CONFIG, epochs=CONFIG.epochs + 10, lr=1e-3)
    assert load_checkpoint(tmp_path / "last.pt", longer)["step"] == 6


def test_load_refuses_missing_unreadable_and_foreign_files(tmp_path):
    with pytest.raises(TrainingError, match="checkpoint not found"):
        load_checkpoint(tmp_path / "missing.pt", CONFIG)
    (tmp_path / "garbage.pt").write_bytes(b"not a checkpoint")
    with pytest.raises(TrainingError, match="cannot read checkpoint"):
        load_checkpoint(tmp_path / "garbage.pt", CONFIG)
    torch.save({"ema": {}, "epoch": 1, "score": 0.5}, tmp_path / "best.pt")
    with pytest.raises(TrainingError, match="is not a train_model checkpoint"):
        load_checkpoint(tmp_path / "best.pt", CONFIG)


def test_an_epoch_counts_as_better_only_above_the_best_score():
    state = RunState()
    assert state.finish_epoch({"epoch": 1, "val_balanced_accuracy": 0.5})
    assert not state.finish_epoch({"epoch": 2, "val_balanced_accuracy": 0.5 + 1e-7})  # noise
    assert not state.finish_epoch({"epoch": 3, "val_balanced_accuracy": 0.4})
    assert (state.best_epoch, state.bad_epochs, state.epochs_done) == (1, 2, 3)
    assert state.finish_epoch({"epoch": 4, "val_balanced_accuracy": 0.6})
    assert (state.best_epoch, state.best_score, state.bad_epochs) == (4, 0.6, 0)
    assert [h["epoch"] for h in state.history] == [1, 2, 3, 4]
