"""A training run kept whole: one dict of named NumPy blocks per iteration."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from sheetnet.errors import SheetnetError


@dataclass(frozen=True)
class Trace:
    """``iterations[k][name]`` is block ``name`` (e.g. ``"z2"``, ``"dC_dW2"``) at iteration k.

    Iteration 0 uses the initial parameters; iteration k+1's parameters are iteration k's
    moved by the run's update rule. Per-image blocks have the image as axis 0.
    """

    iterations: list[dict[str, np.ndarray]]
    descriptions: dict[str, str]
    cost_name: str = "C_T"  # the quantity descent lowers (z for plain gradient descent)
    also: tuple[str, ...] = ()  # costs shown beside it (a comparison's other rules' z)
    final: dict[str, np.ndarray] = field(default_factory=dict)  # parameters after the last update
    minimised: bool = True  # False: the costs of a game's players (a GAN's), which need not fall
    curves: tuple[str, ...] = ()  # series ``--json`` carries under their own names (a GAN's)

    @property
    def cost(self) -> np.ndarray:
        """C_T (or ``cost_name``) at iteration 0..N."""
        return self.series(self.cost_name)

    @property
    def has_accuracy(self) -> bool:
        return "accuracy" in self.iterations[0]

    @property
    def accuracy(self) -> np.ndarray:
        """Share of images classified right at iteration 0..N (nan where there is none)."""
        if not self.has_accuracy:
            return np.full(len(self.iterations), np.nan)
        return self.series("accuracy")

    def series(self, name: str) -> np.ndarray:
        """Block ``name`` at iteration 0..N, stacked: (N+1, …); nan where an iteration does not
        report it (training between reported iterations skips the whole data's cost)."""
        return np.array([b.get(name, np.nan) for b in self.iterations], dtype=float)

    def to_json(self, first: int = 0, minibatches: bool = True) -> dict:
        """The run's curves, each named for what it is and holding numbers only:
        ``cost`` (``cost_name``, the whole data's) and ``accuracy`` at the iterations
        ``cost_iterations`` lists (every one, unless training in batches computed them at the
        reported ones only), ``batch_cost`` (each step's batch, every iteration, when the run
        is in batches smaller than the data: ``minibatches``), and ``blocks``: ``{name: [value
        at iteration 0..N]}``. ``first``: the run's number of iteration 0 (a run going on from
        a checkpoint)."""
        cost = self.cost
        at = np.flatnonzero(~np.isnan(cost))
        out: dict = {"cost": cost[at].tolist(), "cost_iterations": (at + first).tolist()}
        if self.has_accuracy:
            out["accuracy"] = self.accuracy[at].tolist()
        if minibatches and "C_batch" in self.iterations[0]:
            out["batch_cost"] = self.series("C_batch").tolist()
        # the first iteration's blocks (a gradient check or a closed form lives there alone),
        # not those the last one keeps whole for evaluating the final parameters
        out["blocks"] = {n: [np.asarray(b[n]).tolist() for b in self.iterations if n in b]
                         for n in self.iterations[0]}
        return out


def jsonable(value: object) -> object:
    """``value`` as strict JSON takes it: NumPy's numbers and arrays as Python's, and a number
    that is not finite as null (JSON has no NaN or Infinity)."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.ndarray):
        return jsonable(value.tolist())
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if np.isfinite(value) else None
    return value


def check_finite(blocks: dict[str, np.ndarray], iteration: int, eta: float,
                 updated: bool = False) -> None:
    """A spreadsheet shows an error value where NumPy has inf or nan: refuse such a run
    (``updated``: the iteration's blocks include some after an update of its own, as a GAN's G
    step follows its D step)."""
    for name, value in blocks.items():
        if not np.all(np.isfinite(value)):
            if iteration == 0 and not updated:  # no step has been taken: η is not the cause
                raise SheetnetError(f"the run overflows at iteration 0, before any update"
                                    f" (block {name} is not finite): its inputs are too large"
                                    " for floating point; make the initial parameters (--init,"
                                    " or a checkpoint's), the data or a penalty's λ smaller")
            fix = (f"choose a smaller η than {eta:g} or smaller initial weights" if eta > 0
                   else f"η = {eta:g} climbs the cost instead of descending it; choose a"
                   " positive η")
            raise SheetnetError(f"the run overflows at iteration {iteration} (block {name} is"
                                f" not finite); {fix}")
