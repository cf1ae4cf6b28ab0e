"""A net's workbook: one sheet per iteration, every layer's blocks stacked as the layers are.

Columns: A block, B element or tile, then the parameters' values, their Σ over the images
(∂C_T/∂p, and C_T in the cost row) and the update rule's state, then the images. A stack of
units (the book's 3-5 net) gives each image one column (E onwards, as the book); a stack with
maps (5-4) gives each image a band of columns as wide as its widest map, and row 3 numbers the
columns of every band so that each Σ is a ``SUMIF`` over it. Rows: the parameters with each
image's own gradient, the forward pass (x, t, then each layer's blocks, the output and C), then
backpropagation (δᴸ, then each error shown as a block, from the output back). Maps are tiles with
a blank row after each; blocks of maps have a blank row after them too.

The layers write every formula (``Layer.forward_xl``, ``grads_xl``, ``dx_xl``); this module only
places the blocks, labels them, and adds what is not any layer's: the parameters' updates, the
sums over the images, the costs and the batch.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

import numpy as np

from sheetnet import notation as names
from sheetnet.core.net import Net, describe
from sheetnet.core.run import Run
from sheetnet.core.text import TextData
from sheetnet.layers.base import Batch, Block, Cells, Refs
from sheetnet.notation import Words, sub
from sheetnet.pairs import ops, penalties
from sheetnet.pairs.optim import GD, UpdateRule
from sheetnet.workbook import settings, text_sheets, view
from sheetnet.workbook.blocks import (
    PLAIN,
    STEP_DESCRIPTIONS,
    Rows,
    StepPlan,
    checkpoint_rows,
    hyper_cells,
    parameter_cells,
    penalty_terms,
    state_places,
    step_cells,
    step_places,
)
from sheetnet.workbook.guide import net_guide
from sheetnet.workbook.layout import (
    PAGE_WIDTH,
    ColorScale,
    Grid,
    Place,
    RowSpec,
    SheetSpec,
    Styled,
    Template,
    WorkbookSpec,
    a1,
    band_breaks,
    render_rows,
)
from sheetnet.workbook.sheets import (
    EXTRA_SHEETS,
    NOTE,
    Extra,
    data_sheet,
    fit_sheet,
    images_sheet,
    inputs_sheet,
    iteration_sheet,
    map_sheet,
    names_of,
    statistics_sheet,
    summary_sheet,
)
from sheetnet.workbook.size import Size, size_of_iteration_sheet

PRINT_SCALE = 75  # percent (bands): two images' bands to a printed page, whole
BAND_ROW = 3  # bands: numbers each image band's columns 1..W, the criteria of the Σ SUMIFs
# blue < 0 < red (the view's hues), for a scale whose ends no run gives
SIGNED: dict[str, Any] = dict(low=view.NEGATIVE, mid=view.LOW, high=view.POSITIVE, mid_value=0.0)

Places = dict[str, Place]


@dataclass(frozen=True)
class Columns:
    """The sheet's column plan: a column per image, or a band of columns per image.

    Format 5 puts the images right after the labels, so an image's forward pass is what a
    screen shows first: the totals (C_T, the accuracy, a batch's statistics) take the columns
    ``value`` and ``total`` before them, and the parameters' value, Σ and the update rule's
    state areas (``area`` wide each) follow the last image (the book's 3-5 sheet keeps a
    parameter's value and Σ in C and D). Formats 1 to 4 put every area before the images."""

    value: int  # the totals' value column (the parameters' too, before format 5)
    total: int  # the totals' Σ column
    image: int  # first column of image 1
    band: int  # columns per image (1: a column each)
    images: int
    area: int  # the width of the value area, and of each after it (bands: one blank column)
    param: int = 0  # first column of the parameters' values (0: ``value``)
    param_total: int = 0  # … of their Σ over the images (0: ``total``)
    states: int = 0  # first column of the update rule's state (0: after ``param_total``)
    rule_states: int = 0  # how many state areas the update rule has

    @classmethod
    def of(cls, net: Net, images: int, rule: UpdateRule = GD,
           parameters_first: bool = False) -> Columns:
        states = len(rule.state)
        book = not net.maps and not net.input.steps  # the book's 3-5 sheet: C value, D Σ, E…
        if parameters_first:
            if book:
                return cls(3, 4, 5 + states, 1, images, 1, rule_states=states)
            area = cls._area(net)
            return cls(3, 3 + area, 3 + area * (2 + states), cls._band(net), images, area,
                       rule_states=states)
        if book:  # value and Σ beside the labels, the rule's state after the images
            return cls(3, 4, 5, 1, images, 1, states=5 + images + 1, rule_states=states)
        area, band = cls._area(net), cls._band(net)
        param = 6 + images * band  # after the last band's blank column
        return cls(3, 4, 6, band, images, area, param=param, param_total=param + area,
                   states=param + 2 * area, rule_states=states)

    @staticmethod
    def _area(net: Net) -> int:
        return max(p.cols for p in net.params()) + 1

    @staticmethod
    def _band(net: Net) -> int:
        widest = max(b.shape.cols for b in (*net.forward_blocks(), *net.backward_blocks()))
        return max(widest, net.input.cols) + 1

    @property
    def param_value(self) -> int:
        """The first column of the parameters' values."""
        return self.param or self.value

    @property
    def param_sum(self) -> int:
        """The first column of the parameters' Σ over the images."""
        return self.param_total or self.total

    @property
    def end(self) -> int:
        """The sheet's last column."""
        return max(self.last, self.param_sum + self.area - 1,
                   self.state(self.rule_states - 1) + self.area - 1 if self.rule_states else 0)

    @property
    def bands(self) -> bool:
        return self.band > 1

    @property
    def gap(self) -> int:
        """Blank rows after each block: one between maps, none in the book's columns."""
        return 1 if self.bands else 0

    def state(self, j: int) -> int:
        """The first column of the rule's j-th state."""
        return (self.states or self.param_sum + self.area) + self.area * j

    @property
    def last(self) -> int:
        return self.image + (self.images - 1) * self.band + max(self.band - 2, 0)

    def band_row(self) -> str:
        return f"{a1(BAND_ROW, self.image, True)}:{a1(BAND_ROW, self.last, True)}"

    def image_row(self, row: int) -> str:
        return f"{a1(row, self.image)}:{a1(row, self.last)}"

    @property
    def first_row(self) -> int:
        """The row after the header (and, with bands, the band numbers)."""
        return 4 if self.bands else 3


# --- where each block lives ----------------------------------------------------------------


def forward_order(net: Net) -> list[Block]:
    """x's companions first: the first layer's padded image (x̃) comes before t."""
    beside = _beside_x(net)
    return [*beside, *(b for b in net.forward_blocks() if b not in beside)]


def _beside_x(net: Net) -> list[Block]:
    """The image as the first layer sees it, when that is a block of its own (x̃)."""
    first = net.layers[0]
    return [b for b in first.blocks() if b.padded] if first.w.x == "x" else []


def iteration_places(net: Net, cols: Columns, k: int, plan: StepPlan = PLAIN,
                     values: bool = False, words: Words | None = None,
                     parameters_first: bool = False) -> Places:
    """Where each block of iteration k lives (the same cells on every iteration sheet): read
    top to bottom, the forward pass, the cost, the errors, then the gradients beside the
    parameters and the update rule's state (``parameters_first``: the order of workbooks of
    formats 1 to 4, which verify still reads)."""
    at = _Placer(net, cols, k, describe(net, words))
    at.steps(plan)
    at.row += plan.step_row + 1  # the section's title
    if parameters_first:
        at.parameters(plan)
        at.row += 2 - cols.gap  # a blank row and the section's title
    at.forward(plan, values)
    at.row += 3  # the accuracy's row, a blank row and the section's title
    for block in net.backward_blocks():
        at.block(block)
    if not parameters_first:
        at.row += 2 - cols.gap  # a blank row and the section's title
        at.parameters(plan)
    return at.places


class _Placer:
    """Places laid out down an iteration sheet, ``row`` the next free one."""

    def __init__(self, net: Net, cols: Columns, k: int, described: dict[str, str]):
        self.net, self.cols, self.k, self.described = net, cols, k, described
        self.sheet = iteration_sheet(k)
        self.row = cols.first_row
        self.places: Places = {}

    def add(self, name: str, rows: int, width: int = 1, tile: int = 0, col: int | None = None,
            advance: bool = True, kind: str = "formula", steps: bool = False) -> Place:
        """A block of ``rows`` × ``width`` (per image unless ``col`` is given) at ``row``."""
        cols = self.cols
        images = cols.images if col is None else 0
        place = self.places[name] = Place(
            name, self.sheet, self.row, cols.image if col is None else col, rows, width,
            images=images, stride=cols.band if images else 1, iteration=self.k,
            description=self.described[name], tile=tile, kind=kind,
            transpose=steps)  # a sequence keeps (T, rows) an image
        if advance:
            self.row = place.sheet_row(rows - 1) + 1 + cols.gap
        return place

    def block(self, block: Block, advance: bool = True) -> Place:
        shape = block.shape
        place = self.add(block.name, shape.rows, shape.cols, shape.tile,
                         col=self.cols.value if block.batch else None, advance=advance,
                         kind="input" if block.input else "text" if block.text else "formula",
                         steps=shape.steps > 0)
        if block.text:  # its characters: the index block it shows, the vocabulary given later
            place = self.places[block.name] = replace(place, shows=block.shows)
        return place

    def marks(self, name: str, fill: str, kind: str = "formula") -> None:
        """A row of one mark per image (the batch's, the held-out flags), repeated across each
        band (``fill``) where bands are wider than one cell."""
        cols = self.cols
        self.places[name] = Place(name, self.sheet, self.row, cols.image, 1, images=cols.images,
                                  stride=cols.band, iteration=self.k, kind=kind,
                                  description=STEP_DESCRIPTIONS[name])
        if cols.band > 2:  # each band's cells repeat its image's mark
            self.places[fill] = Place(fill, self.sheet, self.row, cols.image + 1, 1,
                                      cols.band - 2, images=cols.images, stride=cols.band,
                                      iteration=self.k, description=STEP_DESCRIPTIONS[fill],
                                      source=name)

    def steps(self, plan: StepPlan) -> None:
        """This step's ηₖ and batch marks."""
        image = Place("", self.sheet, self.row, self.cols.image, 1, images=self.cols.images,
                      stride=self.cols.band)
        self.places.update(step_places(plan, self.sheet, self.k, self.row, self.cols.value,
                                       image))
        if "batch" in self.places:
            self.marks("batch", "batch_fill", "input")

    def parameters(self, plan: StepPlan) -> None:
        """Each parameter's value, Σ, the rule's state and each image's own gradient."""
        cols = self.cols
        for p in self.net.params():
            self.add(p.name, p.rows, p.cols, p.tile, cols.param_value, advance=False)
            if p.name in plan.frozen:
                self.places[p.name] = replace(self.places[p.name], description=(
                    f"{self.described[p.name]}: frozen (--freeze), the first sheet's on every"
                    " sheet, its gradient not applied"))
            self.add(names.total_grad(p.name), p.rows, p.cols, p.tile, cols.param_sum,
                     advance=False)
            for place in state_places(plan, p.name, self.places[p.name], cols.state(0),
                                      cols.area):
                self.places[place.name] = place
            self.add(names.grad(p.name), p.rows, p.cols, p.tile)

    def forward(self, plan: StepPlan, values: bool) -> None:
        """x (and x̃), t, the held-out flags, every forward block, the output, C and the
        totals beside it."""
        net, cols = self.net, self.cols
        ahead = _beside_x(net)
        for block in [_input_block(net), *ahead]:
            self.block(block)
        target = net.output.target_shape()
        self.add("t", target.rows, target.cols, steps=target.steps > 0)
        if plan.validation:  # typed on the first sheet, each later one repeats the last's
            self.marks("held", "held_fill", "input" if self.k == 0 else "formula")
            self.row += 1 + cols.gap
        totals = {b.name: b for b in net.output.blocks(values)}
        for block in [b for b in forward_order(net) if b not in ahead] + [
                b for name, b in totals.items() if name not in ("C", "correct")]:
            self.block(block)
        self.add("C", 1, advance=False)
        self.add("C_T", 1, col=cols.total, advance=False)
        if plan.batches:
            self.beside("C_batch", 0, cols.value)
        self.row += 1
        if net.accuracy:
            self.block(totals["correct"], advance=False)
            self.add("accuracy", 1, col=cols.value, advance=False)
        if plan.validation:  # a row: C_T per image beside the validation cost; its accuracy
            self.beside("C_per_image", 1, cols.value)
            self.beside("validation_cost", 1, cols.total)
            if net.accuracy:
                self.beside("validation_accuracy", 2, cols.value)
            self.row += 2

    def beside(self, name: str, r: int, col: int) -> None:
        """One total in column ``col``, ``r`` rows below ``row``."""
        self.places[name] = Place(name, self.sheet, self.row + r, col, 1, iteration=self.k,
                                  description=STEP_DESCRIPTIONS[name])


def _input_block(net: Net) -> Block:
    return Block("x", net.input, "x", "", colour="picture")


def size(net: Net, n_images: int, iterations: int, rule: UpdateRule = GD,
         extra_cells: int = 0) -> Size:
    """The workbook's size, from the places of one iteration sheet (no array made).

    extra_cells: formula cells of sheets a preset adds (a Fit or Check sheet)."""
    cols = Columns.of(net, n_images, rule)  # a new export's
    places = iteration_places(net, cols, 0, StepPlan(rule)).values()
    return size_of_iteration_sheet(places, iterations=iterations, other_cells=extra_cells,
                                   other_rows=net.parameters + 40,
                                   other_cols=cols.end,
                                   taller="filters" if net.maps else "units")


# --- every cell of an iteration sheet ----------------------------------------------------


def _labels(rows: Rows, place: Place, symbol: str,
            labels: Sequence[tuple[int, str]]) -> None:
    rows.text(place.row, 1, symbol, "label")
    for r, text in labels:
        rows.text(place.sheet_row(r), 2, text, "element")


def _timed(block: Block) -> str:
    """A block's symbol as column A writes it: a sequence's at step t (zₜ)."""
    return block.symbol + ("ₜ" if block.shape.steps and "ₜ" not in block.symbol else "")


def _input_labels(run: Run, net: Net) -> list[tuple[int, str]]:
    """x's column B: each pixel (p11 …) in a column; each channel's tile of several."""
    if not net.maps:
        return list(enumerate(run.data.pixel_names()))
    shape = net.input
    if shape.channels > 1:
        return [(c * shape.height, f"x channel {c + 1}") for c in range(shape.channels)]
    return []


class SheetCells:
    """Each layer's cells on one sheet, and the gradient each receives from the layer above."""

    def __init__(self, net: Net, here: Places, batch: Batch | None = None,
                 prev: Places | None = None):
        self.net, self.here, self.batch, self.prev = net, here, batch, prev
        self.cells: list[Cells] = [Cells(here["x"])] * len(net.layers)
        for i in reversed(range(len(net.layers))):
            self.cells[i] = self._cells(i)

    def _cells(self, i: int) -> Cells:
        layer, here = self.net.layers[i], self.here
        dy, dy_block = self._dy(i)
        params = {p.name: here[p.name] for p in layer.params()}
        grads = {p.name: here[g] for p in layer.params()  # none where a pass takes no gradient
                 if (g := names.grad(p.name)) in here}  # (a GAN's D judging G's points)
        out = {b.name: here[b.name] for b in (*layer.blocks(), *layer.error_blocks())}
        if layer.w.dx is not None:  # (a pass that only goes forward shows no errors)
            out.update({b.name: here[b.name] for b in layer.dx_blocks() if b.name in here})
        key = here[layer.w.key] if layer.w.key is not None else None
        return Cells(here[layer.w.x], out, params, grads, dy, dy_block, key, self.batch,
                     self.prev, here["x"].sheet, here.get("held"))

    def _dy(self, i: int) -> tuple[Callable[[int, int], str], Place | None]:
        """∂C/∂(layer i's output): the next layer's dx block, or its dx written inline."""
        later = [j for j in range(i + 1, len(self.net.layers))
                 if not self.net.layers[j].transparent]
        if not later:
            block = self.here.get(self.net.output.delta)
            return (_no_error, None) if block is None else (block.ref, block)
        j = later[0]
        nxt = self.net.layers[j]
        if nxt.w.dx is not None:
            block = self.here.get(nxt.w.dx)
            return (_no_error, None) if block is None else (block.ref, block)
        return (lambda r, c: nxt.dx_xl(self.cells[j], r, c)), None


def _no_error(r: int, c: int) -> str:
    raise AssertionError("this pass only goes forward: it has no errors to read")


def iteration_rows(run: Run, cols: Columns, here: Places, prev: Places | None,
                   inputs: Places, data: Places) -> list[RowSpec]:
    """Every row of one iteration sheet: labels, fixed formulas and per-image templates."""
    sheet = IterationSheet(run, cols, here, prev, inputs, data)
    sheet.parameters()
    sheet.forward()
    sheet.backward()
    return sheet.rows.specs()


class IterationSheet:
    """One iteration sheet's rows as they are written, section by section."""

    def __init__(self, run: Run, cols: Columns, here: Places, prev: Places | None,
                 inputs: Places, data: Places):
        self.run, self.cols, self.here, self.prev = run, cols, here, prev
        self.inputs, self.data = inputs, data
        self.net: Net = run.model
        self.plan = StepPlan.of(run)
        self.words = run.data.words(self.net.maps)
        # the blocks of the characters' scores (a row a character): the last layer's outputs,
        # the output's and its error
        self.per_character = {b.name for b in (*self.net.layers[-1].blocks(),
                                                *self.net.output.blocks())} | {
            self.net.output.delta}
        self.rows = Rows(stride=cols.band)
        self.marks = here.get("batch")
        # what the layers carry into iteration 0 (batch norm's running averages): a
        # checkpoint's, from Inputs
        start = ({name: inputs[name] for name in run.carried}
                 if prev is None and run.carried else None)
        self.sheet_cells = SheetCells(self.net, here, self.batch(), prev or start)
        k = here["x"].iteration
        assert k is not None, "an iteration sheet's blocks are an iteration's"
        self.k = k
        step_cells(self.rows, run, here, self.k, 2)
        for fill, marks in (("batch_fill", "batch"), ("held_fill", "held")):
            if fill in here:
                for c in range(here[fill].cols):
                    self.rows.per_image(here[fill], 0, c, here[marks].ref())

    def row_of(self, name: str) -> str | None:
        """A per-image row (the batch marks, the held-out flags) over every image's columns."""
        place = self.here.get(name)
        if place is None:
            return None
        return (self.cols.image_row(place.row) if self.cols.bands
                else place.all_images_row(0))

    def total(self, place: Place, r: int, c: int = 0, batch: bool = False) -> str:
        """Σ over the images (the batch's, for a gradient: marked and not held out) of column c
        of the block's row r."""
        cols = self.cols
        mask = self.row_of("batch") if batch else None
        held = self.row_of("held") if batch else None
        if not cols.bands:
            return ops.total_xl(place.all_images_row(r), mask, held)
        return ops.total_banded_xl(cols.band_row(), c + 1, cols.image_row(place.sheet_row(r)),
                                   mask, held)

    def batch(self) -> Batch:
        """Sums over the step's batch for batch norm: a unit's row (a filter's tile) across
        every image, the batch marks, and how many values that is."""
        cols, marks = self.cols, self.marks
        images = self.run.n_images

        def area(place: Refs, r0: int, r1: int) -> str:
            if not cols.bands:
                return place.all_images_row(r0)
            return f"{a1(place.sheet_row(r0), cols.image)}:{a1(place.sheet_row(r1), cols.last)}"

        row, held = self.row_of("batch"), self.row_of("held")
        out = f",{held},0" if held else ""

        def count(positions: int) -> str:
            if marks is None:
                return str(images * positions)
            if not cols.bands:
                counted = f'COUNTIFS({row},"<>0"{out})'
            else:
                counted = f'COUNTIFS({cols.band_row()},1,{row},"<>0"{out})'
            return counted if positions == 1 else f"({counted}*{positions})"

        def mean(place: Refs, r: int, c: int) -> str:
            if not cols.bands:
                return ops.mean_xl(place.all_images_row(r, c))
            return ops.mean_banded_xl(cols.band_row(), c + 1,
                                      cols.image_row(place.sheet_row(r)))

        weights = None if row is None else f"({row}<>0)" + (f"*({held}=0)" if held else "")
        return Batch(area, weights, count, mean)

    def split(self, place: Place, validation: bool, mean: bool) -> str:
        """Σ (or the mean) of a per-image cell over the images trained on, or held out."""
        held, cols = self.here["held"], self.cols
        split = ops.split_mean_xl if mean else ops.split_total_xl
        if cols.bands:
            return split(cols.image_row(place.row), cols.image_row(held.row), validation,
                         cols.band_row())
        return split(place.all_images_row(0), held.all_images_row(0), validation, None)

    def trained(self) -> str:
        """How many images are trained on (not held out)."""
        held, cols = self.here["held"], self.cols
        if cols.bands:
            return f"COUNTIFS({cols.band_row()},1,{cols.image_row(held.row)},0)"
        return f"COUNTIF({held.all_images_row(0)},0)"

    def mean(self, place: Place, r: int) -> str:
        """The mean of a per-image row over every image (and a sequence's every step)."""
        if not self.cols.bands:
            return ops.mean_xl(place.all_images_row(r))
        columns = 1 if place.cols == 1 else '">0"'  # the band's first column, or all numbered
        return ops.mean_banded_xl(self.cols.band_row(), columns,
                                  self.cols.image_row(place.sheet_row(r)))

    def put(self, formulas) -> None:
        """Formulas, each (block, r, c, text): per image, or one for the batch (batch norm's
        μ)."""
        for name, r, c, text in formulas:
            place = self.here[name]
            if place.images:
                self.rows.per_image(place, r, c, text)
            else:
                self.rows.fixed(place, r, c, text)

    def typed(self, place: Place, values: np.ndarray) -> None:
        """A per-image block of typed-in numbers (input cells): ``values`` (N, …), each image's
        in its own column or band."""
        grid = place.grid(np.asarray(values, dtype=float))  # (images, rows, cols)
        for r in range(place.rows):
            row = self.rows.row(place.sheet_row(r))
            for i in range(place.images):
                for c in range(place.cols):
                    row.fixed[place.col + c + i * place.stride] = Styled(float(grid[i, r, c]),
                                                                         "input")

    def label(self, block: Block) -> None:
        """Column A's symbol (with ₜ for a sequence's block) and column B's labels (a text's
        characters for the scores' blocks, a row a character: oₜ, aₜ, ∂C/∂oₜ)."""
        labels: Sequence[tuple[int, str]] = block.labels
        data = self.run.data
        if isinstance(data, TextData) and block.name in self.per_character and (
                block.shape.rows == len(data.classes) and not block.shape.per_step):
            labels = list(enumerate(data.pixel_names()))
        _labels(self.rows, self.here[block.name], _timed(block), labels)

    def parameters(self) -> None:
        """Each parameter's value (from Inputs, or the last sheet's moved by the rule), its
        state, its Σ over the images (+ a penalty's share) and each image's own gradient."""
        here, cols, h = self.here, self.cols, hyper_cells(self.run)
        for p in self.net.params():
            _labels(self.rows, here[p.name], p.symbol, p.tile_labels)
            style = "value"
            if p.name in self.run.frozen:  # lavender, said under its symbol and in the
                style = "frozen"  # rule's state columns, which it has none of
                if p.rows > 1:
                    self.rows.text(here[p.name].sheet_row(1), 1, "frozen", "note")
                if self.plan.rule.state:
                    self.rows.text(here[p.name].row, cols.state(0), "frozen: no update, no"
                                   " state", "note")
            for place, r, c, formula in parameter_cells(self.run, p.name, self.k, here,
                                                        self.prev, self.inputs):
                self.rows.fixed(place, r, c, formula, style)
            value, grad = here[p.name], here[names.grad(p.name)]
            for r in range(p.rows):
                for c in range(p.cols):
                    extra = (penalties.penalty_gradient_xl(value.ref(r, c), h)
                             if p.weight and self.plan.penalties else "")
                    self.rows.fixed(here[names.total_grad(p.name)], r, c,
                                    self.total(grad, r, c, batch=True) + extra, "total")
        for layer, cells in zip(self.net.layers, self.sheet_cells.cells, strict=True):
            self.put((names.grad(name), r, c, text) for name, r, c, text in
                     layer.grads_xl(cells))
        _section(self.rows, here[self.net.params()[0].name].row - 1, "Parameters · gradients",
                 {cols.param_sum: "∂C_T/∂w, ∂C_T/∂b" if cols.bands else "∂C_T/∂(w, b)",
                  cols.image: f"each {self.words.item}'s own gradient ∂C/∂w, ∂C/∂b"
                              + (", Σ over its steps (in the band's first column) →"
                                 if self.net.input.steps else
                                 ", in the parameters' shape →" if cols.bands
                                 else " of the row's parameter →")})

    def forward(self) -> None:
        """x and t from the Data sheet, each layer's forward blocks, the output and the
        costs."""
        here, net, run = self.here, self.net, self.run
        x, t = here["x"], here["t"]
        sheet = x.sheet
        ahead = [*forward_order(net), *net.output.blocks()[:1]]
        _section(self.rows, x.row - 1, "Forward pass",
                 {self.cols.image: f"each {self.words.item}'s x, t,"
                                   f" {'maps ' if self.net.maps else ''}{_symbols(ahead)} and C →"})
        _labels(self.rows, x, "xₜ" if net.input.steps else "x", _input_labels(run, net))
        _labels(self.rows, t, "tₜ" if net.input.steps else "t",
                _input_labels(run, net) if net.input.steps else
                self.by_class([(j, f"t{sub(j + 1)}") for j in range(t.rows)]))
        if isinstance(run.data, TextData):  # each window's characters, read off the text
            for place, r, c, i, formula in text_sheets.step_inputs(
                    run, x, t, self.data["label"], self.inputs["classes"]):
                self.rows.each_image(place, r, c, i, formula)
        else:
            self.data_inputs(x, t)
        if "held" in here:
            held = here["held"]
            _labels(self.rows, held, "held out", [(0, "1: validation")])
            if self.prev is None:
                assert run.held is not None, "a sheet with held-out flags has a run that holds"
                self.typed(held, run.held[:, None])
            else:
                self.rows.per_image(held, 0, 0, self.prev["held"].ref(sheet=sheet))
        typed = run.draws(self.k)  # this step's inputs beside the data (dropout's masks)
        for layer, cells in zip(net.layers, self.sheet_cells.cells, strict=True):
            for block in layer.blocks():
                self.label(block)
                if block.input:
                    self.typed(here[block.name], typed[block.name])
            self.put(layer.forward_xl(cells))
        for block in net.output.blocks(run.data.values):
            if net.input.steps:
                self.label(block)
                continue
            _labels(self.rows, here[block.name], block.symbol,
                    self.by_class(block.labels) if block.name == net.output.a else block.labels)
        self.put(net.output.forward_xl(self.output_cells(), run.n_images))
        penalty = penalty_terms(self.plan, run, here)
        validated = "held" in here
        cost = self.split(here["C"], False, False) if validated else self.total(here["C"], 0)
        self.rows.fixed(here["C_T"], 0, 0, cost + penalty, "total")
        if "C_batch" in here:
            self.rows.fixed(here["C_batch"], 0, 0,
                            self.total(here["C"], 0, batch=True) + penalty)
        if "accuracy" in here:
            right = (self.split(here["correct"], False, True) if validated
                     else self.mean(here["correct"], 0))
            self.rows.fixed(here["accuracy"], 0, 0, right, "percent")
        if validated:
            self.validation()

    def data_inputs(self, x: Place, t: Place) -> None:
        """x and t of the current image from the Data sheet: its pixels, its label (one-hot
        over the classes, or the target value itself)."""
        sheet, run = x.sheet, self.run
        for r in range(x.rows):
            for c in range(x.cols):
                self.rows.per_image(x, r, c, self.data["x"].ref(r, c, sheet=sheet))
        label = self.data["label"].ref(sheet=sheet)
        for j in range(t.rows):
            self.rows.per_image(t, j, 0, label if run.data.values else ops.one_hot_xl(
                label, self.inputs["classes"].ref(j, absolute=True, sheet=sheet)))

    def by_class(self, labels: Sequence[tuple[int, str]]) -> list[tuple[int, str]]:
        """An output's or target's row labels with the class each row stands for (aᴼ₄ is
        the digit 3), when there is one class a row."""
        classes = () if self.run.data.values else self.run.data.classes
        if len(labels) != len(classes):
            return list(labels)
        shown = [int(c) if isinstance(c, float) and c.is_integer() else c for c in classes]
        return [(r, f"{text}: {shown[r]}") for r, text in labels]

    def validation(self) -> None:
        """C_T per image trained on, and the held-out images' mean cost and accuracy."""
        here = self.here
        per = here["C_per_image"]
        self.rows.text(per.row, 1, "validation", "label")
        self.rows.text(per.row, 2, "C/image: trained · held", "element")
        self.rows.fixed(per, 0, 0, f"{here['C_T'].ref()}/{self.trained()}")
        self.rows.fixed(here["validation_cost"], 0, 0, self.split(here["C"], True, True),
                        "total")
        if "validation_accuracy" in here:
            acc = here["validation_accuracy"]
            self.rows.text(acc.row, 2, "accuracy: held out", "element")
            self.rows.fixed(acc, 0, 0, self.split(here["correct"], True, True), "percent")

    def output_cells(self) -> Cells:
        output, here = self.net.output, self.here
        known = {"vocabulary": self.inputs["classes"]} if "classes" in self.inputs else {}
        return Cells(here[output.w.x], {**{b.name: here[b.name] for b in output.blocks()},
                                        "t": here["t"], output.delta: here[output.delta],
                                        "x": here["x"], **known}, sheet=here["x"].sheet)

    def backward(self) -> None:
        """δᴸ, then each error a layer shows as a block, from the output back."""
        backward = self.net.backward_blocks()
        _section(self.rows, self.here[backward[0].name].row - 1, "Backpropagation",
                 {self.cols.image: f"each {self.words.item}'s"
                                   f" {'errors' if self.cols.bands else 'neural unit errors'}"
                                   f" {_symbols(backward, 'and')} →"})
        for block in backward:
            self.label(block)
        self.put(self.net.output.delta_xl(self.output_cells(), self.run.n_images))
        for layer, cells in zip(self.net.layers, self.sheet_cells.cells, strict=True):
            self.put(layer.errors_xl(cells))
            if layer.w.dx is not None:
                dx = self.here[layer.w.dx]
                self.put((dx.name, r, c, layer.dx_xl(cells, r, c)) for r in range(dx.rows)
                         for c in range(dx.cols))


def _section(rows: Rows, row: int, title: str, notes: dict[int, str]) -> None:
    rows.text(row, 1, title, "section")
    rows.areas(row, notes)


def _symbols(blocks: Sequence[Block], last: str = ",") -> str:
    """``zᶠ, aᶠ, zᴾ`` …: the blocks' symbols, each once (``last``: "and" before the last)."""
    symbols = list(dict.fromkeys(_timed(b) for b in blocks))
    if last == "," or len(symbols) < 2:
        return ", ".join(symbols)
    return f"{', '.join(symbols[:-1])} {last} {symbols[-1]}"


# --- the workbook ------------------------------------------------------------------------


def workbook(run: Run, extras: Sequence[Extra] = ()) -> WorkbookSpec:
    """The whole workbook's layout for a net's run (``extras``: more sheets after Summary)."""
    net: Net = run.model
    first = run.origin.get("format") in settings.PARAMETERS_FIRST
    cols = Columns.of(net, run.n_images, run.rule, first)
    plan = StepPlan.of(run)
    values = run.data.values
    words = run.data.words(net.maps)
    text = isinstance(run.data, TextData)
    per_iter = [iteration_places(net, cols, k, plan, values, words, first)
                for k in range(run.iterations + 1)]
    if text:  # the characters a text place shows are the vocabulary's
        vocabulary = tuple(str(c) for c in run.data.classes)
        per_iter = [{name: replace(p, pick=vocabulary) if p.kind == "text" else p
                     for name, p in places.items()} for places in per_iter]
    if values:  # the data and the last prediction side by side
        extras = [lambda inputs, data, it: fit_sheet(run, it[-1][net.output.a], data), *extras]
    state_rows, state_descriptions, section, initial = checkpoint_rows(
        run, {p.name: p.labels for p in net.params()}, "Initial parameters")
    start = run.carried or {}  # a checkpoint's carried blocks (running averages)
    carried = [b for layer in net.layers for b in layer.blocks() if b.name in start]
    state_rows += [(b.name, [text for _, text in b.labels], start[b.name]) for b in carried]
    state_descriptions.update({b.name: f"{b.description} (the checkpoint's)" for b in carried})
    inputs_spec, inputs_list = inputs_sheet(
        run, settings.net_settings(run),
        [*((p.name, p.labels, run.params[p.name]) for p in net.params()), *state_rows],
        {**describe(net, words), **state_descriptions}, section=section, initial=initial,
        note=NOTE.replace("a pixel or a label", "a character of the text (on Data)")
        if text else NOTE, vocabulary=run.data.pixel_names() if text else ())
    data_spec, data_list = (text_sheets.data_sheet(run) if isinstance(run.data, TextData)
                            else data_sheet(run, cols.band if cols.bands else 0))
    inputs = {p.name: p for p in inputs_list}
    data = {p.name: p for p in data_list}
    summary_spec, summary_list = summary_sheet(
        run, [p["C_T"] for p in per_iter], [p.get("accuracy") for p in per_iter],
        per_iter if plan.validation else None)
    iter_specs, templates = _iteration_sheets(run, cols, per_iter, inputs, data)
    places = inputs_list + data_list + [p for it in per_iter for p in it.values()] + summary_list
    extra: list[SheetSpec] = []
    for make in extras:
        spec, more = make(inputs, data, per_iter)
        extra.append(spec)
        places += more
    pictures = ([images_sheet(run, data["x"])] if not cols.bands and run.data.shape[0] > 1
                and run.data.channels == 1 else [])
    after: list[SheetSpec] = []  # after the iterations it sums up
    if run.statistics:
        spec, more = statistics_sheet(run, per_iter)
        after.append(spec)
        places += more
    guide = net_guide(run, per_iter[0], per_iter[1] if len(per_iter) > 1 else None, inputs,
                      [(s.name, EXTRA_SHEETS.get(s.name, ""))
                       for s in (*extra, *pictures, *after)], cols.bands)
    sheets = [guide, summary_spec, *extra, inputs_spec, data_spec, *pictures, *iter_specs,
              *after, map_sheet(places, words.items)]
    return WorkbookSpec(sheets, places, names_of(inputs_list, run.hyperparameters), templates)


def _iteration_sheets(run: Run, cols: Columns, per_iter: Sequence[Places], inputs: Places,
                      data: Places) -> tuple[list[SheetSpec], list[Template]]:
    """Each iteration's sheet (its rows made when it is written: one sheet in memory at a
    time), and the per-image templates of the first two (for the formulas' lengths)."""
    rendered: dict[tuple, list[str]] = {}  # iteration sheets repeat their per-image formulas
    templates: list[Template] = []
    specs: list[SheetSpec] = []
    for k, here in enumerate(per_iter):
        prev = per_iter[k - 1] if k else None

        def rows(here: Places = here, prev: Places | None = prev) -> list[RowSpec]:
            return iteration_rows(run, cols, here, prev, inputs, data)

        def render(grid: Grid, rows: Callable[[], list[RowSpec]] = rows) -> Grid:
            return render_rows(rows(), run.n_images, grid, rendered)

        if k <= 1:  # sheets from 1 on differ only in their sheet references
            templates += [t for rs in rows() for _, t in rs.per_image]
        specs.append(_iteration_spec(run, cols, k, here, render))
    return specs, templates


def _scales(net: Net, here: Places, cols: Columns, frozen: Collection[str] = ()
            ) -> list[ColorScale]:
    """Colour scales on every block, each its own (each map's, in a block of maps) across the
    images, its ends from the run's numbers (``view.scale_ends``: white at 0, red above, blue
    below): the passes, the output and C, each image's gradients, the parameters (but the
    ``frozen``, grey) and their Σ."""
    last = cols.last

    def scales(p: Place, signed: bool) -> list[ColorScale]:
        tiles = [(q, q + p.tile) for q in range(0, p.rows, p.tile)] if p.tile else [(0, p.rows)]
        return [ColorScale(f"{a1(p.sheet_row(r0), cols.image)}:{a1(p.sheet_row(r1 - 1), last)}",
                           place=p, rows=(r0, r1), **(SIGNED if signed else {}))
                for r0, r1 in tiles]

    blocks = [_input_block(net), *net.forward_blocks(), *net.output.blocks(),
              *net.backward_blocks()]
    out = [s for b in blocks if b.name in here and not b.batch and not b.text
           and b.name != "predicted" for s in scales(here[b.name], b.colour == "signed")]
    out += scales(here["t"], False)  # the targets
    for p in net.params():  # each image's gradient; the values, their Σ
        out += scales(here[names.grad(p.name)], True)
        kept = p.name in frozen
        for place in (here[p.name], here[names.total_grad(p.name)])[kept:]:
            out.append(ColorScale(f"{a1(place.row, place.col)}:"
                                  f"{a1(place.sheet_row(p.rows - 1), place.col + p.cols - 1)}",
                                  place=place, **SIGNED))
    return out


def _iteration_spec(run: Run, cols: Columns, k: int, here: Places,
                    render: Callable[[Grid], Grid]) -> SheetSpec:
    net: Net = run.model
    n = run.n_images
    states = run.rule.state
    last_row = max(p.sheet_row(p.rows - 1) for p in here.values())
    width = cols.band - 1 if cols.bands else 1
    words = run.data.words(net.maps)
    areas = [cols.param_value, cols.param_sum, *(cols.state(j) for j in range(len(states)))]

    def build() -> Grid:
        step = (f" · after a checkpoint: iteration {run.start + k:,} of the run's count"
                if run.start else "")
        g: Grid = {1: {1: Styled(f"Iteration {k} of {run.iterations} · {run.preset}{step}",
                                 "title")},
                   2: {1: Styled("block", "header"), 2: Styled("element", "header"),
                       cols.value: Styled("value", "header"),
                       cols.total: Styled(f"Σ {words.items}", "header"),
                       cols.param_value: Styled("value", "header"),
                       cols.param_sum: Styled(f"Σ {words.items}", "header")}}
        for j, kind in enumerate(states):
            g[2][cols.state(j)] = Styled(run.rule.symbol(kind), "header")
        if cols.bands:
            g[BAND_ROW] = {2: Styled("step t →" if net.input.steps else "column in image →",
                                     "element")}
            for first in areas:
                for c in range(first + 1, first + cols.area - 1):  # the header's fill spans it
                    g[2][c] = Styled(None, "header")
        for i in range(n):
            start = cols.image + i * cols.band
            g[2][start] = Styled(f"window {i + 1}" if net.input.steps else i + 1, "header")
            if cols.bands:
                for c in range(width):
                    g[BAND_ROW][start + c] = Styled(c + 1, "element")
                    if c:
                        g[2][start + c] = Styled(None, "header")
        return render(g)

    if not cols.bands:
        widths = {1: 9, 2: 22 if "held" in here else 9, 3: 12, 4: 13,
                  **{cols.state(j): 12 for j in range(len(states))},
                  **{cols.image + i: 9 for i in range(n)}}  # -1.23E-05: 3 digits
        if states and cols.state(0) > cols.image:
            widths[cols.state(0) - 1] = 2  # the blank column after the images
        return SheetSpec(iteration_sheet(k), build, widths=widths,
                         freeze="C3", color_scales=_scales(net, here, cols, run.frozen),
                         max_col=cols.end, max_row=last_row, formula_style="number",
                         print_rows="1:2", print_cols="A:B", print_scale=PRINT_SCALE)
    longest = max(len(_timed(b)) for b in (*net.forward_blocks(), *net.backward_blocks()))
    widths = {1: max(10, min(24, longest + 2)), 2: 17}  # the blocks' symbols, whole
    widths.update({c: 11 for c in range(cols.value, cols.total + 1)})  # the totals
    for first in areas:  # each parameter area, a narrow blank column before it
        widths.update({c: 11 for c in range(first, first + cols.area - 1)})
        widths[first - 1] = 2
    widths[cols.image - 1] = 2
    for i in range(n):
        start = cols.image + i * cols.band
        widths.update({start + c: 9 for c in range(width)})  # -1.23E-05: 3 digits
        widths[start + width] = 2
    scale = _print_scale(widths, cols)
    breaks = band_breaks(widths, cols.image, cols.band, n, repeated=widths[1] + widths[2],
                         scale=scale)
    return SheetSpec(iteration_sheet(k), build, widths=widths,
                     freeze=a1(BAND_ROW + 1, 3), color_scales=_scales(net, here, cols, run.frozen),
                     max_col=cols.end, max_row=last_row, formula_style="number",
                     print_rows=f"1:{BAND_ROW}", print_cols="A:B", col_breaks=breaks,
                     print_scale=scale)


def _print_scale(widths: Mapping[int, float], cols: Columns) -> int:
    """The print scale (percent) at which the first page holds the labels, the totals and image
    1's whole band: ``PRINT_SCALE``, or less for a wide band (a text's ten steps), not below
    40 %."""
    needed = sum(widths.get(c, 8.43) for c in range(1, cols.image + cols.band))
    return max(40, min(PRINT_SCALE, int(100 * PAGE_WIDTH / needed)))
