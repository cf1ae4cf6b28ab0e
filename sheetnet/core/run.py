"""A run: everything that decides a training run — the preset, its model, the data, the initial
parameters, the update rule with η and its other hyperparameters, and the iterations."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any, Generic, TypeVar

import numpy as np

from sheetnet.core.data import Dataset
from sheetnet.core.net import Net
from sheetnet.pairs.hyper import Hyper
from sheetnet.pairs.optim import GD, UpdateRule

M = TypeVar("M")
# a workbook's input cells as verify reads them: by place name, or (name, iteration)
Found = Mapping[str | tuple[str, int], object]


def model_hypers(model: object) -> dict[str, float]:
    """The settings of a net's activations and output layer (leaky ReLU's slope, Huber's δ):
    hyperparameters with named cells like η's."""
    if not isinstance(model, Net):
        return {}
    out: dict[str, float] = {}
    for layer in model.layers:
        out.update(layer.settings)
    out.update(model.output.pair.settings)
    return out


def tune_model(model: M, values: dict[str, float]) -> M:
    """The same net with its activations' and output layer's settings taken from ``values``
    (as a workbook's cells give them)."""
    if not isinstance(model, Net):
        return model
    layers = tuple(layer.tune(values) for layer in model.layers)
    output = replace(model.output, pair=model.output.pair.tune(values))
    return replace(model, layers=layers, output=output)


@dataclass(frozen=True)
class Run(Generic[M]):
    """The inputs of a run. ``model`` is the preset's core object (a ``Net``, a ``Function`` …);
    ``data`` is None for exercises without data."""

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
    seed: int = 0  # what the layers' step inputs (dropout masks) are drawn from
    drawn: dict[str, np.ndarray] | None = None  # a workbook's step inputs: (iterations + 1, N, …)
    held: np.ndarray | None = None  # (N,) 1 for the images held out for validation
    patience: int | None = None  # stop once the validation cost has not improved for N
    statistics: bool = True  # a net's workbook has a Statistics sheet (older ones had none)
    every: int | None = None  # training alone: the whole data's cost every k-th iteration
    test: Any = None  # a Dataset of images kept apart, evaluated after training (mnist)
    start: int = 0  # a window continuing a checkpoint: the run's step its iteration 0 takes
    state: dict[str, dict[str, np.ndarray]] | None = None  # the rule's state there, per parameter
    carried: dict[str, np.ndarray] | None = None  # what the layers carry there (running averages)
    best: tuple[int, float] | None = None  # the best iteration so far there, its validation cost
    frozen: tuple[str, ...] = ()  # parameters kept as they start (--freeze): never updated

    def reports(self, k: int) -> bool:
        """Whether iteration k computes the whole data's cost (the first, every k-th, the
        last)."""
        return self.every is None or k % self.every == 0 or k == self.iterations

    def until(self, k: int) -> Run:
        """The same run stopped after iteration k (early stopping)."""
        batches = None if self.batches is None else self.batches[:k + 1]
        drawn = None if self.drawn is None else {n: m[:k + 1] for n, m in self.drawn.items()}
        return replace(self, iterations=k, batches=batches, drawn=drawn)

    def draws(self, k: int) -> dict[str, np.ndarray]:
        """Step k's step inputs by block name (dropout's ``mask2``: (N, …)): a workbook's own,
        else drawn from the seed; none for a model whose layers draw nothing."""
        if self.drawn is not None:
            return {name: m[k] for name, m in self.drawn.items()}
        if not isinstance(self.model, Net):
            return {}
        return {s.name: s.draw(self.n_images, self.seed, k + self.start, j)
                for j, s in enumerate(self.model.step_inputs())}

    def step_inputs(self, k: int) -> dict[str, np.ndarray]:
        """Step k's inputs beside the data: what its layers draw and the held-out flags."""
        out = self.draws(k)
        if self.held is not None:
            out["held"] = self.held
        return out

    @property
    def restarts_patience(self) -> bool:
        """Whether this run goes on from a checkpoint whose run had stopped early (its best
        iteration ``patience`` or more back): its patience then counts from its own first
        iteration (else the run would stop again at once)."""
        return (self.patience is not None and self.best is not None
                and self.start - 1 - self.best[0] >= self.patience)

    @property
    def validation(self) -> bool:
        return self.held is not None

    @property
    def n_images(self) -> int:
        return self.data.n_images

    @property
    def minibatches(self) -> bool:
        """Whether a step trains on fewer than all the images trained on (its batches are
        masks even when full: images held out for validation are never in one)."""
        if self.batches is None:
            return False
        trained = self.n_images if self.held is None else int(np.sum(self.held == 0))
        return bool((self.batches.sum(axis=1) < trained).any())

    @property
    def batch_size(self) -> int | None:
        """The images in a batch (the largest; None: full batches)."""
        return None if self.batches is None else int(self.batches.sum(axis=1).max())

    @property
    def layer_hypers(self) -> list[Hyper]:
        """The named cells a net's layers add (dropout's P); none for an exercise."""
        return self.model.hypers() if isinstance(self.model, Net) else []

    @property
    def hyperparameters(self) -> dict[str, float]:
        """η and the rule's other hyperparameters, by name."""
        return {"eta": self.eta, **self.hyper}
