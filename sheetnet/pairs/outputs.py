"""Output layers: the output activation and the cost fused into one pair, NumPy beside Excel.

An ``OutputLayer`` turns the output layer's weighted inputs zᴸ into its outputs aᴸ, the cost C
of each image, and the output error δᴸ = ∂C/∂zᴸ. Computing δᴸ as one step (rather than as
∂C/∂a times σ'(z)) is what lets an output such as softmax, whose derivative is not elementwise,
pair with its loss (δᴸ = a − t for softmax with cross-entropy).

An elementwise activation and a loss compose into an output layer by ``compose``; a pair that
only works fused (softmax with cross-entropy, sigmoid with binary cross-entropy, the hinge loss
on raw scores) is its own entry in ``FUSED``. Adding either is one entry here: ``--loss`` and
``--output-activation`` offer what this module knows.

Excel forms take one image's cells as lists of the K unit cells, which lie in one column (so
``z[0]:z[-1]`` is their range), plus n, the number of images. Every form is written so that no
value the tool accepts gives an error cell: softmax subtracts the column's maximum before EXP,
the log-likelihoods are computed as z − max − LN(Σ EXP(z − max)) and softplus as
max(z, 0) + LN(1 + EXP(−|z|)). Sums over the units of an expression are written term by term
(array arithmetic inside SUMPRODUCT gives #VALUE! in Gnumeric); SUMPRODUCT and SUM of plain
ranges are used as they are. NumPy computes the same expressions.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sheetnet.errors import SheetnetError
from sheetnet.pairs import ops
from sheetnet.pairs.activations import (
    ACTIVATIONS,
    LEAKY_SLOPE,
    SIGMOID,
    Activation,
    times_derivative_xl,
)
from sheetnet.pairs.hyper import Hyper

UnitCells = Sequence[str]  # one image's K unit cells, in one column


def span(cells: UnitCells) -> str:
    """The range of one image's unit cells: ``E74:E76``."""
    return f"{cells[0]}:{cells[-1]}"


@dataclass(frozen=True)
class Loss:
    """A cost per image with its gradient ∂C/∂a, elementwise in a; ``n`` is the number of
    images."""

    name: str
    value: Callable[[np.ndarray, np.ndarray, int], np.ndarray]  # (a, t, n) -> (N,)
    gradient: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    excel_value: Callable[[UnitCells, UnitCells, int], str]  # (a cells, t cells, n)
    excel_gradient: Callable[[str, str, int], str]  # (a cell, t cell, n)
    formula: str
    label: str  # the C row's element label on the sheet
    settings: tuple[tuple[str, float], ...] = ()  # its own hyperparameters (Huber's δ)
    make: Callable[..., Loss] | None = None

    def tune(self, values: Mapping[str, float]) -> Loss:
        mine = {name: values[name] for name, _ in self.settings if name in values}
        return self.make(**mine) if mine and self.make else self


# the book's cost: C = ½Σ(a−t)² per image, C_T = Σ C
HALF_SSE = Loss(
    name="half-sse",
    value=lambda a, t, n: 0.5 * np.sum((a - t) ** 2, axis=-1),
    gradient=lambda a, t, n: a - t,
    excel_value=lambda a, t, n: f"SUMXMY2({span(a)},{span(t)})/2",
    excel_gradient=lambda a, t, n: f"{a}-{t}",
    formula="C = ½Σ(a − t)² per image; C_T = Σ C",
    label="½Σ(a−t)²",
)

# mean squared error over the N images: C = Σ(a−t)²/N per image, so C_T = Σ C is the mean
MSE = Loss(
    name="mse",
    value=lambda a, t, n: np.sum((a - t) ** 2, axis=-1) / n,
    gradient=lambda a, t, n: 2.0 * (a - t) / n,
    excel_value=lambda a, t, n: f"SUMXMY2({span(a)},{span(t)})/{n}",
    excel_gradient=lambda a, t, n: f"2*({a}-{t})/{n}",
    formula="C = Σ(a − t)²/N per image; C_T = Σ C, the mean squared error over the N images",
    label="Σ(a−t)²/N",
)

HUBER_DELTA = Hyper("huber_delta", "δ_H", 1.0, "where the Huber loss turns from square to line",
                    lambda v: v > 0, "a positive number", "--huber-delta")


