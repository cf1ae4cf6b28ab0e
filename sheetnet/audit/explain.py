"""``sheetnet explain``: any cell's story, read from the workbook alone.

The layout is rebuilt from the Inputs sheet's settings, as ``verify`` rebuilds it, so every cell
can be named as the book names it: the block it belongs to (``delta2``: δ²), its element (δ²₁),
the image or window, the step of a sequence and the iteration. The cell's formula is read as
written (a shared formula's cell gets its first cell's formula moved to it, as a spreadsheet
reads it) and written again twice: with each reference named in the book's notation, and with
each reference's number plugged in. Values are the ones stored in the file: sheetnet stores
NumPy's number beside every formula, and a spreadsheet that saved the file stores its own.

Nothing here draws or prints; ``Explanation`` is what the command line and a notebook show.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from sheetnet.audit import cells
from sheetnet.audit.archive import Formulas
from sheetnet.audit.tokens import Ref, Token, parse_ref, tokens, unary
from sheetnet.audit.verify import Layout, layout
from sheetnet.errors import SheetnetError
from sheetnet.notation import indices
from sheetnet.workbook.layout import Place, a1, sheet_prefix
from sheetnet.workbook.sheets import DATA, INPUTS

MAX_NODES = 400  # cells a tree (``--depth``) explains at most; the rest are named, not opened
BLANK = "∅"  # an empty cell inside a range, in the plugged-in formula
_ITERATION_SHEET = re.compile(r"Iter (\d+)")
_CELL_TEXT = re.compile(r"\$?([A-Za-z]{1,3})\$?(\d{1,7})")
_OPERATORS = {"*": "·", "-": " − ", "+": " + ", "/": "/", "^": "^", "&": " & ", "=": " = ",
              "<>": " ≠ ", "<=": " ≤ ", ">=": " ≥ ", "<": " < ", ">": " > ", ",": ", ",
              ";": "; ", ":": ":", "%": "%"}
_SIGNS = {"-": "−", "+": "+"}


# --- what a cell is ----------------------------------------------------------------------


@dataclass(frozen=True)
class Name:
    """What one cell is, in the book's notation: its block (the trace's name, ``delta2``) and
    that block's symbol (δ²), its element (δ²₁), the image or window, the step of a sequence,
    the row of a table (``at``: "i = 3", "step 2") and the iteration. A cell outside every
    block has only ``element`` (its row's label, or a defined name's symbol) or nothing."""

    sheet: str
    row: int
    col: int
    element: str | None = None
    block: str | None = None
    symbol: str | None = None
    image: int | None = None
    item: str = "image"  # what an image is called: "window" for a text's
    step: int | None = None
    iteration: int | None = None
    description: str = ""
    at: str | None = None

    @property
    def cell(self) -> str:
        return f"{sheet_prefix(self.sheet)}{a1(self.row, self.col)}"

    @property
    def named(self) -> bool:
        return self.element is not None

    @property
    def what(self) -> str:
        """The element with its step, row and image: ``δ²₁ of image 1`` (the cell's address
        when it has no name)."""
        return describe(self)

    @property
    def full(self) -> str:
        """``what`` with the iteration: ``δ²₁ of image 1, iteration 0``."""
        return describe(self, iteration=True)

    def short(self, context: Name) -> str:
        """The name within ``context``'s formula: what it shares with that cell left out
        (the same image, step, iteration, row of a table)."""
        return describe(self, context=context)


def describe(first: Name, last: Name | None = None, context: Name | None = None,
             iteration: bool = False) -> str:
    """A cell's name, or a range's from its first to its last cell (``x (i = 1…7)``,
    ``a²₁…a²₃ of images 1…64``): within ``context``'s formula, what it shares with that cell
    is left out; ``iteration``: the iteration said too (outside any formula)."""
    last = last or first
    if first.element is None or last.element is None:
        if first == last:
            return first.cell if context is None or first.sheet != context.sheet else \
                a1(first.row, first.col)
        return f"{first.cell}…{a1(last.row, last.col)}"
    text = first.element if first.element == last.element else \
        f"{first.element}…{last.element}"
    text += _where(first, last, context)
    if first.iteration is not None and context is None:
        if iteration:
            text += f", iteration {first.iteration}"
    elif first.iteration is not None and context is not None and \
            first.iteration != context.iteration and (
            context.iteration is not None or _iteration_of(first.sheet) is not None):
        text += f" (iteration {first.iteration})"
    elif context is not None and text == context.element and first.sheet != context.sheet:
        text += f" on {first.sheet}"  # x = x on Data
    return text


def _where(first: Name, last: Name, context: Name | None) -> str:
    """The step, the table's row and the image of a cell (or from a range's first cell to
    its last), each left out where it is ``context``'s own."""
    text = ""
    if first.step is not None and last.step is not None:
        if first.step != last.step:
            text += f" at steps {first.step}…{last.step}"
        elif context is None or context.step != first.step:
            text += f" at step {first.step}"
    if first.at is not None and last.at is not None:
        rows = first.at if first.at == last.at else f"{first.at}…{_tail(first.at, last.at)}"
        if context is None:
            text += f" at {rows}"
        elif first.at != last.at or first.at != context.at or first.sheet != context.sheet:
            text += f" ({rows})"
    if first.image is not None and last.image is not None:
        if first.image != last.image:
            text += f" of {first.item}s {first.image}…{last.image}"
        elif context is None or context.image != first.image:
            text += f" of {first.item} {first.image}"
    return text


