"""Recurrent cells: one step of a recurrent layer, as a pair — its forward pass and its
backpropagation through time (BPTT) in NumPy, beside the same two passes as Excel formulas.
The layer (``layers/recurrent.py``) unrolls a cell through time; ``layers/lstm.py`` is the LSTM,
``layers/gru.py`` the GRU.

The Elman cell (``ELMAN``), at every step t of a window (h₀ = 0):

    zₜ = W_xh·xₜ + W_hh·hₜ₋₁ + b_h,   hₜ = tanh(zₜ)

and back, from the last step to the first, with ∂Cₜ/∂hₜ from the layer above at step t:

    ∂C/∂hₜ = ∂Cₜ/∂hₜ + W_hhᵀ·δₜ₊₁     (this step's output, plus what step t + 1 sends back)
    δₜ = ∂C/∂zₜ = ∂C/∂hₜ ⊙ (1 − hₜ²)
    ∂C/∂W_xh = Σₜ δₜ·xₜᵀ,  ∂C/∂W_hh = Σₜ δₜ·hₜ₋₁ᵀ,  ∂C/∂b_h = Σₜ δₜ,  ∂C/∂xₜ = W_xhᵀ·δₜ

Every window is computed at once (windows on axis 0, matrix products over them); the steps are a
loop, since each needs the one before. In the cells each unit's weights are a column (unit i's m
input weights; its H recurrent ones), so zₜ,ᵢ is two SUMPRODUCTs of those columns with the
columns xₜ and hₜ₋₁, and what a step sends back, Σᵢ w_hh,ᵢₖ·δₜ,ᵢ, is written term by term, as
the book writes a dense layer's.

A cell names its blocks by role (``h``, ``dh`` …) and reads its cells through ``StepRefs``,
which the layer maps to the blocks of its tag.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sheetnet.pairs import ops
from sheetnet.pairs.activations import TANH

Arrays = dict[str, np.ndarray]
StepFormula = tuple[str, int, str]  # (role, row, formula) at one step of the current window


class StepRefs(Protocol):
    """The cells a cell's formulas read in the current window (``layers/recurrent.py``)."""

    def ref(self, role: str, r: int, t: int) -> str:
        """Row r of a block at step t (``dh_out``: the error from the layer above)."""

    def column(self, role: str, t: int) -> str:
        """A block's column at step t, as a range."""

    def unit(self, param: str, i: int) -> str:
        """Unit i's weights of a weight matrix (its row, drawn as a column of cells)."""

    def param(self, name: str, r: int) -> str: ...


@dataclass(frozen=True)
class Gradient:
    """A parameter's gradient in a window: Σ over the steps of ``errors`` row i against
    ``inputs`` row j (``inputs`` None: a bias, Σ of the errors)."""

    param: str
    errors: str
    inputs: str | None = None


@dataclass(frozen=True)
class Role:
    """A block of the cell: its role (its name before the layer's tag), rows per unit (1, or
    4 for the LSTM's stacked gates, 3 for the GRU's), its letter and subscript (hₜ₋₁: "h",
    "ₜ₋₁"), and what it is."""

    name: str
    per_unit: int
    letter: str
    index: str
    description: str


@dataclass(frozen=True)
class ParamRole:
    """A parameter of the cell: role, rows per unit, whether it reads the input (m columns), the
    state (H) or nothing (a bias), its symbol and what it is."""

    name: str
    per_unit: int
    reads: str  # "x", "h" or "" (a bias)
    symbol: str
    description: str


class Cell(Protocol):
    """A recurrent cell's math; see the module's docstring."""

    @property
    def name(self) -> str: ...

    @property
    def title(self) -> str: ...

    @property
    def formula(self) -> str: ...

    @property
    def gates(self) -> str:
        """The letters of its gates in the order their rows stack ("ifgo"; "": none)."""

    @property
    def params(self) -> tuple[ParamRole, ...]: ...

    @property
    def forward_roles(self) -> tuple[Role, ...]: ...

    @property
    def backward_roles(self) -> tuple[Role, ...]: ...

    @property
    def gradients(self) -> tuple[Gradient, ...]: ...

    @property
    def error(self) -> str:
        """The role whose rows the input weights multiply going back (δ, ∂C/∂z)."""

    @property
    def input_weights(self) -> str:
        """The parameter that reads xₜ."""

    def forward(self, p: Mapping[str, np.ndarray], x: np.ndarray, hidden: int) -> Arrays: ...

    def backward(self, p: Mapping[str, np.ndarray], cache: Arrays, dh_out: np.ndarray
                 ) -> Arrays: ...

    def forward_xl(self, c: StepRefs, t: int, hidden: int) -> Iterator[StepFormula]: ...

    def backward_xl(self, c: StepRefs, t: int, hidden: int, last: bool
                    ) -> Iterator[StepFormula]: ...


def added(a: str, b: str | None) -> str:
    """a + b, or a alone (no b: nothing comes from a later step)."""
    return a if b is None else f"{a}+{b}"


