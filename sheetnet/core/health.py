"""Whether a run learned: warnings when the cost rises sharply, ends above where it started,
is not finite or stops moving far from where it was going, each naming the iteration and what
to try. A healthy run (every preset's default) warns about nothing."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from sheetnet.core import gd
from sheetnet.core.run import Run
from sheetnet.core.trace import Trace

SHARP = 1.0  # a step that more than doubles the cost …
SHARP_OF_START = 0.1  # … by more than a tenth of where it started (not a wobble near 0)
STILL = 1e-10  # a step that moves the cost by less than this (relative) does not move it
STILL_STEPS = 5  # … for this many steps at the end of the run, at least


def number(value: float) -> str:
    """A cost as a person reads it: six decimals, or scientific notation past a million."""
    return f"{value:.6f}" if abs(value) < 1e6 else f"{value:.6e}"


def warnings(costs: Mapping[str, np.ndarray], eta: float) -> list[str]:
    """What went wrong in each named cost curve (iterations 0..N), at most one line a kind."""
    out: list[str] = []
    smaller = f"try a smaller η (--eta {eta / 10:g})"
    for name, curve in costs.items():
        c = np.asarray(curve, dtype=float)
        at = np.flatnonzero(~np.isnan(c))  # iterations that report it (a run's finite by then)
        if len(at) < len(c):
            out += _sparse(name, c[at], at, smaller)
            continue
        if len(c) < 2:
            continue
        if not np.all(np.isfinite(c)):
            k = int(np.argmax(~np.isfinite(c)))
            out.append(f"{name} is not a finite number from iteration {k}; {smaller}")
            continue
        step = np.diff(c)
        sharp = np.flatnonzero((step > SHARP * np.abs(c[:-1]) + 1e-12)
                               & (step > SHARP_OF_START * abs(c[0])))
        if sharp.size:
            k = int(sharp[0])
            more = f" (and {sharp.size - 1} more times)" if sharp.size > 1 else ""
            out.append(f"{name} rises sharply at iteration {k + 1} ({number(c[k])} →"
                       f" {number(c[k + 1])}){more}: the steps overshoot; {smaller}")
        if c[-1] > c[0] + 1e-12 * max(1.0, abs(c[0])):
            out.append(f"{name} ends above where it started ({number(c[0])} →"
                       f" {number(c[-1])}); {smaller}")
        still = np.abs(step) <= STILL * np.maximum(1.0, np.abs(c[:-1]))
        moving = np.flatnonzero(~still)
        since = int(moving[-1]) + 1 if moving.size else 0  # the iteration it stopped at
        stopped = len(step) - since >= max(STILL_STEPS, len(step) // 10)
        if stopped and since < len(step) and abs(c[since]) > 0.5 * abs(c[0]) > 0:
            out.append(f"{name} stops moving at iteration {since} ({number(c[since])}), far"
                       " from a minimum: its steps no longer lower it (saturated units whose"
                       " gradients are ≈ 0, or steps that jump across a valley and back);"
                       f" {smaller} or other initial weights")
    return out


def _sparse(name: str, c: np.ndarray, at: np.ndarray, smaller: str) -> list[str]:
    """A cost reported at some iterations only (``at``): whether it ends above its start."""
    if len(c) >= 2 and c[-1] > c[0] + 1e-12 * max(1.0, abs(c[0])):
        return [f"{name} ends above where it started ({number(c[0])} at iteration {at[0]} →"
                f" {number(c[-1])} at {at[-1]}); {smaller}"]
    return []


def curves(run: Run, trace: Trace) -> dict[str, np.ndarray]:
    """A run's cost curves by name: each compared rule's z (``gd --compare``), else the cost
    block and those shown beside it."""
    if isinstance(run.model, gd.Comparison):
        return {r.name: trace.series(f"{r.name}.z") for r in run.model.rules}
    return {name: trace.series(name) for name in (trace.cost_name, *trace.also)}
