"""Every piece of math, defined once: its NumPy form beside its Excel form.

The NumPy forms compute exactly what the cells compute, so a recalculated workbook and the core
agree to rounding. Excel forms take cell references (strings such as ``"E12"`` or ``"$C$4:$C$15"``)
and return formula text without the leading ``=``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
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

ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (SIGMOID,)}


# --- cost: C = ½ Σ (a − t)² per image --------------------------------------------------------


def half_sse(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """C = ½Σ(a−t)² over the last axis: (N, n) -> (N,)."""
    return 0.5 * np.sum((a - t) ** 2, axis=-1)


def half_sse_xl(a_range: str, t_range: str) -> str:
    return f"SUMXMY2({a_range},{t_range})/2"


def output_error(a: np.ndarray, t: np.ndarray, act: Activation, z: np.ndarray) -> np.ndarray:
    """δᴸ = (a−t) ⊙ σ'(z): ∂C/∂zᴸ for C = ½Σ(a−t)²."""
    return (a - t) * act.derivative(z, a)


def output_error_xl(a: str, t: str, act: Activation, z: str) -> str:
    return f"({a}-{t})*{act.excel_derivative(z, a)}"


# --- weighted input, backward sum, gradients, update -----------------------------------------


def weighted_input(a_prev: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """zˡ = Wˡaˡ⁻¹ + bˡ for every image: a_prev (N, m), w (n, m), b (n,) -> (N, n)."""
    return a_prev @ w.T + b


def weighted_input_xl(w_range: str, a_range: str, b: str) -> str:
    return f"SUMPRODUCT({w_range},{a_range})+{b}"


def back_sum(delta_next: np.ndarray, w_next: np.ndarray) -> np.ndarray:
    """(Wˡ⁺¹)ᵀδˡ⁺¹ for every image: delta_next (N, n), w_next (n, m) -> (N, m)."""
    return delta_next @ w_next


def back_sum_xl(pairs: Sequence[tuple[str, str]]) -> str:
    """Σⱼ wʲᵢ·δʲ written out term by term, as the book writes it: pairs of (w cell, δ cell)."""
    return "+".join(f"{w}*{d}" for w, d in pairs)


def hidden_error(back: np.ndarray, act: Activation, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """δˡ = ((Wˡ⁺¹)ᵀδˡ⁺¹) ⊙ σ'(zˡ)."""
    return back * act.derivative(z, a)


def hidden_error_xl(back: str, act: Activation, z: str, a: str) -> str:
    return f"({back})*{act.excel_derivative(z, a)}"


def weight_gradient(delta: np.ndarray, a_prev: np.ndarray) -> np.ndarray:
    """∂C/∂wˡⱼᵢ = δˡⱼ·aˡ⁻¹ᵢ per image: (N, n), (N, m) -> (N, n, m)."""
    return delta[:, :, None] * a_prev[:, None, :]


def weight_gradient_xl(delta: str, a_prev: str) -> str:
    return f"{delta}*{a_prev}"


def total(per_image: np.ndarray) -> np.ndarray:
    """Σ over images (axis 0)."""
    return np.sum(per_image, axis=0)


def total_xl(cells: str) -> str:
    return f"SUM({cells})"


def update(param: np.ndarray, grad: np.ndarray, eta: float) -> np.ndarray:
    """Gradient descent: p ← p − η·∂C_T/∂p (a new array)."""
    return param - eta * grad


def update_xl(param: str, grad: str, eta: str = "eta") -> str:
    return f"{param}-{eta}*{grad}"


# --- accuracy --------------------------------------------------------------------------------


def correct(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """1.0 where the largest output is the target's class (first maximum wins, as MATCH does)."""
    return (np.argmax(a, axis=-1) == np.argmax(t, axis=-1)).astype(float)


def correct_xl(a_range: str, t_range: str) -> str:
    return (
        f"IF(MATCH(MAX({a_range}),{a_range},0)=MATCH(MAX({t_range}),{t_range},0),1,0)"
    )


def mean(values: np.ndarray) -> np.ndarray:
    """Average over images (axis 0)."""
    return np.mean(values, axis=0)


def mean_xl(cells: str) -> str:
    return f"AVERAGE({cells})"


def one_hot(labels: Sequence[object], classes: Sequence[object]) -> np.ndarray:
    """t: 1 where the image's label equals the class: (N,) labels, K classes -> (N, K)."""
    lab = np.asarray(labels, dtype=object)
    return (lab[:, None] == np.asarray(classes, dtype=object)[None, :]).astype(float)


def one_hot_xl(label: str, cls: str) -> str:
    return f"IF({label}={cls},1,0)"
