"""The Guide: a workbook's first sheet, saying what it is, how its sheets are laid out, how to read
a formula, what to try, and where the Map is. Each layout gives its own sections; links jump to
the cells they name."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sheetnet import notation as names
from sheetnet.notation import Words
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


@dataclass(frozen=True)
class _Net:
    """What a net's Guide says things with: the run, Iter 0's and Iter 1's places, the
    Inputs', and the words its data is named by."""

    run: Any
    first: dict[str, Place]
    second: dict[str, Place] | None
    inputs: dict[str, Place]
    bands: bool

    @property
    def net(self) -> Any:
        return self.run.model

    @property
    def words(self) -> Words:
        return self.run.data.words(self.net.maps)

    @property
    def steps(self) -> int:
        """A text's T (time runs left to right), else 0."""
        return int(self.net.input.steps)

    @property
    def initial(self) -> str:
        return (f"the checkpoint's parameters and {self.run.rule.name}'s state" if self.run.start
                else "the initial parameters")

    def place(self, role: str) -> Place:
        """The first parameter's value, its gradient of image 1 or its total on Iter 0."""
        w = self.net.params()[0].name
        return self.first[{"value": w, "grad": names.grad(w),
                           "total": names.total_grad(w)}[role]]


def net_guide(run, first: dict[str, Place], second: dict[str, Place] | None,
              inputs: dict[str, Place], extras: Sequence[tuple[str, str]], bands: bool
              ) -> SheetSpec:
    """The Guide of a net's workbook. first, second: the places of Iter 0 and Iter 1 (None when
    the run has no iteration 1); ``bands``: each image has a band of columns (a net of maps or
    a text's steps) rather than one column."""
    g = _Net(run, first, second, inputs, bands)
    net, words, last, start = g.net, g.words, run.iterations, run.start
    what = (f"the stack {net.arch}, then {net.output.pair.activation} outputs with the"
            f" {net.output.pair.loss} cost")
    size = f"{run.n_images} {words.items}" + (f" of {g.steps} characters" if g.steps else "")
    title = f"sheetnet · {run.preset}: {size}, {last} iteration{'s' * (last != 1)} of {what}"
    if len(title) > 150:  # a long stack: the outputs are in the stack's last line anyway
        title = title[:title.index(", then ")]
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
        sheets_section(_sheets(g, extras)),
        ("Reading an iteration sheet", _layout(g)),
        ("Reading a formula", _reading(g)),
        (f"{g.words.item.capitalize()} 1, block by block (Iter 0)", _blocks(g)),
        ("Things to try", _tries(g)),
        ("The Map", ["The last sheet, Map, lists every block: its name (as in `sheetnet train"
                     " --json`), its sheet and range (a link), its shape and what it is."]),
    ])


def _sheets(g: _Net, extras: Sequence[tuple[str, str]]) -> list[tuple[str, str]]:
    """The workbook's sheets, each with what it holds."""
    accuracy = " and accuracy" if "accuracy" in g.first else ""
    data = ("the text, one character a row (edit one)" if g.steps else
            "every image's pixels and label" + (", each image in its own shape" if g.bands
                                                else ", one column per image"))
    return [("Summary", f"C_T{accuracy} per iteration, with a chart"), *extras,
            ("Inputs", "the settings, η and the other hyperparameters, the"
                       f" {'vocabulary' if g.steps else 'classes'} and {g.initial} (yellow:"
                       " edit them)"),
            ("Data", data),
            ("Iter 0", "the first iteration: the forward pass, backpropagation, the"
                       f" gradients and {g.initial.split(' and ')[0]}"),
            (f"Iter {g.run.iterations}", "the last iteration"),
            ("Map", "every block: where it is, its shape and what it is")]


def _update_words(g: _Net) -> str:
    """How a parameter moves from one sheet to the next."""
    rule, total = g.run.rule, _col(g.place("total"))
    if rule.name == "gd":
        return f"Iter k's are Iter k−1's minus η times column {total}: gradient descent"
    return (f"Iter k's are Iter k−1's moved by the update rule, {rule.summary} (g: ∂C_T/∂w,"
            f" column {total}" + ("; the rule's state in the columns after it)" if rule.state
                                  else ")"))


