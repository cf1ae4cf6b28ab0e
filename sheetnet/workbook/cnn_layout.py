"""The CNN's workbook: one sheet per iteration, every map in its own 2-D shape.

Columns: A block, B tile or element, then the parameters' values (C…) and their Σ over the
images (after a blank column), then one band of W+1 columns per image (W = the padded image's
width, the widest per-image block, plus a blank column). Row 3 numbers the columns of each band; the
Σ cells are ``SUMIF`` over that row. Rows: parameters with their gradients, the forward pass
(x, x̃, t, zᶠ, aᶠ, zᴾ, zᴼ, aᴼ, C), then backpropagation (δᴼ, δᴾ, routed, δᶠ). A block of K maps
is K tiles with a blank row after each; an image of C channels is C tiles, and each filter's
f×f×C weights are C tiles of f×f.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from sheetnet import notation as names
from sheetnet.core.cnn import PARAMS, CNNNet, describe
from sheetnet.core.cost import Cost
from sheetnet.core.run import Run
from sheetnet.notation import sub, sup
from sheetnet.pairs import ops, penalties
from sheetnet.pairs.optim import GD, UpdateRule
from sheetnet.workbook import settings
from sheetnet.workbook.blocks import (
    PLAIN,
    STEP_DESCRIPTIONS,
    Rows,
    Training,
    hyper_cells,
    output_rows,
    parameter_cells,
    penalty_terms,
    state_places,
    step_cells,
    step_places,
)
from sheetnet.workbook.layout import (
    ColorScale,
    Grid,
    Place,
    RowSpec,
    SheetSpec,
    Styled,
    WorkbookSpec,
    a1,
    band_breaks,
    cost_of_iteration_sheet,
)
from sheetnet.workbook.sheets import assemble, iteration_sheet

PRINT_SCALE = 75  # percent: two images' bands to a printed page, whole
BAND_ROW = 3  # numbers each image band's columns 1..W: the criteria of the Σ-over-images SUMIFs
STEP_ROW = 4  # this step's ηₖ and batch, when the run has them (then one row more)
FIRST_ROW = 5
SIGNED = dict(low="6C9BD2", mid="FFFFFF", high="E07B6F", mid_value=0.0)  # blue < 0 < red,
# light enough at both ends that black numbers stay readable
SYMBOL = {"F": "wᶠ", "bF": "bᶠ", "WO": "wᴼ", "bO": "bᴼ", "x": "x", "xpad": "x̃", "t": "t",
          "zF": "zᶠ",
          "aF": "aᶠ", "zP": "zᴾ", "zO": "zᴼ", "aO": "aᴼ", "C": "C", "correct": "correct",
          "deltaO": "δᴼ", "deltaP": "δᴾ", "routed": "δᴾ routed", "deltaF": "δᶠ"}


@dataclass(frozen=True)
class Columns:
    """The sheet's column plan for one net and image count."""

    value: int  # first column of the parameters' values
    total: int  # first column of their Σ over the images (then the update rule's state)
    image: int  # first column of image 1's band
    band: int  # band width (image width + a blank column)
    images: int
    area: int  # the width of the value area, and of each area after it, with a blank column

    @classmethod
    def of(cls, net: CNNNet, images: int, rule: UpdateRule = GD) -> Columns:
        area = max(net.size, net.pooled_shape[1]) + 1
        value = 3
        total = value + area
        image = total + area * (1 + len(rule.state))
        return cls(value, total, image, net.padded[1] + 1, images, area)

    def state(self, j: int) -> int:
        """The first column of the rule's j-th state."""
        return self.total + self.area * (1 + j)

    @property
    def last(self) -> int:
        return self.image + (self.images - 1) * self.band + self.band - 2

    def band_row(self) -> str:
        return f"{a1(BAND_ROW, self.image, True)}:{a1(BAND_ROW, self.last, True)}"

    def image_row(self, row: int) -> str:
        return f"{a1(row, self.image)}:{a1(row, self.last)}"


def element_labels(net: CNNNet, name: str) -> list[str]:
    """One label per element, row-major, on the Inputs sheet: wᶠ¹₁₁ (wᶠ¹₁₁ c2 for channel 2 of
    several), bᶠ¹, wᴼ₁,₁₁₁, bᴼ₁."""
    k, f, channels = net.filters, net.size, net.channels
    ph, pw = net.pooled_shape
    if name == "F":
        return [f"wᶠ{sup(q + 1)}{sub(u + 1)}{sub(v + 1)}" + (f" c{c + 1}" if channels > 1 else "")
                for q in range(k) for c in range(channels) for u in range(f) for v in range(f)]
    if name == "bF":
        return [f"bᶠ{sup(q + 1)}" for q in range(k)]
    if name == "WO":
        return [f"wᴼ{sub(o + 1)},{sub(q + 1)}{sub(i + 1)}{sub(j + 1)}"
                for o in range(net.outputs) for q in range(k)
                for i in range(ph) for j in range(pw)]
    return [f"bᴼ{sub(o + 1)}" for o in range(net.outputs)]


