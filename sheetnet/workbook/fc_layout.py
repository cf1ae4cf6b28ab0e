"""The fully connected net's workbook: one sheet per iteration, laid out like the book.

Columns: A block, B element, C this iteration's value (parameters, accuracy), D Σ over the images
(∂C_T/∂w, C_T), E… one column per image. Rows: parameters with their gradients at the top, then
the forward pass (x, t, zˡ, aˡ, C), then backpropagation (δᴸ … δ²).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

from sheetnet import notation as names
from sheetnet.core.cost import Cost
from sheetnet.core.fc import FCNet, describe
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
    cost_of_iteration_sheet,
)
from sheetnet.workbook.sheets import Extra, assemble, fit_sheet, iteration_sheet

VALUE, TOTAL = 3, 4  # columns: the parameters' values, their Σ over the images



def _idx(*ix: int) -> str:
    """Subscripts like the book's: w²₁₂, and w²₁,₁₂ once an index has two digits."""
    parts = [sub(i) for i in ix]
    return ("," if any(i >= 10 for i in ix) else "").join(parts)


def element_labels(net: FCNet, name: str) -> list[str]:
    l = int(name[1:])
    if name[0] == "W":
        return [f"w{sup(l)}{_idx(j + 1, i + 1)}"
                for j in range(net.n(l)) for i in range(net.n(l - 1))]
    return [f"b{sup(l)}{sub(j + 1)}" for j in range(net.n(l))]


def image_col(rule: UpdateRule) -> int:
    """Image 1's column: after the values, their Σ and one column per kind of rule state."""
    return TOTAL + 1 + len(rule.state)


def iteration_places(net: FCNet, n_images: int, n_classes: int, k: int,
                     training: Training = PLAIN) -> dict[str, Place]:
    """Where each block of iteration k lives (the same rows on every iteration sheet)."""
    rule = training.rule
    IMG = image_col(rule)  # noqa: N806 (the column, as the module's constants)
    sheet = iteration_sheet(k)
    d = describe(net)
    places: dict[str, Place] = {}

    def add(name: str, row: int, rows: int, col: int = IMG) -> None:
        per_image = n_images if col == IMG else 0
        places[name] = Place(name, sheet, row, col, rows, images=per_image, iteration=k,
                             description=d[name])

    places.update(step_places(training, sheet, k, 3, VALUE,
                              Place("", sheet, 3, IMG, 1, images=n_images)))
    row = 5 if training.step_row else 4
    for l in net.layers:
        for p, n in ((names.weights(l), net.n(l) * net.n(l - 1)), (names.bias(l), net.n(l))):
            if p not in net.param_shapes():
                continue
            add(p, row, n, VALUE)
            add(names.total_grad(p), row, n, TOTAL)
            for place in state_places(rule, p, places[p], TOTAL + 1, 1):
                places[place.name] = place
            add(names.grad(p), row, n)
            row += n
    row += 2
    add("x", row, net.n(1))
    row += net.n(1)
    add("t", row, n_classes)
    row += n_classes
    for l in net.layers:
        add(names.z(l), row, net.n(l))
        add(names.a(l), row + net.n(l), net.n(l))
        row += 2 * net.n(l)
    add("C", row, 1)
    add("C_T", row, 1, TOTAL)
    if training.batches:
        places["C_batch"] = Place("C_batch", sheet, row, VALUE, 1, iteration=k,
                                  description=STEP_DESCRIPTIONS["C_batch"])
    if net.accuracy:
        add("correct", row + 1, 1)
        add("accuracy", row + 1, 1, VALUE)
    row += 4
    for l in reversed(net.layers):
        add(names.delta(l), row, net.n(l))
        row += net.n(l)
    return places


def cost(net: FCNet, n_images: int, iterations: int, rule: UpdateRule = GD,
         extra_cells: int = 0) -> Cost:
    """The run's and workbook's size, from the layout of one iteration (no array made).

    extra_cells: formula cells of sheets the preset adds (a Fit or Check sheet)."""
    parameters = sum(math.prod(shape) for shape in net.param_shapes().values())
    places = iteration_places(net, n_images, net.n(len(net.sizes)), 0,
                              Training(rule)).values()
    return cost_of_iteration_sheet(places, parameters=parameters, images=n_images,
                              iterations=iterations, other_cells=extra_cells,
                              other_rows=parameters + 40,
                              other_cols=image_col(rule) + n_images,
                              what=f"layers {','.join(map(str, net.sizes))}")


