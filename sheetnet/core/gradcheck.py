"""The two-layer score function f = W₂ max(0, W₁x) and a numerical check of its gradients.

For every parameter w, the cost with w moved by ±h, C_T(w ± h), is computed per image: in NumPy
by a full forward pass with the weight moved; in the cells from the iteration's own cells, as
only the scores change, f' = f + Δf with
  Δfₘ = ±h·a_j where w = W₂[k, j] (for m = k; 0 for the other scores),
  Δfₘ = W₂[m, j]·(max(0, z_j ± h·x_i) − a_j) where w = W₁[j, i],
and C' = ½Σₘ(fₘ + Δfₘ − tₘ)². The central difference (C_T(w+h) − C_T(w−h))/2h sits beside
backpropagation's ∂C_T/∂w, with their relative error |b − n| / max(|b|, |n|).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

import numpy as np

from sheetnet import notation as names
from sheetnet.core import descent
from sheetnet.core import net as net_mod
from sheetnet.core.descent import Progress
from sheetnet.core.net import Net
from sheetnet.core.run import Run
from sheetnet.core.trace import Trace
from sheetnet.pairs.gradcheck import central_difference, relative_error

# With ReLU, an identity output and ½Σ(f−t)², C is quadratic in any one weight between ReLU kinks,
# so the central difference has no truncation error there: only rounding, amplified by 1/2h.
# A large h keeps that small (C_T ≈ 40 rounds at ~1e-14, /2h ≈ 1e-11), so the sheet and NumPy
# agree within 1e-9 even on these differences of nearly equal numbers.
H = 1e-3


def parameters(net: Net) -> list[tuple[str, int, int]]:
    """(block, row, column) of every weight, W₁ (= "W2") first, row-major."""
    out = []
    for name, (rows, cols) in net.param_shapes().items():
        out += [(name, r, c) for r in range(rows) for c in range(cols)]
    return out


def perturbed_costs(net: Net, blocks: Mapping[str, np.ndarray], sign: float,
                    h: float = H) -> np.ndarray:
    """C per image with each parameter moved by sign·h: (parameters, images).

    Each is a full forward pass of the net with that one weight moved (the S moved sets
    stacked on a leading axis), independent of the shortcut the Check sheet's cells take (only
    the scores change), which it audits.
    """
    moved = np.array([(r, c) for _, r, c in parameters(net)]).reshape(-1, 2)
    which = np.array([name for name, _, _ in parameters(net)])
    stack = {}
    for name in net.param_shapes():
        stack[name] = np.repeat(blocks[name][None], len(which), axis=0)
        sets = np.flatnonzero(which == name)
        stack[name][sets, moved[sets, 0], moved[sets, 1]] += sign * h
    return net_mod.costs(net, stack, blocks["x"], blocks["t"])


def check(net: Net, blocks: Mapping[str, np.ndarray], h: float = H) -> dict[str, np.ndarray]:
    """The check's blocks for one iteration."""
    plus, minus = perturbed_costs(net, blocks, 1.0, h), perturbed_costs(net, blocks, -1.0, h)
    ct_plus, ct_minus = plus.sum(axis=1), minus.sum(axis=1)
    numeric = central_difference(ct_plus, ct_minus, h)
    backprop = np.array([blocks[names.total_grad(name)][r, c] for name, r, c in parameters(net)])
    return {"h": np.array(h), "C_plus": plus.T, "C_minus": minus.T, "CT_plus": ct_plus,
            "CT_minus": ct_minus, "backprop": backprop, "numeric": numeric,
            "rel_error": relative_error(backprop, numeric)}


DESCRIPTIONS = {
    "h": "h: the step of the central differences",
    "C_plus": "C per image with the parameter moved by +h",
    "C_minus": "C per image with the parameter moved by −h",
    "CT_plus": "C_T(w + h)", "CT_minus": "C_T(w − h)",
    "backprop": "∂C_T/∂w from backpropagation (iteration 0)",
    "numeric": "(C_T(w + h) − C_T(w − h)) / 2h",
    "rel_error": "|backprop − numeric| / max(|backprop|, |numeric|)",
}


def train_run(run: Run, progress: Progress | None = None, keep: Collection[str] | None = None,
          anchor: descent.Anchor | None = None) -> Trace:
    """The net's run, with iteration 0 also carrying the gradient check (a net without
    dropout or batches)."""
    trace = descent.train_run(run, progress, keep, anchor)
    net: Net = run.model
    first = trace.iterations[0]
    if keep is not None:  # the kept blocks may not be enough: recompute iteration 0 whole
        first = net_mod.iteration(net, run.params, np.asarray(run.data.x, dtype=float),
                                  np.asarray(run.data.targets, dtype=float))
    trace.iterations[0].update(check(net, first))
    trace.descriptions.update(DESCRIPTIONS)
    return trace

