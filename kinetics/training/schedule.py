"""The learning-rate schedule: divided by 10 on a validation plateau (the paper) or at fixed steps (DeepMind's runs).

One object with two hooks, so the loop never asks which kind it has: ``after_step()`` after every
optimizer step (moves a step schedule) and ``after_validation(loss)`` after every validation (moves
a plateau schedule). Its ``state_dict`` goes into the checkpoint for exact resumption.
"""

from __future__ import annotations

from typing import Any

import torch
from torch.optim.lr_scheduler import MultiStepLR, ReduceLROnPlateau

from kinetics.training.config import LrSchedule


class LearningRate:
    """Wraps ReduceLROnPlateau (``plateau``), MultiStepLR (``steps``) or nothing (``constant``)."""

    def __init__(
        self,
        optimizer: torch.optim.Optimizer,
        *,
        kind: LrSchedule,
        drop_factor: float = 0.1,
        milestones: tuple[int, ...] = (),
        patience: int = 2,
    ):
        self.kind = kind
        self.optimizer = optimizer
        self._scheduler: Any = None
        if kind == "plateau":
            self._scheduler = ReduceLROnPlateau(optimizer, mode="min", factor=drop_factor, patience=patience)
        elif kind == "steps":
            self._scheduler = MultiStepLR(optimizer, milestones=list(milestones), gamma=drop_factor)
        elif kind != "constant":
            raise ValueError(f"lr schedule must be plateau, steps or constant, got {kind!r}")

    @property
    def current(self) -> float:
        return float(self.optimizer.param_groups[0]["lr"])

    def after_step(self) -> None:
        if self.kind == "steps":
            self._scheduler.step()

    def after_validation(self, loss: float) -> None:
        if self.kind == "plateau":
            self._scheduler.step(loss)

    def state_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "scheduler": None if self._scheduler is None else self._scheduler.state_dict()}

    def load_state_dict(self, state: dict[str, Any]) -> None:
        if state.get("kind") != self.kind:
            raise ValueError(f"the checkpoint's lr schedule is {state.get('kind')!r}, this run's is {self.kind!r}")
        if self._scheduler is not None:
            self._scheduler.load_state_dict(state["scheduler"])