def _frozen_words(g: _Net) -> list[Line]:
    """What a frozen parameter's cells are (none without ``--freeze``)."""
    frozen = [p.symbol for p in g.net.params() if p.name in g.run.frozen]
    if not frozen:
        return []
    return [f"Frozen (--freeze): {', '.join(frozen)} keep Iter 0's values on every sheet"
            " (lavender, italic, \"frozen\" in column A). Their gradients ∂C_T/∂w are"
            " computed as every other's and never applied, and the update rule keeps no"
            " state for them."]


def _layout(g: _Net) -> list[Line]:
    """How an iteration sheet's columns and rows are laid out."""
    net = g.net
    forward = ", ".join(dict.fromkeys(b.symbol for b in (*net.forward_blocks(),
                                                          *net.output.blocks()[:1])))
    backward = ", ".join(dict.fromkeys(b.symbol for b in net.backward_blocks()))
    symbols = ", ".join(dict.fromkeys(p.symbol for p in net.params()))
    value, total, grad = (_col(g.place(role)) for role in ("value", "total", "grad"))
    more = "…" if g.bands else ""
    first = (f"Column A names the block ({symbols}, {forward} …), column B "
             + ("the unit, gate or character of each row." if g.steps else
                "the tile or element (a map's tile is named by its filter). Every map is drawn"
                " in its own 2-D shape." if g.bands else
                f"the element ({net.params()[0].labels[0]} is the weight into unit 1 of"
                f" {_layer(net.params()[0].symbol)} from unit 1 of the layer below it)."))
    if g.steps:
        back = ("backpropagation through time, read right to left" if net.states() else
                "backpropagation (a position's error gathers what every later one sends back)")
        columns = (f"From column {grad}, time runs left to right: each window is a band of"
                   f" {g.steps} columns, one per step (row 2 names the window, row 3 numbers"
                   f" the steps). Top to bottom: the forward pass, step by step (x, t, {forward},"
                   f" C), {back} ({backward}),")
        rows = ("then the parameters' rows, where the band's first column holds the window's"
                " own gradient ∂C/∂w, summed over its steps.")
    else:
        columns = ((f"From column {grad}, each image has a band of columns (row 3 numbers them)."
                    if g.bands else f"From column {grad}, one column per image.")
                   + f" Top to bottom: the forward pass (x, t, {forward}, C), backpropagation"
                     f" ({backward}),")
        rows = ("then the parameters' rows, where " + ("the band holds" if g.bands else
                                                        "these cells are")
                + f" that {g.words.item}'s own gradient ∂C/∂w, not the weight.")
    cost = _col(g.first["C_T"])
    accuracy = g.first.get("accuracy")
    below = ("" if accuracy is None else
             f"; the accuracy in column {_col(accuracy)} of the row below, the correct row")
    where = ("" if cost == total else
             f" Columns C and {cost}: the totals (C_T in column {cost} of the cost row C{below}).")
    return [first, columns + " " + rows + where,
            f"Column {value}{more}{' (after the last ' + g.words.item + ')' if where else ''}"
            f"{':' if more else ','} value: the parameters at this"
            " iteration (Iter 0's from"
            f" Inputs; {_update_words(g)}).",
            f"Column {total}{more}: ∂C_T/∂w, the gradient of the total cost (Σ over the"
            f" {g.words.items})" + ("; in the cost row (C), the total cost C_T." if cost == total
                                    else "."), *_frozen_words(g)]


def _layer(symbol: str) -> str:
    """"layer 2" for w² (the book's numbering), else "its layer"."""
    digits = "".join(str("⁰¹²³⁴⁵⁶⁷⁸⁹".index(ch)) for ch in symbol if ch in "⁰¹²³⁴⁵⁶⁷⁸⁹")
    return f"layer {digits}" if digits else "its layer"


