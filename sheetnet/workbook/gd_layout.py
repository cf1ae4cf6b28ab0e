"""The gradient-descent workbook (book 2-11): one row per step, like the book's table.

Descent: i | x | y | ∂z/∂x | ∂z/∂y | (the update rule's state for x and y) | Δx | Δy | z, every
number a formula; a chart of z per step and one of the path in the x-y plane. Inputs: η (named
``eta``), the rule's hyperparameters and the start (x₀, y₀). Comparing rules (``--compare``)
gives one such sheet per rule, from the same start, and a Compare sheet whose charts overlay
their z per step and their paths.
"""

from __future__ import annotations

import numpy as np

from sheetnet import notation as names
from sheetnet.core.gd import DESCRIPTIONS, Comparison, own, own_hyper
from sheetnet.core.run import Run
from sheetnet.pairs.functions import Function
from sheetnet.pairs.hyper import ETA, Hyper
from sheetnet.pairs.optim import UpdateRule
from sheetnet.workbook import settings
from sheetnet.workbook.guide import VERIFY, exercise_guide
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

DESCENT, COMPARE = "Descent", "Compare"
HEADERS = {"x": "x", "y": "y", "dz_dx": "∂z/∂x", "dz_dy": "∂z/∂y", "dx": "Δx", "dy": "Δy",
           "z": "z"}
FIRST = 3  # the row of step 0
COLORS = ("1F3B73", "C0392B", "27AE60", "8E44AD", "E67E22", "2F6DB5")


def columns(rule: UpdateRule) -> list[tuple[str, str, str]]:
    """The table's blocks left to right, each (block, header, what it is): the point, its
    gradient, the rule's state for x and for y, the step and z."""
    state = [(names.state(kind, p), f"{rule.symbol(kind)} ({p})", rule.describe_state(kind, p))
             for kind in rule.state for p in ("x", "y")]
    steps = [(f"d{p}", f"Δ{p}", DESCRIPTIONS[f"d{p}"] if rule.name == "gd"
              else f"Δ{p}: {rule.name}'s step ({rule.summary})") for p in ("x", "y")]
    plain = [(b, HEADERS[b], DESCRIPTIONS[b]) for b in ("x", "y", "dz_dx", "dz_dy")]
    return [*plain, *state, *steps, ("z", HEADERS["z"], DESCRIPTIONS["z"])]


def places(steps: int, rule: UpdateRule, sheet: str = DESCENT,
           name=lambda n: n) -> dict[str, Place]:
    """Each column of the table is a block over all steps (x at step 0..N, …); ``name`` gives
    a block's name in the trace (a comparison's prefix)."""
    return {block: Place(name(block), sheet, FIRST, 2 + c, steps + 1, description=text)
            for c, (block, _, text) in enumerate(columns(rule))}


def descent_sheet(run: Run, f: Function, rule: UpdateRule, here: dict[str, Place],
                  start: Place, hypers: dict[str, str], title: str,
                  tab: str = "27AE60") -> SheetSpec:
    """One rule's table, its z per step and its path."""
    steps, sheet = run.iterations, here["x"].sheet
    col = {block: p.col for block, p in here.items()}
    last = FIRST + steps

    def cell(block: str, r: int) -> str:
        return a1(r, col[block])

    def state_cells(r: int) -> dict[str, dict[str, str]]:
        return {p: {kind: cell(names.state(kind, p), r) for kind in rule.state}
                for p in ("x", "y")}

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, title, "title")
        put(g, 2, 1, "i", "header")
        for block, header, _ in columns(rule):
            put(g, 2, col[block], header, "header")
        for i in range(steps + 1):
            r = FIRST + i
            x, y = cell("x", r), cell("y", r)
            row: dict[int, object] = {1: i}
            if i == 0:
                row[col["x"]] = "=" + start.ref(0, absolute=True, sheet=sheet)
                row[col["y"]] = "=" + start.ref(1, absolute=True, sheet=sheet)
            else:  # the next point: last step's point plus its Δ
                row[col["x"]] = f"={cell('x', r - 1)}+{cell('dx', r - 1)}"
                row[col["y"]] = f"={cell('y', r - 1)}+{cell('dy', r - 1)}"
            gx, gy = f.excel_gradient(x, y)
            row[col["dz_dx"]], row[col["dz_dy"]] = "=" + gx, "=" + gy
            new = state_cells(r)
            old = state_cells(r - 1) if i else {p: dict.fromkeys(rule.state, "0")
                                                for p in ("x", "y")}
            for p in ("x", "y"):
                g_cell = cell(f"dz_d{p}", r)
                for kind, formula in rule.advance_xl(g_cell, old[p], new[p], hypers,
                                                     i).items():
                    row[col[names.state(kind, p)]] = "=" + formula
                row[col[f"d{p}"]] = "=" + rule.delta_xl(cell(p, r), g_cell, new[p], hypers, i)
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
    return SheetSpec(sheet, build, widths={1: 6, **{c: 13 for c in col.values()}},
                     freeze=a1(FIRST, 2), chart=chart, scatters=[path], max_col=z_col,
                     max_row=last, tab_color=tab, formula_style="fixed", print_rows="1:2",
                     fit_width=True)


