"""The regression workbook (book 2-12): the least-squares line in closed form and by descent.

Regression: one row per point (x, y, x − x̄, y − ȳ, their product and square, u, the fitted
value), the closed-form sums and p, q below, then one row per descent step (a, b, ∂C/∂a,
∂C/∂b, C, p, q), and a scatter chart of the data with the fitted line. Data: the points (inputs).
Inputs: η and the descent's start (a₀, b₀).
"""

from __future__ import annotations

import numpy as np

from sheetnet.core import regression
from sheetnet.core.run import Run
from sheetnet.pairs import ops
from sheetnet.pairs import regression as pairs
from sheetnet.workbook import settings
from sheetnet.workbook.blocks import hyper_cells
from sheetnet.workbook.guide import VERIFY, exercise_guide
from sheetnet.workbook.layout import (
    Grid,
    Place,
    ScatterChartSpec,
    Series,
    SheetSpec,
    Styled,
    WorkbookSpec,
    a1,
    nice_range,
    put,
)
from sheetnet.workbook.sheets import DATA, inputs_sheet, map_sheet, names_of

SHEET = "Regression"
POINT_COLS = ("x", "y", "xc", "yc", "xcyc", "xc2", "u", "fit")
POINT_HEADERS = ("x", "y", "x − x̄", "y − ȳ", "(x − x̄)(y − ȳ)", "(x − x̄)²", "u", "px + q")
SUMS = ("x_bar", "y_bar", "Sxy", "Sxx", "sigma", "p_star", "q_star", "C_star")
SUM_LABELS = ("x̄", "ȳ", "Sxy", "Sxx", "σ", "p", "q", "C at (p, q)")
STEP_COLS = ("a", "b", "dC_da", "dC_db", "C", "p", "q")
STEP_HEADERS = ("a", "b", "∂C/∂a", "∂C/∂b", "C", "p", "q")


def layout(n: int, steps: int) -> tuple[dict[str, Place], dict[str, Place]]:
    """(places of Data's inputs, places of the Regression sheet's blocks)."""
    d = regression.DESCRIPTIONS
    data = {k: Place(k, DATA, 3, 2 + c, n, kind="input", description=d[k])
            for c, k in enumerate(("x", "y"))}
    first = 4
    here = {k: Place(k, SHEET, first, 2 + c, n, iteration=0, description=d[k])
            for c, k in enumerate(POINT_COLS)}
    top = first + n + 1
    here.update({k: Place(k, SHEET, top + i, 2, 1, iteration=0, description=d[k])
                 for i, k in enumerate(SUMS)})
    steps_row = top + len(SUMS) + 3
    here.update({k: Place(k, SHEET, steps_row, 2 + c, steps + 1, description=d[k])
                 for c, k in enumerate(STEP_COLS)})
    return data, here


def workbook(run: Run) -> WorkbookSpec:
    ds = run.data
    n, steps = ds.n_images, run.iterations
    start = np.asarray(run.params["start"], dtype=float)
    inputs_spec, inputs_list = inputs_sheet(
        run, settings.regression_settings(run), [("start", ["a₀", "b₀"], start)],
        {"start": "where the descent starts, (a₀, b₀)"},
        note="Yellow cells are inputs: edit η or the start (a₀, b₀) here, or a point on Data,"
             " and everything recomputes. Grey cells describe the layout; leave them.")
    start_place = next(p for p in inputs_list if p.name == "start")
    data, here = layout(n, steps)
    cells = _Cells(here)

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, "Regression · y = px + q by least squares: closed form, then gradient"
                     " descent", "title")
        _closed_form(g, cells, data, n)
        _descent(g, cells, run, start_place)
        return g

    xs = here["x"].span(0, n - 1)
    chart = ScatterChartSpec(
        "Data and the least-squares line", "x", "y", anchor=a1(2, here["fit"].col + 2),
        series=(Series("data", xs, here["y"].span(0, n - 1), line=False),
                Series("y = px + q", xs, here["fit"].span(0, n - 1))),
        x_range=nice_range(ds.x[:, 0]), y_range=nice_range(np.asarray(ds.labels, dtype=float)))
    last_row = here["a"].row + steps
    reg = SheetSpec(SHEET, build, widths={1: 12, **{c: 14 for c in range(2, 10)}},
                    freeze="B4", scatters=[chart], max_col=9, max_row=last_row,
                    tab_color="27AE60", formula_style="number", fit_width=True)
    places = inputs_list + list(data.values()) + list(here.values())
    return WorkbookSpec([_guide(), reg, inputs_spec, _data_sheet(run), map_sheet(places)],
                        places, names_of(inputs_list, run.hyperparameters))


class _Cells:
    """References to the regression sheet's blocks."""

    def __init__(self, here: dict[str, Place]):
        self.here = here

    def ref(self, name: str, i: int = 0, absolute: bool = False) -> str:
        return self.here[name].ref(i, absolute=absolute)

    def col(self, name: str) -> str:
        p = self.here[name]
        return p.span(0, p.rows - 1, absolute=True)


