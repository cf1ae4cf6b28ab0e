"""What a text net's workbook has beyond any net's: the text on the Data sheet, one character a
row; each window's xₜ and tₜ read from it; the Through time sheet, how far back an error
reaches (the recurrent layers' ‖∂C/∂hₜ‖, averaged over the windows, at the first and the last
iteration, charted on a log scale); and the Attention sheet, each window's attention pattern
at the first and the last iteration."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sheetnet.core.net import Net
from sheetnet.core.run import Run
from sheetnet.core.text import seen, text_of
from sheetnet.layers.base import Block
from sheetnet.workbook.layout import (
    ColorScale,
    Grid,
    LineChartSpec,
    Place,
    SheetSpec,
    Styled,
    a1,
    put,
)
from sheetnet.workbook.layout import (
    Text as Literal,
)
from sheetnet.workbook.sheets import DATA, Extra

TIME = "Through time"
ATTENTION = "Attention"


def data_sheet(run: Run) -> tuple[SheetSpec, list[Place]]:
    """The text, one character a row (inputs: edit one and its windows recompute)."""
    text = text_of(run.data)
    chars = text.used
    label = Place("label", DATA, 3, 2, len(chars), kind="input",
                  description="the text, one character a row (edit one: the run recomputes)")

    left_out = len(text.text) - len(chars)
    steps = text.steps

    def build() -> Grid:
        grid: Grid = {}
        put(grid, 1, 1, f"Data · the text, one character a row: window w reads characters"
                        f" (w − 1)·{steps} + 1 … w·{steps} and predicts the next one of each",
            "title")
        for c, head in enumerate(("i", "character", "seen as", "window"), start=1):
            put(grid, 2, c, head, "header")
        for i, char in enumerate(chars):
            put(grid, 3 + i, 1, i + 1)
            put(grid, 3 + i, 2, Literal(char), "input")  # "=" is a character, not a formula
            put(grid, 3 + i, 3, Literal(seen(char)), "element")
            window = i // steps + 1
            put(grid, 3 + i, 4, window if window <= text.windows else "next only", "element")
        if left_out:
            tail = "".join(seen(c)[1:-1] for c in text.text[len(chars):])
            put(grid, len(chars) + 4, 1, f"Left out: the text's last {left_out}"
                                         f" character{'s' * (left_out > 1)}, '{tail}', fill no"
                                         " window; the vocabulary keeps what they bring.", "note")
        return grid

    spec = SheetSpec(DATA, build, widths={1: 6, 2: 12, 3: 10, 4: 10}, freeze="A3", max_col=4,
                     max_row=len(chars) + 4, tab_color="F2C94C")  # (the tail's note, if any)
    return spec, [label]


def step_inputs(run: Run, x: Place, t: Place, label: Place, classes: Place
                ) -> Iterator[tuple[Place, int, int, int, str]]:
    """(place, r, step, window, formula) of every cell of xₜ and tₜ: 1 where the character
    the window reads at step t (and the next one, its target) is the vocabulary's r-th."""
    text = text_of(run.data)
    sheet = x.sheet
    for w in range(text.windows):
        for step in range(text.steps):
            pos = w * text.steps + step
            for r in range(len(text.vocab)):
                vocab = classes.ref(r, absolute=True, sheet=sheet)
                for place, at in ((x, pos), (t, pos + 1)):
                    char = label.ref(at, absolute=True, sheet=sheet)
                    yield place, r, step, w, f"IF(EXACT({char},{vocab}),1,0)"


def sizes(net: Net) -> list[Block]:
    """The per-step error sizes the recurrent layers show, averaged over the windows (one copy
    for the batch), input to output."""
    return [b for layer in net.layers if layer.state is not None
            for b in layer.error_blocks() if b.batch]


