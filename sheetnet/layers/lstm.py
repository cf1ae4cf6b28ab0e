"""The LSTM cell (gates in PyTorch's order i, f, g, o), unrolled through time: forward and
backpropagation through time in NumPy beside the same as Excel formulas.

Forward, at every step (h₀ = c₀ = 0), with the four gates' weighted inputs stacked in one
block z (rows i, f, g, o, H each):

    z = W·xₜ + U·hₜ₋₁ + b
    i = σ(zᵢ), f = σ(z_f), g = tanh(z_g), o = σ(z_o)
    cₜ = f ⊙ cₜ₋₁ + i ⊙ g,   hₜ = o ⊙ tanh(cₜ)

Backward, from the last step to the first (∂Cₜ/∂hₜ from the step's output):

    ∂C/∂hₜ = ∂Cₜ/∂hₜ + ∂C/∂hₜ₋₁ of step t + 1
    ∂C/∂cₜ = ∂C/∂hₜ ⊙ o ⊙ (1 − tanh²cₜ) + ∂C/∂cₜ₋₁ of step t + 1
    ∂C/∂z: i: ∂C/∂cₜ ⊙ g ⊙ i(1 − i); f: ∂C/∂cₜ ⊙ cₜ₋₁ ⊙ f(1 − f); g: ∂C/∂cₜ ⊙ i ⊙ (1 − g²);
           o: ∂C/∂hₜ ⊙ tanh cₜ ⊙ o(1 − o)
    ∂C/∂hₜ₋₁ = Uᵀ·∂C/∂z,   ∂C/∂cₜ₋₁ = ∂C/∂cₜ ⊙ f

The cell state's error passes back through ⊙ f alone, with no squashing derivative: that is why
it does not fade the way an Elman net's does.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet.layers.recurrent import Cache, Formula, Gradient, Refs, added, back_xl, own_gradients
from sheetnet.pairs import ops
from sheetnet.pairs.activations import SIGMOID, TANH

GATES = ("i", "f", "g", "o")


def _sigmoid(z: np.ndarray) -> np.ndarray:
    return SIGMOID.value(z)


@dataclass(frozen=True)
class LSTM:
    name: str = "lstm"
    title: str = "an LSTM"

    def shapes(self, vocab: int, hidden: int) -> dict[str, tuple[int, ...]]:
        return {"W": (4 * hidden, vocab), "U": (4 * hidden, hidden), "b": (4 * hidden,)}

    def symbols(self) -> dict[str, str]:
        return {"W": "w", "U": "u", "b": "b"}

    def hidden_of(self, p: Mapping[str, np.ndarray]) -> int:
        return int(p["b"].shape[0]) // 4

    forward_blocks = (("hprev", "H", "hₜ₋₁"), ("cprev", "H", "cₜ₋₁"), ("z", "4H", "z (i f g o)"),
                      ("gates", "4H", "i f g o"), ("c", "H", "cₜ"), ("h", "H", "hₜ"))
    backward_blocks = (("dh", "H", "∂C/∂hₜ"), ("dc", "H", "∂C/∂cₜ"), ("dz", "4H", "∂C/∂z"),
                       ("dhprev", "H", "∂C/∂hₜ₋₁"), ("dcprev", "H", "∂C/∂cₜ₋₁"))
    gradients = (Gradient("W", "dz", "x"), Gradient("U", "dz", "hprev"), Gradient("b", "dz"))
    descriptions = {
        "hprev": "hₜ₋₁: the state the step starts from (h₀ = 0)",
        "cprev": "cₜ₋₁: the cell state the step starts from (c₀ = 0)",
        "z": "z = W·xₜ + U·hₜ₋₁ + b: the four gates' weighted inputs, rows i, f, g, o",
        "gates": "i = σ(zᵢ), f = σ(z_f), g = tanh(z_g), o = σ(z_o)",
        "c": "cₜ = f ⊙ cₜ₋₁ + i ⊙ g: the cell state",
        "h": "hₜ = o ⊙ tanh(cₜ): the state after the step",
        "dh": "∂C/∂hₜ = ∂Cₜ/∂hₜ + what step t + 1 sends back (its ∂C/∂hₜ₋₁)",
        "dc": "∂C/∂cₜ = ∂C/∂hₜ ⊙ o ⊙ (1 − tanh²cₜ) + ∂C/∂cₜ₋₁ of step t + 1",
        "dz": "∂C/∂z: i ∂C/∂c·g·i(1−i), f ∂C/∂c·cₜ₋₁·f(1−f), g ∂C/∂c·i·(1−g²),"
              " o ∂C/∂h·tanh c·o(1−o)",
        "dhprev": "∂C/∂hₜ₋₁ = Uᵀ·∂C/∂z: what the step sends back to the one before",
        "dcprev": "∂C/∂cₜ₋₁ = ∂C/∂cₜ ⊙ f: the cell state's error, passed back",
    }
    formula = "cₜ = f ⊙ cₜ₋₁ + i ⊙ g, hₜ = o ⊙ tanh(cₜ)"

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, p: Mapping[str, np.ndarray], x: np.ndarray) -> Cache:
        windows, steps, _ = x.shape
        hidden = self.hidden_of(p)
        h, c = np.zeros((windows, hidden)), np.zeros((windows, hidden))
        out = {k: np.zeros((windows, steps, hidden)) for k in ("hprev", "cprev", "c", "h")}
        out.update({k: np.zeros((windows, steps, 4 * hidden)) for k in ("z", "gates")})
        for t in range(steps):
            out["hprev"][:, t], out["cprev"][:, t] = h, c
            z = ops.weighted_input(x[:, t], p["W"], p["b"]) + h @ p["U"].T
            zi, zf, zg, zo = np.split(z, 4, axis=1)
            i, f, g, o = _sigmoid(zi), _sigmoid(zf), TANH.value(zg), _sigmoid(zo)
            c = f * c + i * g
            h = o * np.tanh(c)
            out["z"][:, t], out["gates"][:, t] = z, np.concatenate([i, f, g, o], axis=1)
            out["c"][:, t], out["h"][:, t] = c, h
        return out

    def backward(self, p: Mapping[str, np.ndarray], x: np.ndarray, cache: Cache,
                 dh_out: np.ndarray) -> Cache:
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

    def per_window(self, x: np.ndarray, cache: Cache, errors: Cache) -> dict[str, np.ndarray]:
        return own_gradients(self.gradients, {"x": x, **cache, **errors})

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, c: Refs, w: int, t: int, hidden: int) -> Iterator[Formula]:
        for k in range(hidden):
            yield "hprev", k, "0" if t == 0 else c.ref("h", k, w, t - 1)
            yield "cprev", k, "0" if t == 0 else c.ref("c", k, w, t - 1)
        for r in range(4 * hidden):
            yield "z", r, (f"SUMPRODUCT({c.unit('W', r)},{c.column('x', w, t)})"
                           f"+SUMPRODUCT({c.unit('U', r)},{c.column('hprev', w, t)})"
                           f"+{c.param('b', r)}")
            act = TANH if r // hidden == 2 else SIGMOID
            yield "gates", r, act.excel_value(c.ref("z", r, w, t))
        for k in range(hidden):
            i, f, g, o = (c.ref("gates", q * hidden + k, w, t) for q in range(4))
            yield "c", k, f"{f}*{c.ref('cprev', k, w, t)}+{i}*{g}"
            yield "h", k, f"{o}*TANH({c.ref('c', k, w, t)})"

    def backward_xl(self, c: Refs, w: int, t: int, hidden: int, last: bool
                    ) -> Iterator[Formula]:
        for k in range(hidden):
            i, f, g, o = (c.ref("gates", q * hidden + k, w, t) for q in range(4))
            cell, dh, dc = c.ref("c", k, w, t), c.ref("dh", k, w, t), c.ref("dc", k, w, t)
            yield "dh", k, added(c.ref("dh_out", k, w, t),
                                 None if last else c.ref("dhprev", k, w, t + 1))
            yield "dc", k, added(f"{dh}*{o}*(1-TANH({cell})^2)",
                                 None if last else c.ref("dcprev", k, w, t + 1))
            yield "dz", k, f"{dc}*{g}*{i}*(1-{i})"
            yield "dz", hidden + k, f"{dc}*{c.ref('cprev', k, w, t)}*{f}*(1-{f})"
            yield "dz", 2 * hidden + k, f"{dc}*{i}*(1-{g}^2)"
            yield "dz", 3 * hidden + k, f"{dh}*TANH({cell})*{o}*(1-{o})"
            yield "dcprev", k, f"{dc}*{f}"
        for k in range(hidden):
            yield "dhprev", k, back_xl([(c.param("U", r * hidden + k), c.ref("dz", r, w, t))
                                        for r in range(4 * hidden)])


LSTM_CELL = LSTM()
