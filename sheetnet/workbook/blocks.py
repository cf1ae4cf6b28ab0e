"""Blocks every trained net's iteration sheet has, laid out once for the fc and cnn layouts.

A parameter block holds each parameter's value: its initial value on iteration 0, else the
previous sheet's value moved by the update rule; beside it, one block per kind of state the
rule keeps (momentum's v …). Hyperparameters are named cells (``eta`` …).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from sheetnet import notation as names
from sheetnet.core.run import Run
from sheetnet.pairs.optim import UpdateRule
from sheetnet.workbook.layout import Place

Places = Mapping[str, Place]


def hyper_cells(run: Run) -> dict[str, str]:
    """Each hyperparameter's cell, by its defined name (the Inputs sheet names them)."""
    return {name: name for name in run.hyperparameters}


def parameter_cells(run: Run, name: str, k: int, here: Places, prev: Places | None,
                    inputs: Places) -> Iterator[tuple[Place, int, int, str]]:
    """(place, r, c, formula) for every cell of parameter ``name``'s value and state blocks on
    iteration k's sheet (``prev``: iteration k − 1's places, None on iteration 0)."""
    value, total = here[name], here[names.total_grad(name)]
    sheet = value.sheet
    rule, h = run.rule, hyper_cells(run)
    states = {kind: here[names.state(kind, name)] for kind in rule.state}
    for r in range(value.rows):
        for c in range(value.cols):
            if prev is None:
                formula = inputs[name].ref(r * value.cols + c, absolute=True, sheet=sheet)
                old = {kind: "0" for kind in rule.state}  # the state before step 0
            else:
                old = {kind: prev[names.state(kind, name)].ref(r, c, sheet=sheet)
                       for kind in rule.state}
                formula = rule.update_xl(prev[name].ref(r, c, sheet=sheet),
                                         prev[names.total_grad(name)].ref(r, c, sheet=sheet),
                                         old, h, k - 1)
            yield value, r, c, formula
            new = rule.advance_xl(total.ref(r, c), old, h, k)
            for kind, place in states.items():
                yield place, r, c, new[kind]


def state_places(rule: UpdateRule, name: str, value: Place, first_col: int,
                 gap: int) -> list[Place]:
    """One block per kind of state the rule keeps for parameter ``name``, shaped like its
    ``value`` block, the j-th starting at column ``first_col + j·gap``."""
    return [Place(names.state(kind, name), value.sheet, value.row, first_col + j * gap,
                  value.rows, value.cols, iteration=value.iteration, tile=value.tile,
                  description=f"{kind}: the update rule's state for {name}")
            for j, kind in enumerate(rule.state)]
