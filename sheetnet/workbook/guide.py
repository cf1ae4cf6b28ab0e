"""The Guide: a workbook's first sheet, saying what it is, how its sheets are laid out, how to read
a formula, what to try, and where the Map is. Each layout gives its own sections; links jump to
the cells they name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sheetnet import notation as names
from sheetnet.workbook.layout import Cached, Grid, Place, SheetSpec, Text, put, sheet_prefix

GUIDE = "Guide"


@dataclass(frozen=True)
class Link:
    """A line that jumps to a cell or range when clicked (``target``: ``'Iter 0'!E66``)."""

    text: str
    target: str


def link_to(place: Place, text: str, r: int = 0, c: int = 0, image: int | None = 0) -> Link:
    """A link to one cell of a block (image 1's by default)."""
    return Link(text, sheet_prefix(place.sheet) + place.ref(r, c, image=image))


Line = str | Link
Section = tuple[str, Sequence[Line]]


def guide_sheet(title: str, sections: Sequence[Section]) -> SheetSpec:
    """One column of text: a title, then each section's heading and lines."""
    sections = [(heading, [part for line in lines for part in _wrapped(line)])
                for heading, lines in sections]

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, title, "title")
        r = 3
        for heading, lines in sections:
            put(g, r, 1, heading, "section")
            r += 1
            for line in lines:
                if isinstance(line, Link):
                    text = line.text.replace('"', "'")
                    put(g, r, 1, Cached(f'=HYPERLINK("#{line.target}","{text}")', text), "link")
                else:
                    put(g, r, 1, Text(line), "guide")
                r += 1
            r += 1
        return g

    rows = 2 + sum(len(lines) + 2 for _, lines in sections)
    return SheetSpec(GUIDE, build, widths={1: 120}, max_col=1, max_row=rows,
                     tab_color="1F3B73", fit_width=True)


WIDTH = 150  # characters a Guide line may hold before it wraps: wider would shrink the page


def _wrapped(line: Line) -> list[Line]:
    """A long text line as several rows, broken between words (links stay one line)."""
    if isinstance(line, Link) or len(line) <= WIDTH:
        return [line]
    out, current = [], ""
    for word in line.split(" "):
        if current and len(current) + 1 + len(word) > WIDTH:
            out.append(current)
            current = "   " + word  # continuation lines indented
        else:
            current = f"{current} {word}" if current else word
    return [*out, current]


def sheets_section(names: Sequence[tuple[str, str]]) -> Section:
    """The workbook's sheets, each a link to its first cell, with what it holds."""
    return ("The sheets (click one to go there)",
            [Link(f"{name}: {what}", f"{sheet_prefix(name)}A1") for name, what in names])


VERIFY = ("`sheetnet verify FILE.xlsx` recalculates this workbook in a real spreadsheet engine and"
          " checks every cell against sheetnet's NumPy core, to 1e-9.")
SUMPRODUCT = ("A weighted input z = w₁a₁ + w₂a₂ + … + b is SUMPRODUCT(the weights, the inputs) +"
              " the bias, the book's own form; Σ over the images is SUM (or SUMIF over a band).")


def _cell(place: Place, r: int = 0, c: int = 0, image: int | None = 0) -> str:
    return sheet_prefix(place.sheet) + place.ref(r, c, image=image)


