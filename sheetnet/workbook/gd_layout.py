"""The gradient-descent workbook (book 2-11): one row per step, like the book's table.

Descent: i | x | y | ∂z/∂x | ∂z/∂y | Δx | Δy | z, every number a formula; a chart of z per step
and one of the path in the x-y plane. Inputs: η (named ``eta``) and the start (x₀, y₀).
"""

from __future__ import annotations

import numpy as np

from sheetnet.core.gd import BLOCKS, DESCRIPTIONS, Function
from sheetnet.core.run import Run
from sheetnet.workbook import settings
from sheetnet.workbook.blocks import hyper_cells
from sheetnet.workbook.layout import (
    Grid,
    LineChartSpec,
    Place,
    ScatterChartSpec,
    Series,
    SheetSpec,
    WorkbookSpec,
    a1,
    put,
)
from sheetnet.workbook.sheets import inputs_sheet, map_sheet, names_of

DESCENT = "Descent"
HEADERS = {"x": "x", "y": "y", "dz_dx": "∂z/∂x", "dz_dy": "∂z/∂y", "dx": "Δx", "dy": "Δy",
           "z": "z"}
FIRST = 3  # the row of step 0


def places(steps: int) -> dict[str, Place]:
    """Each column of the table is a block over all steps (x at step 0..N, …)."""
    return {name: Place(name, DESCENT, FIRST, 2 + c, steps + 1, description=DESCRIPTIONS[name])
            for c, name in enumerate(BLOCKS)}


def workbook(run: Run) -> WorkbookSpec:
    f: Function = run.model
    steps = run.iterations
    start = np.asarray(run.params["start"], dtype=float)
    inputs_spec, inputs_list = inputs_sheet(
        run, settings.gd_settings(run), [("start", ["x₀", "y₀"], start)],
        {"start": "the starting point (x₀, y₀)"})
    start_place = next(p for p in inputs_list if p.name == "start")
    here = places(steps)
    col = {name: p.col for name, p in here.items()}
    last = FIRST + steps

    hypers = hyper_cells(run)

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, f"Gradient descent · {f.text} · η in Inputs", "title")
        put(g, 2, 1, "i", "header")
        for name, c in col.items():
            put(g, 2, c, HEADERS[name], "header")
        for i in range(steps + 1):
            r = FIRST + i
            x, y = a1(r, col["x"]), a1(r, col["y"])
            row: dict[int, object] = {1: i}
            if i == 0:
                row[col["x"]] = "=" + start_place.ref(0, absolute=True, sheet=DESCENT)
                row[col["y"]] = "=" + start_place.ref(1, absolute=True, sheet=DESCENT)
            else:  # the next point: last step's point plus its Δ
                row[col["x"]] = f"={a1(r - 1, col['x'])}+{a1(r - 1, col['dx'])}"
                row[col["y"]] = f"={a1(r - 1, col['y'])}+{a1(r - 1, col['dy'])}"
            gx, gy = f.excel_gradient(x, y)
            row[col["dz_dx"]] = "=" + gx
            row[col["dz_dy"]] = "=" + gy
            row[col["dx"]] = "=" + run.rule.step_xl(a1(r, col["dz_dx"]), {}, hypers, i)
            row[col["dy"]] = "=" + run.rule.step_xl(a1(r, col["dz_dy"]), {}, hypers, i)
            row[col["z"]] = "=" + f.excel_value(x, y)
            g[r] = row
        return g

    z_col, x_col, y_col = col["z"], col["x"], col["y"]
    chart = LineChartSpec("z per step", "z", "step i", data=f"{a1(2, z_col)}:{a1(last, z_col)}",
                          categories=f"A{FIRST}:A{last}", anchor=a1(2, z_col + 2))
    path = ScatterChartSpec(
        "The path in the x-y plane", "x", "y", anchor=a1(22, z_col + 2),
        series=(Series("(x, y) per step", f"{a1(FIRST, x_col)}:{a1(last, x_col)}",
                       f"{a1(FIRST, y_col)}:{a1(last, y_col)}", markers=True),))
    descent = SheetSpec(DESCENT, build, widths={1: 6, **{c: 13 for c in col.values()}},
                        freeze=a1(FIRST, 2), chart=chart, scatters=[path], max_col=z_col,
                        max_row=last, tab_color="27AE60")
    all_places = inputs_list + list(here.values())
    return WorkbookSpec([descent, inputs_spec, map_sheet(all_places)], all_places,
                        names_of(inputs_list))
