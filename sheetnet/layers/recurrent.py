"""Recurrent cells unrolled through time, each a pair: its forward pass and its backpropagation
through time (BPTT) in NumPy, beside the same two passes as Excel formulas.

The Elman cell (``ELMAN``), at every step t of a window (h₀ = 0):

    zₜ = W_xh·xₜ + W_hh·hₜ₋₁ + b_h,   hₜ = tanh(zₜ)

and back, from the last step to the first, with ∂Cₜ/∂hₜ from the output at step t:

    ∂C/∂hₜ = ∂Cₜ/∂hₜ + W_hhᵀ·δₜ₊₁     (this step's output, plus what step t + 1 sends back)
    δₜ = ∂C/∂zₜ = ∂C/∂hₜ ⊙ (1 − hₜ²)
    ∂C/∂W_xh = Σₜ δₜ·xₜᵀ,  ∂C/∂W_hh = Σₜ δₜ·hₜ₋₁ᵀ,  ∂C/∂b_h = Σₜ δₜ

The LSTM cell is ``layers/lstm.py``. Every window is computed at once (windows on axis 0,
matrix products over them); the steps are a loop, since each needs the one before. In the
cells each unit's weights are a column (unit i's V input weights, then its H recurrent ones),
so zₜ,ᵢ is two SUMPRODUCTs of those columns with the columns xₜ and hₜ₋₁, and what a step sends
back, Σᵢ w_hh,ᵢₖ·δₜ,ᵢ, is written term by term, as the book writes a dense layer's.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sheetnet.notation import indices, sub
from sheetnet.pairs import ops
from sheetnet.pairs.activations import TANH

Cache = dict[str, np.ndarray]
Formula = tuple[str, int, str]  # (block, row, formula) at one window's step


class Refs(Protocol):
    """The cells a cell's formulas read at window w, step t (see ``workbook/rnn_layout.py``)."""

    def ref(self, name: str, r: int, w: int, t: int) -> str: ...

    def column(self, name: str, w: int, t: int) -> str: ...

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


def weight_labels(symbol: str, rows: int, cols: int) -> list[str]:
    return [f"{symbol}{indices(i + 1, j + 1)}" for i in range(rows) for j in range(cols)]


def bias_labels(symbol: str, rows: int) -> list[str]:
    return [f"{symbol}{sub(i + 1)}" for i in range(rows)]


def back_xl(pairs: Sequence[tuple[str, str]]) -> str:
    """Σᵢ wᵢₖ·δᵢ, term by term (the error a step sends back, or the output's to hₜ)."""
    return ops.back_sum_xl(list(pairs))


def gradient_xl(errors: str, inputs: str) -> str:
    """A window's ∂C/∂w summed over its steps: SUMPRODUCT(δ of the unit across the steps, the
    input across the steps)."""
    return f"SUMPRODUCT({errors},{inputs})"


def totals(own: Mapping[str, np.ndarray], weights: np.ndarray | None) -> dict[str, np.ndarray]:
    """Σ over the windows (those ``weights`` marks)."""
    return {k: ops.total(v, weights) for k, v in own.items()}


def added(a: str, b: str | None) -> str:
    """a + b, or a alone (no b: nothing comes from a later step)."""
    return a if b is None else f"{a}+{b}"


