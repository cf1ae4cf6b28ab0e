"""What a trained net's iteration sheets share beyond its layers: how each step is taken.

A parameter block holds each parameter's value: its initial value on iteration 0, else the
previous sheet's value moved by the update rule; beside it, one block per kind of state the
rule keeps (momentum's v …). Hyperparameters are named cells (``eta`` …). A step may have its own
ηₖ (a decaying η) and batch marks, and penalties add terms to the costs and the weights'
gradients (``StepPlan``). ``Rows`` collects a sheet's rows as they are laid out.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sheetnet import notation as names
from sheetnet.core.run import Run
from sheetnet.pairs import penalties
from sheetnet.pairs.optim import GD, UpdateRule
from sheetnet.workbook.layout import Place, RowSpec, Styled, Template

Places = Mapping[str, Place]
STEP_DESCRIPTIONS = {
    "eta_k": "ηₖ = η·γᵏ: this step's learning rate",
    "batch": "1 for each image in this step's batch, 0 for the others (edit to choose)",
    "batch_fill": "each image's batch mark, repeated across its band (for the Σ cells)",
    "C_batch": "the batch's cost, Σ of C over the images in the batch (+ the penalty)",
    "held": "1 for each image held out for validation (never in a batch; evaluated: no"
            " dropout, batch norm's running averages), 0 for those trained on (edit Iter 0's)",
    "held_fill": "each image's held-out flag, repeated across its band (for the Σ cells)",
    "C_per_image": "C_T per image trained on (C_T ÷ their number), beside the validation cost",
    "validation_cost": "the validation cost: the mean of C over the images held out",
    "validation_accuracy": "the share of the images held out classified right",
    "best_iteration": "the iteration with the lowest validation cost so far (the first if"
                      " tied): where --patience measures from",
}


@dataclass(frozen=True)
class StepPlan:
    """How a run steps, as its iteration sheets show it: the update rule (and its state), a row
    for this step's learning rate (a decaying η) and batch, and penalty terms in the sums."""

    rule: UpdateRule = GD
    batches: bool = False
    decay: bool = False
    penalties: tuple[str, ...] = ()  # the penalties' hyperparameter names given
    validation: bool = False  # images held out, evaluated each iteration
    frozen: tuple[str, ...] = ()  # parameters kept as they start: no update, no state

    @classmethod
    def of(cls, run: Run) -> StepPlan:
        h = run.hyperparameters
        return cls(run.rule, run.batches is not None, penalties.DECAY.name in h,
                   tuple(p.name for p in penalties.PENALTIES if p.name in h),
                   run.held is not None, run.frozen)

    def states(self, name: str) -> tuple[str, ...]:
        """The kinds of state the rule keeps for parameter ``name`` (none when frozen)."""
        return () if name in self.frozen else self.rule.state

    @property
    def step_row(self) -> bool:
        """Whether the sheet has a row for this step's ηₖ and batch (one more row at the top)."""
        return self.batches or self.decay


PLAIN = StepPlan()  # full batches, a fixed η, no penalty, gradient descent


def hyper_cells(run: Run) -> dict[str, str]:
    """Each hyperparameter's cell, by its defined name (the Inputs sheet names them)."""
    return {name: name for name in run.hyperparameters}


def penalty_terms(plan: StepPlan, run: Run, here: Places) -> str:
    """The penalty's terms for a cost cell over this sheet's weight blocks ("" without)."""
    if not plan.penalties:
        return ""
    return penalties.penalty_xl([here[w].extent for w in run.model.weights],
                                hyper_cells(run))


def step_places(plan: StepPlan, sheet: str, k: int, row: int, value_col: int,
                image: Place | None) -> dict[str, Place]:
    """This step's ηₖ (at ``value_col``) and its batch marks (per image, like ``image``) on
    ``row``."""
    places = {}
    if plan.decay:
        places["eta_k"] = Place("eta_k", sheet, row, value_col, 1, iteration=k,
                                description=STEP_DESCRIPTIONS["eta_k"])
    if plan.batches and image is not None:
        places["batch"] = Place("batch", sheet, row, image.col, 1, images=image.images,
                                stride=image.stride, iteration=k, kind="input",
                                description=STEP_DESCRIPTIONS["batch"])
    return places


def step_cells(rows: Rows, run: Run, here: Places, k: int, label_col: int) -> None:
    """The step row's labels, its ηₖ formula and its batch marks (inputs)."""
    if "eta_k" in here:
        place = here["eta_k"]
        rows.text(place.row, label_col, "ηₖ = η·γᵏ", "element")
        rows.fixed(place, 0, 0, penalties.eta_at_xl(hyper_cells(run), k + run.start))
    if "batch" in here:
        batch = here["batch"]
        rows.text(batch.row, batch.col - 1, "in batch →", "pointer")  # just left of the marks
        marks = run.batches[k] if run.batches is not None else ()
        row = rows.row(batch.row)
        for i, mark in enumerate(marks):
            row.fixed[batch.col + i * batch.stride] = Styled(float(mark), "input")