def fit_cost(net: FCNet, n_images: int, iterations: int, rule: UpdateRule = GD) -> Cost:
    """``cost`` with a Fit sheet: each point's inputs, target and prediction."""
    return cost(net, n_images, iterations, rule, n_images * (net.n(1) + 2))


def _symbol(name: str) -> str:
    """The block's label in column A, in the book's notation."""
    for prefix, sym in (("dCT_d", "∂C_T/∂"), ("dC_d", "∂C/∂"), ("delta", "δ")):
        if name.startswith(prefix):
            rest = name[len(prefix):]
            if rest[0] in "Wb":
                return sym + rest[0].lower() + sup(int(rest[1:]))
            return sym + sup(int(rest))
    if name[0] in "zaWb" and name[1:].isdigit():
        return name[0] + sup(int(name[1:]))
    return name


def iteration_rows(net: FCNet, run: Run, here: dict[str, Place], prev: dict[str, Place] | None,
                   inputs: dict[str, Place], data: dict[str, Place]) -> list[RowSpec]:
    """Every row of one iteration sheet: labels, fixed formulas and per-image templates."""
    sheet = here["x"].sheet
    training = Training.of(run)
    rows = Rows()

    def label(place: Place, labels: list[str]) -> None:
        rows.text(place.row, 1, _symbol(place.name), "label")
        for i, text in enumerate(labels):
            rows.text(place.row + i, 2, text, "element")

    def per_image(place: Place, i: int, formula: str) -> None:
        rows.per_image(place, i, 0, formula)

    def fixed(place: Place, i: int, formula: str, style: str = "value") -> None:
        rows.fixed(place, i, 0, formula, style)

    last = len(net.sizes)
    k = here["x"].iteration
    step_cells(rows, run, here, k, 2)
    h = hyper_cells(run)
    mask = here.get("batch")

    def total(place: Place, r: int, batch: bool = True) -> str:
        """Σ over the images (the batch's, for a gradient) of the block's row r."""
        marks = mask.all_images_row(0) if mask is not None and batch else None
        return ops.total_xl(place.all_images_row(r), marks)

    # parameters, their gradients per image and summed, and the update from the previous sheet
    for l in net.layers:
        a_prev = here["x"] if l == 2 else here[names.a(l - 1)]
        m = net.n(l - 1)
        for p in (names.weights(l), names.bias(l))[:2 if net.biases else 1]:
            labels = element_labels(net, p)
            label(here[p], labels)
            for place, i, _, formula in parameter_cells(run, p, k, here, prev, inputs):
                fixed(place, i, formula)
            weight = p in net.weights and bool(training.penalties)
            for i in range(len(labels)):
                grad = here[names.grad(p)]
                extra = penalties.penalty_gradient_xl(here[p].ref(i), h) if weight else ""
                fixed(here[names.total_grad(p)], i, total(grad, i) + extra, "total")
                j = i // m if p[0] == "W" else i
                d = here[names.delta(l)].ref(j)
                per_image(grad, i, ops.weight_gradient_xl(d, a_prev.ref(i % m))
                          if p[0] == "W" else d)
    img = image_col(run.rule)
    top = here[names.weights(2)].row - 1
    rows.text(top, 1, "Parameters · gradients", "section")
    rows.areas(top, {TOTAL: "∂C_T/∂(w, b)",
                     img: "each image's own gradient ∂C/∂w, ∂C/∂b of the row's parameter →"})
    rows.text(here["x"].row - 1, 1, "Forward pass", "section")
    rows.areas(here["x"].row - 1, {img: "each image's x, t, z, a and C →"})
    # forward pass
    x, t = here["x"], here["t"]
    label(x, run.data.pixel_names())
    for i in range(x.rows):
        per_image(x, i, data["x"].ref(i, sheet=sheet))
    label(t, [f"t{sub(k + 1)}" for k in range(t.rows)])
    for k in range(t.rows):
        per_image(t, k, data["label"].ref(sheet=sheet) if run.data.values else ops.one_hot_xl(
            data["label"].ref(sheet=sheet), inputs["classes"].ref(k, absolute=True, sheet=sheet)))
    for l in net.layers:
        z, a = here[names.z(l)], here[names.a(l)]
        a_prev = x if l == 2 else here[names.a(l - 1)]
        w, b, m = here[names.weights(l)], here.get(names.bias(l)), net.n(l - 1)
        label(z, [f"z{sup(l)}{sub(j + 1)}" for j in range(z.rows)])
        label(a, [f"a{sup(l)}{sub(j + 1)}" for j in range(a.rows)])
        for j in range(z.rows):
            per_image(z, j, ops.weighted_input_xl(
                w.span(j * m, j * m + m - 1, absolute=True), a_prev.span(0, m - 1),
                b.ref(j, absolute=True) if b else None))
            if l != last:  # the output layer's aᴸ is the output block's
                per_image(a, j, net.activation.excel_value(z.ref(j)))
    label(here["C"], [net.output.label])
    if "correct" in here:
        label(here["correct"], ["1 if right"])
    output_rows(rows, net.output, here, names.z(last), names.a(last), names.delta(last),
                run.n_images, lambda p, r: total(p, r, batch=False),
                lambda p, r: ops.mean_xl(p.all_images_row(r)),
                penalty_terms(training, run, here), total if mask is not None else None)
    # backpropagation
    first_delta = here[names.delta(last)]
    rows.text(first_delta.row - 1, 1, "Backpropagation", "section")
    rows.areas(first_delta.row - 1, {img: "each image's neural unit errors δ →"})
    for l in reversed(net.layers):
        d = here[names.delta(l)]
        label(d, [f"δ{sup(l)}{sub(j + 1)}" for j in range(d.rows)])
        z, a = here[names.z(l)], here[names.a(l)]
        if l == last:
            continue  # δᴸ is the output block's
        for i in range(d.rows):
            w_next, d_next = here[names.weights(l + 1)], here[names.delta(l + 1)]
            pairs = [(w_next.ref(j * d.rows + i, absolute=True), d_next.ref(j))
                     for j in range(d_next.rows)]
            per_image(d, i, ops.hidden_error_xl(ops.back_sum_xl(pairs), net.activation,
                                                z.ref(i), a.ref(i)))
    return rows.specs()


