"""How the signal and the error spread through a net's layers, iteration by iteration: the mean
and (population) standard deviation of each weighted layer's outputs a and of its errors δ over
every image and unit. Vanishing and exploding signals show here: sigmoid's errors shrink layer by
layer going back, relu's under He initialisation hold their size, batch norm keeps every z at
mean 0 and spread 1."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sheetnet import notation as names
from sheetnet.core.net import Net
from sheetnet.core.trace import Trace
from sheetnet.pairs import ops


def watched(net: Net) -> list[tuple[str, str, str]]:
    """(layer tag, its outputs' block, its errors' block) for each dense or convolution layer,
    input to output: a² and δ² for layer 2; the output layer's a and δ for the last."""
    shown = {b.name for b in (*net.forward_blocks(), *net.backward_blocks())}
    out = []
    for i, layer in enumerate(net.layers):
        if layer.spread is not None:
            out.append((layer.w.tag, *layer.spread))
            continue
        if not layer.weighted:
            continue
        tag = layer.w.tag
        act = next((later.w.out for later in net.layers[i + 1:] if later.activation
                    and later.w.tag == tag), None)
        if tag == net.output.w.tag:
            act, delta = net.output.a, net.output.delta
        else:
            delta = names.delta(tag)
        if act is not None and act in shown | {net.output.a} and delta in shown:
            out.append((tag, act, delta))
    return out


def stat_name(kind: str, block: str) -> str:
    """``mean_a2``, ``std_delta2``."""
    return f"{kind}_{block}"


def blocks(net: Net) -> list[str]:
    """The blocks whose spread is watched, outputs then errors of each layer."""
    return [b for _, act, delta in watched(net) for b in (act, delta)]


def add(net: Net, trace: Trace) -> Trace:
    """Each iteration's mean and standard deviation of every watched block, as blocks
    (``mean_a2``, ``std_a2`` …); iterations that do not hold the blocks are left alone."""
    for it in trace.iterations:
        for name in blocks(net):
            if name in it:
                value = np.asarray(it[name], dtype=float)
                it[stat_name("mean", name)] = np.asarray(value.mean())
                it[stat_name("std", name)] = ops.spread(value)
    return trace


def table(net: Net, trace: Trace, rows: Sequence[int], kind: str) -> list[list[str]]:
    """The ``kind`` ("mean" or "std") of each watched block at the iterations ``rows``."""
    return [[str(k), *(f"{float(trace.iterations[k][stat_name(kind, b)]):.2g}"
                       for b in blocks(net))] for k in rows]
