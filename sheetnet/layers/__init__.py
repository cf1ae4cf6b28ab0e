"""Layer kinds, each one module holding its NumPy and Excel passes side by side, and ``--arch``.

``--arch`` writes a stack as comma-separated layers::

    conv 8 5x5, relu, maxpool 2, conv 16 5x5 pad 1, relu, avgpool 2, dense 32, tanh, dense 10

``conv K FxF [pad P]``, ``maxpool P``, ``avgpool P``, ``dense N [nobias]``, ``flatten`` (implied
between the convolution part and the dense part) and an activation's name. The last dense layer
feeds the output layer that ``--output-activation`` and ``--loss`` choose.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sheetnet.errors import SheetnetError
from sheetnet.layers.activation import ActivationLayer
from sheetnet.layers.base import Layer, Shape
from sheetnet.layers.conv import Conv
from sheetnet.layers.dense import Dense
from sheetnet.layers.flatten import Flatten
from sheetnet.layers.output import Output
from sheetnet.layers.pool import Pool
from sheetnet.pairs.activations import ACTIVATIONS
from sheetnet.pairs.outputs import FUSED_ONLY_ACTIVATIONS

GRAMMAR = ("dense N [nobias], conv K FxF [pad P], maxpool P, avgpool P, flatten or an activation"
           f" ({', '.join(ACTIVATIONS)})")
_WORDS = {
    "dense": re.compile(r"dense (\d+)( nobias)?"),
    "conv": re.compile(r"conv (\d+) (\d+)(?:x(\d+))?( pad (\d+))?"),
    "maxpool": re.compile(r"maxpool (\d+)"),
    "avgpool": re.compile(r"avgpool (\d+)"),
    "flatten": re.compile(r"flatten"),
}


def parse(text: str) -> list[Layer]:
    """The unbound stack an ``--arch`` text describes (flatten implied before the first dense
    layer that follows a convolution or pooling); one line naming what is wrong."""
    stack: list[Layer] = []
    for raw in text.split(","):
        item = " ".join(raw.lower().replace("×", "x").split())
        if not item:
            raise SheetnetError(f"--arch {text!r} has an empty layer; separate layers by single"
                                " commas")
        stack.append(_layer(item, text))
    return imply_flatten(stack)


def _layer(item: str, text: str) -> Layer:
    if item in ACTIVATIONS:
        return ActivationLayer(ACTIVATIONS[item])
    if item in FUSED_ONLY_ACTIVATIONS:
        raise SheetnetError(f"--arch: {item} is an output layer's activation; end the stack with"
                            f" dense N and add --output-activation {item}")
    kind = item.split(" ")[0]
    pattern = _WORDS.get(kind)
    match = pattern.fullmatch(item) if pattern else None
    if match is None:
        raise SheetnetError(f"--arch: {item!r} is not a layer; write {GRAMMAR}, separated by"
                            " commas")
    numbers = [int(g) for g in match.groups() if g and g.strip().isdigit()]
    if kind == "dense":
        if numbers[0] < 1:
            raise SheetnetError(f"--arch: {item} needs at least 1 unit")
        return Dense(numbers[0], bias=match.group(2) is None)
    if kind == "conv":
        k, f, f2 = int(match.group(1)), int(match.group(2)), match.group(3)
        if f2 is not None and int(f2) != f:
            raise SheetnetError(f"--arch: {item}: filters are square; write conv {k} {f}x{f}")
        return Conv(k, f, int(match.group(5) or 0))
    if kind in ("maxpool", "avgpool"):
        return Pool(numbers[0], "max" if kind == "maxpool" else "average")
    return Flatten()


def imply_flatten(stack: Sequence[Layer]) -> list[Layer]:
    """A flatten before the first dense layer after a convolution or pooling, unless given."""
    out: list[Layer] = []
    maps = False
    for layer in stack:
        if layer.kind == "dense" and maps:
            out.append(Flatten())
            maps = False
        if layer.kind in ("conv", "pool"):
            maps = True
        if layer.kind == "flatten":
            maps = False
        out.append(layer)
    return out


__all__ = ["GRAMMAR", "ActivationLayer", "Conv", "Dense", "Flatten", "Layer", "Output", "Pool",
           "Shape", "imply_flatten", "parse"]
