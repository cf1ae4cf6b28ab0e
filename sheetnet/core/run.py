"""A run: everything that decides a training run — net, data, initial parameters, η, iterations."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sheetnet.core.data import Dataset


@dataclass(frozen=True)
class Run:
    """The inputs of a run. ``model`` is the net's core object (e.g. ``FCNet``)."""

    net: str
    model: object
    data: Dataset
    params: dict[str, np.ndarray]
    eta: float
    iterations: int
    origin: dict[str, str] = field(default_factory=dict)  # where data and parameters came from

    @property
    def n_images(self) -> int:
        return self.data.n_images
