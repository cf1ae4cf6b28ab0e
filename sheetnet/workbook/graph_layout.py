"""The computational-graph workbook: the shopping example laid out node by node.

Graph: one row per node — its expression, forward value, local derivatives and ∂total/∂node —
every number a formula. Inputs: the prices, counts and the discount factor (yellow).
"""

from __future__ import annotations

import numpy as np

from sheetnet.core.graph import DESCRIPTIONS, Node, consumers, inputs_of
from sheetnet.core.run import Run
from sheetnet.workbook import settings
from sheetnet.workbook.guide import VERIFY, exercise_guide
from sheetnet.workbook.layout import (
    BarChartSpec,
    Grid,
    Place,
    SheetSpec,
    Text,
    WorkbookSpec,
    a1,
    put,
)
from sheetnet.workbook.sheets import inputs_sheet, map_sheet

SHEET = "Graph"
FIRST = 4
VALUE, LOCAL, GRAD = 4, 5, 7  # columns: D value, E-F local derivatives, G ∂total/∂node


def workbook(run: Run) -> WorkbookSpec:
    nodes: tuple[Node, ...] = run.model
    inputs = inputs_of(nodes)
    n, first_op = len(nodes), len(inputs)
    inputs_spec, given = inputs_sheet(
        run, settings.graph_settings(run),
        [(node.name, [node.label], np.asarray(run.params["inputs"], dtype=float)[i:i + 1])
         for i, node in enumerate(inputs)],
        {node.name: f"the input {node.label}" for node in inputs}, section="Inputs",
        hypers=False, note="Yellow cells are inputs: change a price and both passes recompute.")
    here = {
        "value": Place("value", SHEET, FIRST, VALUE, n, iteration=0,
                       description=DESCRIPTIONS["value"]),
        "local": Place("local", SHEET, FIRST + first_op, LOCAL, n - first_op, 2, iteration=0,
                       description=DESCRIPTIONS["local"]),
        "grad": Place("grad", SHEET, FIRST, GRAD, n, iteration=0,
                      description=DESCRIPTIONS["grad"]),
    }
    row_of = {node.name: FIRST + i for i, node in enumerate(nodes)}

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, "Computational graph · one coat at 400, two trousers at 300, 30 % off",
            "title")
        put(g, 2, 1, "forward: each node's value from its inputs; backward: ∂total/∂node ="
                     " Σ over the nodes it feeds of (their ∂total/∂node × the local derivative)",
            "note")
        for c, h in enumerate(("node", "what", "expression", "value", "∂/∂ input 1",
                               "∂/∂ input 2", "∂total/∂node"), start=1):
            put(g, FIRST - 1, c, h, "header")
        for i, node in enumerate(nodes):
            r = row_of[node.name]
            args = [a1(row_of[s], VALUE) for s in node.inputs]
            put(g, r, 1, node.name, "label")
            put(g, r, 2, node.label, "element")
            if node.op is None:
                put(g, r, 3, "input", "element")
                put(g, r, VALUE, "=" + given[i].ref(absolute=True, sheet=SHEET), "value")
            else:
                put(g, r, 3, Text(f" {node.op.symbol} ".join(node.inputs)), "element")
                put(g, r, VALUE, "=" + node.op.excel_value(args), "value")
                for k, formula in enumerate(node.op.excel_local(args)):
                    put(g, r, LOCAL + k, "=" + formula)
            feeds = consumers(nodes, node.name)
            if i == n - 1:
                put(g, r, GRAD, "=1", "total")  # ∂total/∂total
            else:
                terms = [f"{a1(FIRST + j, GRAD)}*{a1(FIRST + j, LOCAL + k)}" for j, k in feeds]
                put(g, r, GRAD, "=" + "+".join(terms), "total")
        return g

    last_input = FIRST + first_op - 1
    bars = BarChartSpec("∂total/∂input: the total's change per unit of each input",
                        "∂total/∂input", data=f"{a1(FIRST - 1, GRAD)}:{a1(last_input, GRAD)}",
                        categories=f"{a1(FIRST, 1)}:{a1(last_input, 1)}",
                        anchor=a1(FIRST + n + 2, 1))
    graph = SheetSpec(SHEET, build, widths={1: 16, 2: 26, 3: 26, 4: 12, 5: 12, 6: 12, 7: 14},
                      freeze=a1(FIRST, 1), bars=[bars], max_col=GRAD, max_row=FIRST + n - 1,
                      tab_color="27AE60", fit_width=True)
    places = [*given, *here.values()]
    guide = exercise_guide(
        "sheetnet · graph: backpropagation on a computational graph",
        ["A shopping bill as a graph of nodes (prices, counts, products, a sum, a discount):"
         " the forward pass computes each node's value, the backward pass ∂total/∂node, from"
         " the total back to the inputs, by the chain rule.",
         "Every cell is a formula: change a price or a count and both passes recompute."],
        [(SHEET, "one row per node: its value, its local derivatives and ∂total/∂node, with a"
                 " chart of ∂total/∂input"),
         ("Inputs", "the prices and counts: edit them"), ("Map", "every block and where it is")],
        ["One row per node: its expression, its value (forward), the local derivatives"
         " ∂node/∂input, and ∂total/∂node (backward) = Σ over the nodes it feeds of their"
         " ∂total/∂ × the local derivative.",
         "∂total/∂input says how much the total changes per unit of that input."],
        ["Change the discount or a price on Inputs and follow both passes.", VERIFY])
    return WorkbookSpec([guide, graph, inputs_spec, map_sheet(places)], places, {})
