"""Blocks every trained net's iteration sheet has, laid out once for the fc and cnn layouts.

A parameter block holds each parameter's value: its initial value on iteration 0, else the
previous sheet's value moved by the update rule; beside it, one block per kind of state the
rule keeps (momentum's v …). Hyperparameters are named cells (``eta`` …). The output block
holds aᴸ, C, whether each image is right, C_T, accuracy and δᴸ. ``Rows`` collects a sheet's
rows as they are laid out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping

from sheetnet import notation as names
from sheetnet.core.run import Run
from sheetnet.pairs import ops
from sheetnet.pairs.optim import UpdateRule
from sheetnet.pairs.outputs import OutputLayer
from sheetnet.workbook.layout import Place, RowSpec, Styled, Template

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


class Rows:
    """An iteration sheet's rows as they are laid out: fixed cells and per-image templates
    (``stride``: the columns between one image's cells and the next's)."""

    def __init__(self, stride: int = 1):
        self._rows: dict[int, RowSpec] = {}
        self.stride = stride

    def row(self, r: int) -> RowSpec:
        return self._rows.setdefault(r, RowSpec(r))

    def text(self, r: int, c: int, text: str, style: str) -> None:
        self.row(r).fixed[c] = Styled(text, style)

    def per_image(self, place: Place, r: int, c: int, formula: str) -> None:
        """Row r, column c of a per-image block: ``formula`` for the current image."""
        self.row(place.sheet_row(r)).per_image.append(
            (place.col + c, Template(formula, stride=self.stride)))

    def fixed(self, place: Place, r: int, c: int, formula: str, style: str = "value") -> None:
        """Row r, column c of a block that is not per image."""
        self.row(place.sheet_row(r)).fixed[place.col + c] = Styled("=" + formula, style)

    def specs(self) -> list[RowSpec]:
        return [self._rows[r] for r in sorted(self._rows)]


Summary = Callable[[Place, int], str]  # (per-image place, row) -> Σ or mean over its images


def output_rows(rows: Rows, output: OutputLayer, here: Places, z: str, a: str, delta: str,
                n: int, total: Summary, mean: Summary) -> None:
    """The output layer's cells: aₖ from zᴸ, each image's C and whether it is classified
    right, their Σ (C_T) and mean (accuracy), and δᴸ. ``z``, ``a``, ``delta``: the blocks'
    names; ``total`` and ``mean`` write Σ and the mean over the images of a block's row."""
    zs, as_, t, deltas = here[z], here[a], here["t"], here[delta]
    k = as_.rows
    for j in range(k):
        rows.per_image(as_, j, 0, output.forward_xl(zs.refs(), j))
    z_all, a_all, t_all = zs.span(0, k - 1), as_.span(0, k - 1), t.span(0, k - 1)
    rows.per_image(here["C"], 0, 0, output.cost_xl(z_all, a_all, t_all, n))
    rows.fixed(here["C_T"], 0, 0, total(here["C"], 0), "total")
    rows.per_image(here["correct"], 0, 0, ops.correct_xl(a_all, t_all) if k > 1
                   else ops.near_xl(as_.ref(0), t.ref(0)))
    rows.fixed(here["accuracy"], 0, 0, mean(here["correct"], 0), "total")
    for j in range(k):
        rows.per_image(deltas, j, 0, output.delta_xl(zs.refs(), as_.refs(), t.refs(), j, n))
