"""Regression analysis (book 2-12): fit y = px + q by minimising C = ½Σ(y − (px + q))².

Closed form: p = Sxy/Sxx, q = ȳ − p·x̄ with Sxy = Σ(x−x̄)(y−ȳ), Sxx = Σ(x−x̄)².
Gradient descent runs on the standardised input u = (x − x̄)/σ (σ = √(Sxx/n)): y = a·u + b is the
same line (p = a/σ, q = b − p·x̄) and the same least-squares problem, but well conditioned, so a
few dozen steps reach the closed form; on raw heights around 160 it would take thousands.
Each piece is a NumPy form beside its Excel form.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping

import numpy as np

from sheetnet.core import descent
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.pairs import ops
from sheetnet.pairs.regression import half_sse, residual_sum

# a small built-in sample: 7 people's height (cm) and weight (kg)
HEIGHTS = (153.3, 164.9, 168.1, 151.5, 157.8, 156.7, 161.1)
WEIGHTS = (45.5, 56.0, 55.0, 52.8, 55.6, 50.8, 56.4)

DESCRIPTIONS = {
    "x": "x: the data's inputs", "y": "y: the data's outputs",
    "xc": "x − x̄", "yc": "y − ȳ", "xcyc": "(x − x̄)(y − ȳ)", "xc2": "(x − x̄)²",
    "u": "u = (x − x̄)/σ, the standardised input the descent uses",
    "x_bar": "x̄ = the mean of x", "y_bar": "ȳ = the mean of y",
    "Sxy": "Sxy = Σ(x − x̄)(y − ȳ)", "Sxx": "Sxx = Σ(x − x̄)²", "sigma": "σ = √(Sxx/n)",
    "p_star": "p = Sxy/Sxx: the least-squares slope", "q_star": "q = ȳ − p·x̄: its intercept",
    "C_star": "C = ½Σ(y − (px + q))² at the least-squares line",
    "fit": "px + q on the least-squares line, at each x",
    "a": "a: the descent's slope in u", "b": "b: the descent's intercept in u",
    "dC_da": "∂C/∂a = −Σ(y − (au + b))·u", "dC_db": "∂C/∂b = −Σ(y − (au + b))",
    "C": "C = ½Σ(y − (au + b))² = ½Σ(y − (px + q))²",
    "p": "p = a/σ: the slope in x", "q": "q = b − p·x̄: the intercept in x",
}


def check_points(x: np.ndarray, source: str) -> None:
    if len(x) < 2:
        raise SheetnetError(f"{source}: a line needs at least two points, this has {len(x)}")
    if np.ptp(x) == 0:
        raise SheetnetError(f"{source}: every x is {x[0]:g}; a line needs at least two"
                            " different x values")


# --- the core --------------------------------------------------------------------------------


def closed_form(x: np.ndarray, y: np.ndarray) -> dict[str, np.ndarray]:
    """Every number of the least-squares solution, vectorized over the points."""
    x_bar, y_bar = ops.mean(x), ops.mean(y)
    xc, yc = x - x_bar, y - y_bar
    sxy, sxx = ops.total(xc * yc), ops.total(xc * xc)
    sigma = np.sqrt(sxx / len(x))
    p = sxy / sxx
    q = y_bar - p * x_bar
    blocks = {"x": x, "y": y, "xc": xc, "yc": yc, "xcyc": xc * yc, "xc2": xc * xc,
              "u": xc / sigma, "x_bar": x_bar, "y_bar": y_bar, "Sxy": sxy, "Sxx": sxx,
              "sigma": sigma, "p_star": p, "q_star": q,
              "C_star": np.array(half_sse(p, q, x, y)), "fit": p * x + q}
    return {k: np.asarray(v, dtype=float) for k, v in blocks.items()}


def fit(x: np.ndarray, y: np.ndarray, start: np.ndarray, eta: float, steps: int,
            progress: Callable[[int], None] | None = None,
            keep: Collection[str] | None = None) -> Trace:
    """Steps 0..``steps`` of gradient descent on (a, b); step 0 also carries the closed form.
    ``keep``: the blocks to store (None: all; C always)."""
    fixed = closed_form(x, y)
    u, sigma, x_bar = fixed["u"], float(fixed["sigma"]), float(fixed["x_bar"])

    def step(line: Mapping[str, np.ndarray], mask: np.ndarray | None, k: int
             ) -> dict[str, np.ndarray]:
        a, b = float(line["a"]), float(line["b"])
        p = a / sigma
        row = {"a": a, "b": b, "dC_da": -residual_sum(a, b, u, y, u),
               "dC_db": -residual_sum(a, b, u, y), "C": half_sse(a, b, u, y), "p": p,
               "q": b - p * x_bar}
        return {k: np.array(v, dtype=float) for k, v in row.items()}

    a, b = (np.asarray(float(v)) for v in start)
    trace = descent.descend(step, {"a": a, "b": b}, eta, steps, DESCRIPTIONS, progress, keep,
                            grad_of=lambda p: f"dC_d{p}", cost_name="C")
    first = {**fixed, **trace.iterations[0]}
    trace.iterations[0] = first if keep is None else {k: first[k] for k in first
                                                      if k in {"C", *keep}}
    return trace