def net_guide(run, first: dict[str, Place], second: dict[str, Place] | None,
              inputs: dict[str, Place], extras: Sequence[tuple[str, str]], bands: bool
              ) -> SheetSpec:
    """The Guide of a net's workbook. first, second: the places of Iter 0 and Iter 1 (None when
    the run has no iteration 1); ``bands``: each image has a band of columns (a net of maps)
    rather than one column."""
    net, n, last = run.model, run.n_images, run.iterations
    words = run.data.words(net.maps)
    item, items = words.item, words.items
    steps = net.input.steps  # a text's windows: time runs left to right
    param = net.params()[0]
    w = param.name
    w_sym = param.labels[0]
    grad, total = first[names.grad(w)], first[names.total_grad(w)]
    value = first[w]
    shown = [b for b in net.forward_blocks() if not b.padded]
    z = next((b for b in shown if b.symbol.startswith("z")), shown[0])  # a weighted input
    z_sym = (f"{z.symbol.replace('ₜ', '')}₁ at step 1" if steps else
             f"{z.symbol}¹₁₁" if bands else f"{z.symbol}₁")
    what = f"the stack {net.arch}, then {net.output.pair.activation} outputs with the"\
           f" {net.output.pair.loss} cost"
    accuracy = " and accuracy" if "accuracy" in first else ""
    start = run.start  # a window continuing a checkpoint
    initial = (f"the checkpoint's parameters and {run.rule.name}'s state" if start
               else "the initial parameters")
    sheets = [("Summary", f"C_T{accuracy} per iteration, with a chart"), *extras,
              ("Inputs", "the settings, η and the other hyperparameters, the"
                         f" {'vocabulary' if steps else 'classes'} and {initial} (yellow: edit"
                         " them)"),
              ("Data", "the text, one character a row (edit one)" if steps else
               "every image's pixels and label" + (", each image in its own shape"
                                                   if bands else ", one column per image")),
              ("Iter 0", f"the first iteration: {initial.split(' and ')[0]}, the forward"
                         " pass, backpropagation and the gradients"),
              (f"Iter {last}", "the last iteration"),
              ("Map", "every block: where it is, its shape and what it is")]
    rule = run.rule
    if rule.name == "gd":
        step = (f"Iter k's are Iter k−1's minus η times column {_col(total)}: gradient"
                " descent")
    else:
        step = (f"Iter k's are Iter k−1's moved by the update rule, {rule.summary} (g:"
                f" ∂C_T/∂w, column {_col(total)}" + ("; the rule's state in the columns after"
                                                     " it)" if rule.state else ")"))
    forward = ", ".join(dict.fromkeys(b.symbol for b in (*net.forward_blocks(),
                                                          *net.output.blocks()[:1])))
    backward = ", ".join(dict.fromkeys(b.symbol for b in net.backward_blocks()))
    symbols = ", ".join(dict.fromkeys(p.symbol for p in net.params()))
    if steps:
        layout = [
            f"Column A names the block ({symbols}, {forward} …), column B the unit, gate or"
            " character of each row.",
            f"Column {_col(value)}…: value: the parameters at this iteration (Iter 0's from"
            f" Inputs; {step}).",
            f"Column {_col(total)}…: ∂C_T/∂w, the gradient of the total cost (Σ over the"
            " windows); in the cost row (C), the total cost C_T.",
            f"From column {_col(grad)}, time runs left to right: each window is a band of"
            f" {steps} columns, one per step (row 2 names the window, row 3 numbers the steps)."
            " In the parameters' rows the band's first column holds the window's own gradient"
            " ∂C/∂w, summed over its steps;",
            f"below come the forward pass, step by step (x, t, {forward}, C), and"
            f" backpropagation through time, read right to left ({backward}).",
        ]
    elif bands:
        layout = [
            f"Column A names the block ({symbols}, {forward} …), column B the tile or element"
            " (a map's tile is named by its filter). Every map is drawn in its own 2-D shape.",
            f"Column {_col(value)}…: value: the parameters at this iteration (Iter 0's from"
            f" Inputs; {step}).",
            f"Column {_col(total)}…: ∂C_T/∂w, the gradient of the total cost (Σ over the"
            " images); in the cost row (C), the total cost C_T.",
            f"From column {_col(grad)}, each image has a band of columns (row 3 numbers them). In"
            " the parameters' rows the band holds that image's own gradient ∂C/∂w, not the"
            " weight;",
            f"below come the forward pass (x, t, {forward}, C) and backpropagation"
            f" ({backward}).",
        ]
    else:
        layout = [
            f"Column A names the block ({symbols}, {forward} …), column B the element ({w_sym}"
            " is the weight from input 1 to unit 1 of the first layer).",
            f"Column {_col(value)}, value: the parameters at this iteration (Iter 0's from"
            f" Inputs; {step}).",
            f"Column {_col(total)}: ∂C_T/∂w, the gradient of the total cost (Σ over the"
            " images); in the cost row (C), the total cost C_T.",
            f"From column {_col(grad)}, one column per image. In the parameters' rows these"
            " cells are that image's own gradient ∂C/∂w, not the weight;",
            f"below come the forward pass (x, t, {forward}, C) and backpropagation ({backward}).",
        ]
    reading: list[Line] = list(dict.fromkeys(line for layer in net.layers
                                             for line in layer.guide_lines()))
    reading += [
        SUMPRODUCT.replace("images", items),
        link_to(first[z.name], f"{_cell(first[z.name])}: {z_sym} of {item} 1, a weighted"
                               " input (click it, then read the formula bar)"),
        link_to(grad, f"{_cell(grad)}: {item} 1's ∂C/∂{w_sym}"
                      + (": Σₜ δₜ·xₜ, the error against the input it multiplies, over the"
                         " window's steps" if steps else
                         ": δ against the window of the input it saw" if param.tile else
                         ": δ times the input it multiplies")),
        link_to(total, f"{_cell(total, image=None)}: ∂C_T/∂{w_sym}, the same gradient summed"
                       + ((f" over both {items}" if n == 2 else f" over all {n} {items}")
                          if run.batches is None else
                          f" over the {items} of the step's batch (marked 1 in its row"
                          + (", and not held out for validation)" if run.validation
                             else ")")), image=None),
    ]
    if second is not None:
        moved = (f"− η × ∂C_T/∂{w_sym}" if rule.name == "gd" else f"moved by {rule.summary}")
        reading.append(link_to(second[w], f"{_cell(second[w], image=None)}: {w_sym} at"
                                          f" iteration {start + 1:,} = its value at iteration"
                                          f" {start:,} {moved}", image=None))
    eta = inputs.get("eta")
    tries: list[Line] = []
    if eta is not None:
        tries.append(link_to(eta, f"Change η ({_cell(eta, image=None)}, the cell named eta)"
                                  " and watch C_T on the Summary sheet change at every"
                                  " iteration.", image=None))
    tries += [f"Change {'a weight or a state' if start else 'an initial weight'} on Inputs, or"
              f" a {words.element} on Data: every iteration after it recomputes.",
              "Follow one weight down the iterations: its value, its ∂C_T/∂w, the next sheet's"
              " value.", VERIFY]
    size = f"{n} {items}" + (f" of {steps} characters" if steps else "")
    title = f"sheetnet · {run.preset}: {size}, {last} iteration{'s' * (last != 1)} of {what}"
    return guide_sheet(title, [
        ("What this is", [
            "Every number of a training run, each a formula computed from the cells it names,"
            " in the notation of The Mathematics of Deep Learning.",
            "Click any number to see its formula; edit a yellow cell and the whole run"
            " recomputes. Blue cells are values the sheet computes; green ones are sums.",
            "The numbers saved in the file are sheetnet's NumPy results; Excel and LibreOffice"
            " recompute them from the formulas.",
            *([f"A window of a longer run: Iter k is the run's iteration {start:,} + k, going on"
               f" from a checkpoint saved after iteration {start - 1:,} (its parameters and"
               f" {run.rule.name}'s state are the yellow cells on Inputs); which of the run's"
               " images it trains on, Inputs says (data)."] if start else [])]),
        sheets_section(sheets),
        ("Reading an iteration sheet", layout),
        ("Reading a formula", reading),
        ("Things to try", tries),
        ("The Map", ["The last sheet, Map, lists every block: its name (as in `sheetnet train"
                     " --json`), its sheet and range (a link), its shape and what it is."]),
    ])


def _col(place: Place) -> str:
    """The column letters of a block's first cell."""
    return "".join(ch for ch in place.ref(0, 0, image=0) if ch.isalpha())


MAP_LINE = ("The last sheet, Map, lists every block: its name, its sheet and range (a link) and"
            " what it is.")


def exercise_guide(title: str, what: Sequence[Line], sheets: Sequence[tuple[str, str]],
                   reading: Sequence[Line], tries: Sequence[Line]) -> SheetSpec:
    """The Guide of an exercise's workbook (gd, regression, graph)."""
    return guide_sheet(title, [("What this is", what), sheets_section(sheets),
                               ("Reading the sheet", reading), ("Things to try", tries),
                               ("The Map", [MAP_LINE])])