def time_sheet(run: Run, per_iter: Sequence[dict[str, Place]]) -> tuple[SheetSpec, list[Place]]:
    """How far back an error reaches: each recurrent layer's ‖∂C_last/∂hₜ‖ (the last step's
    cost alone) and ‖∂C/∂hₜ‖ (every step's), means over the windows, against t, at the first
    and the last iteration; the first layer's ‖∂C_last/∂hₜ‖ charted on a log scale."""
    net: Net = run.model
    last, steps = run.iterations, text_of(run.data).steps
    blocks = sorted(sizes(net), key=lambda b: not b.name.startswith("last_"))
    columns = [(b, k, 2 + 2 * j + n) for j, b in enumerate(blocks)
               for n, k in enumerate((0, last))]
    places = [Place(b.name, TIME, 4, col, steps, iteration=k,
                    description=f"{b.description}, at iteration {k}") for b, k, col in columns]

    def build() -> Grid:
        grid: Grid = {}
        put(grid, 1, 1, "Through time · how far back an error reaches", "title")
        put(grid, 2, 1, "‖∂C_last/∂hₜ‖: the last step's cost sent back alone; ‖∂C/∂hₜ‖: every"
                        " step's. Each is the mean over the windows.", "note")
        put(grid, 3, 1, "step t", "header")
        for b, k, col in columns:
            put(grid, 3, col, f"{b.symbol.replace(' mean', '')} · iter {k}", "header")
        for step in range(steps):
            put(grid, 4 + step, 1, step + 1)
            for b, k, col in columns:
                put(grid, 4 + step, col, Styled("=" + per_iter[k][b.name].ref(
                    step, absolute=True, sheet=TIME), "sci"))
        return grid

    end = 3 + steps
    first_layer = blocks[0].symbol.replace(" mean", "")
    chart = LineChartSpec(f"The last step's error sent back through time: {first_layer}",
                          "mean over the windows",
                          "step t", data=f"B3:B{end}", categories=f"A4:A{end}",
                          anchor=f"A{end + 2}", more=((f"iteration {last}", f"C3:C{end}"),),
                          name="iteration 0", log=True, first=1)  # below the table: one page
    last_col = columns[-1][2]
    spec = SheetSpec(TIME, build, widths={1: 8, **{c: 24 for *_, c in columns}}, freeze="A4",
                     chart=chart, max_col=last_col, max_row=end, tab_color="8E44AD",
                     fit_width=True)
    return spec, places


def text_extras(run: Run) -> list[Extra]:
    """The sheets a text net's workbook has after its Summary: Through time for recurrent
    layers, Attention for an attention layer."""
    out: list[Extra] = []
    if sizes(run.model):
        out.append(lambda inputs, data, per_iter: time_sheet(run, per_iter))
    if any(layer.pattern for layer in run.model.layers):
        out.append(lambda inputs, data, per_iter: attention_sheet(run, per_iter))
    return out


def attention_sheet(run: Run, per_iter: Sequence[dict[str, Place]]
                    ) -> tuple[SheetSpec, list[Place]]:
    """Each window's attention weights αₜᵤ as a T×T heat map (a column per position t, a row
    per position u it reads; 0 above the diagonal: the mask), at the first and the last
    iteration, each cell a reference to its iteration sheet's."""
    text = text_of(run.data)
    steps, windows, last = text.steps, text.windows, run.iterations
    name = next(layer.pattern for layer in run.model.layers if layer.pattern)
    stride = steps + 1
    bands = [(k, 5 + n * (steps + 4)) for n, k in enumerate((0, last))]
    places = [Place(name, ATTENTION, row + 2, 2, steps, steps, windows, stride, iteration=k,
                    transpose=True, description=f"αₜᵤ of every window at iteration {k}")
              for k, row in bands]
    end_col = 1 + windows * stride - 1
    end_row = bands[-1][1] + 1 + steps

    def build() -> Grid:
        grid: Grid = {}
        put(grid, 1, 1, "Attention · what each position reads", "title")
        put(grid, 2, 1, "αₜᵤ of each window: a column per position t (the character read at"
                        " step t), a row per position u it reads; each column sums to 1.", "note")
        put(grid, 3, 1, "A dot is a masked 0 (u > t: a position never reads a later one); <.01"
                        " a weight under 0.005; click a cell for its value.", "note")
        for (k, row), place in zip(bands, places, strict=True):
            put(grid, row, 1, f"iteration {k}", "section")
            for w in range(windows):
                col = 2 + w * stride
                read, _ = text.window(w)
                put(grid, row, col, f"window {w + 1}", "label")
                for t in range(steps):
                    put(grid, row + 1, col + t, Literal(seen(read[t])), "header")
                    for u in range(steps):
                        cell = per_iter[k][name].ref(u, t, image=w, absolute=True,
                                                     sheet=ATTENTION)
                        put(grid, place.row + u, col + t, Styled("=" + cell, "weight"))
            for u in range(steps):
                put(grid, row + 2 + u, 1, f"u = {u + 1}", "element")
        return grid

    scales = [ColorScale(f"{a1(place.row, 2)}:{a1(place.row + steps - 1, end_col)}",
                         low="FFFFFF", high="8E44AD") for place in places]
    spec = SheetSpec(ATTENTION, build, widths={1: 12, **{c: 6 for c in range(2, end_col + 1)}},
                     freeze="B5", color_scales=scales, max_col=end_col, max_row=end_row,
                     tab_color="8E44AD", print_cols="A:A", print_scale=70,
                     # two windows a printed page, never one cut in two
                     col_breaks=[1 + (w + 1) * stride for w in range(1, windows - 1, 2)])
    return spec, places
