"""The Elman recurrent cell, unrolled through time: its forward pass and its backpropagation
through time (BPTT), in NumPy beside the same two passes as Excel formulas.

Forward, at every step t of a window (h₀ = 0):

    zₜ = W_xh·xₜ + W_hh·hₜ₋₁ + b_h,   hₜ = tanh(zₜ)

Backward, from the last step to the first, with ∂C/∂hₜ from the output at step t (``dh_out``):

    ∂C/∂hₜ = dh_outₜ + W_hhᵀ·δₜ₊₁      (what comes from this step's output, plus what flows back
                                       from step t + 1; nothing after the last step)
    δₜ = ∂C/∂zₜ = ∂C/∂hₜ ⊙ (1 − hₜ²)
    ∂C/∂W_xh = Σₜ δₜ·xₜᵀ,  ∂C/∂W_hh = Σₜ δₜ·hₜ₋₁ᵀ,  ∂C/∂b_h = Σₜ δₜ

Every window is computed at once (windows on axis 0, matrix products over them); the steps are
a loop, since each needs the one before. In the cells each unit's weights are a column of
cells (unit i's V input weights, then its H recurrent weights), so zₜ,ᵢ is two SUMPRODUCTs of
those columns with the columns xₜ and hₜ₋₁, and ∂C/∂hₜ₋₁ the sum Σᵢ w_hh,ᵢₖ·δₜ,ᵢ written term by
term, as the book writes a dense layer's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sheetnet.pairs import ops
from sheetnet.pairs.activations import TANH

Cache = dict[str, np.ndarray]


def forward(p: Mapping[str, np.ndarray], x: np.ndarray) -> Cache:
    """x (W, T, V) one-hot steps of W windows -> {"hprev": hₜ₋₁, "z": zₜ, "h": hₜ}, each
    (W, T, H)."""
    windows, steps, _ = x.shape
    hidden = p["bh"].shape[0]
    h = np.zeros((windows, hidden))
    out = {k: np.zeros((windows, steps, hidden)) for k in ("hprev", "z", "h")}
    for t in range(steps):
        out["hprev"][:, t] = h
        z = ops.weighted_input(x[:, t], p["Wxh"], p["bh"]) + h @ p["Whh"].T
        h = TANH.value(z)
        out["z"][:, t], out["h"][:, t] = z, h
    return out


def backward(p: Mapping[str, np.ndarray], x: np.ndarray, cache: Cache, dh_out: np.ndarray,
             weights: np.ndarray | None = None) -> tuple[Cache, dict[str, np.ndarray]]:
    """dh_out (W, T, H): ∂C/∂hₜ from each step's output -> (the errors {"dh": ∂C/∂hₜ, "delta":
    δₜ, "dhprev": ∂C/∂hₜ₋₁}, each (W, T, H); the gradients summed over the steps and over the
    windows ``weights`` (W,) marks (None: all))."""
    windows, steps, hidden = dh_out.shape
    errors = {k: np.zeros((windows, steps, hidden)) for k in ("dh", "delta", "dhprev")}
    later = np.zeros((windows, hidden))  # ∂C/∂hₜ that step t + 1 sends back
    for t in reversed(range(steps)):
        dh = dh_out[:, t] + later
        delta = ops.hidden_error(dh, TANH, cache["z"][:, t], cache["h"][:, t])
        later = ops.back_sum(delta, p["Whh"])
        errors["dh"][:, t], errors["delta"][:, t], errors["dhprev"][:, t] = dh, delta, later
    grads = totals(per_window(x, cache, errors), weights)
    return errors, grads


def per_window(x: np.ndarray, cache: Cache, errors: Cache) -> dict[str, np.ndarray]:
    """Each window's own gradients, summed over its steps: W_xh (W, H, V), W_hh (W, H, H),
    b_h (W, H)."""
    delta = errors["delta"]
    return {"Wxh": np.einsum("wti,wtj->wij", delta, x),
            "Whh": np.einsum("wti,wtj->wij", delta, cache["hprev"]),
            "bh": delta.sum(axis=1)}


def totals(own: Mapping[str, np.ndarray], weights: np.ndarray | None) -> dict[str, np.ndarray]:
    """Σ over the windows (those ``weights`` marks)."""
    return {k: ops.total(v, weights) for k, v in own.items()}


# --- Excel -------------------------------------------------------------------------------------


def z_xl(wxh: str, x: str, whh: str, hprev: str, b: str) -> str:
    """zₜ,ᵢ: unit i's input weights (a column) against the column xₜ, its recurrent weights
    against hₜ₋₁, plus its bias."""
    return f"SUMPRODUCT({wxh},{x})+SUMPRODUCT({whh},{hprev})+{b}"


def h_xl(z: str) -> str:
    return TANH.excel_value(z)


def dh_xl(from_output: str, from_later: str | None) -> str:
    """∂C/∂hₜ: what this step's output sends back, plus what step t + 1 does (none at the
    last step)."""
    return from_output if from_later is None else f"{from_output}+{from_later}"


def delta_xl(dh: str, z: str, h: str) -> str:
    return ops.hidden_error_xl(dh, TANH, z, h)


def back_xl(pairs: Sequence[tuple[str, str]]) -> str:
    """Σᵢ wᵢₖ·δᵢ, term by term (the error a step sends back, or the output's to hₜ)."""
    return ops.back_sum_xl(list(pairs))


def gradient_xl(errors: str, inputs: str) -> str:
    """A window's ∂C/∂w summed over its steps: SUMPRODUCT(δ of the unit across the steps, the
    input across the steps)."""
    return f"SUMPRODUCT({errors},{inputs})"
