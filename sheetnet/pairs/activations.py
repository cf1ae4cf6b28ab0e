"""Activations σ, each defined once: its NumPy form beside its Excel form, with its derivative.

Adding an activation is one entry here: ``--activation`` and ``--output-activation`` offer every
one in ``ACTIVATIONS``. Excel forms take one cell's reference (zˡⱼ or aˡⱼ of one image) and
return formula text without ``=``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet.pairs.hyper import Hyper


@dataclass(frozen=True)
class Activation:
    """An activation σ with its derivative σ'(z); the derivative may use z, a = σ(z) or both."""

    name: str
    value: Callable[[np.ndarray], np.ndarray]
    derivative: Callable[[np.ndarray, np.ndarray], np.ndarray]
    excel_value: Callable[[str], str]
    excel_derivative: Callable[[str, str], str]
    formula: str  # how the Map sheet writes it
    # its own hyperparameters' values (leaky ReLU's slope), each a named cell its Excel forms
    # use, and how to build it with other values (keywords by name)
    settings: tuple[tuple[str, float], ...] = ()
    make: Callable[..., Activation] | None = None
    unit_interval: bool = False  # its values lie in 0..1 (pictures shade them so)
    reading: str = ""  # how its cells read, for the Guide ("": the form as written)

    def guide_line(self) -> str:
        """A Guide line on how its formula reads."""
        return self.reading or (f"The activation {self.name} is written {self.excel_value('z')}"
                                " (z: the cell of its input, a weighted input or a normalised"
                                " one).")

    def tune(self, values: Mapping[str, float]) -> Activation:
        """The same activation with its settings taken from ``values`` where given."""
        mine = {name: values[name] for name, _ in self.settings if name in values}
        return self.make(**mine) if mine and self.make else self


# 1/(1+EXP(-z)) overflows to #NUM! in spreadsheets once -z > ~709; (1+TANH(z/2))/2 is the same
# function and never overflows, so both the core and the cells use it.
SIGMOID = Activation(
    name="sigmoid",
    value=lambda z: (1.0 + np.tanh(z / 2.0)) / 2.0,
    derivative=lambda z, a: a * (1.0 - a),
    excel_value=lambda z: f"(1+TANH({z}/2))/2",
    excel_derivative=lambda z, a: f"{a}*(1-{a})",
    formula="σ(z) = (1+tanh(z/2))/2, σ'(z) = a(1−a)",
    unit_interval=True,
    reading="The book's sigmoid 1/(1+e^(-z)) is written (1+TANH(z/2))/2: the same function,"
            " but a spreadsheet's EXP overflows (#NUM!) for z below about -709, TANH never does.",
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

LEAKY_SLOPE = Hyper("leaky_slope", "α", 0.01, "leaky ReLU's slope for z ≤ 0",
                    lambda v: 0 <= v < 1, "in [0, 1)", "--leaky-slope")


def leaky_relu(leaky_slope: float = LEAKY_SLOPE.default) -> Activation:
    """max(z, αz) for 0 ≤ α < 1: z where z > 0, else α·z; the derivative at z = 0 is α (as
    z > 0 fails), in NumPy and in the cell. The cells read α from the named cell."""
    slope = float(leaky_slope)
    return Activation(
        name="leaky-relu",
        value=lambda z: np.where(z > 0, z, slope * z),
        derivative=lambda z, a: np.where(z > 0, 1.0, slope),
        excel_value=lambda z: f"IF({z}>0,{z},leaky_slope*{z})",
        excel_derivative=lambda z, a: f"IF({z}>0,1,leaky_slope)",
        formula="leaky-relu(z) = z if z > 0 else α·z (α: the cell leaky_slope), its"
                " derivative 1 if z > 0 else α",
        settings=((LEAKY_SLOPE.name, slope),),
        make=leaky_relu,
    )


ACTIVATIONS: dict[str, Activation] = {a.name: a for a in (SIGMOID, RELU, IDENTITY, TANH,
                                                          leaky_relu())}


def times_derivative_xl(factor: str, act: Activation, z: str, a: str) -> str:
    """``factor`` ⊙ σ'(z) as cell text; σ' = 1 (identity) adds nothing."""
    deriv = act.excel_derivative(z, a)
    return f"({factor})" if deriv == "1" else f"({factor})*{deriv}"