def _tail(first: str, last: str) -> str:
    """What differs at the end of a range of rows: ``i = 7`` after ``i = 1`` is ``7``."""
    head, _, n = last.rpartition(" ")
    return n if head and first.startswith(head + " ") else last


def _iteration_of(sheet: str) -> int | None:
    m = _ITERATION_SHEET.fullmatch(sheet)
    return int(m.group(1)) if m else None


# --- what a formula reads ------------------------------------------------------------------


@dataclass
class Read:
    """One reference a formula makes: a cell, a range or a defined name, as written (``ref``),
    where it is (``cell``), its name, and its value (a range: its values, a row a list)."""

    ref: str
    cell: str
    what: str
    short: str
    value: object
    cells: int = 1
    named: bool = True  # False: a cell in no block and in no labelled row (only its address)
    explanation: Explanation | None = None  # the cell's own story, in a tree (``depth``)

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"ref": self.ref, "cell": self.cell, "what": self.what,
                                  "named": self.named, "cells": self.cells,
                                  "value": _jsonable(self.value)}
        if self.explanation is not None:
            out["explanation"] = self.explanation.to_json()
        return out


@dataclass
class Explanation:
    """A cell's story: what it is (``what``, and its parts: ``block``, ``element``, ``image``
    or window, ``step``, ``iteration``), its formula as written, the same formula in the book's
    notation (``book``) and with the numbers plugged in (``plugged``), its value as stored,
    and each cell it reads, named (``reads``; with ``depth`` > 1, each read cell's own
    explanation too). ``to_json()`` gives all of it; ``str()`` reads it as a few lines."""

    path: Path
    name: Name
    formula: str | None
    value: object
    reads: list[Read] = field(default_factory=list)
    book: str | None = None
    _plug: Sequence[object] = field(default=(), repr=False)  # pieces: text, or a Read

    # the parts of its name, as fields of their own
    @property
    def cell(self) -> str:
        return self.name.cell

    @property
    def sheet(self) -> str:
        return self.name.sheet

    @property
    def what(self) -> str:
        return self.name.full

    @property
    def block(self) -> str | None:
        return self.name.block

    @property
    def symbol(self) -> str | None:
        return self.name.symbol

    @property
    def element(self) -> str | None:
        return self.name.element

    @property
    def image(self) -> int | None:
        return self.name.image if self.name.item == "image" else None

    @property
    def window(self) -> int | None:
        return self.name.image if self.name.item == "window" else None

    @property
    def step(self) -> int | None:
        return self.name.step

    @property
    def iteration(self) -> int | None:
        return self.name.iteration

    @property
    def description(self) -> str:
        return self.name.description

    @property
    def plugged(self) -> str | None:
        """The book's formula with every number plugged in, in full (a range as an array
        ``{a, b; c, d}``, an empty cell in it as ∅)."""
        return self.plugged_in() if self.formula is not None else None

    def plugged_in(self, digits: int | None = None, most: int | None = None) -> str:
        """The plugged-in formula, each number to ``digits`` significant digits and each range
        cut to its first ``most`` numbers (None: all of it, exact)."""
        out = []
        for piece in self._plug:
            if isinstance(piece, Read):
                out.append(plugged_value(piece.value, digits, most))
            else:
                out.append(str(piece))
        return "".join(out)

    def walk(self) -> Iterator[Explanation]:
        """This explanation, then every one in its tree, depth first."""
        yield self
        for read in self.reads:
            if read.explanation is not None:
                yield from read.explanation.walk()

    def to_json(self) -> dict[str, object]:
        n = self.name
        return {"cell": n.cell, "sheet": n.sheet, "what": n.full, "block": n.block,
                "symbol": n.symbol, "element": n.element, "image": self.image,
                "window": self.window, "step": n.step, "iteration": n.iteration,
                "description": n.description, "formula": self.formula, "book": self.book,
                "plugged": self.plugged, "value": _jsonable(self.value),
                "value_source": "stored", "reads": [r.to_json() for r in self.reads]}

    def lines(self, digits: int = 6, most: int = 4) -> list[str]:
        """The story as plain lines (what ``str()`` gives)."""
        out = [f"{self.cell}: {self.what}" if self.name.named else
               f"{self.cell} (in no block; its row has no label)"]
        if self.description:
            out.append(f"  {self.description}")
        if self.formula is None:
            out.append(f"  value {show_value(self.value, digits)} (typed in: no formula)")
        else:
            out.append(f"  formula  {self.formula}")
            out.append(f"  book     {self.name.element or self.cell} = {self.book}")
            out.append(f"  numbers  {self.plugged_in(digits, most)} ="
                       f" {show_value(self.value, digits)} (value as stored)")
        for read in self.reads:
            shown = plugged_value(read.value, digits, most)
            out.append(f"  reads {read.ref}: {read.what} = {shown}")
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def __repr__(self) -> str:
        return (f"Explanation({self.cell!r}: {self.what}, value"
                f" {show_value(self.value, 6)}, {len(self.reads)} reads)")

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython
        p.text(str(self))

    def _repr_html_(self) -> str:  # a notebook
        e = html.escape
        rows = "".join(f"<tr><td><code>{e(r.ref)}</code></td><td>{e(r.what)}</td>"
                       f"<td>{e(plugged_value(r.value, 6, 4))}</td></tr>" for r in self.reads)
        head = f"<b>{e(self.cell)}</b>: {e(self.what)}"
        if self.formula is None:
            body = f"<p>value {e(show_value(self.value, 6))} (typed in: no formula)</p>"
        else:
            body = (f"<p><code>{e(self.formula)}</code></p>"
                    f"<p>{e(self.name.element or self.cell)} = {e(self.book or '')}</p>"
                    f"<p>= {e(self.plugged_in(6, 4))} = <b>{e(show_value(self.value, 6))}"
                    "</b> (value as stored)</p>")
        table = (f"<table><tr><th>reads</th><th>what</th><th>value</th></tr>{rows}</table>"
                 if rows else "")
        return f"<div><p>{head}</p><p><i>{e(self.description)}</i></p>{body}{table}</div>"


