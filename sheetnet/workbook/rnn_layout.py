"""The recurrent net's workbook: time runs left to right.

Each iteration sheet: columns A–B name the rows; C holds the parameters (each unit's weights a
column: unit i's V input weights, its H recurrent weights, each output's H weights), D their Σ
over the windows, then the update rule's state; then each window is a band of T columns, one
per step, with a blank column after it. Rows: the parameters with each window's own gradients
(in the band's first column), the forward pass through time (xₜ, the target tₜ, hₜ₋₁, zₜ, hₜ, oₜ,
aₜ, Cₜ, correct; the window's C), then backpropagation through time from the last step to the
first (∂C/∂oₜ, ∂Cₜ/∂hₜ, ∂C/∂hₜ with what step t + 1 sends back, δₜ, ∂C/∂hₜ₋₁, ‖∂C/∂hₜ‖). The
text is on Data, one character a row (inputs); the vocabulary on Inputs. A "Through time" sheet
charts ‖∂C/∂hₜ‖ against t at the first and the last iteration.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sheetnet import notation as names
from sheetnet.core import rnn
from sheetnet.core.run import Run
from sheetnet.layers import recurrent
from sheetnet.notation import indices, sub
from sheetnet.pairs import ops
from sheetnet.pairs.outputs import SOFTMAX_CROSS_ENTROPY as OUTPUT
from sheetnet.workbook import settings
from sheetnet.workbook.blocks import checkpoint_rows, parameter_cells, state_places
from sheetnet.workbook.guide import VERIFY, exercise_guide
from sheetnet.workbook.layout import (
    Grid,
    LineChartSpec,
    Place,
    SheetSpec,
    Styled,
    Text,
    WorkbookSpec,
    a1,
    band_breaks,
    col_letter,
    put,
)
from sheetnet.workbook.sheets import (
    DATA,
    inputs_sheet,
    iteration_sheet,
    map_sheet,
    names_of,
    summary_sheet,
)

TIME = "Through time"
PRINT_SCALE = 60  # percent: a window's steps and the parameters' columns on one page
OUTPUT_SYMBOLS = {"Why": "w_hy", "by": "b_y"}


def forward_rows(cell) -> tuple[tuple[str, object, str], ...]:
    """(block, rows, symbol) of the forward pass, top to bottom."""
    return (("x", "V", "xₜ"), ("t", "V", "tₜ"), *cell.forward_blocks, ("o", "V", "oₜ"),
            ("a", "V", "aₜ"), ("C_step", 1, "Cₜ"), ("correct", 1, "correct"))


def backward_rows(cell) -> tuple[tuple[str, object, str], ...]:
    return (("dC_do", "V", "∂C/∂oₜ"), ("dh_out", "H", "∂Cₜ/∂hₜ"), *cell.backward_blocks,
            ("dh_norm", 1, "‖∂C/∂hₜ‖"))


def last_rows(cell) -> tuple[tuple[str, object, str], ...]:
    """The last step's cost alone, sent back through time: the cell's backward pass again."""
    return (("last_dh_out", "H", "∂C_last/∂hₜ out"),
            *((f"last_{name}", size, f"{symbol} (last)") for name, size, symbol
              in cell.backward_blocks), ("last_norm", 1, "‖∂C_last/∂hₜ‖"))


@dataclass(frozen=True)
class Geometry:
    """Where things are on an iteration sheet."""

    vocab: int
    hidden: int
    steps: int
    windows: int
    states: int

    @property
    def first(self) -> int:
        """Window 1's first column."""
        return 5 + self.states + 1

    @property
    def band(self) -> int:
        return self.steps + 1

    def col(self, window: int, step: int) -> int:
        return self.first + window * self.band + step

    @property
    def last(self) -> int:
        return self.col(self.windows - 1, self.steps - 1)

    def rows(self, size: int | str) -> int:
        return {"V": self.vocab, "H": self.hidden,
                "4H": 4 * self.hidden}.get(size, size)  # type: ignore[arg-type]


