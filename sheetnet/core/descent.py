"""The one training loop: any net's or exercise's step, then an update rule, kept as a Trace."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping

import numpy as np

from sheetnet import notation as names
from sheetnet.core.trace import Trace, check_finite
from sheetnet.errors import SheetnetError
from sheetnet.pairs.optim import GD, UpdateRule

Progress = Callable[[int], None]
Step = Callable[[Mapping[str, np.ndarray]], dict[str, np.ndarray]]


def check_run(eta: float, iterations: int) -> None:
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise SheetnetError(f"--eta {eta} must be a positive finite number, e.g. --eta 0.2")
    if iterations < 1:
        raise SheetnetError(f"--iterations {iterations} must be at least 1, e.g. --iterations 50")


def descend(step: Step, params: Mapping[str, np.ndarray], eta: float, iterations: int,
            descriptions: dict[str, str], progress: Progress | None = None,
            keep: Collection[str] | None = None, *, rule: UpdateRule = GD,
            hyper: Mapping[str, float] | None = None,
            grad_of: Callable[[str], str] = names.total_grad,
            step_of: Callable[[str], str] | None = None, cost_name: str = "C_T") -> Trace:
    """Iterations 0..``iterations``: ``step(params)``'s blocks, then each parameter updated by
    ``rule`` from its gradient block ``grad_of(name)``.

    The rule's state joins the blocks as ``notation.state(kind, name)`` and, with ``step_of``,
    each Δp as ``step_of(name)``. ``hyper``: the rule's hyperparameters beyond η. ``keep``: the
    block names to store (None: all; the cost and accuracy always).
    """
    check_run(eta, iterations)
    h = {"eta": eta, **(hyper or {})}
    current = {k: np.array(v, dtype=float) for k, v in params.items()}
    state = {k: rule.start(v) for k, v in current.items()}
    kept = None if keep is None else {*keep, cost_name, "accuracy"}
    run: list[dict[str, np.ndarray]] = []
    for k in range(iterations + 1):
        with np.errstate(all="ignore"):  # check_finite reports overflow instead
            blocks = step(current)
            for name, value in current.items():
                grad = blocks[grad_of(name)]
                state[name] = rule.advance(grad, state[name], h, k)
                delta = rule.step(grad, state[name], h, k)
                current[name] = value + delta
                blocks.update({names.state(kind, name): s for kind, s in state[name].items()})
                if step_of is not None:
                    blocks[step_of(name)] = delta
            check_finite(blocks, k, eta)
        run.append(blocks if kept is None else {n: blocks[n] for n in blocks if n in kept})
        if progress:
            progress(k)
    return Trace(run, descriptions, cost_name=cost_name)


Iteration = Callable[[object, Mapping[str, np.ndarray], np.ndarray, np.ndarray],
                     dict[str, np.ndarray]]


def trainer(iteration: Iteration, describe: Callable[[object], dict[str, str]]):
    """A net module's ``train`` from its ``iteration(net, params, x, t)`` and ``describe``."""
    def train(net, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray, eta: float,
              iterations: int, progress: Progress | None = None,
              keep: Collection[str] | None = None, rule: UpdateRule = GD,
              hyper: Mapping[str, float] | None = None) -> Trace:
        """Iterations 0..``iterations``: each one's blocks, then the update (``rule``).

        x: (N, pixels) inputs, t: (N, outputs) targets; ``keep`` limits the stored blocks.
        """
        x = np.array(x, dtype=float)
        t = np.array(t, dtype=float)
        return descend(lambda p: iteration(net, p, x, t), params, eta, iterations,
                       describe(net), progress, keep, rule=rule, hyper=hyper)
    return train