def show_value(value: object, digits: int | None = 6) -> str:
    """A cell's value as the plugged-in formula writes it (a negative number without the
    parentheses it takes inside a formula)."""
    if isinstance(value, list):
        return plugged_value(value, digits, None)
    return _scalar(value, digits)


def _number(v: float, digits: int | None) -> str:
    if not math.isfinite(v):
        return repr(v)
    if v == 0:
        return "0"
    if digits is not None:
        text = f"{v:.{digits}g}"
    elif v.is_integer() and abs(v) < 1e15:
        text = str(int(v))
    else:
        text = repr(v)
    return "−" + text[1:] if text.startswith("-") else text


def _scalar(v: object, digits: int | None) -> str:
    if v is None:
        return BLANK
    if isinstance(v, bool):
        return "TRUE" if v else "FALSE"
    if isinstance(v, (int, float)):
        return _number(float(v), digits)
    text = str(v)
    if text.startswith("#"):  # an error value
        return text
    return '"' + text.replace('"', '""') + '"'


def plugged_value(value: object, digits: int | None, most: int | None) -> str:
    """A read's value as the plugged-in formula writes it: a number (a negative one in
    parentheses), text in quotes, or a range as an array {a, b; c, d}."""
    if not isinstance(value, list):
        text = _scalar(value, digits)
        return f"({text})" if text.startswith("−") else text
    rows = [[_scalar(v, digits) for v in row] for row in value]
    total = sum(len(row) for row in rows)
    if most is not None and total > most:
        flat = [v for row in rows for v in row]
        return "{" + ", ".join(flat[:most]) + f", … {total:,} cells}}"
    return "{" + "; ".join(", ".join(row) for row in rows) + "}"


