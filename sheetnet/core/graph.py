"""Backpropagation on a computational graph: the shopping example.

One coat at 400 and two pairs of trousers at 300, 30 % off the total: coats = 400 × 1,
trousers = 300 × 2, subtotal = coats + trousers = 1000, total = subtotal × 0.7 = 700.
Forward, every node's value; each node's local derivatives ∂node/∂(its inputs); backward,
∂total/∂node = Σ over the nodes it feeds of ∂total/∂that node × that node's local derivative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sheetnet.core.trace import Trace
from sheetnet.pairs.graph import ADD, MUL, Op


@dataclass(frozen=True)
class Node:
    name: str
    label: str
    op: Op | None = None  # None: an input
    inputs: tuple[str, ...] = ()


SHOPPING = (
    Node("coat_price", "coat price"),
    Node("coat_count", "coats bought"),
    Node("trousers_price", "trousers price"),
    Node("trousers_count", "trousers bought"),
    Node("discount", "price factor after 30 % off"),
    Node("coats", "coats", MUL, ("coat_price", "coat_count")),
    Node("trousers", "trousers", MUL, ("trousers_price", "trousers_count")),
    Node("subtotal", "subtotal", ADD, ("coats", "trousers")),
    Node("total", "total to pay", MUL, ("subtotal", "discount")),
)
DEFAULTS = {"coat_price": 400.0, "coat_count": 1.0, "trousers_price": 300.0,
            "trousers_count": 2.0, "discount": 0.7}
DESCRIPTIONS = {
    "value": "forward: every node's value",
    "local": "each operation node's local derivatives ∂node/∂(input 1), ∂node/∂(input 2)",
    "grad": "backward: ∂total/∂node for every node (1 for the total itself)",
    "total": "the total to pay",
}


def inputs_of(nodes: Sequence[Node]) -> list[Node]:
    return [n for n in nodes if n.op is None]


def consumers(nodes: Sequence[Node], name: str) -> list[tuple[int, int]]:
    """(index of a node fed by ``name``, which of its inputs ``name`` is)."""
    return [(j, k) for j, n in enumerate(nodes) for k, src in enumerate(n.inputs) if src == name]


def evaluate(nodes: Sequence[Node], inputs: Mapping[str, float]) -> Trace:
    """Forward values, local derivatives and the backward pass (nodes in topological order)."""
    index = {n.name: i for i, n in enumerate(nodes)}
    value = np.zeros(len(nodes))
    ops = [n for n in nodes if n.op is not None]
    local = np.zeros((len(ops), 2))
    for i, n in enumerate(nodes):
        if n.op is None:
            value[i] = inputs[n.name]
        else:
            args = [value[index[s]] for s in n.inputs]
            value[i] = n.op.value(args)
    for r, n in enumerate(ops):
        local[r] = n.op.local([value[index[s]] for s in n.inputs])  # type: ignore[union-attr]
    op_row = {n.name: r for r, n in enumerate(ops)}
    grad = np.zeros(len(nodes))
    grad[-1] = 1.0
    for i in range(len(nodes) - 2, -1, -1):
        grad[i] = sum(grad[j] * local[op_row[nodes[j].name], k]
                      for j, k in consumers(nodes, nodes[i].name))
    blocks = {"value": value, "local": local, "grad": grad, "total": np.array(value[-1])}
    return Trace([blocks], DESCRIPTIONS, cost_name="total")
