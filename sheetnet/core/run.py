"""A run: everything that decides a training run — the preset, its model, the data, the initial
parameters, the update rule with η and its other hyperparameters, and the iterations."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import numpy as np

from sheetnet.core.data import Dataset
from sheetnet.pairs.optim import GD, UpdateRule

M = TypeVar("M")


@dataclass(frozen=True)
class Run(Generic[M]):
    """The inputs of a run. ``model`` is the preset's core object (``FCNet``, ``CNNNet``, a
    ``Function`` …); ``data`` is None for exercises without data."""

    preset: str
    model: M
    data: Dataset | Any
    params: dict[str, np.ndarray]
    eta: float
    iterations: int
    origin: dict[str, str] = field(default_factory=dict)  # where data and parameters came from
    rule: UpdateRule = GD
    hyper: dict[str, float] = field(default_factory=dict)  # the rule's beyond η, penalties …
    batches: np.ndarray | None = None  # (iterations + 1, N) masks of each step's batch

    @property
    def n_images(self) -> int:
        return self.data.n_images

    @property
    def batch_size(self) -> int | None:
        """The images in a batch (the largest; None: full batches)."""
        return None if self.batches is None else int(self.batches.sum(axis=1).max())

    @property
    def hyperparameters(self) -> dict[str, float]:
        """η and the rule's other hyperparameters, by name."""
        return {"eta": self.eta, **self.hyper}