def _jsonable(value: object) -> object:
    if isinstance(value, list):
        return [[_jsonable(v) for v in row] for row in value]
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    return value


# --- the workbook, read once -------------------------------------------------------------


class _Book:
    """A workbook's layout (rebuilt from its settings), its cells' values and text as stored,
    its formulas as written, and a name for every cell."""

    def __init__(self, path: Path):
        self.path = path
        self.layout: Layout = layout(path)
        self.parts = self.layout.archive.parts
        self.formulas = Formulas(path, self.parts)
        self._scans: dict[str, cells.Scan] = {}
        self._rows: dict[str, dict[int, list[Place]]] = {}
        self._names: dict[tuple[str, int, int], Name] = {}
        skeleton = self.layout.skeleton
        self.rule = skeleton.rule
        self.params = set(skeleton.params) if isinstance(skeleton.params, dict) else set()
        self.inputs = {p.name: p for p in self.layout.places
                       if p.sheet == INPUTS and p.kind == "input"}
        self.defined = {}  # the cell of each defined name (η's …)
        for name, ref in self.layout.spec.names.items():
            r = parse_ref(ref)
            self.defined[name] = (r.sheet or INPUTS, r.row, r.col)
        data = skeleton.data
        words = getattr(data, "words", None)
        maps = bool(getattr(skeleton.model, "maps", False))
        self.item = words(maps).item if callable(words) else "image"

    # the file's cells
    def scan(self, sheet: str) -> cells.Scan | None:
        if sheet not in self._scans:
            bounds = self.layout.bounds.get(sheet)
            if bounds is None or sheet not in self.parts:
                return None
            self._scans[sheet] = cells.read(self.path, self.parts, {sheet: bounds})[sheet]
        return self._scans[sheet]

    def value(self, sheet: str, row: int, col: int) -> object:
        found = self.scan(sheet)
        return found.value(row, col) if found is not None else None

    def text(self, sheet: str, row: int, col: int) -> str | None:
        """A cell's text (a label, less a pointing arrow), stripped; None when it holds
        none."""
        scan = self.scan(sheet)
        v = scan.value(row, col) if scan is not None else None
        if not isinstance(v, str) or scan is None or (row, col) in scan.errors:
            return None
        return v.strip().rstrip("→").strip() or None

    def formula(self, sheet: str, row: int, col: int) -> str | None:
        return self.formulas.formula(sheet, row, col)

    # where a cell is
    def locate(self, sheet: str, row: int, col: int) -> tuple[Place, int, int, int] | None:
        """The place a cell lies in, with its image, footprint row and column."""
        by_row = self._rows.get(sheet)
        if by_row is None:
            by_row = self._rows[sheet] = {}
            for p in self.layout.places:
                if p.sheet == sheet:
                    for r in p.sheet_rows().tolist():
                        by_row.setdefault(r, []).append(p)
        for p in by_row.get(row, []):
            i, c = divmod(col - p.col, p.stride) if p.images else (0, col - p.col)
            if 0 <= c < p.cols and 0 <= i < max(p.images, 1):
                r = int((p.sheet_rows() == row).nonzero()[0][0])
                return p, i, r, c
        return None

    def name(self, sheet: str, row: int, col: int) -> Name:
        key = (sheet, row, col)
        if key not in self._names:
            self._names[key] = self._name(sheet, row, col)
        return self._names[key]

    def _name(self, sheet: str, row: int, col: int) -> Name:
        found = self.locate(sheet, row, col)
        iteration = _iteration_of(sheet)
        for defined, cell in self.defined.items():
            if cell == (sheet, row, col):  # a hyperparameter: η
                place = found[0] if found else None
                head = _head(place.description) if place else None
                return Name(sheet, row, col, head or defined, defined, head or defined,
                            description=place.description if place else "")
        if found is None:
            return Name(sheet, row, col, self._row_label(sheet, row, col), iteration=iteration)
        p, i, r, c = found
        image = i + 1 if p.images else None
        step = c + 1 if p.transpose else None
        if p.iteration is not None:
            iteration = p.iteration
        if self._labelled(p):
            element, symbol = self._parameter(p, r, c) or self._label(p, r, c)
            at = None
        else:
            element, symbol, at = self._table(p, r, col)
            if at is not None and at.startswith("iteration "):  # Summary's rows: the
                iteration, at = r, None  # iteration sheets' numbers (a window's own)
        return Name(sheet, row, col, element, p.name, symbol, image, self.item, step,
                    iteration, p.description, at)

    def _row_label(self, sheet: str, row: int, col: int) -> str | None:
        """The label of a cell's row: its column B text, else column A's (a cell in those
        columns is no label of its own)."""
        return (self.text(sheet, row, 2) if col > 2 else None) or (
            self.text(sheet, row, 1) if col > 1 else None)

    def _labelled(self, p: Place) -> bool:
        """Whether a block's sheet names it in column A and each of its rows in column B (an
        iteration sheet, Inputs, the images' Data), rather than by a header above it (a
        table: Summary, Statistics, a descent's steps)."""
        return (p.sheet == INPUTS or _iteration_of(p.sheet) is not None
                or p.images > 0 and p.sheet == DATA
                or p.images > 0 and bool(self.text(p.sheet, p.row, 1)))  # its symbol in A

    def _kind(self, p: Place) -> tuple[str, str]:
        """(what a block is of a parameter: "value", "total", "grad", a kind of the rule's
        state, or "named" by its description; which parameter)."""
        if p.name.startswith("dCT_d") and p.name[5:] in self.params:
            return "total", p.name[5:]
        if p.name.startswith("dC_d") and p.name[4:] in self.params:
            return "grad", p.name[4:]
        for state in self.rule.state:
            if p.name.startswith(f"{state}_") and p.name[len(state) + 1:] in self.params:
                return state, p.name[len(state) + 1:]
        if p.name not in self.params and not p.images:  # another block of a parameter's (a
            # GAN's step gradient, its value after a step): named by its description
            return "named", next((q for q in sorted(self.params, key=len, reverse=True)
                                  if p.name.endswith((f"_{q}", f"_d{q}"))), p.name)
        return "value", p.name

    def _parameter(self, p: Place, r: int, c: int) -> tuple[str, str] | None:
        """A parameter's value, its gradients or the update rule's state for it: named by the
        parameter's element as the Inputs sheet labels it (w²₁₁)."""
        kind, param = self._kind(p)
        inputs = self.inputs.get(param)
        if param not in self.params or inputs is None:
            return None
        if p.sheet == INPUTS:  # the initial value (or a checkpoint's), or a checkpoint's state
            label = self.text(INPUTS, p.sheet_row(r), 2)
            if label is None:
                return None
            if kind == "value" and p.description.startswith("initial "):
                label = f"initial {label}"
            elif kind == "value":
                label = f"{label} (the checkpoint's)"
            return label, p.name
        flat = r * p.cols + c
        label = self.text(INPUTS, inputs.sheet_row(flat), 2) if flat < inputs.rows else None
        if label is None:
            return None
        symbol = self.text(p.sheet, p.row, 1) or p.name
        if kind == "total":
            return f"∂C_T/∂{label}", f"∂C_T/∂{symbol}"
        if kind == "grad":
            return f"∂C/∂{label}", f"∂C/∂{symbol}"
        if kind == "named":
            head = _head(p.description) or p.name
            return f"{head} ({label})", head
        if kind != "value":
            mark = self.rule.symbol(kind)
            return f"{mark} of {label}", f"{mark} of {symbol}"
        return label, symbol

    def _label(self, p: Place, r: int, c: int) -> tuple[str | None, str | None]:
        """A block on a sheet whose column A names each block and column B each row (an
        iteration sheet, Inputs, Data): its symbol and the element's label."""
        sheet = p.sheet
        if p.images == 0 and p.rows * p.cols == 1:  # a total beside a row (C_T, accuracy, ηₖ)
            head = _head(p.description)
            return head or p.name, head or p.name
        symbol = self.text(sheet, p.row, 1)
        if symbol is None and p.images and p.col > 3:  # a row of marks: "in batch →" beside
            symbol = self.text(sheet, p.row, p.col - 1)
        if p.tile:
            first = r - r % p.tile
            tile = self.text(sheet, p.sheet_row(first), 2) or symbol or p.name
            return _at(tile, r % p.tile + 1, c + 1), symbol
        label = self.text(sheet, p.sheet_row(r), 2)
        if p.cols > 1 and not p.transpose:  # a map of one channel (x of a CNN)
            return _at(symbol or label or p.name, r + 1, c + 1), symbol
        if label is None or symbol is not None and p.rows == 1:  # a row's text says what
            return symbol or label or p.name, symbol  # the block is (C: ½Σ(a−t)²)
        if symbol is None or _starts(label, symbol):
            return label.split(": ")[0] if symbol else label, symbol
        return f"{symbol} ({label})", symbol

    def _table(self, p: Place, r: int, col: int) -> tuple[str | None, str | None, str | None]:
        """A block on a table (Summary, Statistics, a descent): named by the header above
        its column and its row's label, or by the number column A gives the row ("i = 3");
        (element, symbol, the row)."""
        sheet, row = p.sheet, p.sheet_row(r)
        header = self._header(sheet, p.row, col - (col - p.col) // p.stride * p.stride)
        if header is not None and p.images and header.endswith(" 1"):  # C+ 1, C+ 2 …
            header = header[:-2]
        label = (self.text(sheet, row, 2) if col > 2 else None) or (
            self.text(sheet, row, 1) if col > 1 else None)
        number = self.value(sheet, row, 1) if not self._computed(sheet, row, 1) else None
        symbol = header or _head(p.description) or p.name
        if header is None:
            return label or symbol, symbol, None
        if label is not None:
            return f"{header} of {label}", symbol, None
        if isinstance(number, float) and number.is_integer() and p.rows > 1:
            var = self._header(sheet, p.row, 1) or "row"
            word = var.isalpha() and len(var) > 1  # "step 2", but "i = 2", "step t = 2"
            return header, symbol, f"{var} {int(number)}" if word else f"{var} = {int(number)}"
        if p.rows > 1:
            return header, symbol, f"row {r + 1}"
        return header, symbol, None

    def _computed(self, sheet: str, row: int, col: int) -> bool:
        """Whether a cell holds a formula (as the file says)."""
        scan = self.scan(sheet)
        grid = scan.formulas if scan is not None else None
        return grid is not None and row <= grid.shape[0] and col <= grid.shape[1] and bool(
            grid[row - 1, col - 1])

    def _header(self, sheet: str, row: int, col: int) -> str | None:
        """The text heading a column above ``row``: the first cell above that is not empty,
        when it is text."""
        scan = self.scan(sheet)
        for r in range(row - 1, 0, -1):
            if scan is None or scan.value(r, col) is not None:
                return self.text(sheet, r, col)
        return None

def _operand(name: str) -> str:
    """A name as an operand of the book's formula: in parentheses when it is a sum or a
    product itself (x − x̄), so that the formula reads as it computes."""
    depth = 0
    for i, ch in enumerate(name):
        depth += (ch in "([{") - (ch in ")]}")
        if depth == 0 and i > 0 and ch in "−+·":
            return f"({name})"
    return name


def _head(description: str) -> str | None:
    """What a description names before its colon, when that is a symbol (``C_T``, ``ηₖ``)."""
    if ":" not in description:
        return None
    head = description.split(":")[0].split(" = ")[0].strip()
    return head if head and len(head) <= 24 else None


def _starts(label: str, symbol: str) -> bool:
    """A row label that names the element itself: the block's own symbol with an index (δ²₁
    of δ²), or the element of a block whose symbol is an expression (z³₁ − μ³ of z³−μ³)."""
    base = symbol.rstrip("ₜ")
    return base != "" and (label.startswith(base) or any(ch in base for ch in "−+·"))


def _at(label: str, i: int, j: int) -> str:
    """An element of a map: the map's label with its row and column, as the book indexes
    them (zᶠ¹₁₂)."""
    if " " in label or "," in label:
        return f"{label} ({i}, {j})"
    return f"{label}{indices(i, j)}"


# --- a formula, named and with its numbers ---------------------------------------------------


def _read(book: _Book, context: Name, token: Token) -> Read | None:
    """One reference of a formula on ``context``'s sheet, named and with its value(s)."""
    if token.kind == "name":
        at = book.defined.get(token.text)
        if at is None:
            return None
        sheet, row, col = at
        name = book.name(sheet, row, col)
        return Read(token.text, name.cell, name.full, name.short(context),
                    book.value(sheet, row, col), named=name.named)
    ref = parse_ref(token.text)
    sheet = ref.sheet or context.sheet
    if ref.single:
        name = book.name(sheet, ref.row, ref.col)
        return Read(token.text, name.cell, name.full, name.short(context),
                    book.value(sheet, ref.row, ref.col), named=name.named)
    return _range(book, context, sheet, ref, token.text)


def _range(book: _Book, context: Name, sheet: str, ref: Ref, text: str) -> Read:
    first, last = _ends(book, sheet, ref)
    values = [[book.value(sheet, r, c) for c in range(ref.col, ref.last_col + 1)]
              for r in range(ref.row, ref.last_row + 1)]
    where = f"{sheet_prefix(sheet)}{a1(ref.row, ref.col)}:{a1(ref.last_row, ref.last_col)}"
    short = describe(first, last, context)
    full = describe(first, last, iteration=True)
    if first.element is not None and describe(first) == describe(last):  # one name for all
        short, full = f"{short} ({ref.cells:,} cells)", f"{full} ({ref.cells:,} cells)"
    return Read(text, where, full, short, values, ref.cells, first.named and last.named)


def _ends(book: _Book, sheet: str, ref: Ref) -> tuple[Name, Name]:
    """The names of a range's first and last cells that lie in a block (a range over the
    images' bands may start or end on a blank column between them); its corners when none
    does."""
    def placed(order: Iterator[tuple[int, int]]) -> Name | None:
        for k, (r, c) in enumerate(order):
            if k > 64:
                return None
            if book.locate(sheet, r, c) is not None:
                return book.name(sheet, r, c)
        return None

    rows = range(ref.row, ref.last_row + 1)
    cols = range(ref.col, ref.last_col + 1)
    first = placed((r, c) for r in rows for c in cols)
    last = placed((r, c) for r in reversed(rows) for c in reversed(cols))
    return (first or book.name(sheet, ref.row, ref.col),
            last or book.name(sheet, ref.last_row, ref.last_col))


def _rendered(book: _Book, context: Name, formula: str
              ) -> tuple[str, list[object], list[Read]]:
    """The formula in the book's notation, the pieces of its plugged-in form, and its reads
    (each reference once, in order)."""
    book_text: list[str] = []
    plug: list[object] = []
    reads: dict[str, Read] = {}
    previous: Token | None = None
    found = [t for t in tokens(formula) if t.kind != "space"]
    for k, t in enumerate(found):
        if t.kind in ("ref", "name"):
            key = t.text.replace("$", "") if t.kind == "ref" else t.text
            read = reads.get(key) or _read(book, context, t)
            if read is not None:
                reads.setdefault(key, read)
                alone = (previous is None or previous.text in ("(", ",")) and (
                    k + 1 == len(found) or found[k + 1].text in (")", ","))
                book_text.append(read.short if alone else _operand(read.short))
                plug.append(read)
                previous = t
                continue
        if t.kind == "op":
            text = _SIGNS[t.text] if t.text in _SIGNS and unary(previous) else \
                _OPERATORS.get(t.text, t.text)
        else:
            text = t.text
        book_text.append(text)
        plug.append(text)
        previous = t
    return "".join(book_text), plug, list(reads.values())


# --- the command's core --------------------------------------------------------------------


def parse_cell(cell: str, sheet: str | None, sheets: Sequence[str], path: Path
               ) -> tuple[str, int, int]:
    """``'Iter 0'!E34``, ``Iter 0!E34`` or ``E34`` with ``sheet`` (any case) -> (the sheet as
    the workbook names it, row, column); one line saying what is wrong otherwise."""
    given = cell.strip()
    example = "e.g. \"'Iter 0'!E34\", or E34 with --sheet 'Iter 0'"
    if "!" in given:
        named, _, ref = given.rpartition("!")
        named = named.strip()
        if len(named) >= 2 and named[0] == named[-1] == "'":
            named = named[1:-1].replace("''", "'")
        if sheet is not None and named.lower() != sheet.strip().lower():
            raise SheetnetError(f"{cell!r} is on the sheet {named!r} but --sheet says"
                                f" {sheet!r}; give one of them")
        sheet = named
    else:
        ref = given
    m = _CELL_TEXT.fullmatch(ref.strip())
    if m is None:
        raise SheetnetError(f"{cell!r} is not a cell reference; give one such as {example}")
    if sheet is None:
        raise SheetnetError(f"{cell!r} names no sheet; give one, {example}")
    match = [s for s in sheets if s.lower() == sheet.strip().lower()]
    if not match:
        shown = ", ".join(repr(s) for s in list(sheets)[:8]) + (" …" if len(sheets) > 8 else "")
        raise SheetnetError(f"{path.name} has no sheet {sheet!r}; its sheets are {shown}")
    row = int(m.group(2))
    col = cells.column(m.group(1).upper().encode())
    if row < 1:
        raise SheetnetError(f"{cell!r} is not a cell reference; give one such as {example}")
    return match[0], row, col


class Explainer:
    """One workbook, read for explaining many of its cells: the layout is rebuilt and each
    sheet read once (``explain`` opens the file afresh for a single cell)."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self.book = _Book(self.path)

    @property
    def preset(self) -> str:
        return self.book.layout.preset.name

    def explain(self, cell: str, *, sheet: str | None = None, depth: int = 1) -> Explanation:
        """The story of ``cell`` (see ``explain``)."""
        _check_depth(depth)
        book = self.book
        name, row, col = parse_cell(cell, sheet, list(book.parts), self.path)
        bounds = book.layout.bounds.get(name)
        if bounds is None:
            raise SheetnetError(f"the sheet {name!r} is not one this workbook's layout"
                                " writes; explain a cell of an iteration sheet, Inputs, Data"
                                " or Summary")
        rows, cols = bounds
        if row > rows or col > cols:
            raise SheetnetError(f"{sheet_prefix(name)}{a1(row, col)} lies outside the cells"
                                f" this workbook's layout writes on {name!r} (A1:"
                                f"{a1(rows, cols)}); pick a cell inside them")
        found = _explain(book, name, row, col, depth, [MAX_NODES])
        if found is None:
            raise SheetnetError(f"{sheet_prefix(name)}{a1(row, col)} is empty; pick a cell"
                                " that holds a number or a formula")
        return found


def explain(path: str | Path, cell: str, *, sheet: str | None = None,
            depth: int = 1) -> Explanation:
    """The story of one cell of a workbook sheetnet wrote: what it is in the book's notation,
    its formula as written, in the book's notation and with the numbers plugged in, its value
    as stored, and each cell it reads, named. ``cell``: ``"'Iter 0'!E34"``, ``"Iter 0!E34"``,
    or ``"E34"`` with ``sheet``. ``depth`` > 1 explains the cells it reads too, as a tree that
    many levels deep. One line (a ``SheetnetError``) when the file, the cell or the sheet is
    not one to explain."""
    _check_depth(depth)
    return Explainer(path).explain(cell, sheet=sheet, depth=depth)


def _check_depth(depth: object) -> None:
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 1:
        raise SheetnetError(f"--depth {depth} must be a whole number, 1 or more, e.g."
                            " --depth 2")


def _explain(book: _Book, sheet: str, row: int, col: int, depth: int,
             budget: list[int]) -> Explanation | None:
    budget[0] -= 1
    formula = book.formula(sheet, row, col)
    value = book.value(sheet, row, col)
    if formula is None and value is None:
        return None
    name = book.name(sheet, row, col)
    if formula is None:
        return Explanation(book.path, name, None, value)
    text, plug, reads = _rendered(book, name, formula)
    if depth > 1:
        for read in reads:
            if read.cells == 1 and budget[0] > 0:
                r = parse_ref(read.cell)
                read.explanation = _explain(book, r.sheet or sheet, r.row, r.col,
                                            depth - 1, budget)
    return Explanation(book.path, name, formula, value, reads, text, plug)
