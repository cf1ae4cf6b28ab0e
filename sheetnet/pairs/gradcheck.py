"""The gradient check's arithmetic, NumPy form beside Excel form: a cost with one score moved,
the central difference and the relative error of two gradients."""

from __future__ import annotations

import numpy as np


def perturbed_cost_xl(f: list[str], t: list[str], moves: list[str | None]) -> str:
    """½Σₘ(fₘ + Δfₘ − tₘ)² with ``moves[m]`` the text of Δfₘ (None: 0)."""
    terms = [f"({fm}{d if d[0] in '+-' else '+' + d}-{tm})^2" if d else f"({fm}-{tm})^2"
             for fm, tm, d in zip(f, t, moves, strict=True)]
    return f"({'+'.join(terms)})/2"


def central_difference(plus: np.ndarray, minus: np.ndarray, h: float) -> np.ndarray:
    return (plus - minus) / (2 * h)


def central_difference_xl(plus: str, minus: str, h: str) -> str:
    return f"({plus}-{minus})/(2*{h})"


def relative_error(b: np.ndarray, n: np.ndarray) -> np.ndarray:
    """|b − n| / max(|b|, |n|), 0 where both are 0."""
    scale = np.maximum(np.abs(b), np.abs(n))
    return np.where(scale == 0, 0.0, np.abs(b - n) / np.where(scale == 0, 1.0, scale))


def relative_error_xl(b: str, n: str) -> str:
    return f"IF(MAX(ABS({b}),ABS({n}))=0,0,ABS({b}-{n})/MAX(ABS({b}),ABS({n})))"
