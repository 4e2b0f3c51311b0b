"""Checkpoints of a run: ``last.pt`` after every epoch, ``best.pt`` when validation improves.

``last.pt`` holds everything a resume needs (weights, EMA, optimiser, counters, history)
and the recipe it was made with; ``best.pt`` only the best EMA weights. Both are written
to a temporary file and renamed, so an interrupted save never leaves a truncated one.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import torch
from torch import nn

from training.ema import ModelEma
from training.errors import TrainingError
from training.recipe import TrainConfig

CHECKPOINT_FORMAT = 1
# A resume must train the same network on the same inputs; other knobs may change.
RESUME_MUST_MATCH = ("arch", "labels", "img_size", "freeze_blocks")


@dataclass
class RunState:
    """How far a run is: the counters ``last.pt`` stores next to the weights."""

    epochs_done: int = 0
    step: int = 0  # optimisation steps so far (drives the learning-rate schedule)
    history: list[dict] = field(default_factory=list)
    best_score: float = -1.0
    best_epoch: int = 0
    bad_epochs: int = 0  # epochs since the best one (early stopping)
    best_weights: dict | None = None  # EMA state of the best epoch (in best.pt, not last.pt)

    def finish_epoch(self, record: dict) -> bool:
        """Add the epoch's record; True when its val balanced accuracy is the best so far."""
        self.history.append(record)
        self.epochs_done = record["epoch"]
        score = record["val_balanced_accuracy"]
        if score > self.best_score + 1e-6:
            self.best_score, self.best_epoch, self.bad_epochs = score, record["epoch"], 0
            return True
        self.bad_epochs += 1
        return False


def save_checkpoint(
    directory: Path,
    *,
    config: TrainConfig,
    model: nn.Module,
    ema: ModelEma,
    optimizer: torch.optim.Optimizer,
    state: RunState,
    improved: bool,
) -> None:
    """Write ``best.pt`` (when ``improved``), then ``last.pt``."""
    if improved:
        best = {"ema": state.best_weights, "epoch": state.epochs_done, "score": state.best_score}
        atomic_save(best, directory / "best.pt")
    last = {
        "format": CHECKPOINT_FORMAT,
        "config": config.to_dict(),
        "model": model.state_dict(),
        "ema": ema.state_dict(),
        "optimizer": optimizer.state_dict(),
        "history": state.history,
        "step": state.step,
        "epoch": state.epochs_done - 1,  # format 1 stores the 0-based index of the epoch
        "best_score": state.best_score,
        "best_epoch": state.best_epoch,
        "bad": state.bad_epochs,
    }
    atomic_save(last, directory / "last.pt")


def load_checkpoint(path: Path, config: TrainConfig) -> dict:
    """The contents of a ``last.pt``; TrainingError if unreadable or of another recipe."""
    if not Path(path).is_file():
        raise TrainingError(f"checkpoint not found: {path}")
    try:
        saved = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # a truncated or foreign file: say so instead of a traceback
        raise TrainingError(f"cannot read checkpoint {path}: {exc}") from None
    if not isinstance(saved, dict) or saved.get("format") != CHECKPOINT_FORMAT:
        raise TrainingError(f"{path} is not a train_model checkpoint")
    recipe = saved["config"]
    for key in RESUME_MUST_MATCH:
        if recipe.get(key) != getattr(config, key):
            raise TrainingError(
                f"checkpoint {path} was made with {key}={recipe.get(key)!r}, "
                f"this run has {key}={getattr(config, key)!r}"
            )
    return saved


def restore_checkpoint(
    path: Path,
    *,
    config: TrainConfig,
    model: nn.Module,
    ema: ModelEma,
    optimizer: torch.optim.Optimizer,
    best_weights: dict,
    best_path: Path,
) -> RunState:
    """Load ``last.pt`` into the live objects; returns the run's counters.

    The best weights come from ``best_path`` (the best.pt beside the checkpoints this
    run writes), or stay ``best_weights`` where there is none.
    """
    saved = load_checkpoint(path, config)
    model.load_state_dict(saved["model"])
    ema.load_state_dict(saved["ema"])
    optimizer.load_state_dict(saved["optimizer"])
    if best_path.is_file():
        best_weights = torch.load(best_path, map_location="cpu", weights_only=True)["ema"]
    return RunState(
        epochs_done=saved["epoch"] + 1,
        step=saved["step"],
        history=saved["history"],
        best_score=saved["best_score"],
        best_epoch=saved["best_epoch"],
        bad_epochs=saved["bad"],
        best_weights=best_weights,
    )


def load_init_state(path: Path) -> tuple[dict, dict]:
    """Weights to start from: an artifact directory, or a best.pt / last.pt checkpoint.

    Returns (state_dict, description for the model card).
    """
    path = Path(path)
    if path.is_dir():
        from classifier.artifact import load_artifact
        from classifier.errors import ArtifactError

        try:
            model, card = load_artifact(path)
        except ArtifactError as exc:
            raise TrainingError(str(exc)) from None
        return model.state_dict(), {"artifact": card.model_id, "sha256": card.weights_sha256}
    if not path.is_file():
        raise TrainingError(f"--init-from: {path} is neither an artifact directory nor a file")
    try:
        state = torch.load(path, map_location="cpu", weights_only=False)
    except Exception as exc:  # truncated or foreign file: a message, not a traceback
        raise TrainingError(f"cannot read {path}: {exc}") from None
    ema = state.get("ema") if isinstance(state, dict) else None
    if isinstance(ema, dict) and "module" in ema:
        ema = ema["module"]  # last.pt keeps the EMA with its bookkeeping
    if not isinstance(ema, dict):
        raise TrainingError(f"{path} holds no EMA weights (expected a train_model checkpoint)")
    # best.pt stores the 1-based epoch of the weights; last.pt the 0-based loop index
    epoch = state.get("epoch")
    if "format" in state and epoch is not None:
        epoch += 1
    return ema, {"checkpoint": path.name, "epoch": epoch, **earlier_run(path)}


def earlier_run(checkpoint: Path) -> dict:
    """Recipe and history of the run that wrote ``checkpoint`` (from its last.pt), for the card."""
    last = Path(checkpoint).with_name("last.pt")
    if not last.is_file():
        return {}
    try:
        state = torch.load(last, map_location="cpu", weights_only=False)
    except Exception:  # the description is a courtesy; the weights were already read
        return {}
    if not isinstance(state, dict) or "config" not in state:
        return {}
    return {
        "run": last.parent.name,
        "recipe": {k: v for k, v in state["config"].items() if k != "preprocessing"},
        "history": state.get("history", []),
        "best_epoch": state.get("best_epoch"),
        "best_val_balanced_accuracy": state.get("best_score"),
    }


def atomic_save(obj: dict, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    torch.save(obj, tmp)
    os.replace(tmp, path)