@dataclass(frozen=True)
class Elman:
    name: str = "rnn"
    title: str = "an Elman RNN"
    formula: str = "hₜ = tanh(W_xh·xₜ + W_hh·hₜ₋₁ + b_h)"
    gates: str = ""
    params: tuple[ParamRole, ...] = (
        ParamRole("Wxh", 1, "x", "w_xh", "w_xh,ᵢⱼ: unit i's weight on input j (its column)"),
        ParamRole("Whh", 1, "h", "w_hh", "w_hh,ᵢₖ: unit i's weight on the state's unit k"),
        ParamRole("bh", 1, "", "b_h", "b_h,ᵢ: unit i's bias"))
    forward_roles: tuple[Role, ...] = (
        Role("hprev", 1, "h", "ₜ₋₁", "hₜ₋₁: the state the step starts from (h₀ = 0)"),
        Role("z", 1, "z", "ₜ", "zₜ = W_xh·xₜ + W_hh·hₜ₋₁ + b_h"),
        Role("h", 1, "h", "ₜ", "hₜ = tanh(zₜ): the state after the step"))
    backward_roles: tuple[Role, ...] = (
        Role("dh", 1, "∂C/∂h", "ₜ",
             "∂C/∂hₜ = ∂C/∂hₜ from above + what step t + 1 sends back (its ∂C/∂hₜ₋₁)"),
        Role("delta", 1, "δ", "ₜ", "δₜ = ∂C/∂zₜ = ∂C/∂hₜ ⊙ (1 − hₜ²)"),
        Role("dhprev", 1, "∂C/∂h", "ₜ₋₁",
             "∂C/∂hₜ₋₁ = Σᵢ w_hh,ᵢₖ·δₜ,ᵢ: what the step sends back to the one before"))
    gradients: tuple[Gradient, ...] = (Gradient("Wxh", "delta", "x"),
                                       Gradient("Whh", "delta", "hprev"),
                                       Gradient("bh", "delta"))
    error: str = "delta"
    input_weights: str = "Wxh"

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, p: Mapping[str, np.ndarray], x: np.ndarray, hidden: int) -> Arrays:
        """x (W, T, m): W windows' steps -> hₜ₋₁, zₜ, hₜ, each (W, T, H)."""
        windows, steps, _ = x.shape
        h = np.zeros((windows, hidden))
        out = {k: np.zeros((windows, steps, hidden)) for k in ("hprev", "z", "h")}
        for t in range(steps):
            out["hprev"][:, t] = h
            z = ops.weighted_input(x[:, t], p["Wxh"], p["bh"]) + h @ p["Whh"].T
            h = TANH.value(z)
            out["z"][:, t], out["h"][:, t] = z, h
        return out

    def backward(self, p: Mapping[str, np.ndarray], cache: Arrays, dh_out: np.ndarray
                 ) -> Arrays:
        """dh_out (W, T, H): ∂Cₜ/∂hₜ from the layer above -> ∂C/∂hₜ, δₜ, ∂C/∂hₜ₋₁."""
        windows, steps, hidden = dh_out.shape
        errors = {k: np.zeros((windows, steps, hidden)) for k in ("dh", "delta", "dhprev")}
        later = np.zeros((windows, hidden))  # ∂C/∂hₜ that step t + 1 sends back
        for t in reversed(range(steps)):
            dh = dh_out[:, t] + later
            delta = ops.hidden_error(dh, TANH, cache["z"][:, t], cache["h"][:, t])
            later = ops.back_sum(delta, p["Whh"])
            errors["dh"][:, t], errors["delta"][:, t], errors["dhprev"][:, t] = dh, delta, later
        return errors

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, c: StepRefs, t: int, hidden: int) -> Iterator[StepFormula]:
        for i in range(hidden):
            yield "hprev", i, "0" if t == 0 else c.ref("h", i, t - 1)
            yield "z", i, (f"SUMPRODUCT({c.unit('Wxh', i)},{c.column('x', t)})"
                           f"+SUMPRODUCT({c.unit('Whh', i)},{c.column('hprev', t)})"
                           f"+{c.param('bh', i)}")
            yield "h", i, TANH.excel_value(c.ref("z", i, t))

    def backward_xl(self, c: StepRefs, t: int, hidden: int, last: bool
                    ) -> Iterator[StepFormula]:
        for i in range(hidden):
            yield "dh", i, added(c.ref("dh_out", i, t), None if last else c.ref("dhprev", i, t + 1))
            yield "delta", i, ops.hidden_error_xl(c.ref("dh", i, t), TANH, c.ref("z", i, t),
                                                  c.ref("h", i, t))
        for k in range(hidden):
            yield "dhprev", k, ops.back_sum_xl([(c.param("Whh", i * hidden + k),
                                                 c.ref("delta", i, t)) for i in range(hidden)])


ELMAN = Elman()