def iteration_places(net: CNNNet, cols: Columns, k: int,
                     training: Training = PLAIN) -> dict[str, Place]:
    """Where each block of iteration k lives (the same cells on every iteration sheet)."""
    sheet = iteration_sheet(k)
    rule = training.rule
    d = describe(net)
    K, f, n, C = net.filters, net.size, net.outputs, net.channels
    (h, w), (mh, mw), (ph, pw) = net.image, net.map_shape, net.pooled_shape
    hp, wp = net.padded
    several = h if C > 1 else 0  # an image of several channels is a tile per channel
    image = Place("", sheet, STEP_ROW, cols.image, 1, images=cols.images, stride=cols.band)
    places: dict[str, Place] = step_places(training, sheet, k, STEP_ROW, cols.value, image)
    if "batch" in places and wp > 1:  # each band's cells repeat its image's mark
        places["batch_fill"] = Place("batch_fill", sheet, STEP_ROW, cols.image + 1, 1, wp - 1,
                                     images=cols.images, stride=cols.band, iteration=k,
                                     description=STEP_DESCRIPTIONS["batch_fill"],
                                     source="batch")
    row = FIRST_ROW + training.step_row

    def add(name: str, rows: int, width: int = 1, tile: int = 0, col: int | None = None,
            advance: bool = True) -> None:
        nonlocal row
        images = cols.images if col is None else 0
        places[name] = Place(name, sheet, row, cols.image if col is None else col, rows, width,
                             images=images, stride=cols.band if images else 1, iteration=k,
                             description=d[name], tile=tile)
        if advance:
            row = places[name].sheet_row(rows - 1) + 2  # a blank row after every block

    for p, rows, width, tile in (("F", K * C * f, f, f), ("bF", K, 1, 0),
                                 ("WO", n * K * ph, pw, ph), ("bO", n, 1, 0)):
        add(p, rows, width, tile, cols.value, advance=False)
        add(names.total_grad(p), rows, width, tile, cols.total, advance=False)
        for place in state_places(rule, p, places[p], cols.state(0), cols.area):
            places[place.name] = place
        add(names.grad(p), rows, width, tile)
    row += 1  # section title
    add("x", C * h, w, several)
    if net.padding:
        add("xpad", C * hp, wp, hp if C > 1 else 0)
    add("t", n)
    add("zF", K * mh, mw, mh)
    add("aF", K * mh, mw, mh)
    add("zP", K * ph, pw, ph)
    add("zO", n)
    add("aO", n)
    add("C", 1, advance=False)
    add("C_T", 1, col=cols.total, advance=False)
    if training.batches:
        places["C_batch"] = Place("C_batch", sheet, row, cols.value, 1, iteration=k,
                                  description=STEP_DESCRIPTIONS["C_batch"])
    row += 1
    add("correct", 1, advance=False)
    add("accuracy", 1, col=cols.value)
    row += 1
    add("deltaO", n)
    add("deltaP", K * ph, pw, ph)
    add("routed", K * mh, mw, mh)
    add("deltaF", K * mh, mw, mh)
    return places


def cost(net: CNNNet, n_images: int, iterations: int, rule: UpdateRule = GD) -> Cost:
    """The run's and workbook's size, from the layout of one iteration (no array made)."""
    parameters = sum(math.prod(shape) for shape in net.param_shapes().values())
    cols = Columns.of(net, n_images, rule)
    h, w = net.image
    depth = f"×{net.channels}" if net.channels > 1 else ""
    return cost_of_iteration_sheet(
        iteration_places(net, cols, 0, Training(rule)).values(), parameters=parameters,
        images=n_images,
        iterations=iterations, other_rows=parameters + 40,
        what=f"{net.filters} filters {net.size}×{net.size}{depth}, {n_images:,} images"
             f" {h}×{w}{depth}",
        taller="filters")