def compare_sheet(run: Run, rules: tuple[UpdateRule, ...],
                  tables: dict[str, dict[str, Place]]) -> tuple[SheetSpec, list[Place]]:
    """Each rule's x, y and z per step side by side (references into its sheet), with charts
    that overlay their z per step and their paths."""
    steps = run.iterations
    last = FIRST + steps
    places, series_z, series_path = [], [], []
    for j, rule in enumerate(rules):
        x0 = 2 + 3 * j
        for c, block in enumerate(("x", "y", "z")):
            source = tables[rule.name][block]
            places.append(Place(f"{rule.name}.{block}", COMPARE, FIRST, x0 + c, steps + 1,
                                description=f"{rule.name}'s {block} per step (from its sheet)",
                                source=source.name))
        xs, ys, zs = (f"{a1(FIRST, x0 + c)}:{a1(last, x0 + c)}" for c in range(3))
        series_z.append(Series(rule.name, f"A{FIRST}:A{last}", zs))
        series_path.append(Series(rule.name, xs, ys, markers=True))

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, f"Update rules compared · {run.model.function.text} · the same start and"
                     " η", "title")
        put(g, 2, 1, "i", "header")
        for j, rule in enumerate(rules):
            for c, block in enumerate(("x", "y", "z")):
                put(g, 2, 2 + 3 * j + c, f"{block} · {rule.name}", "header")
        for i in range(steps + 1):
            row: dict[int, object] = {1: i}
            for j, rule in enumerate(rules):
                for c, block in enumerate(("x", "y", "z")):
                    source = tables[rule.name][block]
                    row[2 + 3 * j + c] = "=" + source.ref(i, sheet=COMPARE)
            g[FIRST + i] = row
        return g

    right = 2 + 3 * len(rules) + 1
    charts = [ScatterChartSpec("z per step, each rule", "step i", "z", tuple(series_z),
                               anchor=a1(2, right)),
              ScatterChartSpec("The paths in the x-y plane", "x", "y", tuple(series_path),
                               anchor=a1(22, right))]
    spec = SheetSpec(COMPARE, build, widths={1: 6, **{c: 11 for c in range(2, right)}},
                     freeze=a1(FIRST, 2), scatters=charts, max_col=right - 1, max_row=last,
                     tab_color="27AE60", formula_style="fixed", print_rows="1:2",
                     fit_width=True)
    return spec, places


def workbook(run: Run) -> WorkbookSpec:
    start = np.asarray(run.params["start"], dtype=float)
    comparison = isinstance(run.model, Comparison)
    defs = hyper_definitions(run)
    inputs_spec, inputs_list = inputs_sheet(
        run, settings.gd_settings(run), [("start", ["x₀", "y₀"], start)],
        {"start": "the starting point (x₀, y₀)"}, hyper_defs=defs,
        note="Yellow cells are inputs: edit η, a hyperparameter or the start and every step"
             " recomputes. Grey cells describe the layout; leave them.")
    start_place = next(p for p in inputs_list if p.name == "start")
    if not comparison:
        f, rule = run.model, run.rule
        here = places(run.iterations, rule)
        hypers = {name: name for name in run.hyperparameters}
        title = f"Gradient descent · {f.text} · {rule.name}, η in Inputs"
        sheets = [descent_sheet(run, f, rule, here, start_place, hypers, title)]
        all_places = inputs_list + list(here.values())
    else:
        c: Comparison = run.model
        sheets, all_places, tables = [], list(inputs_list), {}
        for j, rule in enumerate(c.rules):
            here = places(run.iterations, rule, rule.name, lambda n, r=rule: own(r, n))
            tables[rule.name] = here
            hypers = {"eta": "eta", **{h.name: own_hyper(rule, h.name) for h in rule.hypers}}
            title = f"{rule.summary} · {c.function.text}"
            sheets.append(descent_sheet(run, c.function, rule, here, start_place, hypers, title,
                                        COLORS[j % len(COLORS)]))
            all_places += list(here.values())
        compare, more = compare_sheet(run, c.rules, tables)
        sheets.insert(0, compare)
        all_places += more
    guide = _guide(run, [s.name for s in sheets], comparison)
    return WorkbookSpec([guide, *sheets, inputs_spec, map_sheet(all_places)], all_places,
                        names_of(inputs_list, run.hyperparameters))


def _guide(run: Run, names: list[str], comparison: bool) -> SheetSpec:
    f = run.model.function if comparison else run.model
    sheets = [(name, "the rules' z per step and their paths, overlaid" if name == COMPARE
               else "one row per step: the point, the gradient, the step and z, with charts")
              for name in names]
    return exercise_guide(
        f"sheetnet · gd: gradient descent on {f.text} (book 2-11)",
        ["Each step moves the point (x, y) against the gradient of z, so z falls:"
         " (Δx, Δy) = −η(∂z/∂x, ∂z/∂y) for plain gradient descent; other rules (momentum,"
         " Adam …) keep a state per coordinate and step from it.",
         "Every cell is a formula: edit a yellow input and every step recomputes."],
        [*sheets, ("Inputs", "η, the rules' hyperparameters and the start (x₀, y₀): edit"
                             " them"), ("Map", "every block and where it is")],
        ["One row per step i: the point x, y; ∂z/∂x and ∂z/∂y (formulas of x and y); the"
         " rule's state, if it has one; the step Δx, Δy; and z at the point.",
         "The next row's x is this row's x + Δx: follow any cell's formula to see it.",
         "The charts show z per step and the path of (x, y) in the plane."],
        ["Change η on Inputs and watch the path: small steps crawl, large ones overshoot and"
         " zig-zag, too large ones diverge.",
         "Change the start (x₀, y₀) on Inputs.", VERIFY])


def hyper_definitions(run: Run) -> dict[str, Hyper]:
    """η and each rule's hyperparameters, by their cell names (a comparison's are its rules')."""
    defs = {"eta": ETA}
    if isinstance(run.model, Comparison):
        for rule in run.model.rules:
            for h in rule.hypers:
                name = own_hyper(rule, h.name)
                defs[name] = Hyper(name, f"{h.symbol} ({rule.name})", h.default,
                                   f"{h.meaning} ({rule.name})", h.valid, h.valid_text)
    else:
        defs.update({h.name: h for h in run.rule.hypers})
    return defs