def param_sizes(cell, vocab: int, hidden: int) -> dict[str, int]:
    return {name: int(_size(shape)) for name, shape in rnn.shapes(cell, vocab, hidden).items()}


def _size(shape: Sequence[int]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


def _param_labels(cell, name: str, vocab: int, hidden: int) -> list[str]:
    shape = rnn.shapes(cell, vocab, hidden)[name]
    symbol = {**cell.symbols(), **OUTPUT_SYMBOLS}[name]
    if len(shape) == 1:
        return [f"{symbol}{sub(i + 1)}" for i in range(shape[0])]
    return [f"{symbol}{indices(i + 1, j + 1)}" for i in range(shape[0]) for j in range(shape[1])]


def places_of(g: Geometry, k: int, rule, batched: bool, cell) -> dict[str, Place]:
    """Every block of iteration k's sheet."""
    sheet = iteration_sheet(k)
    d = rnn.descriptions(cell)
    out: dict[str, Place] = {}
    row = 5 if batched else 4
    if batched:
        out["batch"] = Place("batch", sheet, 4, g.first, 1, images=g.windows, stride=g.band,
                             iteration=k, kind="input",
                             description="1 for each window in this step's batch, 0 for the"
                                         " others (edit to choose)")
    row += 1  # the section's title
    for name, size in param_sizes(cell, g.vocab, g.hidden).items():
        out[name] = Place(name, sheet, row, 3, size, iteration=k, description=name)
        out[names.total_grad(name)] = Place(names.total_grad(name), sheet, row, 4, size,
                                            iteration=k, description=f"∂C_T/∂{name}, Σ over"
                                            " the windows (the batch's)")
        for p in state_places(rule, name, out[name], 5, 1):
            out[p.name] = p
        out[names.grad(name)] = Place(names.grad(name), sheet, row, g.first, size,
                                      images=g.windows, stride=g.band, iteration=k,
                                      description=f"∂C/∂{name} of each window, Σ over its steps")
        row += size + 1
    row += 1
    forward = forward_rows(cell)
    for section in (forward, backward_rows(cell), last_rows(cell)):
        for name, size, _ in section:
            rows = g.rows(size)
            out[name] = Place(name, sheet, row, g.first, rows, g.steps, images=g.windows,
                              stride=g.band, iteration=k, description=d[name],
                              transpose=rows > 1)
            row += rows + 1
        if section is forward:
            out["C"] = Place("C", sheet, row, g.first, 1, images=g.windows, stride=g.band,
                             iteration=k, description=d["C"])
            out["C_T"] = Place("C_T", sheet, row, 4, 1, iteration=k, description=d["C_T"])
            out["accuracy"] = Place("accuracy", sheet, row, 3, 1, iteration=k,
                                    description=d["accuracy"])
            row += 3
    for col, name in ((3, "dh_norm_mean"), (4, "last_norm_mean")):
        out[name] = Place(name, sheet, row + 1, col, g.steps, iteration=k, description=d[name])
    return out


def workbook(run: Run, cell) -> WorkbookSpec:
    text: rnn.Text = run.model
    vocab, hidden = len(text.vocab), cell.hidden_of(run.params)
    g = Geometry(vocab, hidden, text.steps, text.windows, len(run.rule.state))
    batched = run.batches is not None
    per_iter = [places_of(g, k, run.rule, batched, cell) for k in range(run.iterations + 1)]
    params = rnn.params_of(cell)
    labels = {name: _param_labels(cell, name, vocab, hidden) for name in params}
    state_rows, state_descriptions, section, initial = checkpoint_rows(
        run, labels, "Initial parameters (a unit's weights in a column)")
    inputs_spec, inputs_list = inputs_sheet(
        run, settings.rnn_settings(run, hidden),
        [*((name, labels[name], run.params[name]) for name in params), *state_rows],
        {**{name: name for name in params}, **state_descriptions}, section=section,
        initial=initial)
    inputs = {p.name: p for p in inputs_list}
    chars = text.used
    data = {"label": Place("label", DATA, 3, 2, len(chars), kind="input",
                           description="the text, one character a row (edit one: the run"
                                       " recomputes)")}

    def build_data() -> Grid:
        grid: Grid = {}
        put(grid, 1, 1, "Data · the text, one character a row (window j reads characters"
                        f" jT … jT + T, T = {text.steps})", "title")
        put(grid, 2, 1, "i", "header")
        put(grid, 2, 2, "character", "header")
        for i, c in enumerate(chars):
            put(grid, 3 + i, 1, i + 1)
            put(grid, 3 + i, 2, Text(c), "input")  # "=" is a character, not a formula
        return grid

    summary_spec, summary_list = summary_sheet(run, [p["C_T"] for p in per_iter],
                                               [p["accuracy"] for p in per_iter])
    iter_specs = [_iteration_spec(run, g, k, per_iter[k], per_iter[k - 1] if k else None,
                                  inputs, data, cell) for k in range(run.iterations + 1)]
    time_spec, time_list = _time_sheet(run, g, per_iter)
    data_spec = SheetSpec(DATA, build_data, widths={1: 6, 2: 12}, freeze="A3", max_col=2,
                          max_row=len(chars) + 2, tab_color="F2C94C")
    places = (inputs_list + list(data.values()) + [p for it in per_iter for p in it.values()]
              + summary_list + time_list)
    guide = exercise_guide(
        f"sheetnet · {cell.name}: a recurrent net learning to predict the next character of"
        " its text",
        [f"{cell.title[0].upper()}{cell.title[1:]} reads its text one character at a time"
         f" (T = {text.steps} steps a window, {text.windows} windows, {vocab} characters,"
         f" H = {hidden}): {cell.formula}, oₜ = W_hy·hₜ + b_y, aₜ = softmax(oₜ),"
         " Cₜ = −Σ t·ln a.",
         "Backpropagation through time runs from the last step to the first: each step's error"
         " ∂C/∂hₜ is what its own output sends back plus what step t + 1 sends back. Every cell"
         " is a formula: edit a character on Data, η or a weight on Inputs."],
        [("Summary", "C_T and accuracy per iteration, with a chart"),
         ("Inputs", "η, the vocabulary and the initial parameters (a unit's weights in a"
                    " column)"),
         ("Data", "the text, one character a row: edit it"),
         ("Iter 0", "the first of one sheet per iteration: each window a band of columns, one"
                    " per step"),
         (TIME, "‖∂C/∂hₜ‖ against t: how the error fades going back through time"),
         ("Map", "every block and where it is")],
        ["Forward rows (left to right, step by step): "
         + ", ".join(s for _, _, s in forward_rows(cell)) + " (hₜ₋₁ is the previous column's"
         " hₜ).",
         "Backward rows (read right to left): " + ", ".join(s for _, _, s in backward_rows(cell))
         + "; ∂C/∂hₜ adds the next column's ∂C/∂hₜ₋₁.",
         "Each window's gradient (top, in its band's first column) sums δ against the inputs"
         " over its steps; column D sums the windows."],
        ["Change a character on Data: its window's predictions and every later iteration"
         " move.", "Raise η on Inputs and watch C_T jump.", VERIFY])
    return WorkbookSpec([guide, summary_spec, inputs_spec, data_spec, *iter_specs, time_spec,
                         map_sheet(places)], places,
                        names_of(inputs_list, run.hyperparameters))


def _iteration_spec(run: Run, g: Geometry, k: int, here: dict[str, Place],
                    prev: dict[str, Place] | None, inputs: dict[str, Place],
                    data: dict[str, Place], cell) -> SheetSpec:
    sheet = iteration_sheet(k)
    text: rnn.Text = run.model
    v, h_, steps, windows = g.vocab, g.hidden, g.steps, g.windows

    def build() -> Grid:
        grid: Grid = {}
        step = (f" · after a checkpoint: iteration {run.start + k:,} of the run's count"
                if run.start else "")
        put(grid, 1, 1, f"Iteration {k} of {run.iterations} · {run.preset}{step} · time runs"
                        " left to right", "title")
        for c, text_ in ((1, "block"), (2, "element"), (3, "value"), (4, "Σ windows")):
            put(grid, 2, c, text_, "header")
        for j, kind in enumerate(run.rule.state):
            put(grid, 2, 5 + j, run.rule.symbol(kind), "header")
        put(grid, 3, 2, "step t →", "element")
        for w in range(windows):
            put(grid, 2, g.col(w, 0), f"window {w + 1}", "header")
            for t in range(steps):
                put(grid, 3, g.col(w, t), t + 1, "element")

        def cell_(name: str, r: int, w: int, t: int, formula: str, style: str = "number"):
            p = here[name]
            put(grid, p.row + r, g.col(w, t), Styled("=" + formula, style))

        def ref(name: str, r: int, w: int, t: int, absolute: bool = False) -> str:
            return a1(here[name].row + r, g.col(w, t), absolute)

        def column(name: str, w: int, t: int) -> str:
            p = here[name]
            return f"{ref(name, 0, w, t)}:{ref(name, p.rows - 1, w, t)}"

        def across(name: str, r: int, w: int) -> str:
            return f"{ref(name, r, w, 0)}:{ref(name, r, w, steps - 1)}"

        def param(name: str, r: int) -> str:
            return here[name].ref(r, absolute=True)

        shapes = rnn.shapes(cell, v, h_)

        def unit(name: str, i: int) -> str:
            size = shapes[name][1]
            return here[name].span(i * size, i * size + size - 1, absolute=True)

        refs = _Refs(ref, column, unit, param)
        again = {"dh_out", *(name for name, _, _ in cell.backward_blocks)}

        def renamed(name: str) -> str:
            return f"last_{name}" if name in again else name

        last = _Refs(lambda name, r, w, t: ref(renamed(name), r, w, t),
                     lambda name, w, t: column(renamed(name), w, t), unit, param)
        params = rnn.params_of(cell)
        if "batch" in here:
            put(grid, 4, g.first - 1, "in batch →", "pointer")
            for w in range(windows):
                put(grid, 4, g.col(w, 0), float(run.batches[k][w]), "input")
        put(grid, here[params[0]].row - 1, 1, "Parameters · gradients", "section")
        for name in params:
            p = here[name]
            put(grid, p.row, 1, name, "label")
            for r, label in enumerate(_param_labels(cell, name, v, h_)):
                put(grid, p.row + r, 2, label, "element")
            for place, r, c, formula in parameter_cells(run, name, k, here, prev, inputs):
                put(grid, place.row + r, place.col + c, Styled("=" + formula, "value"))
            own = here[names.grad(name)]
            for r in range(own.rows):
                total = (f'SUMIFS({a1(own.row + r, g.first)}:{a1(own.row + r, g.last)},'
                         f'{a1(4, g.first)}:{a1(4, g.last)},"<>0")' if "batch" in here else
                         f"SUM({a1(own.row + r, g.first)}:{a1(own.row + r, g.last)})")
                put(grid, own.row + r, 4, Styled("=" + total, "total"))
        put(grid, here["x"].row - 1, 1, "Forward through time", "section")
        put(grid, here["dC_do"].row - 1, 1, "Backpropagation through time (read right to left)",
            "section")
        put(grid, here["last_dh_out"].row - 1, 1, "The last step's error alone, sent back"
                                                  " (how far back an error reaches)", "section")
        for name, size, symbol in (*forward_rows(cell), *backward_rows(cell),
                                   *last_rows(cell)):
            put(grid, here[name].row, 1, symbol, "label")
            rows = g.rows(size)
            if rows > 1:
                for r in range(rows):
                    put(grid, here[name].row + r, 2, _row_label(size, r, text.vocab, h_),
                        "element")
        classes = inputs["classes"]
        label = data["label"]
        for w in range(windows):
            for t in range(steps):
                pos = w * steps + t
                for r in range(v):
                    vocab_cell = classes.ref(r, absolute=True, sheet=sheet)
                    cell_("x", r, w, t, f"IF(EXACT({label.ref(pos, absolute=True, sheet=sheet)},"
                                        f"{vocab_cell}),1,0)")
                    following = label.ref(pos + 1, absolute=True, sheet=sheet)
                    cell_("t", r, w, t, f"IF(EXACT({following},{vocab_cell}),1,0)")
                for name, r, formula in cell.forward_xl(refs, w, t, h_):
                    cell_(name, r, w, t, formula)
                o = [ref("o", j, w, t) for j in range(v)]
                a = [ref("a", j, w, t) for j in range(v)]
                tt = [ref("t", j, w, t) for j in range(v)]
                for j in range(v):
                    cell_("o", j, w, t, ops.weighted_input_xl(unit("Why", j), column("h", w, t),
                                                              param("by", j)))
                    cell_("a", j, w, t, OUTPUT.forward_xl(o, j))
                    cell_("dC_do", j, w, t, OUTPUT.delta_xl(o, a, tt, j, windows))
                cell_("C_step", 0, w, t, OUTPUT.cost_xl(o, a, tt, windows))
                cell_("correct", 0, w, t, ops.correct_xl(column("a", w, t), column("t", w, t)))
                for i in range(h_):
                    cell_("dh_out", i, w, t, recurrent.back_xl(
                        [(param("Why", j * h_ + i), ref("dC_do", j, w, t)) for j in range(v)]))
            for t in reversed(range(steps)):
                for name, r, formula in cell.backward_xl(refs, w, t, h_, t == steps - 1):
                    cell_(name, r, w, t, formula)
                cell_("dh_norm", 0, w, t, f"SQRT(SUMSQ({column('dh', w, t)}))")
                for i in range(h_):
                    cell_("last_dh_out", i, w, t,
                          ref("dh_out", i, w, t) if t == steps - 1 else "0")
                for name, r, formula in cell.backward_xl(last, w, t, h_, t == steps - 1):
                    cell_(f"last_{name}", r, w, t, formula)
                cell_("last_norm", 0, w, t, f"SQRT(SUMSQ({column('last_dh', w, t)}))")
            c_place = here["C"]
            put(grid, c_place.row, g.col(w, 0), Styled(f"=SUM({across('C_step', 0, w)})",
                                                       "number"))
            for grad in (*cell.gradients, recurrent.Gradient("Why", "dC_do", "h"),
                         recurrent.Gradient("by", "dC_do")):
                own = here[names.grad(grad.param)]
                shape = shapes[grad.param]
                for i in range(shape[0]):
                    if grad.inputs is None:
                        put(grid, own.row + i, g.col(w, 0),
                            Styled(f"=SUM({across(grad.errors, i, w)})", "number"))
                        continue
                    for j in range(shape[1]):
                        put(grid, own.row + i * shape[1] + j, g.col(w, 0), Styled(
                            "=" + recurrent.gradient_xl(across(grad.errors, i, w),
                                                        across(grad.inputs, j, w)), "number"))
        c_row = here["C"].row
        put(grid, c_row, 1, "C (window)", "label")
        put(grid, c_row, 2, "C_T · accuracy", "element")
        put(grid, c_row, 4, Styled(f"=SUM({a1(c_row, g.first)}:{a1(c_row, g.last)})", "total"))
        corr = here["correct"].row
        put(grid, c_row, 3, Styled(f"=AVERAGE({a1(corr, g.first)}:{a1(corr, g.last)})",
                                   "percent"))
        norm = here["dh_norm_mean"]
        put(grid, norm.row - 1, 1, "mean over the windows", "label")
        put(grid, norm.row - 1, 3, "‖∂C/∂hₜ‖", "header")
        put(grid, norm.row - 1, 4, "‖∂C_last/∂hₜ‖", "header")
        for t in range(steps):
            put(grid, norm.row + t, 2, f"step {t + 1}", "element")
            for col, block in ((3, "dh_norm"), (4, "last_norm")):
                cells = ",".join(ref(block, 0, w, t) for w in range(windows))
                put(grid, norm.row + t, col, Styled(f"=AVERAGE({cells})", "value"))
        return grid

    widths = {1: 10, 2: 10, 3: 12, 4: 12, **{5 + j: 12 for j in range(g.states)}}
    for w in range(windows):
        widths.update({g.col(w, t): 8 for t in range(steps)})
        widths[g.col(w, steps)] = 2
    last_row = here["dh_norm_mean"].row + steps
    breaks = band_breaks(widths, g.first, g.band, windows, repeated=widths[1] + widths[2],
                         scale=PRINT_SCALE)  # a page ends between windows, never inside one
    return SheetSpec(sheet, build, widths=widths, freeze=a1(4, g.first), max_col=g.last,
                     max_row=last_row, formula_style="number", print_rows="1:3",
                     print_cols="A:B", col_breaks=breaks, print_scale=PRINT_SCALE)


@dataclass(frozen=True)
class _Refs:
    """The cells a recurrent cell's formulas read (``layers.recurrent.Refs``)."""

    ref_: object
    column_: object
    unit_: object
    param_: object

    def ref(self, name: str, r: int, w: int, t: int) -> str:
        return self.ref_(name, r, w, t)  # type: ignore[operator]

    def column(self, name: str, w: int, t: int) -> str:
        return self.column_(name, w, t)  # type: ignore[operator]

    def unit(self, param: str, i: int) -> str:
        return self.unit_(param, i)  # type: ignore[operator]

    def param(self, name: str, r: int) -> str:
        return self.param_(name, r)  # type: ignore[operator]


def _row_label(size: object, r: int, vocab: Sequence[str], hidden: int) -> str:
    """Column B of a block's row: the character, the unit, or the gate and unit."""
    if size == "V":
        return f"'{vocab[r]}'"
    if size == "4H":
        return f"{'ifgo'[r // hidden]}, unit {r % hidden + 1}"
    return f"unit {r + 1}"


def _time_sheet(run: Run, g: Geometry, per_iter: Sequence[dict[str, Place]]
                ) -> tuple[SheetSpec, list[Place]]:
    """How far back an error reaches: ‖∂C_last/∂hₜ‖ (the last step's cost alone) and ‖∂C/∂hₜ‖
    (every step's), averaged over the windows, against t, at the first and the last
    iteration; charted on a log scale."""
    last = run.iterations
    columns = [("last_norm_mean", 0, 2), ("last_norm_mean", last, 3), ("dh_norm_mean", 0, 4),
               ("dh_norm_mean", last, 5)]
    places = [Place(name, TIME, 4, col, g.steps, iteration=k,
                    description=f"{rnn.DESCRIPTIONS[name]}, at iteration {k}")
              for name, k, col in columns]

    def build() -> Grid:
        grid: Grid = {}
        put(grid, 1, 1, "Through time · how far back an error reaches", "title")
        put(grid, 2, 1, "‖∂C_last/∂hₜ‖: the last step's cost sent back alone; ‖∂C/∂hₜ‖: every"
                        " step's. Each is the mean over the windows.", "note")
        put(grid, 3, 1, "step t", "header")
        for (name, k, col) in columns:
            what = "‖∂C_last/∂hₜ‖" if name == "last_norm_mean" else "‖∂C/∂hₜ‖"
            put(grid, 3, col, f"{what}, iteration {k}", "header")
        for t in range(g.steps):
            put(grid, 4 + t, 1, t + 1)
            for name, k, col in columns:
                put(grid, 4 + t, col, Styled("=" + per_iter[k][name].ref(
                    t, absolute=True, sheet=TIME), "sci"))
        return grid

    end = 3 + g.steps
    chart = LineChartSpec("The last step's error sent back through time", "‖∂C_last/∂hₜ‖",
                          "step t", data=f"B3:B{end}", categories=f"A4:A{end}",
                          anchor=f"A{end + 2}", more=((f"iteration {last}", f"C3:C{end}"),),
                          name="iteration 0", log=True, first=1)  # below the table: one page
    spec = SheetSpec(TIME, build, widths={1: 8, **{c: 22 for *_, c in columns}}, freeze="A4",
                     chart=chart, max_col=5, max_row=end, tab_color="8E44AD", fit_width=True)
    return spec, places


__all__ = ["Geometry", "col_letter", "places_of", "workbook"]