@dataclass(frozen=True)
class Elman:
    name: str = "rnn"
    title: str = "an Elman RNN"

    def shapes(self, vocab: int, hidden: int) -> dict[str, tuple[int, ...]]:
        return {"Wxh": (hidden, vocab), "Whh": (hidden, hidden), "bh": (hidden,)}

    def symbols(self) -> dict[str, str]:
        return {"Wxh": "w_xh", "Whh": "w_hh", "bh": "b_h"}

    def hidden_of(self, p: Mapping[str, np.ndarray]) -> int:
        return int(p["bh"].shape[0])

    forward_blocks = (("hprev", "H", "hₜ₋₁"), ("z", "H", "zₜ"), ("h", "H", "hₜ"))
    backward_blocks = (("dh", "H", "∂C/∂hₜ"), ("delta", "H", "δₜ"),
                       ("dhprev", "H", "∂C/∂hₜ₋₁"))
    gradients = (Gradient("Wxh", "delta", "x"), Gradient("Whh", "delta", "hprev"),
                 Gradient("bh", "delta"))
    descriptions = {
        "hprev": "hₜ₋₁: the state the step starts from (h₀ = 0)",
        "z": "zₜ = W_xh·xₜ + W_hh·hₜ₋₁ + b_h",
        "h": "hₜ = tanh(zₜ): the state after the step",
        "dh": "∂C/∂hₜ = ∂Cₜ/∂hₜ + what step t + 1 sends back (its ∂C/∂hₜ₋₁)",
        "delta": "δₜ = ∂C/∂zₜ = ∂C/∂hₜ ⊙ (1 − hₜ²)",
        "dhprev": "∂C/∂hₜ₋₁ = Σᵢ w_hh,ᵢₖ·δₜ,ᵢ: what the step sends back to the one before",
    }
    formula = "hₜ = tanh(W_xh·xₜ + W_hh·hₜ₋₁ + b_h)"

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, p: Mapping[str, np.ndarray], x: np.ndarray) -> Cache:
        """x (W, T, V) one-hot steps of W windows -> hₜ₋₁, zₜ, hₜ, each (W, T, H)."""
        windows, steps, _ = x.shape
        hidden = self.hidden_of(p)
        h = np.zeros((windows, hidden))
        out = {k: np.zeros((windows, steps, hidden)) for k in ("hprev", "z", "h")}
        for t in range(steps):
            out["hprev"][:, t] = h
            z = ops.weighted_input(x[:, t], p["Wxh"], p["bh"]) + h @ p["Whh"].T
            h = TANH.value(z)
            out["z"][:, t], out["h"][:, t] = z, h
        return out

    def backward(self, p: Mapping[str, np.ndarray], x: np.ndarray, cache: Cache,
                 dh_out: np.ndarray) -> Cache:
        """dh_out (W, T, H): ∂Cₜ/∂hₜ from each step's output -> ∂C/∂hₜ, δₜ, ∂C/∂hₜ₋₁."""
        windows, steps, hidden = dh_out.shape
        errors = {k: np.zeros((windows, steps, hidden)) for k in ("dh", "delta", "dhprev")}
        later = np.zeros((windows, hidden))  # ∂C/∂hₜ that step t + 1 sends back
        for t in reversed(range(steps)):
            dh = dh_out[:, t] + later
            delta = ops.hidden_error(dh, TANH, cache["z"][:, t], cache["h"][:, t])
            later = ops.back_sum(delta, p["Whh"])
            errors["dh"][:, t], errors["delta"][:, t], errors["dhprev"][:, t] = dh, delta, later
        return errors

    def per_window(self, x: np.ndarray, cache: Cache, errors: Cache) -> dict[str, np.ndarray]:
        """Each window's own gradients, summed over its steps: (W, …) each."""
        return own_gradients(self.gradients, {"x": x, **cache, **errors})

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, c: Refs, w: int, t: int, hidden: int) -> Iterator[Formula]:
        for i in range(hidden):
            yield "hprev", i, "0" if t == 0 else c.ref("h", i, w, t - 1)
            yield "z", i, (f"SUMPRODUCT({c.unit('Wxh', i)},{c.column('x', w, t)})"
                           f"+SUMPRODUCT({c.unit('Whh', i)},{c.column('hprev', w, t)})"
                           f"+{c.param('bh', i)}")
            yield "h", i, TANH.excel_value(c.ref("z", i, w, t))

    def backward_xl(self, c: Refs, w: int, t: int, hidden: int, last: bool
                    ) -> Iterator[Formula]:
        for i in range(hidden):
            yield "dh", i, added(c.ref("dh_out", i, w, t),
                                 None if last else c.ref("dhprev", i, w, t + 1))
            yield "delta", i, ops.hidden_error_xl(c.ref("dh", i, w, t), TANH,
                                                  c.ref("z", i, w, t), c.ref("h", i, w, t))
        for k in range(hidden):
            yield "dhprev", k, back_xl([(c.param("Whh", i * hidden + k), c.ref("delta", i, w, t))
                                        for i in range(hidden)])


def own_gradients(gradients: Sequence[Gradient], blocks: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
    """Each window's gradient of each parameter: Σₜ errorsₜ·inputsₜᵀ (or Σₜ errorsₜ)."""
    out = {}
    for g in gradients:
        errors = blocks[g.errors]
        out[g.param] = (errors.sum(axis=1) if g.inputs is None
                        else np.einsum("wti,wtj->wij", errors, blocks[g.inputs]))
    return out


ELMAN = Elman()