def _tile_labels(name: str, net: CNNNet) -> list[tuple[int, str]]:
    """(footprint row, label) for column B: a tile's name on its first row, or each element's."""
    K, n, C = net.filters, net.outputs, net.channels
    sym = SYMBOL.get(name, "")
    if C > 1 and name in ("F", "x", "xpad"):
        size = {"F": net.size, "x": net.image[0], "xpad": net.padded[0]}[name]
        if name == "F":
            return [((q * C + c) * size, f"wᶠ{sup(q + 1)} channel {c + 1}")
                    for q in range(K) for c in range(C)]
        return [(c * size, f"{sym} channel {c + 1}") for c in range(C)]
    tiles = {"F": net.size, "zF": net.map_shape[0], "aF": net.map_shape[0],
             "routed": net.map_shape[0], "deltaF": net.map_shape[0],
             "zP": net.pooled_shape[0], "deltaP": net.pooled_shape[0]}
    if name in tiles:
        if name == "routed":
            return [(q * tiles[name], f"δᴾ{sup(q + 1)} routed") for q in range(K)]
        return [(q * tiles[name], f"{sym}{sup(q + 1)}") for q in range(K)]
    if name == "WO":
        ph = net.pooled_shape[0]
        return [((o * K + q) * ph, f"wᴼ{sub(o + 1)} · filter {q + 1}")
                for o in range(n) for q in range(K)]
    if name == "bF":
        return [(q, f"bᶠ{sup(q + 1)}") for q in range(K)]
    if name in ("bO", "t", "zO", "aO", "deltaO"):
        return [(o, f"{sym}{sub(o + 1)}") for o in range(n)]
    return {"C": [(0, net.output.label)], "correct": [(0, "1 if right")]}.get(name, [])


