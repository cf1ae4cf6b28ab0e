"""Full-batch gradient descent over any net's iteration function, kept as a ``Trace``."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping

import numpy as np

from sheetnet import notation as names
from sheetnet.core.trace import Trace, check_finite
from sheetnet.errors import SheetnetError
from sheetnet.pairs import ops

Progress = Callable[[int], None]
Step = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


def check_run(eta: float, iterations: int) -> None:
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise SheetnetError(f"--eta {eta} must be a positive finite number, e.g. --eta 0.2")
    if iterations < 1:
        raise SheetnetError(f"--iterations {iterations} must be at least 1, e.g. --iterations 50")


def descend(step: Step, params: Mapping[str, np.ndarray], eta: float, iterations: int,
            descriptions: dict[str, str], progress: Progress | None = None,
            keep: Collection[str] | None = None) -> Trace:
    """Iterations 0..``iterations``: ``step(params)``'s blocks, then p ← p − η·∂C_T/∂p.

    ``step`` returns every block of one iteration, including ``dCT_d{name}`` for each
    parameter. ``keep``: the block names to store (None: all; C_T and accuracy always).
    """
    check_run(eta, iterations)
    current = {k: np.array(v, dtype=float) for k, v in params.items()}
    kept = None if keep is None else {*keep, "C_T", "accuracy"}
    run: list[dict[str, np.ndarray]] = []
    for k in range(iterations + 1):
        with np.errstate(all="ignore"):  # check_finite reports overflow instead
            blocks = step(current)
            check_finite(blocks, k, eta)
            current = {name: ops.update(value, blocks[names.total_grad(name)], eta)
                       for name, value in current.items()}
        run.append(blocks if kept is None else {n: blocks[n] for n in blocks if n in kept})
        if progress:
            progress(k)
    return Trace(run, descriptions)


Iteration = Callable[[object, Mapping[str, np.ndarray], np.ndarray, np.ndarray],
                     dict[str, np.ndarray]]


def trainer(iteration: Iteration, describe: Callable[[object], dict[str, str]]):
    """A net module's ``train`` from its ``iteration(net, params, x, t)`` and ``describe``."""
    def train(net, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray, eta: float,
              iterations: int, progress: Progress | None = None,
              keep: Collection[str] | None = None) -> Trace:
        """Iterations 0..``iterations``: each one's blocks, then the gradient-descent update.

        x: (N, pixels) inputs, t: (N, outputs) targets; ``keep`` limits the stored blocks.
        """
        x = np.array(x, dtype=float)
        t = np.array(t, dtype=float)
        return descend(lambda p: iteration(net, p, x, t), params, eta, iterations,
                       describe(net), progress, keep)
    return train
