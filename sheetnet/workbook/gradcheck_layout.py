"""The two-layer net's workbook: the fully connected sheets plus a gradient Check sheet.

Check: one row per parameter — backpropagation's ∂C_T/∂w (from Iter 0), the central difference,
their relative error, C_T(w ± h) — and per image the moved costs C(w + h), C(w − h), each a
formula over Iter 0's cells.
"""

from __future__ import annotations

from sheetnet import notation as names
from sheetnet.core.gradcheck import DESCRIPTIONS, H, parameters
from sheetnet.core.net import Net
from sheetnet.core.run import Run
from sheetnet.pairs import ops
from sheetnet.pairs.gradcheck import central_difference_xl, perturbed_cost_xl, relative_error_xl
from sheetnet.workbook.layout import (
    ColorScale,
    Grid,
    Place,
    RowSpec,
    SheetSpec,
    Styled,
    Template,
    a1,
    put,
    render_rows,
)

CHECK = "Check"
FIRST = 5  # the first parameter's row
COLS = {"backprop": 3, "numeric": 4, "rel_error": 5, "CT_plus": 6, "CT_minus": 7}
HEADERS = {"backprop": "backprop ∂C_T/∂w", "numeric": "(C_T(w+h) − C_T(w−h))/2h",
           "rel_error": "relative error", "CT_plus": "C_T(w + h)", "CT_minus": "C_T(w − h)"}
PLUS = 9  # image 1's C(w + h); the C(w − h) columns follow after a blank column


def check_cells(net: Net, n_images: int) -> int:
    """The Check sheet's formula cells: per weight C(w ± h) for every image, and five more."""
    return len(parameters(net)) * (2 * n_images + 5)


def check_sheet(run: Run, here: dict[str, Place]) -> tuple[SheetSpec, list[Place]]:
    net: Net = run.model
    n = run.n_images
    params = parameters(net)
    rows = len(params)
    minus_col = PLUS + n + 1
    places = {name: Place(name, CHECK, FIRST, col, rows, iteration=0,
                          description=DESCRIPTIONS[name]) for name, col in COLS.items()}
    places["h"] = Place("h", CHECK, 3, 2, 1, iteration=0, kind="constant",
                        description=DESCRIPTIONS["h"])
    for name, col in (("C_plus", PLUS), ("C_minus", minus_col)):
        places[name] = Place(name, CHECK, FIRST, col, rows, images=n, iteration=0,
                             description=DESCRIPTIONS[name])
    h = places["h"].ref(absolute=True)
    labels = {p.name: p.labels for p in net.params()}
    x, t, z, a, f = (here[k] for k in ("x", "t", "z2", "a2", "a3"))
    w_out = here["W3"]
    hidden, outputs = net.param_shapes()["W2"][0], net.outputs

    def moved_cost(name: str, r: int, c: int, sign: str) -> str:
        """Image i's C with parameter (name, r, c) moved by sign·h, over Iter 0's cells."""
        f_cells = [f.ref(m, sheet=CHECK) for m in range(outputs)]
        t_cells = [t.ref(m, sheet=CHECK) for m in range(outputs)]
        if name == "W3":  # W₂[k=r, j=c]
            moves: list[str | None] = [None] * outputs
            moves[r] = f"{sign}{h}*{a.ref(c, sheet=CHECK)}"
        else:  # W₁[j=r, i=c]
            d = (f"(MAX(0,{z.ref(r, sheet=CHECK)}{sign}{h}*{x.ref(c, sheet=CHECK)})"
                 f"-{a.ref(r, sheet=CHECK)})")
            moves = [f"{w_out.ref(m * hidden + r, absolute=True, sheet=CHECK)}*{d}"
                     for m in range(outputs)]
        return perturbed_cost_xl(f_cells, t_cells, moves)

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, "Gradient check · f = W₂ max(0, W₁x): backpropagation beside the central"
                     " difference, at iteration 0", "title")
        put(g, 2, 1, "h below is the step; each C(w ± h) cell recomputes one image's cost"
                     " from Iter 0's z, a and f with one weight moved.", "note")
        put(g, 3, 1, "h", "label")
        put(g, 3, 2, H, "info")
        put(g, FIRST - 1, 1, "block", "header")
        put(g, FIRST - 1, 2, "weight", "header")
        for name, col in COLS.items():
            put(g, FIRST - 1, col, HEADERS[name], "header")
        for i in range(n):
            put(g, FIRST - 1, PLUS + i, f"C+ {i + 1}", "header")
            put(g, FIRST - 1, minus_col + i, f"C− {i + 1}", "header")
        specs = []
        for k, (name, r, c) in enumerate(params):
            row = FIRST + k
            cols = net.param_shapes()[name][1]
            grad = here[names.total_grad(name)].ref(r * cols + c, absolute=True, sheet=CHECK)
            plus = f"{a1(row, PLUS)}:{a1(row, PLUS + n - 1)}"
            minus = f"{a1(row, minus_col)}:{a1(row, minus_col + n - 1)}"
            ct_plus, ct_minus = a1(row, COLS["CT_plus"]), a1(row, COLS["CT_minus"])
            back, num = a1(row, COLS["backprop"]), a1(row, COLS["numeric"])
            fixed = {
                1: Styled("W₁ (W2)" if name == "W2" else "W₂ (W3)", "label") if r == c == 0
                else None,
                2: Styled(labels[name][r * cols + c], "element"),
                COLS["backprop"]: "=" + grad,
                COLS["numeric"]: "=" + central_difference_xl(ct_plus, ct_minus, h),
                COLS["rel_error"]: Styled("=" + relative_error_xl(back, num), "error"),
                COLS["CT_plus"]: "=" + ops.total_xl(plus),
                COLS["CT_minus"]: "=" + ops.total_xl(minus),
            }
            specs.append(RowSpec(row, {k: v for k, v in fixed.items() if v is not None},
                                 [(PLUS, Template(moved_cost(name, r, c, "+"))),
                                  (minus_col, Template(moved_cost(name, r, c, "-")))]))
        return render_rows(specs, n, g)

    last = FIRST + rows - 1
    err = a1(FIRST, COLS["rel_error"]) + ":" + a1(last, COLS["rel_error"])
    # white up to 1e-5 (a right gradient's rounding), red only beyond: 1.3e-10 must not look
    # like a failure
    scale = ColorScale(err, low="FFFFFF", high="C0392B", mid="FFFFFF", mid_value=1e-5)
    spec = SheetSpec(CHECK, build, widths={1: 10, 2: 10, 3: 20, 4: 28, 5: 16, 6: 16, 7: 16,
                                           8: 2},
                     freeze=a1(FIRST, 3), color_scales=[scale], max_col=minus_col + n - 1,
                     max_row=last, tab_color="C0392B", print_rows=f"1:{FIRST - 1}",
                     print_cols="A:C")
    return spec, list(places.values())