def iteration_rows(net: CNNNet, run: Run, here: dict[str, Place],
                   prev: dict[str, Place] | None, inputs: dict[str, Place],
                   data: dict[str, Place], cols: Columns) -> list[RowSpec]:
    """Every row of one iteration sheet: labels, fixed formulas and per-image templates."""
    sheet = here["x"].sheet
    K, f, p, n, C = net.filters, net.size, net.pool, net.outputs, net.channels
    (ih, iw), (mh, mw), (ph, pw) = net.image, net.map_shape, net.pooled_shape
    hp, wp = net.padded
    act = net.activation
    average = net.pooling == "average"
    rows = Rows(stride=cols.band)
    per_image, fixed = rows.per_image, rows.fixed

    def label(place: Place) -> None:
        rows.text(place.row, 1, SYMBOL.get(place.name, place.name), "label")
        for r, text in _tile_labels(place.name, net):
            rows.text(place.sheet_row(r), 2, text, "element")

    k = here["x"].iteration
    training = Training.of(run)
    step_cells(rows, run, here, k, 2)
    if "batch_fill" in here:
        fill, batch = here["batch_fill"], here["batch"]
        for c in range(fill.cols):
            per_image(fill, 0, c, batch.ref())
    marks = cols.image_row(STEP_ROW) if "batch" in here else None
    h = hyper_cells(run)
    penalty = penalty_terms(training, run, here)

    def summary(place: Place, r: int, c: int = 0, mean: bool = False,
                batch: bool = False) -> str:
        """Σ (or the mean) over the images (the batch's) of column c of the block's row r."""
        cells = cols.image_row(place.sheet_row(r))
        if mean:
            return ops.mean_banded_xl(cols.band_row(), c + 1, cells)
        return ops.total_banded_xl(cols.band_row(), c + 1, cells, marks if batch else None)

    def banded(place: Place, r: int, c: int, total: Place, extra: str = "") -> None:
        fixed(total, r, c, summary(place, r, c, batch=True) + extra, "total")

    x, t = here["x"], here["t"]
    seen = here.get("xpad", x)  # what the filters slide over

    def window(c: int, i: int, j: int, rows: int, cols_: int) -> str:
        """Channel c's rows × cols_ window of the (padded) image at i, j."""
        return seen.span(c * hp + i, c * hp + i + rows - 1, j, j + cols_ - 1)
    zf, af, zp, zo, ao = (here[k] for k in ("zF", "aF", "zP", "zO", "aO"))
    do, dp, routed, df = (here[k] for k in ("deltaO", "deltaP", "routed", "deltaF"))
    F, bF, WO, bO = (here[k] for k in PARAMS)

    def tile(q: int, size: int) -> tuple[int, int]:
        return q * size, q * size + size - 1

    # parameters: the value (from Inputs or last sheet's update), Σ and per-image gradients
    for name in PARAMS:
        value, grad, total = here[name], here[names.grad(name)], here[names.total_grad(name)]
        label(value)
        for place, r, c, formula in parameter_cells(run, name, value.iteration, here, prev,
                                                    inputs):
            fixed(place, r, c, formula)
        weight = name in net.weights and bool(training.penalties)
        for r in range(value.rows):
            for c in range(value.cols):
                banded(grad, r, c, total,
                       penalties.penalty_gradient_xl(value.ref(r, c), h) if weight else "")
    for q in range(K):
        d0, d1 = tile(q, mh)
        for c in range(C):
            for u in range(f):
                for v in range(f):
                    per_image(here[names.grad("F")], (q * C + c) * f + u, v,
                              ops.filter_gradient_xl(df.span(d0, d1, 0, mw - 1),
                                                     window(c, u, v, mh, mw)))
        per_image(here[names.grad("bF")], q, 0, ops.map_sum_xl(df.span(d0, d1, 0, mw - 1)))
    for o in range(n):
        for r in range(K * ph):
            for c in range(pw):
                per_image(here[names.grad("WO")], o * K * ph + r, c,
                          ops.weight_gradient_xl(do.ref(o), zp.ref(r, c)))
        per_image(here[names.grad("bO")], o, 0, do.ref(o))
    top = here["F"].row - 1
    rows.text(top, 1, "Parameters · gradients", "section")
    rows.areas(top, {cols.total: "∂C_T/∂w, ∂C_T/∂b",
                     cols.image: "each image's own gradient ∂C/∂w, ∂C/∂b, in the"
                                 " parameters' shape →"})
    # forward pass
    rows.text(x.row - 1, 1, "Forward pass", "section")
    rows.areas(x.row - 1, {cols.image: "each image's x, t, maps zᶠ, aᶠ, zᴾ, zᴼ, aᴼ and C →"})
    label(x)
    for r in range(x.rows):
        for c in range(x.cols):
            per_image(x, r, c, data["x"].ref(r, c, sheet=sheet))
    if "xpad" in here:
        label(here["xpad"])
        q = net.padding
        for c in range(C):
            for i in range(hp):
                for j in range(wp):
                    inside = q <= i < ih + q and q <= j < iw + q
                    per_image(here["xpad"], c * hp + i, j, ops.pad_xl(
                        x.ref(c * ih + i - q, j - q) if inside else None))
    label(t)
    for o in range(n):
        per_image(t, o, 0, ops.one_hot_xl(data["label"].ref(sheet=sheet),
                                          inputs["classes"].ref(o, absolute=True, sheet=sheet)))
    for block in (zf, af, zp, zo, ao, here["C"], here["correct"]):
        label(block)
    pool_xl = ops.average_pool_xl if average else ops.max_pool_xl
    for q in range(K):
        filters = [F.span(*tile(q * C + c, f), 0, f - 1, absolute=True) for c in range(C)]
        for i in range(mh):
            for j in range(mw):
                r = q * mh + i
                per_image(zf, r, j, ops.convolve_xl([window(c, i, j, f, f) for c in range(C)],
                                                    filters, bF.ref(q, absolute=True)))
                per_image(af, r, j, act.excel_value(zf.ref(r, j)))
        for i in range(ph):
            for j in range(pw):
                r0 = q * mh + i * p
                per_image(zp, q * ph + i, j, pool_xl(
                    af.span(r0, r0 + p - 1, j * p, j * p + p - 1)))
    pooled = zp.span(0, K * ph - 1, 0, pw - 1)  # the blank rows between tiles count as 0
    for o in range(n):
        w0, w1 = tile(o, K * ph)
        per_image(zo, o, 0, ops.weighted_input_xl(WO.span(w0, w1, 0, pw - 1, absolute=True),
                                                  pooled, bO.ref(o, absolute=True)))
    output_rows(rows, net.output, here, "zO", "aO", "deltaO", cols.images, summary,
                lambda place, r: summary(place, r, mean=True), penalty,
                (lambda place, r: summary(place, r, batch=True)) if marks else None)
    # backpropagation
    rows.text(do.row - 1, 1, "Backpropagation", "section")
    rows.areas(do.row - 1, {cols.image: "each image's errors δᴼ, δᴾ, routed δᴾ and δᶠ →"})
    for block in (do, dp, routed, df):
        label(block)
    for r in range(K * ph):
        for c in range(pw):
            pairs = [(WO.ref(o * K * ph + r, c, absolute=True), do.ref(o)) for o in range(n)]
            per_image(dp, r, c, ops.back_sum_xl(pairs))
    for q in range(K):
        for i in range(mh):
            for j in range(mw):
                r = q * mh + i
                wr, wc = q * mh + i // p * p, j // p * p  # the window's first cell
                pr, pc = q * ph + i // p, j // p
                if average:
                    per_image(routed, r, j, ops.route_average_xl(dp.ref(pr, pc), p))
                else:  # the maximum is found on zᶠ (see sheetnet.core.cnn)
                    earlier = []
                    if r > wr:
                        earlier.append(zf.span(wr, r - 1, wc, wc + p - 1))
                    if j > wc:
                        earlier.append(zf.span(r, r, wc, j - 1))
                    per_image(routed, r, j, ops.route_max_xl(
                        zf.ref(r, j), zf.span(wr, wr + p - 1, wc, wc + p - 1), earlier,
                        dp.ref(pr, pc)))
                per_image(df, r, j, ops.hidden_error_xl(routed.ref(r, j), act, zf.ref(r, j),
                                                        af.ref(r, j)))
    return rows.specs()