def _blocks(g: _Net) -> list[Line]:
    """A link to each block of image 1 (window 1) on Iter 0, in the sheet's order."""
    net = g.net
    shown = [b for b in (*net.forward_blocks(), *net.output.blocks(), *net.backward_blocks())
             if b.name in g.first and not b.batch]
    lines: list[Line] = [link_to(g.first["x"], f"x: the {g.words.item}'s input")]
    for b in shown:
        symbol = b.symbol + ("ₜ" if b.shape.steps and "ₜ" not in b.symbol else "")
        said = b.description.split(" = ")[0].split(":")[0].replace(" ", "")  # "δ²ₖ = …"
        text = (b.description if said.startswith((b.symbol.replace(" ", ""),
                                                  symbol.replace(" ", "")))
                else f"{symbol}: {b.description}")
        lines.append(link_to(g.first[b.name], text if len(text) <= WIDTH
                             else text[:WIDTH - 1].rstrip() + "…"))
    for p in net.params():
        grad = g.first[names.grad(p.name)]
        lines.append(link_to(grad, f"∂C/∂{p.symbol}: {g.words.item} 1's own gradient of"
                                   f" {p.symbol}"))
    return lines


def _reading(g: _Net) -> list[Line]:
    """How a layer's cells read, then links to a weighted input, a gradient and an update."""
    net, run, words = g.net, g.run, g.words
    item, items, n = words.item, words.items, run.n_images
    param = net.params()[0]
    w_sym = param.labels[0]
    grad, total = g.place("grad"), g.place("total")
    shown = [b for b in net.forward_blocks() if not b.padded]
    z = next((b for b in shown if b.symbol.startswith("z")), shown[0])  # a weighted input
    z_sym = (f"{z.symbol.split(' ')[0].replace('ₜ', '')}₁ ({z.labels[0][1]}) at step 1"
             if g.steps else
             names.element(z.labels[0][1] if z.labels else z.symbol, 1, 1) if g.bands
             else f"{z.symbol}₁")  # one map: no tile label
    over = ((f" over both {items}" if n == 2 else f" over all {n} {items}")
            if run.batches is None else
            f" over the {items} of the step's batch (marked 1 in its row"
            + (", and not held out for validation)" if run.validation else ")"))
    reading: list[Line] = list(dict.fromkeys(line for layer in net.layers
                                             for line in layer.guide_lines()))
    reading += [
        SUMPRODUCT.replace("images", items),
        link_to(g.first[z.name], f"{_cell(g.first[z.name])}: {z_sym} of {item} 1, a weighted"
                                 " input (click it, then read the formula bar)"),
        link_to(grad, f"{_cell(grad)}: {item} 1's ∂C/∂{w_sym}"
                      + (": Σₜ of its error times the input it multiplies, over the"
                         " window's steps" if g.steps else
                         ": δ against the window of the input it saw" if param.tile else
                         ": δ times the input it multiplies")),
        link_to(total, f"{_cell(total, image=None)}: ∂C_T/∂{w_sym}, the same gradient"
                       f" summed{over}", image=None),
    ]
    if g.second is not None:
        rule, start = run.rule, run.start
        moving = next(p for p in net.params() if p.name not in run.frozen)
        m_sym, w = moving.labels[0], moving.name
        moved = (f"− η × ∂C_T/∂{m_sym}" if rule.name == "gd" else f"moved by {rule.summary}")
        reading.append(link_to(g.second[w], f"{_cell(g.second[w], image=None)}: {m_sym} at"
                                            f" iteration {start + 1:,} = its value at"
                                            f" iteration {start:,} {moved}", image=None))
        if param.name in run.frozen:
            kept = g.second[param.name]
            reading.append(link_to(kept, f"{_cell(kept, image=None)}: {w_sym} at iteration"
                                         f" {start + 1:,} = its value at iteration {start:,}:"
                                         " frozen, its gradient not applied", image=None))
    return reading


def _tries(g: _Net) -> list[Line]:
    eta = g.inputs.get("eta")
    tries: list[Line] = []
    if eta is not None:
        tries.append(link_to(eta, f"Change η ({_cell(eta, image=None)}, the cell named eta)"
                                  " and watch C_T on the Summary sheet change at every"
                                  " iteration.", image=None))
    what = "a weight or a state" if g.run.start else "an initial weight"
    return [*tries, f"Change {what} on Inputs, or a {g.words.element} on Data: every iteration"
                    " after it recomputes.",
            "Follow one weight down the iterations: its value, its ∂C_T/∂w, the next sheet's"
            " value.", VERIFY]


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
