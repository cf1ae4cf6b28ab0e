"""Update rules (optimizers), each defined once: its NumPy form beside its Excel form.

A rule turns a parameter's gradient g = ∂C_T/∂p into the next parameter. It may keep state per
parameter (momentum's v, Adam's m and v …), shown in the workbook as a block beside the
parameter, named ``notation.state(kind, p)``; its hyperparameters (η and the rule's own) are
named input cells. Every net trains with every rule, in NumPy and in the cells, and adding a
rule is one entry in ``RULES`` (``--optimizer`` offers every one; each ``Hyper`` becomes an
option and a named cell).

Per step k (0, 1, …): ``advance`` gives the new state from g and the old state (zeros before
step 0); ``step`` gives Δp from g and the new state; p ← p + Δp. NumPy forms take arrays of
p's shape and a dict of hyperparameter values; Excel forms take one element's cells (p, g, the
state cells of this and of the previous iteration) and a dict of the hyperparameters' cell
names, and return formula text without ``=``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from sheetnet.errors import SheetnetError

Values = Mapping[str, float]  # hyperparameter -> value
Cells = Mapping[str, str]  # hyperparameter or state kind -> cell reference
State = Mapping[str, np.ndarray]  # state kind -> array of the parameter's shape


@dataclass(frozen=True)
class Hyper:
    """A hyperparameter: a named input cell and an option ``--{name}``."""

    name: str  # the cell's defined name and the option, e.g. "momentum"
    symbol: str  # as the sheet labels it, e.g. "μ"
    default: float
    meaning: str
    valid: Callable[[float], bool]
    valid_text: str  # what ``valid`` asks, e.g. "in [0, 1)"

    def check(self, value: float) -> None:
        if not (np.isfinite(value) and self.valid(value)):
            raise SheetnetError(f"--{self.name} {value:g} must be {self.valid_text}")


ETA = Hyper("eta", "η", 0.2, "the learning rate", lambda v: v > 0, "a positive number")


@dataclass(frozen=True)
class UpdateRule:
    name: str
    summary: str
    step: Callable[[np.ndarray, State, Values, int], np.ndarray]  # (g, new state, h, k) -> Δp
    step_xl: Callable[[str, Cells, Cells, int], str]  # (g, new state cells, h cells, k)
    update_xl: Callable[[str, str, Cells, Cells, int], str]  # (p, g, new state, h, k): p + Δp
    hypers: tuple[Hyper, ...] = ()  # beyond η
    state: tuple[str, ...] = ()  # the kinds of state each parameter keeps
    advance: Callable[[np.ndarray, State, Values, int], dict[str, np.ndarray]] = \
        field(default=lambda g, s, h, k: {})  # (g, old state, h, k) -> new state
    advance_xl: Callable[[str, Cells, Cells, int], dict[str, str]] = \
        field(default=lambda g, s, h, k: {})  # (g, old state cells, h cells, k)

    def start(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """The state before step 0: zeros (as in torch.optim)."""
        return {kind: np.zeros_like(param, dtype=float) for kind in self.state}

    def update(self, param: np.ndarray, grad: np.ndarray, state: State, h: Values,
               k: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """One step: (p + Δp, the new state), given the old state. New arrays."""
        new = self.advance(grad, state, h, k)
        return param + self.step(grad, new, h, k), new


# Plain gradient descent, the book's: Δp = −η·∂C_T/∂p. p + (−η·g) is p − η·g to the last bit
# (IEEE subtraction is the addition of the negation), so the cells can write it the book's way.
GD = UpdateRule(
    name="gd",
    summary="gradient descent: p ← p − η·g",
    step=lambda g, s, h, k: -h["eta"] * g,
    step_xl=lambda g, s, h, k: f"-{h['eta']}*{g}",
    update_xl=lambda p, g, s, h, k: f"{p}-{h['eta']}*{g}",
)

RULES: dict[str, UpdateRule] = {r.name: r for r in (GD,)}


def rule(name: str) -> UpdateRule:
    if name not in RULES:
        raise SheetnetError(f"--optimizer {name!r} is not one of: {', '.join(RULES)}")
    return RULES[name]
