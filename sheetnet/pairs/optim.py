"""Update rules (optimizers), each defined once: its NumPy form beside its Excel form.

A rule turns a parameter's gradient g = ∂C_T/∂p into the next parameter. It may keep state per
parameter (momentum's v, Adam's m and v …), shown in the workbook as a block beside the
parameter, named ``notation.state(kind, p)``; its hyperparameters (η and the rule's own) are
named input cells. Every net trains with every rule, in NumPy and in the cells, and adding a
rule is one entry in ``RULES`` (``--optimizer`` offers every one; each ``Hyper`` becomes an
option and a named cell).

Per step k (0, 1, …; t = k + 1 counts steps as torch.optim does): ``advance`` gives the new
state from g and the old state (zeros before step 0); ``delta`` gives Δp from p, g and the new
state, stated once per rule in each language; ``update`` is p ← p + Δp. The rules follow
torch.optim's definitions and defaults. NumPy forms take arrays of p's shape and a dict of
hyperparameter values; Excel forms take one element's cells (p, g, the state cells of the
previous iteration and of this one) and a dict of the hyperparameters' cells, and return formula
text without ``=``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np

from sheetnet.errors import SheetnetError
from sheetnet.pairs import ops
from sheetnet.pairs.hyper import Hyper

Values = Mapping[str, float]  # hyperparameter -> value
NamedCells = Mapping[str, str]  # hyperparameter or state kind -> cell reference
State = Mapping[str, np.ndarray]  # state kind -> array of the parameter's shape


@dataclass(frozen=True)
class UpdateRule:
    """An update rule, its step Δp stated once in NumPy (``delta``) and once in Excel
    (``delta_xl``); ``update`` and ``update_xl`` derive p' = p + Δp from them."""

    name: str
    summary: str
    # (p, g, new state, h, k) -> Δp; it sees p (decoupled weight decay needs it)
    delta: Callable[[np.ndarray, np.ndarray, State, Values, int], np.ndarray]
    # (p, g, new state cells, h cells, k) -> Δp's text, starting with "-" when it is minus a
    # product, so that p' reads as the book writes it (p-eta*g)
    delta_xl: Callable[[str, str, NamedCells, NamedCells, int], str]
    hypers: tuple[Hyper, ...] = ()  # beyond η
    state: tuple[str, ...] = ()  # the kinds of state each parameter keeps
    advance: Callable[[np.ndarray, State, Values, int], dict[str, np.ndarray]] = \
        field(default=lambda g, s, h, k: {})  # (g, old state, h, k) -> new state
    # (g, old state cells, new state cells, h cells, k) -> each new state's formula; a state
    # may follow from another of the same step (Adam's m̂ from its m)
    advance_xl: Callable[[str, NamedCells, NamedCells, NamedCells, int], dict[str, str]] = \
        field(default=lambda g, old, new, h, k: {})
    # each kind of state as a reader sees it: (symbol, what it is)
    meaning: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    nonnegative: tuple[str, ...] = ()  # the kinds of state that are sums of squares: never < 0

    def symbol(self, kind: str) -> str:
        """A kind of state as the sheets head it (Adam's ``m_hat`` is m̂)."""
        return self.meaning.get(kind, (kind, ""))[0]

    def describe_state(self, kind: str, param: str) -> str:
        """What a kind of state is, for parameter ``param``: the Map's and ``--json``'s text."""
        symbol, what = self.meaning.get(kind, (kind, "its state"))
        return f"{symbol}: {what} ({self.name}'s state for {param})"

    @property
    def carried(self) -> tuple[str, ...]:
        """The kinds of state a step reads from the step before (Adam's m and v, not m̂ and
        v̂): what a run continued from a checkpoint starts from. Read off ``advance_xl``."""
        old = {kind: f"<{kind}>" for kind in self.state}
        cells: defaultdict[str, str] = defaultdict(lambda: "h")
        text = "".join(self.advance_xl("g", old, dict.fromkeys(self.state, "n"), cells, 0)
                       .values())
        return tuple(kind for kind in self.state if old[kind] in text)

    def start(self, param: np.ndarray) -> dict[str, np.ndarray]:
        """The state before step 0: zeros (as in torch.optim)."""
        return {kind: np.zeros_like(param, dtype=float) for kind in self.state}

    def step(self, param: np.ndarray, grad: np.ndarray, state: State, h: Values,
             k: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Step k: (Δp, the new state), given the old state. New arrays."""
        new = self.advance(grad, state, h, k)
        return self.delta(param, grad, new, h, k), new

    def update(self, param: np.ndarray, grad: np.ndarray, state: State, h: Values,
               k: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """Step k: (p' = p + Δp, the new state), given the old state. New arrays."""
        delta, new = self.step(param, grad, state, h, k)
        return param + delta, new

    def update_xl(self, p: str, g: str, old: NamedCells, new: NamedCells, h: NamedCells,
                  k: int) -> tuple[str, dict[str, str]]:
        """Step k in cells: (p's next formula, each new state's formula). ``old``/``new``: the
        state's cells before and after the step (``new`` is where ``advance_xl``'s go)."""
        return self.next_xl(p, g, new, h, k), self.advance_xl(g, old, new, h, k)

    def next_xl(self, p: str, g: str, new: NamedCells, h: NamedCells, k: int) -> str:
        """p's formula after step k (``new``: the state's cells after the step)."""
        return plus_xl(p, self.delta_xl(p, g, new, h, k))


def plus_xl(p: str, delta: str) -> str:
    """p + Δp as cell text. A Δp of "-q" (q one product or quotient) gives p-q, the book's
    form: IEEE subtraction is the addition of the negation, so p − q is p + (−q) to the last
    bit. Any other Δp is added whole, in parentheses, as NumPy adds it."""
    if delta.startswith("-") and _one_term(delta[1:]):
        return f"{p}{delta}"
    return f"{p}+({delta})"


def _one_term(text: str) -> bool:
    """No + or - outside parentheses: a product or quotient of factors."""
    depth = 0
    for ch in text:
        depth += (ch == "(") - (ch == ")")
        if depth == 0 and ch in "+-":
            return False
    return True


# Plain gradient descent, the book's: Δp = −η·∂C_T/∂p.
GD = UpdateRule(
    name="gd",
    summary="gradient descent: p ← p − η·g",
    delta=lambda p, g, s, h, k: -h["eta"] * g,
    delta_xl=lambda p, g, s, h, k: f"-{h['eta']}*{g}",
)


def _unit(v: float) -> bool:
    return 0 <= v < 1


def _positive(v: float) -> bool:
    return v > 0


MOMENTUM = Hyper("momentum", "μ", 0.9, "the momentum", _unit, "in [0, 1)")
RHO = Hyper("rho", "ρ", 0.99, "the decay of the squared gradients' average", _unit, "in [0, 1)")
BETA1 = Hyper("beta1", "β₁", 0.9, "the decay of the gradients' average", _unit, "in [0, 1)")
BETA2 = Hyper("beta2", "β₂", 0.999, "the decay of the squared gradients' average", _unit,
              "in [0, 1)")
WEIGHT_DECAY = Hyper("weight_decay", "λ", 0.01, "AdamW's decoupled weight decay",
                     lambda v: v >= 0, "0 or more")


def _epsilon(default: float) -> Hyper:
    return Hyper("epsilon", "ε", default, "keeps the division finite", _positive,
                 "a positive number")


# v ← μv + g, p ← p − η·v (torch.optim.SGD with momentum; v starts at 0, so v₁ = g)
MOMENTUM_RULE = UpdateRule(
    name="momentum",
    summary="momentum: v ← μv + g, p ← p − η·v",
    hypers=(MOMENTUM,),
    state=("v",),
    meaning={"v": ("v", "the velocity, μv + g")},
    advance=lambda g, s, h, k: {"v": h["momentum"] * s["v"] + g},
    advance_xl=lambda g, old, new, h, k: {"v": f"{h['momentum']}*{old['v']}+{g}"},
    delta=lambda p, g, s, h, k: -h["eta"] * s["v"],
    delta_xl=lambda p, g, s, h, k: f"-{h['eta']}*{s['v']}",
)

# v ← μv + g, p ← p − η·(g + μv) with the new v (torch.optim.SGD with nesterov=True)
NESTEROV = UpdateRule(
    name="nesterov",
    summary="Nesterov momentum: v ← μv + g, p ← p − η·(g + μv)",
    hypers=(MOMENTUM,),
    state=("v",),
    meaning=MOMENTUM_RULE.meaning,
    advance=MOMENTUM_RULE.advance,
    advance_xl=MOMENTUM_RULE.advance_xl,
    delta=lambda p, g, s, h, k: -h["eta"] * (g + h["momentum"] * s["v"]),
    delta_xl=lambda p, g, s, h, k: f"-{h['eta']}*({g}+{h['momentum']}*{s['v']})",
)


def _scaled(g: np.ndarray, s: np.ndarray, h: Values) -> np.ndarray:
    """−η·g/(√s + ε): AdaGrad's and RMSprop's step."""
    return -h["eta"] * g / (np.sqrt(s) + h["epsilon"])


def _scaled_xl(g: str, s: str, h: NamedCells) -> str:
    return f"-{h['eta']}*{g}/(SQRT({s})+{h['epsilon']})"


# s ← s + g², p ← p − η·g/(√s + ε) (torch.optim.Adagrad: lr_decay 0, initial sum 0)
ADAGRAD = UpdateRule(
    name="adagrad",
    summary="AdaGrad: s ← s + g², p ← p − η·g/(√s + ε)",
    hypers=(_epsilon(1e-10),),
    state=("s",),
    nonnegative=("s",),
    meaning={"s": ("s", "the sum of every g² so far")},
    advance=lambda g, s, h, k: {"s": s["s"] + g * g},
    advance_xl=lambda g, old, new, h, k: {"s": f"{old['s']}+{ops.square_xl(g)}"},
    delta=lambda p, g, s, h, k: _scaled(g, s["s"], h),
    delta_xl=lambda p, g, s, h, k: _scaled_xl(g, s["s"], h),
)

# s ← ρs + (1 − ρ)g², p ← p − η·g/(√s + ε) (torch.optim.RMSprop: alpha = ρ, no momentum)
RMSPROP = UpdateRule(
    name="rmsprop",
    summary="RMSprop: s ← ρs + (1 − ρ)g², p ← p − η·g/(√s + ε)",
    hypers=(RHO, _epsilon(1e-8)),
    state=("s",),
    nonnegative=("s",),
    meaning={"s": ("s", "the running average of g², ρs + (1 − ρ)g²")},
    advance=lambda g, s, h, k: {"s": h["rho"] * s["s"] + (1 - h["rho"]) * (g * g)},
    advance_xl=lambda g, old, new, h, k: {
        "s": f"{h['rho']}*{old['s']}+(1-{h['rho']})*{ops.square_xl(g)}"},
    delta=lambda p, g, s, h, k: _scaled(g, s["s"], h),
    delta_xl=lambda p, g, s, h, k: _scaled_xl(g, s["s"], h),
)


def _adam(g: np.ndarray, s: State, h: Values, k: int) -> dict[str, np.ndarray]:
    t = k + 1
    m = h["beta1"] * s["m"] + (1 - h["beta1"]) * g
    v = h["beta2"] * s["v"] + (1 - h["beta2"]) * (g * g)
    return {"m": m, "v": v, "m_hat": m / (1 - h["beta1"] ** t),
            "v_hat": v / (1 - h["beta2"] ** t)}


def _adam_xl(g: str, old: NamedCells, new: NamedCells, h: NamedCells, k: int) -> dict[str, str]:
    return {"m": f"{h['beta1']}*{old['m']}+(1-{h['beta1']})*{g}",
            "v": f"{h['beta2']}*{old['v']}+(1-{h['beta2']})*{ops.square_xl(g)}",
            "m_hat": f"{new['m']}/(1-{ops.power_xl(h['beta1'], k + 1)})",
            "v_hat": f"{new['v']}/(1-{ops.power_xl(h['beta2'], k + 1)})"}


def _adam_step(s: State, h: Values) -> np.ndarray:
    """m̂/(√v̂ + ε)."""
    return s["m_hat"] / (np.sqrt(s["v_hat"]) + h["epsilon"])


def _adam_step_xl(s: NamedCells, h: NamedCells) -> str:
    return f"{s['m_hat']}/(SQRT({s['v_hat']})+{h['epsilon']})"


ADAM_MEANING = {
    "m": ("m", "the running average of g, β₁m + (1 − β₁)g"),
    "v": ("v", "the running average of g², β₂v + (1 − β₂)g²"),
    "m_hat": ("m̂", "m without its bias towards its start at 0, m/(1 − β₁ᵗ)"),
    "v_hat": ("v̂", "v without its bias towards its start at 0, v/(1 − β₂ᵗ)")}

# m ← β₁m + (1 − β₁)g, v ← β₂v + (1 − β₂)g², m̂ = m/(1 − β₁ᵗ), v̂ = v/(1 − β₂ᵗ),
# p ← p − η·m̂/(√v̂ + ε) (torch.optim.Adam; a penalty's gradient joins g first, not AdamW)
ADAM = UpdateRule(
    name="adam",
    summary="Adam: m, v as running averages of g and g², p ← p − η·m̂/(√v̂ + ε)",
    hypers=(BETA1, BETA2, _epsilon(1e-8)),
    state=("m", "v", "m_hat", "v_hat"),
    nonnegative=("v", "v_hat"),
    meaning=ADAM_MEANING,
    advance=_adam,
    advance_xl=_adam_xl,
    delta=lambda p, g, s, h, k: -h["eta"] * s["m_hat"] / (np.sqrt(s["v_hat"]) + h["epsilon"]),
    delta_xl=lambda p, g, s, h, k: f"-{h['eta']}*{_adam_step_xl(s, h)}",
)

# Adam's moments, then p ← p − η·(m̂/(√v̂ + ε) + λp): the weight decay is decoupled from g
# (torch.optim.AdamW: p ← p(1 − ηλ) − η·m̂/(√v̂ + ε), the same step; every parameter decays)
ADAMW = UpdateRule(
    name="adamw",
    summary="AdamW: Adam with decoupled weight decay, p ← p − η·(m̂/(√v̂ + ε) + λp)",
    hypers=(BETA1, BETA2, _epsilon(1e-8), WEIGHT_DECAY),
    state=ADAM.state,
    nonnegative=ADAM.nonnegative,
    meaning=ADAM_MEANING,
    advance=_adam,
    advance_xl=_adam_xl,
    delta=lambda p, g, s, h, k: -h["eta"] * (_adam_step(s, h) + h["weight_decay"] * p),
    delta_xl=lambda p, g, s, h, k:
        f"-{h['eta']}*({_adam_step_xl(s, h)}+{h['weight_decay']}*{p})",
)

RULES: dict[str, UpdateRule] = {r.name: r for r in (GD, MOMENTUM_RULE, NESTEROV, ADAGRAD,
                                                    RMSPROP, ADAM, ADAMW)}


def hypers() -> dict[str, list[Hyper]]:
    """Every hyperparameter a rule takes, by name (``--epsilon`` has a default per rule)."""
    found: dict[str, list[Hyper]] = {}
    for r in RULES.values():
        for h in r.hypers:
            found.setdefault(h.name, []).append(h)
    return found


def flag(name: str) -> str:
    """The command-line option of a rule's hyperparameter (``--weight-decay``)."""
    return hypers()[name][0].flag


def rule(name: str) -> UpdateRule:
    if name not in RULES:
        raise SheetnetError(f"--optimizer {name!r} is not one of: {', '.join(RULES)}")
    return RULES[name]