def huber(huber_delta: float = HUBER_DELTA.default) -> Loss:
    """Σ over the units of ½r² where |r| ≤ δ_H, else δ_H(|r| − ½δ_H), r = a − t; its gradient
    is r clipped to [−δ_H, δ_H]. The cells read δ_H from the named cell ``huber_delta``."""
    d = float(huber_delta)

    def term(a: str, t: str) -> str:
        r = f"({a}-{t})"
        return (f"IF(ABS({r})<=huber_delta,{ops.square_xl(r)}/2,"
                f"huber_delta*(ABS({r})-huber_delta/2))")

    def value(a: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
        r = np.abs(a - t)
        return np.sum(np.where(r <= d, (a - t) ** 2 / 2, d * (r - d / 2)), axis=-1)

    return Loss(
        name="huber", value=value,
        gradient=lambda a, t, n: np.maximum(-d, np.minimum(d, a - t)),
        excel_value=lambda a, t, n: "+".join(term(ai, ti) for ai, ti in zip(a, t, strict=True)),
        excel_gradient=lambda a, t, n: f"MAX(-huber_delta,MIN(huber_delta,{a}-{t}))",
        formula="C = Σ ½(a − t)² where |a − t| ≤ δ_H, else δ_H(|a − t| − ½δ_H), per image"
                " (δ_H: the cell huber_delta); C_T = Σ C",
        label="Σ huber(a−t)",
        settings=((HUBER_DELTA.name, d),), make=huber)


LOSSES: dict[str, Loss] = {loss.name: loss for loss in (HALF_SSE, MSE, huber())}
TUNABLE = (LEAKY_SLOPE, HUBER_DELTA)  # the activations' and losses' own settings


@dataclass(frozen=True)
class OutputLayer:
    """zᴸ -> aᴸ, C and δᴸ, each a NumPy form beside an Excel form.

    NumPy: z, a, t are (N, K); ``cost`` gives (N,). Excel: see the module's docstring.
    """

    activation: str  # the names --output-activation and --loss give
    loss: str
    forward: Callable[[np.ndarray], np.ndarray]  # z -> a
    forward_xl: Callable[[UnitCells, int], str]  # (z cells, k) -> aₖ
    cost: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]  # (z, a, t, n) -> C
    cost_xl: Callable[[UnitCells, UnitCells, UnitCells, int], str]  # (z, a, t cells, n) -> C
    delta: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]  # (z, a, t, n) -> δ
    # (z, a, t cells, k, n) -> δₖ
    delta_xl: Callable[[UnitCells, UnitCells, UnitCells, int, int], str]
    formula: str  # how the Map sheet writes C
    label: str  # the C row's label
    delta_text: str = "∂C/∂aₖ · σ'(zₖ)"  # how δᴸ follows, for the Map sheet
    targets: str = "any"  # "classes": one-hot targets of 2 or more classes; "unit": in [0, 1]
    settings: tuple[tuple[str, float], ...] = ()
    make: Callable[[Mapping[str, float]], OutputLayer] | None = None

    def tune(self, values: Mapping[str, float]) -> OutputLayer:
        """The same layer with its activation's and loss's settings taken from ``values``."""
        given = any(name in values for name, _ in self.settings)
        return self.make(values) if given and self.make else self

    def check_targets(self, t: np.ndarray, values: bool) -> None:
        """Refuse data this output cannot learn: t (N, K); ``values``: regression targets."""
        pair = f"--output-activation {self.activation} with --loss {self.loss}"
        if self.targets == "classes" and (values or t.shape[-1] < 2):
            raise SheetnetError(f"{pair} needs data of 2 or more classes (one-hot targets);"
                                " for target values use --loss mse or huber")
        if self.targets == "unit" and t.size and (t.min() < 0 or t.max() > 1):
            raise SheetnetError(f"{pair} needs targets between 0 and 1, and these reach"
                                f" {t.min():g} to {t.max():g}; use --loss mse or huber")


def compose(act: Activation, loss: Loss) -> OutputLayer:
    """An elementwise activation with a loss: aₖ = σ(zₖ), δₖ = ∂C/∂aₖ · σ'(zₖ)."""
    return OutputLayer(
        activation=act.name, loss=loss.name,
        forward=act.value,
        forward_xl=lambda z, k: act.excel_value(z[k]),
        cost=lambda z, a, t, n: loss.value(a, t, n),
        cost_xl=lambda z, a, t, n: loss.excel_value(a, t, n),
        delta=lambda z, a, t, n: loss.gradient(a, t, n) * act.derivative(z, a),
        delta_xl=lambda z, a, t, k, n: times_derivative_xl(
            loss.excel_gradient(a[k], t[k], n), act, z[k], a[k]),
        formula=loss.formula, label=loss.label,
        settings=act.settings + loss.settings,
        make=lambda values: compose(act.tune(values), loss.tune(values)))


