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
from sheetnet.workbook.blocks import parameter_cells, state_places
from sheetnet.workbook.guide import VERIFY, exercise_guide
from sheetnet.workbook.layout import (
    Grid,
    LineChartSpec,
    Place,
    SheetSpec,
    Styled,
    WorkbookSpec,
    a1,
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
FORWARD = (("x", "V", "xₜ"), ("t", "V", "tₜ"), ("hprev", "H", "hₜ₋₁"), ("z", "H", "zₜ"),
           ("h", "H", "hₜ"), ("o", "V", "oₜ"), ("a", "V", "aₜ"), ("C_step", 1, "Cₜ"),
           ("correct", 1, "correct"))
BACKWARD = (("dC_do", "V", "∂C/∂oₜ"), ("dh_out", "H", "∂Cₜ/∂hₜ"), ("dh", "H", "∂C/∂hₜ"),
            ("delta", "H", "δₜ"), ("dhprev", "H", "∂C/∂hₜ₋₁"), ("dh_norm", 1, "‖∂C/∂hₜ‖"))


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
        return {"V": self.vocab, "H": self.hidden}.get(size, size)  # type: ignore[arg-type]


def param_sizes(vocab: int, hidden: int) -> dict[str, int]:
    return {name: int(_size(shape)) for name, shape in rnn.shapes(vocab, hidden).items()}


def _size(shape: Sequence[int]) -> int:
    out = 1
    for s in shape:
        out *= s
    return out


def _param_labels(name: str, vocab: int, hidden: int) -> list[str]:
    rows, cols = rnn.shapes(vocab, hidden)[name] + ((1,) if name in ("bh", "by") else ())
    symbol = {"Wxh": "w_xh", "Whh": "w_hh", "bh": "b_h", "Why": "w_hy", "by": "b_y"}[name]
    if name in ("bh", "by"):
        return [f"{symbol}{sub(i + 1)}" for i in range(rows)]
    return [f"{symbol}{indices(i + 1, j + 1)}" for i in range(rows) for j in range(cols)]


def places_of(g: Geometry, k: int, rule, batched: bool) -> dict[str, Place]:
    """Every block of iteration k's sheet."""
    sheet = iteration_sheet(k)
    d = rnn.DESCRIPTIONS
    out: dict[str, Place] = {}
    row = 5 if batched else 4
    if batched:
        out["batch"] = Place("batch", sheet, 4, g.first, 1, images=g.windows, stride=g.band,
                             iteration=k, kind="input",
                             description="1 for each window in this step's batch, 0 for the"
                                         " others (edit to choose)")
    row += 1  # the section's title
    for name, size in param_sizes(g.vocab, g.hidden).items():
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
    for section in (FORWARD, BACKWARD):
        for name, size, _ in section:
            rows = g.rows(size)
            out[name] = Place(name, sheet, row, g.first, rows, g.steps, images=g.windows,
                              stride=g.band, iteration=k, description=d[name],
                              transpose=rows > 1)
            row += rows + 1
        if section is FORWARD:
            out["C"] = Place("C", sheet, row, g.first, 1, images=g.windows, stride=g.band,
                             iteration=k, description=d["C"])
            out["C_T"] = Place("C_T", sheet, row, 4, 1, iteration=k, description=d["C_T"])
            out["accuracy"] = Place("accuracy", sheet, row, 3, 1, iteration=k,
                                    description=d["accuracy"])
            row += 3
    out["dh_norm_mean"] = Place("dh_norm_mean", sheet, row + 1, 3, g.steps, iteration=k,
                                description=d["dh_norm_mean"])
    return out


def workbook(run: Run) -> WorkbookSpec:
    text: rnn.Text = run.model
    vocab, hidden = len(text.vocab), run.params["bh"].shape[0]
    g = Geometry(vocab, hidden, text.steps, text.windows, len(run.rule.state))
    batched = run.batches is not None
    per_iter = [places_of(g, k, run.rule, batched) for k in range(run.iterations + 1)]
    labels = {name: _param_labels(name, vocab, hidden) for name in rnn.PARAMS}
    inputs_spec, inputs_list = inputs_sheet(
        run, settings.rnn_settings(run),
        [(name, labels[name], run.params[name]) for name in rnn.PARAMS],
        {name: name for name in rnn.PARAMS}, section="Initial parameters (a unit's weights in"
                                                     " a column)")
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
            put(grid, 3 + i, 2, c, "input")
        return grid

    summary_spec, summary_list = summary_sheet(run, [p["C_T"] for p in per_iter],
                                               [p["accuracy"] for p in per_iter])
    iter_specs = [_iteration_spec(run, g, k, per_iter[k], per_iter[k - 1] if k else None,
                                  inputs, data) for k in range(run.iterations + 1)]
    time_spec, time_list = _time_sheet(run, g, per_iter)
    data_spec = SheetSpec(DATA, build_data, widths={1: 6, 2: 12}, freeze="A3", max_col=2,
                          max_row=len(chars) + 2, tab_color="F2C94C")
    places = (inputs_list + list(data.values()) + [p for it in per_iter for p in it.values()]
              + summary_list + time_list)
    guide = exercise_guide(
        "sheetnet · rnn: a recurrent net learning to predict the next character of its text",
        [f"An Elman RNN reads its text one character at a time (T = {text.steps} steps a"
         f" window, {text.windows} windows, {vocab} characters, H = {hidden}): hₜ = tanh(W_xh·xₜ"
         " + W_hh·hₜ₋₁ + b_h), oₜ = W_hy·hₜ + b_y, aₜ = softmax(oₜ), Cₜ = −Σ t·ln a.",
         "Backpropagation through time runs from the last step to the first: each step's error"
         " ∂C/∂hₜ is what its own output sends back plus what step t + 1 sends back through"
         " W_hh. Every cell is a formula: edit a character on Data, η or a weight on Inputs."],
        [("Summary", "C_T and accuracy per iteration, with a chart"),
         ("Inputs", "η, the vocabulary and the initial parameters (a unit's weights in a"
                    " column)"),
         ("Data", "the text, one character a row: edit it"),
         ("Iter 0 …", "one sheet per iteration: each window a band of columns, one per step"),
         (TIME, "‖∂C/∂hₜ‖ against t: how the error fades going back through time"),
         ("Map", "every block and where it is")],
        ["Forward rows (left to right, step by step): xₜ, tₜ, hₜ₋₁ (the previous column's hₜ),"
         " zₜ, hₜ, oₜ, aₜ, Cₜ and whether the most probable character is right.",
         "Backward rows (read right to left): ∂C/∂oₜ = aₜ − tₜ, ∂Cₜ/∂hₜ, ∂C/∂hₜ (adding the"
         " next column's ∂C/∂hₜ₋₁), δₜ = ∂C/∂hₜ ⊙ (1 − hₜ²), ∂C/∂hₜ₋₁ = W_hhᵀ·δₜ.",
         "Each window's gradient (top, in its band's first column) sums δ against the inputs"
         " over its steps; column D sums the windows."],
        ["Change a character on Data: its window's predictions and every later iteration"
         " move.", "Raise η on Inputs and watch C_T jump.", VERIFY])
    return WorkbookSpec([guide, summary_spec, inputs_spec, data_spec, *iter_specs, time_spec,
                         map_sheet(places)], places,
                        names_of(inputs_list, run.hyperparameters))


def _iteration_spec(run: Run, g: Geometry, k: int, here: dict[str, Place],
                    prev: dict[str, Place] | None, inputs: dict[str, Place],
                    data: dict[str, Place]) -> SheetSpec:
    sheet = iteration_sheet(k)
    text: rnn.Text = run.model
    v, h_, steps, windows = g.vocab, g.hidden, g.steps, g.windows

    def build() -> Grid:
        grid: Grid = {}
        put(grid, 1, 1, f"Iteration {k} of {run.iterations} · rnn · time runs left to right",
            "title")
        for c, text_ in ((1, "block"), (2, "element"), (3, "value"), (4, "Σ windows")):
            put(grid, 2, c, text_, "header")
        for j, kind in enumerate(run.rule.state):
            put(grid, 2, 5 + j, run.rule.symbol(kind), "header")
        put(grid, 3, 2, "step t →", "element")
        for w in range(windows):
            put(grid, 2, g.col(w, 0), f"window {w + 1}", "header")
            for t in range(steps):
                put(grid, 3, g.col(w, t), t + 1, "element")

        def cell(name: str, r: int, w: int, t: int, formula: str, style: str = "number"):
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

        def unit(name: str, i: int, size: int) -> str:
            p = here[name]
            return p.span(i * size, i * size + size - 1, absolute=True)

        if "batch" in here:
            put(grid, 4, g.first - 1, "in batch →", "pointer")
            for w in range(windows):
                put(grid, 4, g.col(w, 0), float(run.batches[k][w]), "input")
        put(grid, here["Wxh"].row - 1, 1, "Parameters · gradients", "section")
        for name in rnn.PARAMS:
            p = here[name]
            put(grid, p.row, 1, name, "label")
            for r, label in enumerate(_param_labels(name, v, h_)):
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
        for name, size, symbol in (*FORWARD, *BACKWARD):
            put(grid, here[name].row, 1, symbol, "label")
            rows = g.rows(size)
            if rows > 1:
                for r in range(rows):
                    what = f"'{text.vocab[r]}'" if size == "V" else f"unit {r + 1}"
                    put(grid, here[name].row + r, 2, what, "element")
        classes = inputs["classes"]
        label = data["label"]
        for w in range(windows):
            for t in range(steps):
                pos = w * steps + t
                for r in range(v):
                    vocab_cell = classes.ref(r, absolute=True, sheet=sheet)
                    cell("x", r, w, t, f"IF(EXACT({label.ref(pos, absolute=True, sheet=sheet)},"
                                       f"{vocab_cell}),1,0)")
                    cell("t", r, w, t, f"IF(EXACT({label.ref(pos + 1, absolute=True, sheet=sheet)}"
                                       f",{vocab_cell}),1,0)")
                for i in range(h_):
                    cell("hprev", i, w, t, "0" if t == 0 else ref("h", i, w, t - 1))
                    cell("z", i, w, t, recurrent.z_xl(unit("Wxh", i, v), column("x", w, t),
                                                      unit("Whh", i, h_),
                                                      column("hprev", w, t), param("bh", i)))
                    cell("h", i, w, t, recurrent.h_xl(ref("z", i, w, t)))
                o = [ref("o", j, w, t) for j in range(v)]
                a = [ref("a", j, w, t) for j in range(v)]
                tt = [ref("t", j, w, t) for j in range(v)]
                for j in range(v):
                    cell("o", j, w, t, ops.weighted_input_xl(unit("Why", j, h_),
                                                             column("h", w, t), param("by", j)))
                    cell("a", j, w, t, OUTPUT.forward_xl(o, j))
                    cell("dC_do", j, w, t, OUTPUT.delta_xl(o, a, tt, j, windows))
                cell("C_step", 0, w, t, OUTPUT.cost_xl(o, a, tt, windows))
                cell("correct", 0, w, t, ops.correct_xl(column("a", w, t), column("t", w, t)))
                for i in range(h_):
                    cell("dh_out", i, w, t, recurrent.back_xl(
                        [(param("Why", j * h_ + i), ref("dC_do", j, w, t)) for j in range(v)]))
                    later = ref("dhprev", i, w, t + 1) if t < steps - 1 else None
                    cell("dh", i, w, t, recurrent.dh_xl(ref("dh_out", i, w, t), later))
                    cell("delta", i, w, t, recurrent.delta_xl(ref("dh", i, w, t),
                                                              ref("z", i, w, t),
                                                              ref("h", i, w, t)))
                for q in range(h_):
                    cell("dhprev", q, w, t, recurrent.back_xl(
                        [(param("Whh", i * h_ + q), ref("delta", i, w, t)) for i in range(h_)]))
                cell("dh_norm", 0, w, t, f"SQRT(SUMSQ({column('dh', w, t)}))")
            c_place = here["C"]
            put(grid, c_place.row, g.col(w, 0), Styled(f"=SUM({across('C_step', 0, w)})",
                                                       "number"))
            for name, rows_of, inputs_of in (("Wxh", h_, ("x", v)), ("Whh", h_, ("hprev", h_)),
                                             ("Why", v, ("h", h_))):
                errors = "delta" if name != "Why" else "dC_do"
                own = here[names.grad(name)]
                for i in range(rows_of):
                    for jj in range(inputs_of[1]):
                        put(grid, own.row + i * inputs_of[1] + jj, g.col(w, 0), Styled(
                            "=" + recurrent.gradient_xl(across(errors, i, w),
                                                        across(inputs_of[0], jj, w)), "number"))
            for name, errors, size in (("bh", "delta", h_), ("by", "dC_do", v)):
                own = here[names.grad(name)]
                for i in range(size):
                    put(grid, own.row + i, g.col(w, 0), Styled(f"=SUM({across(errors, i, w)})",
                                                               "number"))
        c_row = here["C"].row
        put(grid, c_row, 1, "C (window)", "label")
        put(grid, c_row, 2, "C_T · accuracy", "element")
        put(grid, c_row, 4, Styled(f"=SUM({a1(c_row, g.first)}:{a1(c_row, g.last)})", "total"))
        corr = here["correct"].row
        put(grid, c_row, 3, Styled(f"=AVERAGE({a1(corr, g.first)}:{a1(corr, g.last)})",
                                   "percent"))
        norm = here["dh_norm_mean"]
        put(grid, norm.row, 1, "mean ‖∂C/∂hₜ‖", "label")
        for t in range(steps):
            put(grid, norm.row + t, 2, f"step {t + 1}", "element")
            cells = ",".join(ref("dh_norm", 0, w, t) for w in range(windows))
            put(grid, norm.row + t, 3, Styled(f"=AVERAGE({cells})", "value"))
        return grid

    widths = {1: 10, 2: 10, 3: 12, 4: 12, **{5 + j: 12 for j in range(g.states)}}
    for w in range(windows):
        widths.update({g.col(w, t): 8 for t in range(steps)})
        widths[g.col(w, steps)] = 2
    last_row = here["dh_norm_mean"].row + steps
    return SheetSpec(sheet, build, widths=widths, freeze=a1(4, g.first), max_col=g.last,
                     max_row=last_row, formula_style="number", print_rows="1:3",
                     print_cols="A:B")


def _time_sheet(run: Run, g: Geometry, per_iter: Sequence[dict[str, Place]]
                ) -> tuple[SheetSpec, list[Place]]:
    """‖∂C/∂hₜ‖ averaged over the windows against t, at the first and the last iteration."""
    last = run.iterations
    places = [Place("dh_norm_mean", TIME, 4, 2, g.steps, iteration=0,
                    description="mean ‖∂C/∂hₜ‖ at iteration 0"),
              Place("dh_norm_mean", TIME, 4, 3, g.steps, iteration=last,
                    description=f"mean ‖∂C/∂hₜ‖ at iteration {last}")]

    def build() -> Grid:
        grid: Grid = {}
        put(grid, 1, 1, "Through time · how big the error ∂C/∂hₜ is at each step, averaged over"
                        " the windows (backpropagation runs from the last step to the first)",
            "title")
        put(grid, 3, 1, "step t", "header")
        put(grid, 3, 2, "iteration 0", "header")
        put(grid, 3, 3, f"iteration {last}", "header")
        for t in range(g.steps):
            put(grid, 4 + t, 1, t + 1)
            for p, k in zip(places, (0, last), strict=True):
                put(grid, 4 + t, p.col, Styled("=" + per_iter[k]["dh_norm_mean"].ref(
                    t, absolute=True, sheet=TIME), "value"))
        return grid

    end = 3 + g.steps
    chart = LineChartSpec("‖∂C/∂hₜ‖ against the step t", "‖∂C/∂hₜ‖", "step t",
                          data=f"B3:B{end}", categories=f"A4:A{end}", anchor="E3",
                          more=((f"iteration {last}", f"C3:C{end}"),), name="iteration 0")
    spec = SheetSpec(TIME, build, widths={1: 10, 2: 14, 3: 14}, freeze="A4", chart=chart,
                     max_col=3, max_row=end, tab_color="8E44AD")
    return spec, places


__all__ = ["Geometry", "col_letter", "places_of", "workbook"]