def parameter_cells(run: Run, name: str, k: int, here: Places, prev: Places | None,
                    inputs: Places) -> Iterator[tuple[Place, int, int, str]]:
    """(place, r, c, formula) for every cell of parameter ``name``'s value and state blocks on
    iteration k's sheet (``prev``: iteration k − 1's places, None on iteration 0); a frozen
    parameter's value is the last sheet's, and it has no state."""
    value, total = here[name], here[names.total_grad(name)]
    sheet = value.sheet
    if name in run.frozen:
        for r in range(value.rows):
            for c in range(value.cols):
                yield value, r, c, (inputs[name].ref(r * value.cols + c, absolute=True,
                                                     sheet=sheet)
                                    if prev is None else prev[name].ref(r, c, sheet=sheet))
        return
    rule, h = run.rule, hyper_cells(run)
    h_prev = dict(h)  # the update uses the previous step's learning rate
    if prev is not None and "eta_k" in prev:
        h_prev["eta"] = prev["eta_k"].ref(absolute=True, sheet=sheet)
    states = {kind: here[names.state(kind, name)] for kind in rule.state}
    step = k + run.start  # the step's number in the run (a window continues a checkpoint)
    given = rule.carried if run.state is not None else ()
    for r in range(value.rows):
        for c in range(value.cols):
            flat = r * value.cols + c
            if prev is None:
                formula = inputs[name].ref(flat, absolute=True, sheet=sheet)
                # the state before the first step: zeros, or a checkpoint's (input cells)
                old = {kind: inputs[names.state(kind, name)].ref(flat, absolute=True,
                                                                 sheet=sheet)
                       if kind in given else "0" for kind in rule.state}
            else:
                old = {kind: prev[names.state(kind, name)].ref(r, c, sheet=sheet)
                       for kind in rule.state}
                formula = rule.next_xl(prev[name].ref(r, c, sheet=sheet),
                                       prev[names.total_grad(name)].ref(r, c, sheet=sheet),
                                       old, h_prev, step - 1)
            yield value, r, c, formula
            here_cells = {kind: place.ref(r, c) for kind, place in states.items()}
            new = rule.advance_xl(total.ref(r, c), old, here_cells, h, step)
            for kind, place in states.items():
                yield place, r, c, new[kind]


InputRows = tuple[str, Sequence[str], np.ndarray]  # (block, each element's label, its values)


def checkpoint_rows(run: Run, labels: Mapping[str, Sequence[str]], section: str
                    ) -> tuple[list[InputRows], dict[str, str], str, str]:
    """A window's Inputs rows beyond its parameters: the rule's state the checkpoint holds,
    each kind for each parameter (``labels``: each parameter's element labels), their
    descriptions, the section's title (``section`` for a run from its start) and what the
    parameters' descriptions start with."""
    if run.state is None:
        return [], {}, section, "initial "
    rows: list[InputRows] = []
    descriptions: dict[str, str] = {}
    assert run.state is not None, "a window has the rule's state of its checkpoint"
    for p, elements in labels.items():
        if p in run.frozen:  # kept as it is: the rule keeps no state for it
            continue
        for kind in run.rule.carried:
            name = names.state(kind, p)
            rows.append((name, [f"{run.rule.symbol(kind)} of {e}" for e in elements],
                         run.state[p][kind]))
            descriptions[name] = (f"{run.rule.describe_state(kind, p)} after iteration"
                                  f" {run.start - 1:,}")
    title = (f"The checkpoint's parameters and {run.rule.name}'s state, after iteration"
             f" {run.start - 1:,}")
    return rows, descriptions, title, "the checkpoint's "


def state_places(plan: StepPlan, name: str, value: Place, first_col: int,
                 gap: int) -> list[Place]:
    """One block per kind of state the rule keeps for parameter ``name`` (none when it is
    frozen), shaped like its ``value`` block, the j-th starting at column
    ``first_col + j·gap``."""
    return [Place(names.state(kind, name), value.sheet, value.row, first_col + j * gap,
                  value.rows, value.cols, iteration=value.iteration, tile=value.tile,
                  description=plan.rule.describe_state(kind, name))
            for j, kind in enumerate(plan.states(name))]


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

    def areas(self, r: int, notes: dict[int, str]) -> None:
        """What each area of a section holds, on the section's title row (column -> text)."""
        for c, note in notes.items():
            self.text(r, c, note, "area")

    def per_image(self, place: Place, r: int, c: int, formula: str) -> None:
        """Row r, column c of a per-image block: ``formula`` for the current image."""
        self.row(place.sheet_row(r)).per_image.append(
            (place.col + c, Template(formula, stride=self.stride)))

    def each_image(self, place: Place, r: int, c: int, image: int, formula: str,
                   style: str = "number") -> None:
        """Row r, column c of image ``image``'s copy of a per-image block, written for that
        image alone (a formula that is no shift of the first image's: a window's characters)."""
        self.row(place.sheet_row(r)).fixed[place.col + c + image * place.stride] = Styled(
            "=" + formula, style)

    def fixed(self, place: Place, r: int, c: int, formula: str, style: str = "value") -> None:
        """Row r, column c of a block that is not per image."""
        self.row(place.sheet_row(r)).fixed[place.col + c] = Styled("=" + formula, style)

    def specs(self) -> list[RowSpec]:
        return [self._rows[r] for r in sorted(self._rows)]
