"""Least squares for the regression exercise (book 2-12): the residuals' sum and the cost, NumPy
form beside Excel form, on the standardised input u (see ``core/regression.py``)."""

from __future__ import annotations

import numpy as np


def residual_sum(a: float, b: float, u: np.ndarray, y: np.ndarray,
                 weight: np.ndarray | None = None) -> float:
    """Σ(y − (au + b))·weight (weight 1 when None)."""
    r = y - (a * u + b)
    return float(np.sum(r if weight is None else r * weight))


def residual_sum_xl(a: str, b: str, u: str, y: str, weight: str | None = None) -> str:
    rest = f",{weight}" if weight else ""
    return f"SUMPRODUCT({y}-({a}*{u}+{b}){rest})"


def half_sse(a: float, b: float, u: np.ndarray, y: np.ndarray) -> float:
    """C = ½Σ(y − (au + b))²."""
    return float(0.5 * np.sum((y - (a * u + b)) ** 2))


def half_sse_xl(a: str, b: str, u: str, y: str) -> str:
    return f"SUMPRODUCT(({y}-({a}*{u}+{b}))^2)/2"
