"""Output layers: the output activation and the cost fused into one pair, NumPy beside Excel.

An ``OutputLayer`` turns the output layer's weighted inputs zᴸ into its outputs aᴸ, the cost C
of each image, and the output error δᴸ = ∂C/∂zᴸ. Computing δᴸ as one step (rather than as
∂C/∂a times σ'(z)) is what lets an output such as softmax, whose derivative is not elementwise,
pair with its loss (δᴸ = a − t for softmax with cross-entropy).

An elementwise activation and a loss compose into an output layer by ``compose``; a pair that
only works fused is its own entry in ``FUSED``. Adding either is one entry here: ``--loss`` and
``--output-activation`` offer what this module knows.

Excel forms take one image's cells: ``z``, ``a`` and ``t`` as lists of the K unit cells (for aₖ
and δₖ) or as one range of K cells (for C), plus n, the number of images.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from sheetnet.errors import SheetnetError
from sheetnet.pairs.activations import ACTIVATIONS, Activation, times_derivative_xl


@dataclass(frozen=True)
class Loss:
    """A cost per image with its gradient ∂C/∂a, elementwise in a; ``n`` is the number of
    images."""

    name: str
    value: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    gradient: Callable[[np.ndarray, np.ndarray, int], np.ndarray]
    excel_value: Callable[[str, str, int], str]  # (a range, t range, n)
    excel_gradient: Callable[[str, str, int], str]  # (a cell, t cell, n)
    formula: str
    label: str  # the C row's element label on the sheet


# the book's cost: C = ½Σ(a−t)² per image, C_T = Σ C
HALF_SSE = Loss(
    name="half-sse",
    value=lambda a, t, n: 0.5 * np.sum((a - t) ** 2, axis=-1),
    gradient=lambda a, t, n: a - t,
    excel_value=lambda a, t, n: f"SUMXMY2({a},{t})/2",
    excel_gradient=lambda a, t, n: f"{a}-{t}",
    formula="C = ½Σ(a − t)² per image; C_T = Σ C",
    label="½Σ(a−t)²",
)

# mean squared error over the N images: C = Σ(a−t)²/N per image, so C_T = Σ C is the mean
MSE = Loss(
    name="mse",
    value=lambda a, t, n: np.sum((a - t) ** 2, axis=-1) / n,
    gradient=lambda a, t, n: 2.0 * (a - t) / n,
    excel_value=lambda a, t, n: f"SUMXMY2({a},{t})/{n}",
    excel_gradient=lambda a, t, n: f"2*({a}-{t})/{n}",
    formula="C = Σ(a − t)²/N per image; C_T = Σ C, the mean squared error over the N images",
    label="Σ(a−t)²/N",
)

LOSSES: dict[str, Loss] = {loss.name: loss for loss in (HALF_SSE, MSE)}


@dataclass(frozen=True)
class OutputLayer:
    """zᴸ -> aᴸ, C and δᴸ, each a NumPy form beside an Excel form.

    NumPy: z, a, t are (N, K); ``cost`` gives (N,). Excel: see the module's docstring.
    """

    activation: str  # the names --output-activation and --loss give
    loss: str
    forward: Callable[[np.ndarray], np.ndarray]  # z -> a
    forward_xl: Callable[[Sequence[str], int], str]  # (z cells, k) -> aₖ
    cost: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]  # (z, a, t, n) -> C
    cost_xl: Callable[[str, str, str, int], str]  # (z range, a range, t range, n) -> C
    delta: Callable[[np.ndarray, np.ndarray, np.ndarray, int], np.ndarray]  # (z, a, t, n) -> δ
    delta_xl: Callable[[Sequence[str], Sequence[str], Sequence[str], int, int], str]
    formula: str  # how the Map sheet writes C
    label: str  # the C row's label

    @property
    def elementwise(self) -> bool:
        """aₖ depends on zₖ alone (not softmax), so a single output may be compared with 0.5."""
        return self.activation in ACTIVATIONS


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
        formula=loss.formula, label=loss.label)


FUSED: dict[tuple[str, str], OutputLayer] = {}  # pairs that only exist together


def output_layer(activation: str, loss: str) -> OutputLayer:
    """The output layer ``--output-activation`` and ``--loss`` name; one line if they do not
    go together."""
    if (activation, loss) in FUSED:
        return FUSED[activation, loss]
    if activation not in ACTIVATIONS:
        raise SheetnetError(f"--output-activation {activation!r} is not one of:"
                            f" {', '.join(output_activations())}")
    if loss not in LOSSES:
        raise SheetnetError(f"--loss {loss!r} is not one of: {', '.join(losses())}")
    return compose(ACTIVATIONS[activation], LOSSES[loss])


def output_activations() -> list[str]:
    return [*ACTIVATIONS, *dict.fromkeys(a for a, _ in FUSED)]


def losses() -> list[str]:
    return [*LOSSES, *dict.fromkeys(loss for _, loss in FUSED)]