def workbook(run: Run) -> WorkbookSpec:
    """The whole workbook's layout for a CNN run."""
    net: CNNNet = run.model
    cols = Columns.of(net, run.n_images, run.rule)
    param_rows = [(p, element_labels(net, p), run.params[p]) for p in PARAMS]
    training = Training.of(run)
    per_iter = [iteration_places(net, cols, k, training) for k in range(run.iterations + 1)]
    return assemble(
        run, settings.cnn_settings(run), param_rows, describe(net), per_iter,
        lambda here, prev, inputs, data: iteration_rows(net, run, here, prev, inputs, data,
                                                        cols),
        lambda k, here, render: _iteration_spec(net, run, k, here, render, cols), bands=cols.band)


def _scales(here: dict[str, Place], cols: Columns) -> list[ColorScale]:
    """Colour scales: the digit, filters and maps as pictures; signed errors blue-white-red."""
    def area(p: Place, first: int, last: int) -> str:
        return f"{a1(p.row, first)}:{a1(p.sheet_row(p.rows - 1), last)}"

    def images(p: Place) -> str:
        return area(p, cols.image, cols.last)

    def fixed(p: Place) -> str:
        return area(p, p.col, p.col + p.cols - 1)

    pictures = ("x", "xpad", "aF", "zP")
    out = [ColorScale(images(here[k])) for k in pictures if k in here]
    out += [ColorScale(images(here[k]), **SIGNED) for k in ("zF", "routed", "deltaF")]
    out += [ColorScale(fixed(here[k]), **SIGNED) for k in ("F", "WO")]
    return out


def _iteration_spec(net: CNNNet, run: Run, k: int, here: dict[str, Place],
                    render: Callable[[Grid], Grid], cols: Columns) -> SheetSpec:
    n, w = run.n_images, net.padded[1]
    last = here["deltaF"]
    last_row = last.sheet_row(last.rows - 1)

    def build() -> Grid:
        g: Grid = {1: {1: Styled(f"Iteration {k} of {run.iterations} · {run.preset}", "title")},
                   2: {1: Styled("block", "header"), 2: Styled("element", "header"),
                       cols.value: Styled("value", "header"),
                       cols.total: Styled("Σ images", "header")},
                   BAND_ROW: {2: Styled("column in image →", "element")}}
        areas = [cols.value, cols.total, *(cols.state(j) for j in range(len(run.rule.state)))]
        for j, kind in enumerate(run.rule.state):
            g[2][cols.state(j)] = Styled(kind, "header")
        for first in areas:
            for c in range(first + 1, first + cols.area - 1):  # the header's fill spans it
                g[2][c] = Styled(None, "header")
        for i in range(n):
            start = cols.image + i * cols.band
            g[2][start] = Styled(i + 1, "header")
            for c in range(w):
                g[BAND_ROW][start + c] = Styled(c + 1, "element")
                if c:
                    g[2][start + c] = Styled(None, "header")
        return render(g)

    widths = {1: 10, 2: 17}
    widths.update({c: 11 for c in range(cols.value, cols.image)})
    widths.update({first - 1: 2 for first in (cols.total, *(cols.state(j) for j in
                                                             range(len(run.rule.state))),
                                              cols.image)})
    for i in range(n):
        start = cols.image + i * cols.band
        widths.update({start + c: 8 for c in range(w)})
        widths[start + w] = 2
    breaks = band_breaks(widths, cols.image, cols.band, n, repeated=widths[1] + widths[2],
                         scale=PRINT_SCALE)
    return SheetSpec(iteration_sheet(k), build, widths=widths, freeze=a1(BAND_ROW + 1, cols.image),
                     color_scales=_scales(here, cols), max_col=cols.last, max_row=last_row,
                     formula_style="number", print_rows=f"1:{BAND_ROW}", print_cols="A:B",
                     col_breaks=breaks, print_scale=PRINT_SCALE)
