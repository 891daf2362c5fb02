"""Training checkpoints: everything exact resumption needs, written atomically, read with weights_only.

A checkpoint is one ``torch.save`` dict::

    format        "kinetics.train/1"
    state_dict    the model's weights (our names; DDP's "module." prefix removed)
    classes       what each logit means (the corpus's class names), when the run knew them
    optimizer, schedule, scaler     their state_dicts
    step, epoch, batches_in_epoch   where the run is (batches_in_epoch: batches of ``epoch`` done)
    rng           torch CPU / CUDA, numpy and Python generator states
    config        TrainConfig.to_dict()
    best_val_loss

Because the weights sit under ``state_dict``, ``I3D.from_pretrained("run/last.pt")`` and
``kinetics evaluate --checkpoint run/last.pt`` read a training checkpoint directly. The file is
written to a hidden temporary sibling, fsynced, and renamed over the old one, so a crash leaves the
previous checkpoint intact. Reading uses ``torch.load(weights_only=True)``: nothing in the file can
run code, which is why the RNG states are stored as tensors and lists rather than pickled objects.
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from kinetics.files import atomic_output
from kinetics.errors import CheckpointError
from kinetics.models.checkpoints import load_error_reason

FORMAT = "kinetics.train/1"
LAST = "last.pt"


@dataclass(frozen=True)
class Position:
    """Where a run stands: optimizer steps taken, the current epoch, and batches of it consumed."""

    step: int = 0
    epoch: int = 0
    batches_in_epoch: int = 0


def save_atomic(payload: dict[str, Any], path: str | os.PathLike) -> Path:
    """``torch.save`` to a temporary sibling, then fsync, rename into place and fsync the directory (``publish``)."""
    path = Path(path)
    try:
        with atomic_output(path) as temp, open(temp, "wb") as handle:
            torch.save(payload, handle)
    except OSError as err:
        raise CheckpointError(f"{path}: cannot write checkpoint: {err.strerror or err}") from err
    return path


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    """The model inside DistributedDataParallel (or the model itself)."""
    return getattr(model, "module", model)


def capture_rng() -> dict[str, Any]:
    """Every random generator the training step draws from, as weights_only-safe values."""
    kind, keys, position, has_gauss, gauss = np.random.get_state()
    version, python_state, python_gauss = random.getstate()
    state = {
        "torch": torch.get_rng_state(),
        "numpy": {"keys": torch.from_numpy(keys.astype(np.int64)), "position": int(position),
                  "has_gauss": int(has_gauss), "gauss": float(gauss)},
        "python": {"version": version, "state": list(python_state), "gauss": python_gauss},
    }
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        state["cuda"] = torch.cuda.get_rng_state_all()
    return state


def restore_rng(state: dict[str, Any]) -> None:
    torch.set_rng_state(state["torch"])
    n = state["numpy"]
    np.random.set_state(("MT19937", n["keys"].numpy().astype(np.uint32), n["position"], n["has_gauss"], n["gauss"]))
    p = state["python"]
    random.setstate((p["version"], tuple(p["state"]), p["gauss"]))
    if "cuda" in state and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])


def save_training_state(
    path: str | os.PathLike,
    *,
    model: torch.nn.Module,
    optimizer: torch.optim.Optimizer,
    schedule,
    scaler: torch.amp.GradScaler,
    position: Position,
    config: dict[str, Any],
    best_val_loss: float | None,
) -> Path:
    payload = {
        "format": FORMAT,
        "state_dict": unwrap(model).state_dict(),
        "classes": list(getattr(unwrap(model), "classes", None) or []) or None,  # what each logit means, for evaluate's check
        "optimizer": optimizer.state_dict(),
        "schedule": schedule.state_dict(),
        "scaler": scaler.state_dict(),
        "step": position.step,
        "epoch": position.epoch,
        "batches_in_epoch": position.batches_in_epoch,
        "rng": capture_rng(),
        "config": config,
        "best_val_loss": best_val_loss,
    }
    return save_atomic(payload, path)


def load_training_state(path: str | os.PathLike) -> dict[str, Any]:
    """A checkpoint written by :func:`save_training_state`, on the CPU; errors name the file."""
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except FileNotFoundError as err:
        raise CheckpointError(f"{path}: no checkpoint to resume from") from err
    except Exception as err:  # torch raises unpickling, zip and runtime errors alike
        raise CheckpointError(f"{path}: not a readable training checkpoint: {load_error_reason(err)}") from err
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        found = payload.get("format") if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"{path}: not a kinetics training checkpoint (format {found!r}, expected {FORMAT!r})")
    return payload


def position_of(payload: dict[str, Any]) -> Position:
    return Position(int(payload["step"]), int(payload["epoch"]), int(payload["batches_in_epoch"]))
