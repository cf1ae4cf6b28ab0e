"""Plain gradient descent on a function of two variables (book 2-11), step by step.

Each step: ∂z/∂x and ∂z/∂y at (x, y), Δx = −η·∂z/∂x, Δy = −η·∂z/∂y, then (x, y) ← (x+Δx, y+Δy).
For the book's z = x² + y² from (3, 2) with η = 0.1 every step multiplies x and y by 0.8, so z
goes 13 → 8.32 → 5.3248 …
"""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet import notation as names
from sheetnet.core import cells, descent
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.pairs.functions import Function
from sheetnet.pairs.optim import GD, UpdateRule

DESCRIPTIONS = {
    "x": "x at step i", "y": "y at step i",
    "dz_dx": "∂z/∂x at (x, y)", "dz_dy": "∂z/∂y at (x, y)",
    "dx": "Δx = −η·∂z/∂x", "dy": "Δy = −η·∂z/∂y",
    "z": "z = f(x, y) at step i",
}


def describe(rule: UpdateRule) -> dict[str, str]:
    """What each block is under ``rule``: Δx is −η·∂z/∂x for gradient descent only."""
    if rule.name == GD.name:
        return dict(DESCRIPTIONS)
    steps = {f"d{p}": f"Δ{p}: {rule.name}'s step ({rule.summary})" for p in ("x", "y")}
    state = {names.state(kind, p): rule.describe_state(kind, p) for kind in rule.state
             for p in ("x", "y")}
    return {**DESCRIPTIONS, **steps, **state}


def parse_start(text: str) -> np.ndarray:
    """``"3,2"`` -> array([3., 2.])."""
    try:
        x, y = (float(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise SheetnetError(f"--start {text!r} is not X,Y; write it like --start 3,2") from None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise SheetnetError(f"--start {text!r} needs finite numbers, e.g. --start 3,2")
    cells.check_numbers(np.array([x, y]), f"--start {text!r}")
    return np.array([x, y])


def walk(f: Function, start: np.ndarray, eta: float, steps: int,
         progress: Callable[[int], None] | None = None,
         keep: Collection[str] | None = None, rule: UpdateRule = GD,
         hyper: Mapping[str, float] | None = None) -> Trace:
    """Steps 0..``steps``: each one's x, y, ∂z/∂x, ∂z/∂y, Δx, Δy and z (the update of the
    last step is computed too, as the sheet shows it). ``keep``: the blocks to store (None:
    all; z always)."""
    def step(point: Mapping[str, np.ndarray], mask: np.ndarray | None, k: int
             ) -> dict[str, np.ndarray]:
        x, y = point["x"], point["y"]
        gx, gy = f.gradient(x, y)
        return {"x": x, "y": y, "dz_dx": np.asarray(gx, dtype=float),
                "dz_dy": np.asarray(gy, dtype=float),
                "z": np.asarray(f.value(x, y), dtype=float)}

    x, y = (np.float64(v) for v in start)
    return descent.descend(step, {"x": x, "y": y}, eta, steps, describe(rule), progress, keep,
                           rule=rule, hyper=hyper, grad_of=lambda p: f"dz_d{p}",
                           step_of=lambda p: f"d{p}", cost_name="z")


@dataclass(frozen=True)
class Comparison:
    """Several update rules on one function from one start, side by side."""

    function: Function
    rules: tuple[UpdateRule, ...]


def own(rule: UpdateRule, name: str) -> str:
    """A rule's block or hyperparameter in a comparison: ``adam.z`` …"""
    return f"{rule.name}.{name}"


def own_hyper(rule: UpdateRule, name: str) -> str:
    """The name of a rule's own hyperparameter cell in a comparison: ``adam_beta1``."""
    return f"{rule.name}_{name}"


def race(c: Comparison, start: np.ndarray, eta: float, steps: int,
         progress: Callable[[int], None] | None = None, keep: Collection[str] | None = None,
         hyper: Mapping[str, float] | None = None) -> Trace:
    """``walk`` for each rule (same η, each its own hyperparameters, named by
    ``own_hyper``), the blocks of all in one trace, each named by ``own``."""
    hyper = hyper or {}
    traces = []
    for rule in c.rules:
        mine = {h.name: hyper.get(own_hyper(rule, h.name), h.default) for h in rule.hypers}
        traces.append(walk(c.function, start, eta, steps, None, keep, rule, mine))
    iterations = [{own(rule, name): value for rule, t in zip(c.rules, traces, strict=True)
                   for name, value in t.iterations[k].items()} for k in range(steps + 1)]
    if progress:
        progress(steps)
    descriptions = {own(rule, name): f"{rule.name}: {text}" for rule, t in
                    zip(c.rules, traces, strict=True) for name, text in t.descriptions.items()}
    return Trace(iterations, descriptions, cost_name=own(c.rules[0], "z"),
                 also=tuple(own(rule, "z") for rule in c.rules[1:]))