# --- pairs that only exist fused ---------------------------------------------------------------


def _terms(cells: UnitCells, term: Callable[[int], str]) -> str:
    """Σ over the units written out term by term: array arithmetic inside SUMPRODUCT is not
    evaluated by every engine (Gnumeric gives #VALUE!), one term per unit is."""
    return "+".join(term(k) for k in range(len(cells)))


def _sum_exp_xl(z: UnitCells) -> str:
    """Σⱼ EXP(zⱼ − max z): no EXP of a large number."""
    return _terms(z, lambda j: f"EXP({z[j]}-MAX({span(z)}))")


def softmax(z: np.ndarray) -> np.ndarray:
    """aₖ = e^(zₖ − max z)/Σⱼ e^(zⱼ − max z) over the last axis (−∞: a masked z, a 0)."""
    e = np.exp(z - np.max(z, axis=-1, keepdims=True))
    return e / np.sum(e, axis=-1, keepdims=True)


def softmax_xl(z: UnitCells, k: int) -> str:
    """The same for cell k of a column of cells."""
    return f"EXP({z[k]}-MAX({span(z)}))/({_sum_exp_xl(z)})"


def _cross_entropy(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    """−Σₖ tₖ ln aₖ = −Σₖ tₖ(zₖ − m − ln S) = (m + ln S)·Σt − Σ tₖzₖ, m = max z,
    S = Σ e^(z − m)."""
    m = np.max(z, axis=-1)
    log_s = np.log(np.sum(np.exp(z - m[..., None]), axis=-1))
    return (m + log_s) * np.sum(t, axis=-1) - np.sum(t * z, axis=-1)


# aₖ = e^{zₖ}/Σⱼe^{zⱼ}, computed with max z subtracted; C = −Σₖ tₖ ln aₖ; δ = a − t
SOFTMAX_CROSS_ENTROPY = OutputLayer(
    activation="softmax", loss="cross-entropy",
    forward=softmax,
    forward_xl=softmax_xl,
    cost=lambda z, a, t, n: _cross_entropy(z, t),
    cost_xl=lambda z, a, t, n: (f"(MAX({span(z)})+LN({_sum_exp_xl(z)}))*SUM({span(t)})"
                                f"-SUMPRODUCT({span(t)},{span(z)})"),
    delta=lambda z, a, t, n: a - t,
    delta_xl=lambda z, a, t, k, n: f"{a[k]}-{t[k]}",
    formula="aₖ = e^zₖ/Σⱼ e^zⱼ; C = −Σₖ tₖ ln aₖ per image, with ln aₖ = zₖ − m − ln Σⱼ"
            " e^(zⱼ − m), m = max z, so C = (m + ln Σⱼ e^(zⱼ − m))·Σt − Σ tₖzₖ; C_T = Σ C",
    label="−Σ t·ln a", delta_text="aₖ − tₖ (softmax with cross-entropy)", targets="classes")


def _softplus_minus_tz(z: np.ndarray, t: np.ndarray) -> np.ndarray:
    return np.sum(np.maximum(z, 0) + np.log(1 + np.exp(-np.abs(z))) - t * z, axis=-1)


# −[t ln a + (1 − t) ln(1 − a)] with a = σ(z) is softplus(z) − t·z, softplus(z) =
# max(z, 0) + ln(1 + e^(−|z|)): finite for every z; δ = a − t
BINARY_CROSS_ENTROPY = OutputLayer(
    activation="sigmoid", loss="binary-cross-entropy",
    forward=SIGMOID.value,
    forward_xl=lambda z, k: SIGMOID.excel_value(z[k]),
    cost=lambda z, a, t, n: _softplus_minus_tz(z, t),
    cost_xl=lambda z, a, t, n: _terms(
        z, lambda k: f"MAX({z[k]},0)+LN(1+EXP(-ABS({z[k]})))-{t[k]}*{z[k]}"),
    delta=lambda z, a, t, n: a - t,
    delta_xl=lambda z, a, t, k, n: f"{a[k]}-{t[k]}",
    formula="C = −Σₖ [tₖ ln aₖ + (1 − tₖ) ln(1 − aₖ)] per image, computed as Σₖ softplus(zₖ)"
            " − tₖzₖ with softplus(z) = max(z, 0) + ln(1 + e^−|z|); C_T = Σ C",
    label="Σ softplus(z)−t·z", delta_text="aₖ − tₖ (sigmoid with binary cross-entropy)",
    targets="unit")


def _margins(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """sⱼ − s_y + 1 for every class j, s_y = Σ tₖsₖ the target class's score."""
    return s - np.sum(t * s, axis=-1, keepdims=True) + 1


def _over(s: np.ndarray, t: np.ndarray) -> np.ndarray:
    """1 for each class j ≠ y whose margin is positive."""
    return (1 - t) * (_margins(s, t) > 0)


def _margin_xl(s: UnitCells, t: UnitCells, j: int) -> str:
    return f"{s[j]}-SUMPRODUCT({span(t)},{span(s)})+1"


def _over_xl(s: UnitCells, t: UnitCells, j: int) -> str:
    return f"(1-{t[j]})*IF({_margin_xl(s, t, j)}>0,1,0)"


# the multi-class SVM loss on raw scores s = z: C = Σⱼ≠y max(0, sⱼ − s_y + 1); δⱼ = 1 where
# class j's margin is positive (j ≠ y), δ_y = −(how many are)
HINGE = OutputLayer(
    activation="identity", loss="hinge",
    forward=lambda z: np.array(z, dtype=float),
    forward_xl=lambda z, k: z[k],
    cost=lambda z, a, t, n: np.sum((1 - t) * np.maximum(_margins(a, t), 0), axis=-1),
    cost_xl=lambda z, a, t, n: _terms(
        a, lambda j: f"(1-{t[j]})*MAX({_margin_xl(a, t, j)},0)"),
    delta=lambda z, a, t, n: _over(a, t) - t * np.sum(_over(a, t), axis=-1, keepdims=True),
    delta_xl=lambda z, a, t, k, n: (
        f"{_over_xl(a, t, k)}-{t[k]}*({_terms(a, lambda j: _over_xl(a, t, j))})"),
    formula="C = Σⱼ≠y max(0, sⱼ − s_y + 1) per image (s = a = z, the raw scores; y the target"
            " class); C_T = Σ C",
    label="Σ max(0,s−s_y+1)",
    delta_text="1 for each class j ≠ y whose margin sⱼ − s_y + 1 > 0, minus their count at y",
    targets="classes")

FUSED: dict[tuple[str, str], OutputLayer] = {
    (o.activation, o.loss): o for o in (SOFTMAX_CROSS_ENTROPY, BINARY_CROSS_ENTROPY, HINGE)}
FUSED_ONLY_ACTIVATIONS = {"softmax"}  # output activations that need their fused loss
FUSED_ONLY_LOSSES = {loss for _, loss in FUSED}


def output_layer(activation: str, loss: str) -> OutputLayer:
    """The output layer ``--output-activation`` and ``--loss`` name; one line if they do not
    go together, saying what would."""
    if (activation, loss) in FUSED:
        return FUSED[activation, loss]
    if activation in FUSED_ONLY_ACTIVATIONS:
        partner = next(lo for a, lo in FUSED if a == activation)
        raise SheetnetError(f"--output-activation {activation} goes with --loss {partner}"
                            f" (not {loss}); add --loss {partner}")
    if loss in FUSED_ONLY_LOSSES:
        partner = next(a for a, lo in FUSED if lo == loss)
        raise SheetnetError(f"--loss {loss} goes with --output-activation {partner} (not"
                            f" {activation}); add --output-activation {partner}")
    if activation not in ACTIVATIONS:
        raise SheetnetError(f"--output-activation {activation!r} is not one of:"
                            f" {', '.join(output_activations())}")
    if loss not in LOSSES:
        raise SheetnetError(f"--loss {loss!r} is not one of: {', '.join(losses())}")
    return compose(ACTIVATIONS[activation], LOSSES[loss])


def output_activations() -> list[str]:
    return [*ACTIVATIONS, *dict.fromkeys(a for a, _ in FUSED if a not in ACTIVATIONS)]


def losses() -> list[str]:
    return [*LOSSES, *dict.fromkeys(loss for _, loss in FUSED)]
