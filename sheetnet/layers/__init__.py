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

from sheetnet.layers.activation import ActivationLayer
from sheetnet.layers.base import Layer, Shape
from sheetnet.layers.batchnorm import BatchNorm
from sheetnet.layers.conv import Conv
from sheetnet.layers.dense import Dense
from sheetnet.layers.dropout import Dropout
from sheetnet.layers.flatten import Flatten
from sheetnet.layers.output import Output
from sheetnet.layers.pool import Pool
from sheetnet.layers.stack import (
    GRAMMAR,
    KINDS,
    cnn_layers,
    dense_layers,
    imply_flatten,
    parse,
)

__all__ = ["GRAMMAR", "KINDS", "ActivationLayer", "BatchNorm", "Conv", "Dense", "Dropout",
           "Flatten", "Layer", "Output", "Pool", "Shape", "cnn_layers", "dense_layers",
           "imply_flatten", "parse"]
