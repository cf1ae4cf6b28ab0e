"""The GRU cell, as torch.nn.GRU computes it (gates r, z, n in that order): one step forward and
its backpropagation through time in NumPy beside the same as Excel formulas (``layers/cells.py``
says how a cell is read; ``layers/recurrent.py`` unrolls it).

Forward, at every step (h₀ = 0), the gates' inputs from xₜ and from hₜ₋₁ kept apart (torch's
bias_ih b and bias_hh bU), since the candidate n reads the state's part through the reset gate:

    zˣ = W·xₜ + b,   zʰ = U·hₜ₋₁ + bU          (rows r, z, n, H each)
    r = σ(zˣ_r + zʰ_r),   z = σ(zˣ_z + zʰ_z),   n = tanh(zˣ_n + r ⊙ zʰ_n)
    hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁

Backward, from the last step to the first (∂Cₜ/∂hₜ from the layer above at step t):

    ∂C/∂hₜ = ∂Cₜ/∂hₜ + ∂C/∂hₜ₋₁ of step t + 1
    ∂C/∂zˣ: n: ∂C/∂hₜ ⊙ (1 − z) ⊙ (1 − n²);  z: ∂C/∂hₜ ⊙ (hₜ₋₁ − n) ⊙ z(1 − z);
            r: ∂C/∂zˣ_n ⊙ zʰ_n ⊙ r(1 − r)
    ∂C/∂zʰ: r and z as ∂C/∂zˣ;  n: ∂C/∂zˣ_n ⊙ r
    ∂C/∂hₜ₋₁ = Uᵀ·∂C/∂zʰ + ∂C/∂hₜ ⊙ z,   ∂C/∂xₜ = Wᵀ·∂C/∂zˣ

The state's error passes back through ⊙ z directly as well as through U: where the update gate
is near 1 a step copies its state, and its error, unchanged.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet.layers.cells import Arrays, Gradient, ParamRole, Role, StepFormula, StepRefs, added
from sheetnet.pairs import ops
from sheetnet.pairs.activations import SIGMOID, TANH


@dataclass(frozen=True)
class GRU:
    name: str = "gru"
    title: str = "a GRU"
    formula: str = "hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁, n = tanh(W_n·xₜ + b_n + r ⊙ (U_n·hₜ₋₁ + bU_n))"
    gates: str = "rzn"
    params: tuple[ParamRole, ...] = (
        ParamRole("W", 3, "x", "w", "w: the gates' weights on the input, rows r, z, n (a unit's"
                                    " in a column)"),
        ParamRole("U", 3, "h", "u", "u: the gates' weights on the state hₜ₋₁, rows r, z, n"),
        ParamRole("b", 3, "", "b", "b: the gates' biases on the input's side (torch's"
                                   " bias_ih), rows r, z, n"),
        ParamRole("bU", 3, "", "bU", "bU: the gates' biases on the state's side (torch's"
                                     " bias_hh), rows r, z, n; for r and z it adds to b, so"
                                     " the two get the same gradient and move together"))
    forward_roles: tuple[Role, ...] = (
        Role("hprev", 1, "h", "ₜ₋₁", "hₜ₋₁: the state the step starts from (h₀ = 0)"),
        Role("zx", 3, "zˣ", "ₜ (r z n)", "zˣ = W·xₜ + b: the gates' inputs from xₜ, rows r, z, n"),
        Role("zh", 3, "zʰ", "ₜ (r z n)",
             "zʰ = U·hₜ₋₁ + bU: the gates' inputs from the state, rows r, z, n"),
        Role("gates", 3, "gates", "ₜ (r z n)",
             "r = σ(zˣ_r + zʰ_r), z = σ(zˣ_z + zʰ_z), n = tanh(zˣ_n + r ⊙ zʰ_n)"),
        Role("h", 1, "h", "ₜ", "hₜ = (1 − z) ⊙ n + z ⊙ hₜ₋₁: the state after the step"))
    backward_roles: tuple[Role, ...] = (
        Role("dh", 1, "∂C/∂h", "ₜ",
             "∂C/∂hₜ = ∂C/∂hₜ from above + what step t + 1 sends back (its ∂C/∂hₜ₋₁)"),
        Role("dzx", 3, "∂C/∂zˣ", "ₜ", "∂C/∂zˣₜ, rows r, z, n: n ∂C/∂hₜ·(1−z)·(1−n²),"
                                      " z ∂C/∂hₜ·(hₜ₋₁−n)·z(1−z), r ∂C/∂zˣ_n·zʰ_n·r(1−r)"),
        Role("dzh", 3, "∂C/∂zʰ", "ₜ", "∂C/∂zʰₜ, rows r, z, n: r and z as ∂C/∂zˣₜ, n ∂C/∂zˣ_n·r"),
        Role("dhprev", 1, "∂C/∂h", "ₜ₋₁", "∂C/∂hₜ₋₁ = Uᵀ·∂C/∂zʰ + ∂C/∂hₜ ⊙ z: what the step"
                                          " sends back to the one before"))
    gradients: tuple[Gradient, ...] = (Gradient("W", "dzx", "x"), Gradient("U", "dzh", "hprev"),
                                       Gradient("b", "dzx"), Gradient("bU", "dzh"))
    error: str = "dzx"
    input_weights: str = "W"

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, p: Mapping[str, np.ndarray], x: np.ndarray, hidden: int) -> Arrays:
        """x (W, T, m) -> hₜ₋₁, hₜ (W, T, H) and zˣ, zʰ, the gates (W, T, 3H)."""
        windows, steps, _ = x.shape
        h = np.zeros((windows, hidden))
        out = {k: np.zeros((windows, steps, hidden)) for k in ("hprev", "h")}
        out.update({k: np.zeros((windows, steps, 3 * hidden)) for k in ("zx", "zh", "gates")})
        zx_all = ops.weighted_input(x, p["W"], p["b"])  # every step's at once: it reads xₜ only
        for t in range(steps):
            out["hprev"][:, t] = h
            zx, zh = zx_all[:, t], ops.weighted_input(h, p["U"], p["bU"])
            xr, xz, xn = np.split(zx, 3, axis=1)
            hr, hz, hn = np.split(zh, 3, axis=1)
            r, z = SIGMOID.value(xr + hr), SIGMOID.value(xz + hz)
            n = TANH.value(xn + r * hn)
            h = (1 - z) * n + z * h
            out["zx"][:, t], out["zh"][:, t] = zx, zh
            out["gates"][:, t], out["h"][:, t] = np.concatenate([r, z, n], axis=1), h
        return out

    def backward(self, p: Mapping[str, np.ndarray], cache: Arrays, dh_out: np.ndarray
                 ) -> Arrays:
        windows, steps, hidden = dh_out.shape
        errors = {k: np.zeros((windows, steps, hidden)) for k in ("dh", "dhprev")}
        errors.update({k: np.zeros((windows, steps, 3 * hidden)) for k in ("dzx", "dzh")})
        later = np.zeros((windows, hidden))
        for t in reversed(range(steps)):
            r, z, n = np.split(cache["gates"][:, t], 3, axis=1)
            hn = cache["zh"][:, t, 2 * hidden:]
            dh = dh_out[:, t] + later
            dn = dh * (1 - z) * (1 - n * n)
            dz = dh * (cache["hprev"][:, t] - n) * z * (1 - z)
            dr = dn * hn * r * (1 - r)
            dzh = np.concatenate([dr, dz, dn * r], axis=1)
            later = ops.back_sum(dzh, p["U"]) + dh * z
            errors["dh"][:, t], errors["dhprev"][:, t] = dh, later
            errors["dzx"][:, t], errors["dzh"][:, t] = np.concatenate([dr, dz, dn], axis=1), dzh
        return errors

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, c: StepRefs, t: int, hidden: int) -> Iterator[StepFormula]:
        for k in range(hidden):
            yield "hprev", k, "0" if t == 0 else c.ref("h", k, t - 1)
        for r in range(3 * hidden):
            yield "zx", r, f"SUMPRODUCT({c.unit('W', r)},{c.column('x', t)})+{c.param('b', r)}"
            yield "zh", r, (f"SUMPRODUCT({c.unit('U', r)},{c.column('hprev', t)})"
                            f"+{c.param('bU', r)}")
        for k in range(hidden):
            for r in (k, hidden + k):  # r and z: σ of both parts' sum
                yield "gates", r, SIGMOID.excel_value(f"({c.ref('zx', r, t)}+{c.ref('zh', r, t)})")
            reset, row = c.ref("gates", k, t), 2 * hidden + k
            yield "gates", row, TANH.excel_value(f"{c.ref('zx', row, t)}+{reset}"
                                                 f"*{c.ref('zh', row, t)}")
        for k in range(hidden):
            z, n = c.ref("gates", hidden + k, t), c.ref("gates", 2 * hidden + k, t)
            yield "h", k, f"(1-{z})*{n}+{z}*{c.ref('hprev', k, t)}"

    def backward_xl(self, c: StepRefs, t: int, hidden: int, last: bool
                    ) -> Iterator[StepFormula]:
        for k in range(hidden):
            r, z, n = (c.ref("gates", q * hidden + k, t) for q in range(3))
            dh = c.ref("dh", k, t)
            dn = c.ref("dzx", 2 * hidden + k, t)
            yield "dh", k, added(c.ref("dh_out", k, t), None if last else c.ref("dhprev", k, t + 1))
            yield "dzx", 2 * hidden + k, f"{dh}*(1-{z})*(1-{n}^2)"
            yield "dzx", hidden + k, f"{dh}*({c.ref('hprev', k, t)}-{n})*{z}*(1-{z})"
            yield "dzx", k, f"{dn}*{c.ref('zh', 2 * hidden + k, t)}*{r}*(1-{r})"
            yield "dzh", k, c.ref("dzx", k, t)
            yield "dzh", hidden + k, c.ref("dzx", hidden + k, t)
            yield "dzh", 2 * hidden + k, f"{dn}*{r}"
        for k in range(hidden):
            through_u = ops.back_sum_xl([(c.param("U", r * hidden + k), c.ref("dzh", r, t))
                                         for r in range(3 * hidden)])
            yield "dhprev", k, f"{through_u}+{c.ref('dh', k, t)}*{c.ref('gates', hidden + k, t)}"


GRU_CELL = GRU()