def _closed_form(g: Grid, c: _Cells, data: dict[str, Place], n: int) -> None:
    """One row per point (x, y, their deviations, product and square, u, the fit), then x̄,
    ȳ, Sxy, Sxx, σ and the closed-form p, q and cost."""
    here, ref, col = c.here, c.ref, c.col
    put(g, 2, 1, "Least squares, closed form", "section")
    put(g, 3, 1, "i", "header")
    for k, h in enumerate(POINT_HEADERS):
        put(g, 3, 2 + k, h, "header")
    for i in range(n):
        row: dict[int, object] = {1: i + 1}
        cells = {
            "x": data["x"].ref(i, sheet=SHEET),
            "y": data["y"].ref(i, sheet=SHEET),
            "xc": f"{ref('x', i)}-{ref('x_bar', absolute=True)}",
            "yc": f"{ref('y', i)}-{ref('y_bar', absolute=True)}",
            "xcyc": f"{ref('xc', i)}*{ref('yc', i)}",
            "xc2": f"{ref('xc', i)}*{ref('xc', i)}",
            "u": f"{ref('xc', i)}/{ref('sigma', absolute=True)}",
            "fit": f"{ref('p_star', absolute=True)}*{ref('x', i)}"
                   f"+{ref('q_star', absolute=True)}",
        }
        for name, formula in cells.items():
            row[here[name].col] = "=" + formula
        g[here["x"].row + i] = row
    sums = {
        "x_bar": ops.mean_xl(col("x")), "y_bar": ops.mean_xl(col("y")),
        "Sxy": ops.total_xl(col("xcyc")), "Sxx": ops.total_xl(col("xc2")),
        "sigma": f"SQRT({ref('Sxx')}/COUNT({col('x')}))",
        "p_star": f"{ref('Sxy')}/{ref('Sxx')}",
        "q_star": f"{ref('y_bar')}-{ref('p_star')}*{ref('x_bar')}",
        "C_star": pairs.half_sse_xl(ref("p_star"), ref("q_star"), col("x"), col("y")),
    }
    for name, label in zip(SUMS, SUM_LABELS, strict=True):
        put(g, here[name].row, 1, label, "label")
        put(g, here[name].row, 2, "=" + sums[name], "total")


def _descent(g: Grid, c: _Cells, run: Run, start: Place) -> None:
    """One row per step: a, b, ∂C/∂a, ∂C/∂b, C, and p, q back in x."""
    here, ref, col = c.here, c.ref, c.col
    hypers = hyper_cells(run)
    first = here["a"].row
    put(g, first - 2, 1, "Gradient descent on y = au + b, u = (x − x̄)/σ: the same line,"
                         " p = a/σ, q = b − p·x̄", "section")
    put(g, first - 1, 1, "step", "header")
    for k, h in enumerate(STEP_HEADERS):
        put(g, first - 1, 2 + k, h, "header")
    u, y = col("u"), col("y")
    for i in range(run.iterations + 1):
        a, b = ref("a", i), ref("b", i)
        row: dict[int, object] = {1: i}
        if i == 0:
            row[here["a"].col] = "=" + start.ref(0, absolute=True, sheet=SHEET)
            row[here["b"].col] = "=" + start.ref(1, absolute=True, sheet=SHEET)
        else:
            for name in ("a", "b"):
                row[here[name].col] = "=" + run.rule.next_xl(
                    ref(name, i - 1), ref(f"dC_d{name}", i - 1), {}, hypers, i - 1)
        row[here["dC_da"].col] = Styled("=-" + pairs.residual_sum_xl(a, b, u, y, u),
                                        "sci")  # gradients shrink to 1e-7: not 0.0000
        row[here["dC_db"].col] = Styled("=-" + pairs.residual_sum_xl(a, b, u, y), "sci")
        row[here["C"].col] = "=" + pairs.half_sse_xl(a, b, u, y)
        row[here["p"].col] = f"={a}/{ref('sigma', absolute=True)}"
        row[here["q"].col] = f"={b}-{ref('p', i)}*{ref('x_bar', absolute=True)}"
        g[here["a"].row + i] = row


def _data_sheet(run: Run) -> SheetSpec:
    ds, n = run.data, run.data.n_images

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, "Data · the points (edit them: both the closed form and the descent"
                     " recompute)", "title")
        for c, h in enumerate(("i", "x", "y"), start=1):
            put(g, 2, c, h, "header")
        for i in range(n):
            put(g, 3 + i, 1, i + 1)
            put(g, 3 + i, 2, float(ds.x[i, 0]), "input")
            put(g, 3 + i, 3, float(ds.labels[i]), "input")
        return g

    return SheetSpec(DATA, build, widths={1: 6, 2: 12, 3: 12}, freeze="A3", max_col=3,
                     max_row=n + 2, tab_color="F2C94C")


def _guide() -> SheetSpec:
    return exercise_guide(
        "sheetnet · regression: the least-squares line y = px + q (book 2-12)",
        ["The line that best fits the points, found two ways: in closed form (p = Sxy/Sxx,"
         " q = ȳ − p·x̄) and by gradient descent on C = ½Σ(y − (a·u + b))² over the standardized"
         " u = (x − x̄)/σ, so that one η suits both a and b (then p = a/σ, q = b − p·x̄).",
         "Every cell is a formula: edit a yellow input and everything recomputes."],
        [(SHEET, "the points, the closed-form sums, then one row per descent step, with a"
                 " chart of the data and the line"),
         ("Inputs", "η and the descent's start (a₀, b₀): edit them"),
         ("Data", "the points (x, y): edit them"), ("Map", "every block and where it is")],
        ["Top: one row per point: x, y, x − x̄, y − ȳ, their product and square, u and the"
         " fitted value px + q.",
         "Below the points: x̄, ȳ, Sxy, Sxx, σ, and the closed-form p, q and their cost.",
         "Then one row per step: a, b (the line in u), ∂C/∂a, ∂C/∂b, C, and p, q converted"
         " back to x; they approach the closed-form p, q."],
        ["Change a point on Data and watch the line and both solutions move.",
         "Change η on Inputs: the descent's p, q reach the closed form faster, or"
         " oscillate.", VERIFY])
