"""Activations σ, each defined once: its NumPy form beside its Excel form, with its derivative.

Adding an activation is one entry here: ``--activation`` and ``--output-activation`` offer every
one in ``ACTIVATIONS``. Excel forms take one cell's reference (zˡⱼ or aˡⱼ of one image) and
return formula text without ``=``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Activation:
    """An activation σ with its derivative σ'(z); the derivative may use z, a = σ(z) or both."""

    name: str
    value: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]
    excel_value: Callable[[str], str]
    excel_derivative: Callable[[str, str], str]
    formula: str  # how the Map sheet writes it


# 1/(1+EXP(-z)) overflows to #NUM! in spreadsheets once -z > ~709; (1+TANH(z/2))/2 is the same
# function and never overflows, so both the core and the cells use it.
SIGMOID = Activation(
    name="sigmoid",
    value=lambda z: (1.0 + np.tanh(z / 2.0)) / 2.0,
    derivative=lambda z, a: a * (1.0 - a),
    excel_value=lambda z: f"(1+TANH({z}/2))/2",
    excel_derivative=lambda z, a: f"{a}*(1-{a})",
    formula="σ(z) = (1+tanh(z/2))/2, σ'(z) = a(1−a)",
)

# ReLU's derivative at z = 0 is taken as 0, in NumPy (z > 0) and in the cell (IF(z>0,1,0)) alike.
RELU = Activation(
    name="relu",
    value=lambda z: np.maximum(z, 0.0),
    derivative=lambda z, a: (z > 0).astype(float),
    excel_value=lambda z: f"MAX(0,{z})",
    excel_derivative=lambda z, a: f"IF({z}>0,1,0)",
    formula="relu(z) = max(0, z), relu'(z) = 1 if z > 0 else 0 (0 at z = 0)",
)

IDENTITY = Activation(
    name="identity",
    value=lambda z: np.array(z, dtype=float),
    derivative=lambda z, a: np.ones_like(z, dtype=float),
    excel_value=lambda z: z,
    excel_derivative=lambda z, a: "1",
    formula="identity(z) = z, identity'(z) = 1",
)

TANH = Activation(
    name="tanh",
    value=np.tanh,
    derivative=lambda z, a: 1.0 - a * a,
    excel_value=lambda z: f"TANH({z})",
    excel_derivative=lambda z, a: f"(1-{a}*{a})",
    formula="tanh(z), tanh'(z) = 1 − a²",
)

ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (SIGMOID, RELU, IDENTITY, TANH)}


def times_derivative_xl(factor: str, act: Activation, z: str, a: str) -> str:
    """``factor`` ⊙ σ'(z) as cell text; σ' = 1 (identity) adds nothing."""
    deriv = act.excel_derivative(z, a)
    return f"({factor})" if deriv == "1" else f"({factor})*{deriv}"
