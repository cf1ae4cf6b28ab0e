"""The LSTM cell (gates in PyTorch's order i, f, g, o): one step forward and its
backpropagation through time in NumPy beside the same as Excel formulas (``layers/cells.py``
says how a cell is read; ``layers/recurrent.py`` unrolls it).

Forward, at every step (h₀ = c₀ = 0), with the four gates' weighted inputs stacked in one
block z (rows i, f, g, o, H each):

    z = W·xₜ + U·hₜ₋₁ + b
    i = σ(zᵢ), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
    cₜ = f ⊙ cₜ₋₁ + i ⊙ g,   hₜ = o ⊙ tanh(cₜ)

Backward, from the last step to the first (∂Cₜ/∂hₜ from the layer above at step t):

    ∂C/∂hₜ = ∂Cₜ/∂hₜ + ∂C/∂hₜ₋₁ of step t + 1
    ∂C/∂cₜ = ∂C/∂hₜ ⊙ o ⊙ (1 − tanh²cₜ) + ∂C/∂cₜ₋₁ of step t + 1
    ∂C/∂z: i: ∂C/∂cₜ ⊙ g ⊙ i(1 − i); f: ∂C/∂cₜ ⊙ cₜ₋₁ ⊙ f(1 − f); g: ∂C/∂cₜ ⊙ i ⊙ (1 − g²);
           o: ∂C/∂hₜ ⊙ tanh cₜ ⊙ o(1 − o)
    ∂C/∂hₜ₋₁ = Uᵀ·∂C/∂z,   ∂C/∂cₜ₋₁ = ∂C/∂cₜ ⊙ f,   ∂C/∂xₜ = Wᵀ·∂C/∂z

The cell state's error passes back through ⊙ f alone, with no squashing derivative: that is why
it does not fade the way an Elman net's does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet.layers.cells import Arrays, Gradient, ParamRole, Role, StepFormula, StepRefs, added
from sheetnet.pairs import ops
from sheetnet.pairs.activations import SIGMOID, TANH


@dataclass(frozen=True)
class LSTM:
    name: str = "lstm"
    title: str = "an LSTM"
    formula: str = "cₜ = f ⊙ cₜ₋₁ + i ⊙ g, hₜ = o ⊙ tanh(cₜ)"
    gates: str = "ifgo"
    params: tuple[ParamRole, ...] = (
        ParamRole("W", 4, "x", "w", "w: the gates' weights on the input, rows i, f, g, o (a"
                                    " unit's in a column)"),
        ParamRole("U", 4, "h", "u", "u: the gates' weights on the state hₜ₋₁, rows i, f, g, o"),
        ParamRole("b", 4, "", "b", "b: the gates' biases, rows i, f, g, o"))
    forward_roles: tuple[Role, ...] = (
        Role("hprev", 1, "h", "ₜ₋₁", "hₜ₋₁: the state the step starts from (h₀ = 0)"),
        Role("cprev", 1, "c", "ₜ₋₁", "cₜ₋₁: the cell state the step starts from (c₀ = 0)"),
        Role("z", 4, "z", "ₜ (i f g o)",
             "z = W·xₜ + U·hₜ₋₁ + b: the four gates' weighted inputs, rows i, f, g, o"),
        Role("gates", 4, "gates", "ₜ (i f g o)",
             "i = σ(zᵢ), f = σ(z_f), g = tanh(z_g), o = σ(z_o)"),
        Role("c", 1, "c", "ₜ", "cₜ = f ⊙ cₜ₋₁ + i ⊙ g: the cell state"),
        Role("h", 1, "h", "ₜ", "hₜ = o ⊙ tanh(cₜ): the state after the step"))
    backward_roles: tuple[Role, ...] = (
        Role("dh", 1, "∂C/∂h", "ₜ",
             "∂C/∂hₜ = ∂C/∂hₜ from above + what step t + 1 sends back (its ∂C/∂hₜ₋₁)"),
        Role("dc", 1, "∂C/∂c", "ₜ", "∂C/∂cₜ = ∂C/∂hₜ ⊙ o ⊙ (1 − tanh²cₜ) + ∂C/∂cₜ₋₁ of step t + 1"),
        Role("dz", 4, "∂C/∂z", "ₜ", "∂C/∂zₜ: i ∂C/∂c·g·i(1−i), f ∂C/∂c·cₜ₋₁·f(1−f),"
                                   " g ∂C/∂c·i·(1−g²), o ∂C/∂h·tanh c·o(1−o)"),
        Role("dhprev", 1, "∂C/∂h", "ₜ₋₁",
             "∂C/∂hₜ₋₁ = Uᵀ·∂C/∂z: what the step sends back to the one before"),
        Role("dcprev", 1, "∂C/∂c", "ₜ₋₁", "∂C/∂cₜ₋₁ = ∂C/∂cₜ ⊙ f: the cell state's error, passed"
                                           " back"))
    gradients: tuple[Gradient, ...] = (Gradient("W", "dz", "x"), Gradient("U", "dz", "hprev"),
                                       Gradient("b", "dz"))
    error: str = "dz"
    input_weights: str = "W"

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, p: Mapping[str, np.ndarray], x: np.ndarray, hidden: int) -> Arrays:
        """x (W, T, m) -> hₜ₋₁, cₜ₋₁, cₜ, hₜ (W, T, H) and z, the gates (W, T, 4H)."""
        windows, steps, _ = x.shape
        h, c = np.zeros((windows, hidden)), np.zeros((windows, hidden))
        out = {k: np.zeros((windows, steps, hidden)) for k in ("hprev", "cprev", "c", "h")}
        out.update({k: np.zeros((windows, steps, 4 * hidden)) for k in ("z", "gates")})
        for t in range(steps):
            out["hprev"][:, t], out["cprev"][:, t] = h, c
            z = ops.weighted_input(x[:, t], p["W"], p["b"]) + h @ p["U"].T
            zi, zf, zg, zo = np.split(z, 4, axis=1)
            i, f, g, o = SIGMOID.value(zi), SIGMOID.value(zf), TANH.value(zg), SIGMOID.value(zo)
            c = f * c + i * g
            h = o * np.tanh(c)
            out["z"][:, t], out["gates"][:, t] = z, np.concatenate([i, f, g, o], axis=1)
            out["c"][:, t], out["h"][:, t] = c, h
        return out

    def backward(self, p: Mapping[str, np.ndarray], cache: Arrays, dh_out: np.ndarray
                 ) -> Arrays:
        windows, steps, hidden = dh_out.shape
        errors = {k: np.zeros((windows, steps, hidden)) for k in ("dh", "dc", "dhprev",
                                                                  "dcprev")}
        errors["dz"] = np.zeros((windows, steps, 4 * hidden))
        dh_later, dc_later = np.zeros((windows, hidden)), np.zeros((windows, hidden))
        for t in reversed(range(steps)):
            i, f, g, o = np.split(cache["gates"][:, t], 4, axis=1)
            tanh_c = np.tanh(cache["c"][:, t])
            dh = dh_out[:, t] + dh_later
            dc = dh * o * (1 - tanh_c**2) + dc_later
            dz = np.concatenate([dc * g * i * (1 - i), dc * cache["cprev"][:, t] * f * (1 - f),
                                 dc * i * (1 - g * g), dh * tanh_c * o * (1 - o)], axis=1)
            dh_later = ops.back_sum(dz, p["U"])
            dc_later = dc * f
            for k, v in (("dh", dh), ("dc", dc), ("dz", dz), ("dhprev", dh_later),
                         ("dcprev", dc_later)):
                errors[k][:, t] = v
        return errors

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, c: StepRefs, t: int, hidden: int) -> Iterator[StepFormula]:
        for k in range(hidden):
            yield "hprev", k, "0" if t == 0 else c.ref("h", k, t - 1)
            yield "cprev", k, "0" if t == 0 else c.ref("c", k, t - 1)
        for r in range(4 * hidden):
            yield "z", r, (f"SUMPRODUCT({c.unit('W', r)},{c.column('x', t)})"
                           f"+SUMPRODUCT({c.unit('U', r)},{c.column('hprev', t)})"
                           f"+{c.param('b', r)}")
            act = TANH if r // hidden == 2 else SIGMOID
            yield "gates", r, act.excel_value(c.ref("z", r, t))
        for k in range(hidden):
            i, f, g, o = (c.ref("gates", q * hidden + k, t) for q in range(4))
            yield "c", k, f"{f}*{c.ref('cprev', k, t)}+{i}*{g}"
            yield "h", k, f"{o}*TANH({c.ref('c', k, t)})"

    def backward_xl(self, c: StepRefs, t: int, hidden: int, last: bool
                    ) -> Iterator[StepFormula]:
        for k in range(hidden):
            i, f, g, o = (c.ref("gates", q * hidden + k, t) for q in range(4))
            cell, dh, dc = c.ref("c", k, t), c.ref("dh", k, t), c.ref("dc", k, t)
            yield "dh", k, added(c.ref("dh_out", k, t), None if last else c.ref("dhprev", k, t + 1))
            yield "dc", k, added(f"{dh}*{o}*(1-TANH({cell})^2)",
                                 None if last else c.ref("dcprev", k, t + 1))
            yield "dz", k, f"{dc}*{g}*{i}*(1-{i})"
            yield "dz", hidden + k, f"{dc}*{c.ref('cprev', k, t)}*{f}*(1-{f})"
            yield "dz", 2 * hidden + k, f"{dc}*{i}*(1-{g}^2)"
            yield "dz", 3 * hidden + k, f"{dh}*TANH({cell})*{o}*(1-{o})"
            yield "dcprev", k, f"{dc}*{f}"
        for k in range(hidden):
            yield "dhprev", k, ops.back_sum_xl([(c.param("U", r * hidden + k), c.ref("dz", r, t))
                                                for r in range(4 * hidden)])


LSTM_CELL = LSTM()
