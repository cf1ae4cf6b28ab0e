"""What a text net's workbook has beyond any net's: the text on the Data sheet, one character a
row; each window's xₜ and tₜ read from it; and the Through time sheet, how far back an error
reaches (the recurrent layers' ‖∂C/∂hₜ‖, averaged over the windows, at the first and the last
iteration, charted on a log scale)."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from sheetnet.core.net import Net
from sheetnet.core.run import Run
from sheetnet.core.text import seen, text_of
from sheetnet.layers.base import Block
from sheetnet.workbook.layout import (
    Grid,
    LineChartSpec,
    Place,
    SheetSpec,
    Styled,
    put,
)
from sheetnet.workbook.layout import (
    Text as Literal,
)
from sheetnet.workbook.sheets import DATA

TIME = "Through time"


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