def workbook(run: Run, extras: Sequence[Extra] = ()) -> WorkbookSpec:
    """The whole workbook's layout for a fully connected run (``extras``: more sheets)."""
    net: FCNet = run.model
    n, k_classes = run.n_images, run.data.outputs
    param_rows = [(p, element_labels(net, p), run.params[p]) for p in net.param_shapes()]
    training = Training.of(run)
    per_iter = [iteration_places(net, n, k_classes, k, training)
                for k in range(run.iterations + 1)]
    if run.data.values:  # the data and the last prediction side by side
        output = names.a(len(net.sizes))
        extras = [lambda inputs, data, it: fit_sheet(run, it[-1][output], data), *extras]
    return assemble(
        run, settings.fc_settings(run), param_rows, describe(net), per_iter,
        lambda here, prev, inputs, data: iteration_rows(net, run, here, prev, inputs, data),
        lambda k, here, render: _iteration_spec(net, run, k, here, render), extras=extras)


def _iteration_spec(net: FCNet, run: Run, k: int, here: dict[str, Place],
                    render: Callable[[Grid], Grid]) -> SheetSpec:
    n = run.n_images
    last_row = here[names.delta(net.layers[0])].row + here[names.delta(net.layers[0])].rows - 1
    IMG = image_col(run.rule)  # noqa: N806
    last_col = IMG + n - 1

    def build() -> Grid:
        g: Grid = {1: {1: Styled(f"Iteration {k} of {run.iterations} · {run.preset}", "title")},
                   2: {1: Styled("block", "header"), 2: Styled("element", "header"),
                       VALUE: Styled("value", "header"), TOTAL: Styled("Σ images", "header")}}
        for j, kind in enumerate(run.rule.state):
            g[2][TOTAL + 1 + j] = Styled(kind, "header")
        for i in range(n):
            g[2][IMG + i] = Styled(i + 1, "header")
        return render(g)

    x = here["x"]
    scales = [ColorScale(f"{a1(x.row, IMG)}:{a1(x.row + x.rows - 1, last_col)}")]
    widths = {1: 9, 2: 9, 3: 12, 4: 13, **{TOTAL + 1 + j: 12 for j in range(len(run.rule.state))}}
    return SheetSpec(iteration_sheet(k), build, widths=widths,
                     freeze=a1(3, IMG), color_scales=scales, max_col=last_col, max_row=last_row,
                     formula_style="number", print_rows="1:2", print_cols="A:B")
