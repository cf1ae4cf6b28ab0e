"""Regularisation and the learning-rate schedule, each a NumPy form beside its Excel form.

The penalties apply to the weights, not the biases: L2 adds (λ₂/2)Σw² to the cost that is
differentiated and to the reported C_T, and λ₂·w to each weight's gradient; L1 adds λ₁Σ|w| and
λ₁·sign(w) (0 at w = 0, in NumPy and in the cell). The penalty's gradient joins g before an
update rule sees it (torch's ``weight_decay``, so Adam's is not AdamW). The schedule gives step
k the learning rate ηₖ = η·γᵏ. Each weight λ₁, λ₂ and γ is a named input cell.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from sheetnet.pairs import ops
from sheetnet.pairs.hyper import Hyper

L1 = Hyper("lambda_l1", "λ₁", 0.0, "the L1 penalty's weight: + λ₁Σ|w|", lambda v: v >= 0,
           "0 or more", "--l1")
L2 = Hyper("lambda_l2", "λ₂", 0.0, "the L2 penalty's weight: + (λ₂/2)Σw²", lambda v: v >= 0,
           "0 or more", "--l2")
DECAY = Hyper("eta_decay", "γ", 1.0, "the learning rate's decay: ηₖ = η·γᵏ",
              lambda v: 0 < v <= 1, "in (0, 1]", "--eta-decay")
PENALTIES = (L1, L2)


def penalty(weights: Sequence[np.ndarray], h: Mapping[str, float]) -> float:
    """λ₂/2·Σw² + λ₁·Σ|w| over every weight (the terms whose λ is given)."""
    total = 0.0
    if L2.name in h:
        total += h[L2.name] / 2 * sum(float(np.sum(w * w)) for w in weights)
    if L1.name in h:
        total += h[L1.name] * sum(float(np.sum(np.abs(w))) for w in weights)
    return total


def penalty_xl(ranges: Sequence[str], h: Mapping[str, str]) -> str:
    """The terms to add to a cost cell: ``+lambda_l2/2*SUMSQ(…)+lambda_l1*(…)``."""
    out = ""
    if L2.name in h:
        out += f"+{h[L2.name]}/2*SUMSQ({','.join(ranges)})"
    if L1.name in h:  # Σ|w| as the positive sum minus the negative one: no array formula
        terms = "+".join(f'SUMIF({r},">0")-SUMIF({r},"<0")' for r in ranges)
        out += f"+{h[L1.name]}*({terms})"
    return out


def penalty_gradient(w: np.ndarray, h: Mapping[str, float]) -> np.ndarray:
    """λ₂·w + λ₁·sign(w), each weight's share of the gradient."""
    g = np.zeros_like(w, dtype=float)
    if L2.name in h:
        g = g + h[L2.name] * w
    if L1.name in h:
        g = g + h[L1.name] * np.sign(w)
    return g


def penalty_gradient_xl(w: str, h: Mapping[str, str]) -> str:
    """The terms to add to a weight's gradient cell: ``+lambda_l2*C4+lambda_l1*SIGN(C4)``."""
    out = ""
    if L2.name in h:
        out += f"+{h[L2.name]}*{w}"
    if L1.name in h:
        out += f"+{h[L1.name]}*SIGN({w})"
    return out


def eta_at(eta: float, h: Mapping[str, float], k: int) -> float:
    """ηₖ = η·γᵏ (η itself without a schedule)."""
    return eta * h[DECAY.name] ** k if DECAY.name in h else eta


def eta_at_xl(h: Mapping[str, str], k: int) -> str:
    return f"{h['eta']}*{ops.power_xl(h[DECAY.name], k)}"
