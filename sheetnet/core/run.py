"""A run: everything that decides a training run — the preset, its model, the data, the initial
parameters, the update rule with η and its other hyperparameters, and the iterations."""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace
from typing import Any, Generic, TypeVar

import numpy as np

from sheetnet.core.data import Dataset
from sheetnet.pairs.optim import GD, UpdateRule

M = TypeVar("M")


def model_hypers(model: object) -> dict[str, float]:
    """The settings of a net's activation and output layer (leaky ReLU's slope, Huber's δ):
    hyperparameters with named cells like η's."""
    out: dict[str, float] = {}
    for name in ("activation", "output"):
        out.update(getattr(getattr(model, name, None), "settings", ()))
    return out


def tune_model(model: M, values: dict[str, float]) -> M:
    """The same net with its activation's and output layer's settings taken from ``values``
    (as a workbook's cells give them)."""
    names = {f.name for f in fields(model)} if hasattr(model, "__dataclass_fields__") else set()
    changes = {name: getattr(model, name).tune(values) for name in ("activation", "output")
               if name in names}
    return replace(model, **changes) if changes else model  # type: ignore[type-var]


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
