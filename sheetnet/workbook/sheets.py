"""Sheets every net's workbook shares: Inputs, Data, Summary and Map (pure layout)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence

import numpy as np

from sheetnet.core import statistics
from sheetnet.core.run import Run
from sheetnet.notation import sub
from sheetnet.pairs import ops, penalties
from sheetnet.pairs.hyper import ETA, Hyper
from sheetnet.pairs.outputs import TUNABLE
from sheetnet.workbook import settings
from sheetnet.workbook.layout import (
    Cached,
    ColorScale,
    Grid,
    LineChartSpec,
    Place,
    ScatterChartSpec,
    Series,
    SheetSpec,
    Styled,
    Text,
    a1,
    band_breaks,
    col_letter,
    put,
    sheet_prefix,
)

FIRST_IMAGE_COL = 5  # columns A–D hold labels, element names, values and Σ over images
INPUTS, DATA, SUMMARY, MAP, FIT = "Inputs", "Data", "Summary", "Map", "Fit"
EXTRA_SHEETS = {FIT: "the data beside the last iteration's prediction (and a chart of both for"
                     " one input)",
                "Check": "every gradient against central differences of the cost, cell by cell",
                "Images": "every image drawn in its own shape, as on the book's pages",
                "Statistics": "each layer's outputs and errors: their mean and spread per"
                              " iteration, and a chart of the errors' spread layer by layer",
                "Through time": "‖∂C_last/∂hₜ‖, the last step's error sent back, against"
                                " the step t, at the first and the last iteration: how far"
                                " back through time an error reaches",
                "Attention": "each window's attention weights αₜᵤ as heat maps, at the first"
                             " and the last iteration: which positions each position reads"}


def iteration_sheet(k: int) -> str:
    return f"Iter {k}"


def label_value(label: object) -> object:
    """A label as a cell value: integral numbers as ints, text always as text."""
    if isinstance(label, float):
        return int(label) if label.is_integer() else label
    return Text(str(label))


NOTE = ("Yellow cells are inputs: edit η, an initial parameter, a pixel or a label and the"
        " whole run recomputes. Grey cells describe the layout; leave them.")


def inputs_sheet(run: Run, config: dict[str, object],
                 param_rows: Sequence[tuple[str, Sequence[str], np.ndarray]],
                 descriptions: dict[str, str], *, section: str = "Initial parameters",
                 hypers: bool = True, note: str = NOTE,
                 hyper_defs: dict[str, Hyper] | None = None,
                 initial: str = "initial ", vocabulary: Sequence[str] = ()
                 ) -> tuple[SheetSpec, list[Place]]:
    """The settings (read-only), the hyperparameters (η and the update rule's, each a named
    cell), the classes and the initial parameters.

    param_rows: (block name, element labels, initial values) in the order the net lists them;
    ``hypers``: False for a preset that trains nothing (the graph); ``hyper_defs``: what each
    hyperparameter cell is, by name (default: η, the rule's, the penalties', the schedule's
    and the activation's or loss's own); ``initial``: what the parameters' descriptions start
    with ("the checkpoint's " in a window); ``vocabulary``: the classes are a text's
    characters, each row labelled as it is seen (␣ for a space).
    """
    classes = run.data.classes if run.data is not None else ()
    if initial != "initial ":  # a window: its parameters and the rule's state are a checkpoint's
        note = note.replace("an initial parameter", "a parameter or the optimizer's state")
    known = hyper_defs or {h.name: h for h in (ETA, *run.rule.hypers, *penalties.PENALTIES,
                                               penalties.DECAY, *TUNABLE,
                                               *run.layer_hypers)}
    rule = [known[name] for name in run.hyperparameters] if hypers else []
    values = run.hyperparameters
    hyper_row = r = settings.ROW + len(config)
    if rule:
        r += len(rule) + 2
    class_row = r
    r += len(classes) + 2 if rule else 2
    first_param_row = r
    places = [Place(h.name, INPUTS, hyper_row + i, 3, 1, kind="input",
                    description=f"{h.symbol}: {h.meaning}") for i, h in enumerate(rule)]
    if classes:  # targets that are values (regression) have no classes
        places.append(Place("classes", INPUTS, class_row, 3, len(classes), kind="input",
                            description="the vocabulary: tₜ is 1 at the next character"
                            if vocabulary else "the classes; t is 1 where an image's label"
                                               " equals the class"))
    row = first_param_row
    for name, labels, _ in param_rows:
        places.append(Place(name, INPUTS, row, 3, len(labels), kind="input",
                            description=(initial if hypers else "")
                            + descriptions.get(name, name)))
        row += len(labels)

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, f"sheetnet · {run.preset} · inputs", "title")
        put(g, 2, 1, note, "note")
        for i, (key, value) in enumerate(config.items()):
            put(g, settings.ROW + i, 1, key, "label")
            put(g, settings.ROW + i, 3,
                value if isinstance(value, (int, float)) else Text(value), "info")
        for i, h in enumerate(rule):
            put(g, hyper_row + i, 1, f"{h.symbol} ({h.name})", "label")
            put(g, hyper_row + i, 2, "learning rate" if h is ETA else h.meaning, "element")
            put(g, hyper_row + i, 3, values[h.name], "input")
        if classes:
            put(g, class_row - 1, 1, "Vocabulary" if vocabulary else "Classes", "section")
        for i, cls in enumerate(classes):
            put(g, class_row + i, 1, ("character" if vocabulary else "class") if i == 0
                else None, "label")
            put(g, class_row + i, 2, vocabulary[i] if vocabulary else f"t{sub(i + 1)}",
                "element")
            put(g, class_row + i, 3, label_value(cls), "input")
        put(g, first_param_row - 1, 1, section, "section")
        r = first_param_row
        for name, labels, values_ in param_rows:
            flat = np.asarray(values_, dtype=float).ravel()
            for i, (label, v) in enumerate(zip(labels, flat, strict=True)):
                if i == 0:
                    put(g, r, 1, name, "label")
                put(g, r, 2, label, "element")
                put(g, r, 3, float(v), "input")
                r += 1
        return g

    # columns as wide as what they say (a hyperparameter's meaning, whole), within reason
    first = max([16, *(len(f"{h.symbol} ({h.name})") + 2 for h in rule)])
    second = max([24, *(len(h.meaning) + 2 for h in rule if h is not ETA)])
    spec = SheetSpec(INPUTS, build, widths={1: min(first, 34), 2: min(second, 80), 3: 22},
                     max_col=3, max_row=row, tab_color="F2C94C", fit_width=True)
    return spec, places


def names_of(places: Sequence[Place], hypers: Iterable[str]) -> dict[str, str]:
    """The defined names a workbook gives its hyperparameter cells (``eta`` …)."""
    wanted = set(hypers)
    return {p.name: p.ref(absolute=True, sheet="") for p in places
            if p.sheet == INPUTS and p.kind == "input" and p.name in wanted}


def data_sheet(run: Run, bands: int = 0) -> tuple[SheetSpec, list[Place]]:
    """Every image's label and pixels (all inputs).

    One column per image, pixels row by row (a net that reads its input as a column); or with
    ``bands`` (a band's width, at least cols + 1: a net that reads maps), each image in its own
    2-D shape (rows × cols) at the start of a band of columns, the same bands as the iteration
    sheets', so the digit is visible on the sheet; an image of several channels is a tile per
    channel, one under the other.
    """
    ds = run.data
    n, p = ds.x.shape
    h, w = ds.shape if bands else (p, 1)
    channels = ds.channels if bands else 1
    stride = bands or 1
    col = FIRST_IMAGE_COL
    last_col = col + (n - 1) * stride + w - 1
    places = [
        Place("label", DATA, 3, col, 1, images=n, stride=stride, kind="input",
              description="each target value t" if ds.values else "each image's label"),
        Place("x", DATA, 4, col, channels * h, w, images=n, stride=stride, kind="input",
              description="each image's pixels" + ("" if bands else ", row by row (p11, p12, …)"),
              tile=h if channels > 1 else 0),
    ]
    x = places[1]
    last_row = x.sheet_row(x.rows - 1)

    def build() -> Grid:
        g: Grid = {}
        how = "each image in its own shape" if bands else "one column per image · pixels row by row"
        put(g, 1, 1, f"Data · {ds.name} · {how}", "title")
        put(g, 2, 1, "image", "header")
        put(g, 3, 1, "t" if ds.values else "label", "label")
        put(g, 4, 1, "x", "label")
        for i in range(n):
            put(g, 2, col + i * stride, i + 1, "header")
            put(g, 3, col + i * stride, label_value(ds.labels[i]), "input")
        names = ([f"row {r + 1}" for r in range(h)] if channels == 1 else
                 [f"ch {c + 1} row {r + 1}" for c in range(channels) for r in range(h)]
                 ) if bands else ds.pixel_names()
        pixels = ds.x.reshape(n, channels * h, w)
        for r, name in enumerate(names):
            put(g, x.sheet_row(r), 2, name, "element")
            row = g[x.sheet_row(r)]
            for i in range(n):
                for c in range(w):
                    row[col + i * stride + c] = float(pixels[i, r, c])
        return g

    widths: dict[int, float] = {1: 10, 2: 8, 3: 2, 4: 2}
    if bands:
        widths.update({col + i * stride + c: 1.5 for i in range(n) for c in range(w, stride)})
        widths.update({col + i * stride + c: 3.5 for i in range(n) for c in range(w)})
    scale = ColorScale(f"{a1(4, col)}:{a1(last_row, last_col)}")
    breaks = band_breaks(widths, col, stride, n, widths[1] + widths[2]) if bands else []
    spec = SheetSpec(DATA, build, widths=widths, freeze=a1(4, col), color_scales=[scale],
                     max_col=last_col, max_row=last_row, tab_color="F2C94C",
                     print_rows="1:3", print_cols="A:B", col_breaks=breaks)
    return spec, places


SUMMARY_HEAD = 4  # the Summary's header row: a title and a note above it


IMAGES = "Images"


def images_sheet(run: Run, x: Place) -> SheetSpec:
    """Each image in its own shape (rows × cols), as references to the Data sheet's column of
    pixels, a gallery several images wide: what the book draws, for nets whose Data sheet holds
    one column per image."""
    ds = run.data
    (h, w), n = ds.shape, ds.n_images
    per_row = max(1, min(n, 64 // (w + 1)))
    pixels = ds.x.reshape(n, h, w)

    def corner(i: int) -> tuple[int, int]:
        return 3 + (i // per_row) * (h + 2), 2 + (i % per_row) * (w + 1)

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, f"Images · {ds.name} · each image in its {h}×{w} shape (links to Data;"
                     " edit the pixels there)", "title")
        for i in range(n):
            r0, c0 = corner(i)
            label = label_value(ds.labels[i])
            put(g, r0, c0, Text(f"{i + 1}: {label}"), "element")
            for r in range(h):
                for c in range(w):
                    ref = x.ref(r * w + c, image=i, absolute=True, sheet=IMAGES)
                    g.setdefault(r0 + 1 + r, {})[c0 + c] = Cached(f"={ref}",
                                                                 float(pixels[i, r, c]))
        return g

    last_r, _ = corner(n - 1)
    last_c = 2 + per_row * (w + 1) - 2
    widths = {1: 2, **{c: 3.5 for c in range(2, last_c + 2)}}
    scale = ColorScale(f"B3:{a1(last_r + h, last_c)}")
    return SheetSpec(IMAGES, build, widths=widths, color_scales=[scale], max_col=last_c,
                     max_row=last_r + h, tab_color="F2C94C", fit_width=True)


VALIDATION_COLUMNS = (("C_per_image", "C_T per image", "value"),
                      ("validation_cost", "validation C per image", "value"),
                      ("validation_accuracy", "validation accuracy", "percent"))


def summary_sheet(run: Run, cost_at: Sequence[Place], accuracy_at: Sequence[Place | None],
                  held_out: Sequence[dict[str, Place]] | None = None
                  ) -> tuple[SheetSpec, list[Place]]:
    """C_T and accuracy per iteration (no accuracy for targets that are measurements), as
    references into the iteration sheets, with a chart (on a log scale when C_T falls by more
    than 100 times, so the later iterations do not lie flat). With images held out
    (``held_out``: each iteration's places), C_T and the validation cost per image side by
    side (and charted so), the validation accuracy and the best iteration so far."""
    head = 1 if run.origin.get("format") in settings.PLAIN_SUMMARY else SUMMARY_HEAD
    n, top = run.iterations + 1, head + 1
    accuracy = all(p is not None for p in accuracy_at)
    places = [Place("C_T", SUMMARY, top, 2, n, description="C_T at iteration 0..N")]
    if accuracy:
        places.append(Place("accuracy", SUMMARY, top, 3, n,
                            description="accuracy at iteration 0..N"))
    extra: list[tuple[str, str, str, int]] = []  # (block, heading, style, column)
    if held_out:
        col = 3 + accuracy
        for name, heading, style in VALIDATION_COLUMNS:
            if name in held_out[0]:
                extra.append((name, heading, style, col))
                col += 1
        extra.append(("best_iteration", "best iteration so far", "count", col))
        places += [Place(name, SUMMARY, top, c, n, description=f"{heading} at iteration 0..N")
                   for name, heading, _, c in extra]
    last_col = max([3 if accuracy else 2, *(c for *_, c in extra)])
    drawn = bool(run.model.step_inputs())  # dropout: C_T is the training pass's, masks applied

    def build() -> Grid:
        g: Grid = {}
        if head > 1:
            put(g, 1, 1, f"Summary · {run.preset}: the total cost C_T after each iteration"
                         + ((" and the share of next characters predicted right"
                             if run.data.words().item == "window"
                             else " and the share classified right") if accuracy else "")
                         + ("; the images held out for validation beside them" if extra
                            else ""), "title")
            start = run.start
            put(g, 2, 1, "Each number links to its iteration sheet (click it and read the"
                         " formula bar). Edit η on Inputs and the whole column recomputes."
                + (" C_T and the accuracy are the training pass's, with the step's dropout"
                   " masks applied (`sheetnet train` reports the evaluation without them)."
                   if drawn else "")
                + (f" A window of a longer run: iteration {start:,} is sheet Iter 0."
                   if start else ""), "note")
        put(g, head, 1, "iteration", "header")
        put(g, head, 2, "C_T, this step's masks" if drawn else "C_T", "header")
        if accuracy:
            put(g, head, 3, "accuracy", "header")
        for k in range(n):
            g[top + k] = {1: run.start + k,  # the run's count (a window's)
                          2: Styled("=" + cost_at[k].ref(absolute=True, sheet=SUMMARY),
                                    "value")}
            if accuracy:
                g[top + k][3] = Styled("=" + accuracy_at[k].ref(  # type: ignore[union-attr]
                    absolute=True, sheet=SUMMARY), "percent")
            for name, _, style, c in extra:
                if name == "best_iteration":  # the first lowest validation cost up to here
                    v = col_letter(next(c for name, *_, c in extra
                                        if name == "validation_cost"))
                    seen = f"${v}${top}:{v}{top + k}"
                    g[top + k][c] = Styled(f"=MATCH(MIN({seen}),{seen},0)-1", style)
                else:
                    g[top + k][c] = Styled("=" + held_out[k][name].ref(  # type: ignore[index]
                        absolute=True, sheet=SUMMARY), style)
        for _, heading, _, c in extra:
            put(g, head, c, heading, "header")
        return g

    last = top + n - 1
    chart = _summary_chart(run, extra, head, top, last, last_col)
    widths = {1: 11, 2: 22 if drawn else 14, 3: 11,
              **{c: 23 for *_, c in extra}}
    spec = SheetSpec(SUMMARY, build, widths=widths, freeze=f"A{top}",
                     chart=chart, max_col=last_col, max_row=last, tab_color="27AE60",
                     print_rows=f"1:{head}", fit_width=True)
    return spec, places



def _summary_chart(run: Run, extra: Sequence[tuple[str, str, str, int]], head: int, top: int,
                   last: int, last_col: int) -> LineChartSpec:
    """C_T per iteration (on a log scale when it falls far), or with images held out the cost
    per image trained on and held out, side by side."""
    if extra:
        train, valid = (col_letter(c) for name, _, _, c in extra[:2])
        return LineChartSpec("Cost per image: trained on and held out", "C per image",
                             "iteration", data=f"{train}{head}:{train}{last}",
                             categories=f"A{top}:A{last}",
                             anchor=f"{col_letter(last_col + 2)}{head + 1}",
                             more=(("held out", f"{valid}{head}:{valid}{last}"),),
                             name="trained on", first=run.start)
    return LineChartSpec("Total cost C_T per iteration", "C_T", "iteration",
                         data=f"B{head}:B{last}", categories=f"A{top}:A{last}",
                         anchor=f"E{head + 1}", log_if_falls=True,  # below the titles
                         first=run.start)  # a window counts on


def fit_sheet(run: Run, output: Place, data: dict[str, Place]) -> tuple[SheetSpec, list[Place]]:
    """Targets that are values: each row's inputs, target and the last iteration's prediction,
    with a chart of data and prediction when there is one input."""
    ds = run.data
    n, m = ds.x.shape
    k = output.iteration
    places = [
        Place("x", FIT, 3, 1, n, m, iteration=k, description="the inputs, one row per point"),
        Place("t", FIT, 3, m + 1, n, iteration=k, description="the target values"),
        Place(output.name, FIT, 3, m + 2, n, iteration=k,
              description=f"the prediction with iteration {k}'s parameters"),
    ]

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, f"Fit · {run.preset} · data and the prediction at iteration {k}", "title")
        for c, name in enumerate(ds.pixel_names()):
            put(g, 2, 1 + c, name, "header")
        put(g, 2, m + 1, "t", "header")
        put(g, 2, m + 2, "prediction", "header")
        for i in range(n):
            row = g.setdefault(3 + i, {})
            for c in range(m):
                row[1 + c] = "=" + data["x"].ref(c, image=i, sheet=FIT)
            row[m + 1] = "=" + data["label"].ref(image=i, sheet=FIT)
            row[m + 2] = "=" + output.ref(0, image=i, sheet=FIT)
        return g

    scatters = []
    if m == 1:
        xs, last = f"A3:A{n + 2}", n + 2
        scatters.append(ScatterChartSpec(
            "Data and prediction", ds.pixel_names()[0], "t", anchor=a1(2, m + 4),
            series=(Series("data", xs, f"{a1(3, m + 1)}:{a1(last, m + 1)}", line=False),
                    Series(f"prediction (iteration {k})", xs,
                           f"{a1(3, m + 2)}:{a1(last, m + 2)}"))))
    spec = SheetSpec(FIT, build, widths={c: 12 for c in range(1, m + 3)}, freeze="A3",
                     scatters=scatters, max_col=m + 2, max_row=n + 2, tab_color="27AE60",
                     print_rows="1:2", formula_style="number", fit_width=True)
    return spec, places


def map_sheet(places: Sequence[Place], items: str = "images") -> SheetSpec:
    """Every block: its name (as in the trace and ``--json``), sheet, range and meaning
    (``items``: what the data's examples are called, a text's windows)."""
    header = ("block", "iteration", "sheet", "range", "cells", "kind", "what it is")

    def build() -> Grid:
        g: Grid = {}
        for c, h in enumerate(header, start=1):
            put(g, 1, c, h, "header")
        for r, p in enumerate(places, start=2):
            it = "" if p.iteration is None else p.iteration
            target = sheet_prefix(p.sheet) + p.extent.split(":")[0]
            link = Cached(f'=HYPERLINK("#{target}","{p.extent}")', p.extent)
            g[r] = {1: p.name, 2: it, 3: p.sheet, 4: link, 5: p.shape_of(items), 6: p.kind,
                    7: Text(p.description)}
        return g

    return SheetSpec(MAP, build, widths={1: 12, 2: 9, 3: 10, 4: 14, 5: 20, 6: 8, 7: 80},
                     freeze="A2", max_col=7, max_row=len(places) + 1, tab_color="8E8E8E",
                     print_rows="1:1", fit_width=True)



Places = dict[str, Place]
Extra = Callable[[Places, Places, Sequence[Places]], tuple[SheetSpec, list[Place]]]


STATISTICS = "Statistics"
STATISTICS_HEAD = 4


def statistics_sheet(run: Run, per_iter: Sequence[dict[str, Place]]
                     ) -> tuple[SheetSpec, list[Place]]:
    """Per iteration, the mean and standard deviation of each weighted layer's outputs a and
    errors δ over every image and unit (formulas over the iteration sheets' blocks), and a chart
    of the errors' spread layer by layer: vanishing or exploding signals, at a glance."""
    net = run.model
    symbols = {b.name: b.symbol for b in (*net.forward_blocks(), *net.output.blocks(),
                                          *net.backward_blocks())}
    watched = statistics.blocks(net)
    n, head = run.iterations + 1, STATISTICS_HEAD
    top = head + 1
    columns = [(kind, block, 2 + 2 * j + (kind == "std")) for j, block in enumerate(watched)
               for kind in ("mean", "std")]
    places = [Place(statistics.stat_name(kind, block), STATISTICS, top, col, n,
                    description=f"the {'mean' if kind == 'mean' else 'standard deviation'} of"
                                f" {symbols.get(block, block)} over every image and unit, at"
                                " iteration 0..N") for kind, block, col in columns]

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, f"Statistics · {run.preset}: how the outputs a and the errors δ of each"
                     " layer spread, iteration by iteration", "title")
        items = run.data.words(net.maps).items
        put(g, 2, 1, f"Each mean is AVERAGE of a block over every {items[:-1]} on its iteration"
                     " sheet (in the step's batch or not, held out or not); each standard"
                     " deviation √(Σ(x − mean)²/n), two passes,", "note")
        put(g, 3, 1, "exact however small the spread (STDEVP's one-pass form loses digits"
                     " there). Errors that shrink layer by layer going back vanish; errors that"
                     " grow explode.", "note")
        put(g, head, 1, "iteration", "header")
        for kind, block, col in columns:
            put(g, head, col, f"{symbols.get(block, block)} {kind}", "header")
        for k in range(n):
            g.setdefault(top + k, {})[1] = run.start + k  # the run's count (a window's)
            for kind, block, col in columns:
                area = f"{sheet_prefix(per_iter[k][block].sheet)}{per_iter[k][block].extent}"
                g[top + k][col] = Styled(f"={ops.mean_xl(area)}" if kind == "mean" else
                                         f"={ops.spread_xl(area, a1(top + k, col - 1))}",
                                         "value")
        return g

    last = top + n - 1
    deltas = {delta for _, _, delta in statistics.watched(net)}
    stds = [(symbols.get(block, block), col_letter(col)) for kind, block, col in columns
            if kind == "std" and block in deltas]
    first, *more = stds
    chart = LineChartSpec("The errors' spread per layer (std of δ)", "std of δ", "iteration",
                          data=f"{first[1]}{head}:{first[1]}{last}", categories=f"A{top}:A{last}",
                          anchor=f"{col_letter(2 + 2 * len(watched) + 1)}{head + 1}",
                          more=tuple((s, f"{c}{head}:{c}{last}") for s, c in more),
                          name=first[0], log=True, first=run.start)  # ratios: vanishing
    spec = SheetSpec(STATISTICS, build, widths={1: 10, **{c: 12 for *_, c in columns}},
                     freeze=f"B{top}", chart=chart, max_col=1 + 2 * len(watched),
                     max_row=last, tab_color="8E44AD", print_rows=f"1:{head}", fit_width=True)
    return spec, places
