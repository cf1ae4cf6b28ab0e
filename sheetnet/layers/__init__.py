"""Layer kinds, each one module holding its NumPy and Excel passes side by side, and ``--arch``.

``--arch`` writes a stack as comma-separated layers::

    conv 8 5x5, relu, maxpool 2, conv 16 5x5 pad 1, relu, avgpool 2, dense 32, tanh, dense 10

``conv K FxF [pad P] [nobias]``, ``maxpool P``, ``avgpool P``, ``dense N [nobias]``,
``flatten`` (implied between the convolution part and the dense part), ``dropout P``,
``batchnorm`` (after a dense or convolution layer, whose bias it makes redundant) and an
activation's name. The last dense layer feeds the output layer that ``--output-activation`` and
``--loss`` choose.
"""

from __future__ import annotations

from collections.abc import Sequence

from sheetnet.errors import SheetnetError
from sheetnet.layers.activation import ActivationLayer
from sheetnet.layers.base import Layer, Shape
from sheetnet.layers.batchnorm import BatchNorm
from sheetnet.layers.conv import Conv
from sheetnet.layers.dense import Dense
from sheetnet.layers.dropout import Dropout
from sheetnet.layers.flatten import Flatten
from sheetnet.layers.output import Output
from sheetnet.layers.pool import Pool
from sheetnet.pairs.activations import ACTIVATIONS

# each parses its own --arch token
KINDS = (Dense, Conv, Pool, Flatten, Dropout, BatchNorm, ActivationLayer)
GRAMMAR = ("dense N [nobias], conv K FxF [pad P] [nobias], maxpool P, avgpool P, flatten,"
           " dropout P, batchnorm or an activation"
           f" ({', '.join(ACTIVATIONS)})")


def parse(text: str) -> list[Layer]:
    """The unbound stack an ``--arch`` text describes (flatten implied before the first dense
    layer that follows a convolution or pooling); one line naming what is wrong."""
    stack: list[Layer] = []
    for raw in text.split(","):
        item = " ".join(raw.lower().replace("×", "x").split())
        if not item:
            raise SheetnetError(f"--arch {text!r} has an empty layer; separate layers by single"
                                " commas")
        layer = next((found for kind in KINDS if (found := kind.parse(item)) is not None), None)
        if layer is None:
            raise SheetnetError(f"--arch: {item!r} is not a layer; write {GRAMMAR}, separated"
                                " by commas")
        stack.append(layer)
    return imply_flatten(stack)


def imply_flatten(stack: Sequence[Layer]) -> list[Layer]:
    """A flatten before the first dense layer after a convolution or pooling, unless given."""
    out: list[Layer] = []
    maps = False
    for layer in stack:
        if layer.kind == "dense" and maps:
            out.append(Flatten())
            maps = False
        if layer.reads_maps:
            maps = True
        if layer.kind == "flatten":
            maps = False
        out.append(layer)
    return out


__all__ = ["GRAMMAR", "ActivationLayer", "BatchNorm", "Conv", "Dense", "Dropout", "Flatten",
           "Layer", "Output", "Pool", "Shape", "imply_flatten", "parse"]
