"""Pure workbook layout: where every block lives and what every cell holds, no file involved.

A ``Place`` says where a trace block is: one footprint of ``rows × cols`` cells, or one per image,
``stride`` columns apart. Per-image formulas are written once per row as a ``Template`` whose image
columns are tokens; rendering a row for image i only substitutes column letters, which keeps the
writer fast.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field

import numpy as np

from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.workbook import view
from sheetnet.workbook.size import MAX_COLS, MAX_FORMULA, MAX_ROWS


def col_letter(n: int) -> str:
    """1 -> A, 27 -> AA (also past Excel's last column, so limits can be reported)."""
    s = ""
    while n:
        n, r = divmod(n - 1, 26)
        s = chr(65 + r) + s
    return s


COL = [""] + [col_letter(n) for n in range(1, MAX_COLS + 1)]  # COL[1] == "A"; fast lookup


def a1(row: int, col: int, absolute: bool = False) -> str:
    letter = COL[col] if col <= MAX_COLS else col_letter(col)
    return f"${letter}${row}" if absolute else f"{letter}{row}"


def sheet_prefix(sheet: str) -> str:
    return f"'{sheet}'!" if not sheet.isalnum() else f"{sheet}!"


_TOKEN = re.compile("\x00(\\d+)\x01")


def token(col: int) -> str:
    """Stands for image i's column ``col + i·stride`` inside a ``Template``."""
    return f"\x00{col}\x01"


# A column reference without "$" outside the tokens (a function name such as LOG10( excluded)
_RELATIVE_COLUMN = re.compile(r"(?<![$\w.'])[A-Z]{1,3}\$?\d+(?![\w(!])")


class Template:
    """A formula whose per-image columns are tokens; ``render(i)`` gives image i's formula.

    ``shiftable``: every other reference is absolute, so image i's formula is image 0's moved
    right by i·stride columns, which a spreadsheet can store once as a shared formula.
    """

    __slots__ = ("parts", "cols", "stride", "_fmt", "shiftable")

    def __init__(self, text: str, stride: int = 1):
        pieces = _TOKEN.split(text)
        self.parts = pieces[0::2]
        self.cols = [int(c) for c in pieces[1::2]]
        self.stride = stride
        # "=" + the text with a %s per token: one C-level % per image renders a whole cell
        self._fmt = "=" + "%s".join(p.replace("%", "%%") for p in self.parts)
        self.shiftable = not any(_RELATIVE_COLUMN.search(part) for part in self.parts)

    def next_to(self, other: Template) -> bool:
        """This template is ``other`` moved one column right (both shiftable)."""
        return (self.shiftable and other.shiftable and self.parts == other.parts
                and self.stride == other.stride
                and self.cols == [c + 1 for c in other.cols])

    def render(self, image: int) -> str:
        return self.formulas(image, image + 1)[0][1:]

    def formulas(self, first: int, stop: int) -> list[str]:
        """``"=" + render(i)`` for images first..stop-1."""
        fmt, cols, stride = self._fmt, self.cols, self.stride
        if not cols:
            return [fmt % ()] * (stop - first)
        return [fmt % tuple([COL[c + i * stride] for c in cols]) for i in range(first, stop)]

    def longest(self) -> int:
        """Length of the longest rendering (three-letter columns)."""
        return sum(map(len, self.parts)) + 3 * len(self.cols)


@dataclass(frozen=True)
class Place:
    """Where a block lives. Per-image blocks (``images > 0``) repeat ``stride`` columns apart.

    With ``tile > 0`` the ``rows`` are tiles of ``tile`` rows (e.g. a filter's feature maps),
    each followed by one blank row on the sheet, so a 3×4×4 block reads as three 4×4 maps.
    """

    name: str
    sheet: str
    row: int
    col: int
    rows: int
    cols: int = 1
    images: int = 0
    stride: int = 1
    iteration: int | None = None
    kind: str = "formula"  # or "input" (read back as the run's input), "constant" (fixed),
    # "text" (a formula whose value is text, e.g. a character: checked to be a formula only)
    description: str = ""
    tile: int = 0
    source: str | None = None  # the trace block it shows, when not its own name (repeated
    # across the footprint, e.g. an image's batch mark across its band)
    transpose: bool = False  # the trace keeps it (images, cols, rows): a step per column
    # a "text" place: the characters ``pick[i − 1]`` at the 1-based index i the trace block
    # ``shows`` holds (of a one-hot block: where its 1 is), what its cells store
    shows: str = ""
    pick: tuple[str, ...] = ()

    def sheet_row(self, r: int) -> int:
        """The sheet row of the footprint's row r (skipping the blank row after each tile)."""
        return self.row + r + (r // self.tile if self.tile else 0)

    def sheet_rows(self) -> np.ndarray:
        """``sheet_row`` of every footprint row, as an array."""
        r = np.arange(self.rows)
        return self.row + r + (r // self.tile if self.tile else 0)

    def ref(self, r: int = 0, c: int = 0, *, image: int | None = None,
            absolute: bool = False, sheet: str | None = None) -> str:
        """One cell's reference; for a per-image block with ``image=None``, the current image.

        ``sheet`` is the sheet the formula lives on (None: this block's own sheet).
        """
        prefix = "" if sheet in (None, self.sheet) else sheet_prefix(self.sheet)
        row = self.sheet_row(r)
        if self.images and image is None:
            return f"{prefix}{token(self.col + c)}{row}"
        col = self.col + c + (image or 0) * self.stride
        return prefix + a1(row, col, absolute)

    def refs(self, c: int = 0, *, sheet: str | None = None) -> list[str]:
        """Column c of every footprint row (the current image's cells), e.g. z¹…zᴷ."""
        return [self.ref(r, c, sheet=sheet) for r in range(self.rows)]

    def span(self, r0: int, r1: int, c0: int = 0, c1: int = 0, *, image: int | None = None,
             absolute: bool = False, sheet: str | None = None) -> str:
        """Range of rows r0..r1 and columns c0..c1 (inclusive) of the footprint (blank rows
        between tiles included: spreadsheet functions skip or zero them)."""
        first = self.ref(r0, c0, image=image, absolute=absolute, sheet=sheet)
        last = self.ref(r1, c1, image=image, absolute=absolute, sheet=self.sheet)
        return f"{first}:{last}"

    def all_images_row(self, r: int, c: int = 0, sheet: str | None = None) -> str:
        """Row r, column c of the footprint across every image (for SUM and AVERAGE)."""
        prefix = "" if sheet in (None, self.sheet) else sheet_prefix(self.sheet)
        first = a1(self.sheet_row(r), self.col + c)
        last = a1(self.sheet_row(r), self.col + c + (self.images - 1) * self.stride)
        return f"{prefix}{first}:{last}"

    @property
    def extent(self) -> str:
        """The whole area the block covers, e.g. ``E5:BP16``."""
        n = max(self.images, 1)
        last_col = self.col + (n - 1) * self.stride + self.cols - 1
        return f"{a1(self.row, self.col)}:{a1(self.sheet_row(self.rows - 1), last_col)}"

    @property
    def shape_text(self) -> str:
        """``3×4×4`` for three 4×4 tiles, ``12×1`` otherwise; prefixed by the image count."""
        return self.shape_of("images")

    def shape_of(self, items: str) -> str:
        """The same, the images named ``items`` (a text's windows)."""
        dims = ((self.rows // self.tile, self.tile, self.cols) if self.tile
                else (self.rows, self.cols))
        text = "×".join(str(d) for d in dims)
        return f"{self.images} {items} × {text}" if self.images else text

    @property
    def size(self) -> int:
        return max(self.images, 1) * self.rows * self.cols

    def grid(self, value: np.ndarray) -> np.ndarray:
        """A trace block as (images or 1, rows, cols), in the order its cells are laid out (a
        ``source`` block of one value per image fills each image's footprint)."""
        shape = (max(self.images, 1), self.rows, self.cols)
        value = np.asarray(value, dtype=float)
        if self.source is not None and value.size != np.prod(shape):
            return np.broadcast_to(value.reshape(shape[0], 1, 1), shape)
        if self.transpose:
            return value.reshape(shape[0], self.cols, self.rows).swapaxes(1, 2)
        return value.reshape(shape)

    def ungrid(self, grid: np.ndarray) -> np.ndarray:
        """Cells in ``grid`` order back in the trace's order (a sequence's steps first)."""
        return np.swapaxes(grid, 1, 2) if self.transpose else grid

    def characters(self, trace: Trace) -> np.ndarray | None:
        """A text place's characters in ``grid`` order (None: no run's characters known)."""
        if self.iteration is None or not self.pick or self.shows not in trace.iterations[0]:
            return None
        index = np.asarray(trace.iterations[self.iteration][self.shows], dtype=float)
        if index.ndim == 3:  # one-hot (images, steps, vocabulary)
            index = index.argmax(axis=-1) + 1
        picked = np.asarray(self.pick, dtype=object)
        return picked[self.grid(index).astype(int) - 1]

    def expected(self, trace: Trace) -> np.ndarray:
        """The block's numbers in the run as NumPy computed them, in ``grid`` order: what its
        cells store and what verify compares them with."""
        name = self.source or self.name
        if self.iteration is None:  # a block over all iterations, e.g. the Summary's C_T column
            return self.grid(trace.series(name))
        return self.grid(trace.iterations[self.iteration][name])

    def cells(self) -> Iterator[tuple[int, int, int, int, int]]:
        """(image, r, c, sheet row, sheet column) of every cell, in ``grid`` order."""
        for i in range(max(self.images, 1)):
            for r in range(self.rows):
                for c in range(self.cols):
                    yield i, r, c, self.sheet_row(r), self.col + c + i * self.stride


def stored_values(places: Iterable[Place], trace: Trace,
                  widths: Mapping[int, float] | None = None,
                  keys: Mapping[str, str] | None = None
                  ) -> tuple[dict[int, dict[int, float | str]], dict[int, dict[int, str]]]:
    """Sheet row -> column -> the number NumPy computed, for every cell of these places (one
    sheet's): the value the writer stores beside each formula; and the same cells' number
    formats (``view.FORMATS`` keys): each block's (``keys``, by block name, else from this
    place's numbers and its columns' ``widths``). Inputs (plain values already) and blocks the
    trace does not hold are left out."""
    held = trace.iterations[0].keys()
    widths = widths or {}
    keys = keys or {}
    out: dict[int, dict[int, float | str]] = {}  # a text place's characters too
    looks: dict[int, dict[int, str]] = {}
    for p in places:
        text = p.characters(trace) if p.kind == "text" else None
        if text is not None:
            _store(out, p, text)
        if p.kind != "formula" or (p.source or p.name) not in held:
            continue
        grid = p.expected(trace)  # (images, rows, cols)
        images = np.arange(max(p.images, 1))[:, None] * p.stride
        cols = (p.col + np.arange(p.cols)[None, :] + images).ravel().tolist()  # image-major
        width = place_width(p, widths)
        key = keys.get(p.source or p.name) or view.number_format(grid, width)
        for r, row in enumerate(p.sheet_rows().tolist()):
            out.setdefault(row, {}).update(zip(cols, grid[:, r, :].ravel().tolist(),
                                               strict=True))
            looks.setdefault(row, {}).update(dict.fromkeys(cols, key))
    return out, looks


def _store(out: dict, p: Place, grid: np.ndarray) -> None:
    """Row -> column -> value of a place's cells (``grid``: (images, rows, cols))."""
    images = np.arange(max(p.images, 1))[:, None] * p.stride
    cols = (p.col + np.arange(p.cols)[None, :] + images).ravel().tolist()
    for r, row in enumerate(p.sheet_rows().tolist()):
        out.setdefault(row, {}).update(zip(cols, grid[:, r, :].ravel().tolist(), strict=True))


def place_width(p: Place, widths: Mapping[int, float]) -> float:
    """The narrowest column of a place's first image."""
    return min(widths.get(p.col + c, view.DEFAULT_WIDTH) for c in range(p.cols))


def block_formats(places: Iterable[Place], trace: Trace,
                  widths: Mapping[str, Mapping[int, float]]) -> dict[str, str]:
    """Each block's number format (``view.FORMATS`` key) from its numbers over every
    iteration the places show (``widths``: each sheet's columns), so it reads the same on every
    sheet."""
    held = trace.iterations[0].keys()
    found: dict[str, tuple[list[np.ndarray], float]] = {}
    for p in places:
        name = p.source or p.name
        if p.kind != "formula" or name not in held or p.iteration is None:
            continue
        numbers, width = found.get(name, ([], math.inf))
        numbers.append(np.asarray(trace.iterations[p.iteration][name], dtype=float).ravel())
        found[name] = numbers, min(width, place_width(p, widths.get(p.sheet, {})))
    return {name: view.number_format(np.concatenate(numbers), width)
            for name, (numbers, width) in found.items()}


# --- cells -----------------------------------------------------------------------------------


class Text(str):
    """A string written as text even if it starts with ``=`` (e.g. a user's label)."""


@dataclass(frozen=True, slots=True)
class Shared:
    """One cell of a shared formula: a run of cells in a row whose formulas are the first
    one's moved right, stored once (what a spreadsheet's fill-right writes). The first cell
    carries the formula (``"=…"``) and the range the run covers; the others only ``si``."""

    si: int  # the run's number, unique on its sheet
    text: str | None = None
    ref: str | None = None  # e.g. "E5:BP5"


@dataclass(frozen=True, slots=True)
class Cached:
    """A formula whose value the layout knows (e.g. a link's text): stored beside it."""

    formula: str
    value: float | str


SHARED_FORMULAS = True  # False: every cell's formula in full (the benchmark's raw baseline)


@dataclass(frozen=True, slots=True)
class Styled:
    value: object
    style: str


Grid = dict[int, dict[int, object]]  # row -> column -> value | Styled


def put(grid: Grid, row: int, col: int, value: object, style: str | None = None) -> None:
    grid.setdefault(row, {})[col] = Styled(value, style) if style else value


@dataclass
class RowSpec:
    """One sheet row: fixed cells (column -> value) plus per-image templates at image columns."""

    row: int
    fixed: dict[int, object] = field(default_factory=dict)
    per_image: list[tuple[int, Template]] = field(default_factory=list)  # (image-0 col, tmpl)


@dataclass(frozen=True)
class ColorScale:
    """A native colour scale over a range (low colour to high colour, optional middle)."""

    ranges: str
    low: str = "FFFFFF"
    high: str = "E07B6F"  # red, as every positive end; light enough for black numbers
    mid: str | None = None
    mid_value: float | None = None  # a fixed middle (e.g. 0 for signed errors), else the median
    # its ends from the run's numbers (``view.scale_ends``): those of ``place``'s footprint rows
    # ``rows`` (first, stop), e.g. one map of a block; the colours above when no run is known
    place: Place | None = None
    rows: tuple[int, int] | None = None
    ends: tuple[float, float] | None = None  # fixed ends (low, high), with ``mid_value``


@dataclass(frozen=True)
class LineChartSpec:
    title: str
    y_title: str
    x_title: str
    data: str  # a column range including its header cell, e.g. "B1:B52"
    categories: str
    anchor: str
    log_if_falls: bool = False  # a log axis when the run's cost falls more than 100 times
    more: tuple[tuple[str, str], ...] = ()  # more series: (title, column range with header)
    name: str = ""  # the first series' title, when there are more (a legend)
    log: bool = False  # ratios matter: a log axis from a span of 10× (``view.RATIO_SPAN``)
    first: int = 0  # the first category's value (iteration 0, or step 1)


@dataclass(frozen=True)
class Series:
    """One scatter series: ranges on the chart's own sheet (y may include no header)."""

    title: str
    x: str
    y: str
    line: bool = True  # False: markers only (data points)
    markers: bool = False
    color: str | None = None  # its own colour (None: the next of the writer's)


@dataclass(frozen=True)
class ScatterChartSpec:
    title: str
    x_title: str
    y_title: str
    series: tuple[Series, ...]
    anchor: str
    x_range: tuple[float, float] | None = None  # the axes' bounds (None: the engine's own,
    y_range: tuple[float, float] | None = None  # which may start at 0 far below the data)
    square: bool = False  # as tall as wide: the plane undistorted (x and y in the same units)


PAGE_WIDTH = view.PAGE_WIDTH  # an A4 landscape page's printable width, in column-width units


def band_breaks(widths: Mapping[int, float], first: int, stride: int, count: int,
                repeated: float, default: float = 8.43, scale: int = 100) -> list[int]:
    """Column page breaks that keep each band of ``stride`` columns (an image's) whole on one
    page: the columns after which a page ends. ``repeated``: the width of the print-title
    columns every page repeats; ``scale``: the print scale, percent."""
    def width(c: int) -> float:
        return widths.get(c, default)

    # the first page: the labels (repeated on every page, so counted in the limit below), the
    # values and totals before the first band
    used = sum(width(c) for c in range(1, first)) - repeated
    breaks = []
    for i in range(count):
        start = first + i * stride
        band = sum(width(c) for c in range(start, start + stride))
        if used + band > PAGE_WIDTH * 100 / scale - repeated and used > 0:
            breaks.append(start - 1)
            used = 0.0
        used += band
    return breaks


def nice_range(values: Iterable[float]) -> tuple[float, float]:
    """Axis bounds around the values with a margin, rounded to a step of the span's order of
    magnitude: 45.2…55.9 -> (44, 57)."""
    v = np.asarray(list(values), dtype=float)
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or abs(hi) or 1.0
    step = 10.0 ** np.floor(np.log10(span / 2))
    return (float(np.floor((lo - 0.05 * span) / step) * step),
            float(np.ceil((hi + 0.05 * span) / step) * step))


@dataclass(frozen=True)
class BarChartSpec:
    title: str
    y_title: str
    data: str  # a column range including its header cell
    categories: str
    anchor: str
    labels: bool = True  # each bar's value written beside it (small bars beside big ones)


@dataclass
class SheetSpec:
    """A sheet: its rows are produced lazily (``build``) so only one sheet is in memory."""

    name: str
    build: Callable[[], Grid]
    widths: Mapping[int, float] = field(default_factory=dict)
    freeze: str | None = None
    color_scales: list[ColorScale] = field(default_factory=list)
    chart: LineChartSpec | None = None
    scatters: list[ScatterChartSpec] = field(default_factory=list)
    bars: list[BarChartSpec] = field(default_factory=list)
    max_col: int = 1
    max_row: int = 1
    tab_color: str | None = None
    formula_style: str | None = None  # the style of formula cells that have none of their own
    print_rows: str | None = None  # rows and columns repeated on every printed page ("1:2")
    print_cols: str | None = None
    fit_width: bool = False  # print one page wide (sheets of a few columns)
    col_breaks: list[int] = field(default_factory=list)  # a page ends after each of these
    print_scale: int | None = None  # percent


@dataclass
class WorkbookSpec:
    sheets: list[SheetSpec]
    places: list[Place]
    names: dict[str, str]  # defined name -> reference
    formula_lengths: Iterable[Template] = ()

    def check_limits(self) -> None:
        """Refuse a layout Excel could not open: too many rows/columns or too long formulas."""
        for s in self.sheets:
            if s.max_col > MAX_COLS:
                raise SheetnetError(
                    f"sheet {s.name!r} would need {s.max_col:,} columns, Excel allows {MAX_COLS:,};"
                    " use fewer images (one column each)")
            if s.max_row > MAX_ROWS:
                raise SheetnetError(
                    f"sheet {s.name!r} would need {s.max_row:,} rows, Excel allows {MAX_ROWS:,};"
                    " use fewer iterations or a smaller network")
        longest = max((t.longest() for t in self.formula_lengths), default=0)
        if longest > MAX_FORMULA:
            raise SheetnetError(
                f"a formula would be {longest:,} characters long, Excel allows {MAX_FORMULA:,};"
                " use fewer units in the layer after the widest hidden layer")


def render_rows(specs: Iterable[RowSpec], images: int, grid: Grid,
                cache: dict[tuple, list[str]] | None = None) -> Grid:
    """Fill a sheet grid from row specs, rendering every template for every image.

    Where a row's per-image formulas are shifts of one another they become one shared formula,
    whose first cell alone carries the formula text: with one column per image, the row's
    cells; with bands of columns per image, a run of adjacent templates that are shifts of the
    first, in every image's band (the range it names then holds other cells between the bands,
    as a spreadsheet's own files may: only the cells naming its ``si`` take part). A spreadsheet
    parses it once, not once a cell. ``cache`` (shared by sheets whose per-image formulas
    repeat, such as iteration sheets) keeps each template's rendered formulas, so they are
    formatted once per workbook.
    """
    si = 0
    for spec in specs:
        cells = grid.setdefault(spec.row, {})
        cells.update(spec.fixed)
        for run in _runs(spec.per_image):
            col, tmpl = run[0]
            members = [c + i * t.stride for i in range(images) for c, t in run]
            if not SHARED_FORMULAS or len(members) < 2 or not tmpl.shiftable:
                for c, t in run:
                    for i, formula in enumerate(_rendered(t, images, cache)):
                        cells[c + i * t.stride] = formula
                continue
            daughter = Shared(si)
            for c in members[1:]:
                cells[c] = daughter
            cells[col] = Shared(si, _rendered(tmpl, 1, cache)[0],
                                f"{a1(spec.row, col)}:{a1(spec.row, max(members))}")
            si += 1
    return grid


def _runs(per_image: list[tuple[int, Template]]) -> list[list[tuple[int, Template]]]:
    """Adjacent templates that are shifts of one another, grouped (in column order)."""
    runs: list[list[tuple[int, Template]]] = []
    for col, tmpl in sorted(per_image, key=lambda ct: ct[0]):
        last = runs[-1][-1] if runs else None
        if last is not None and last[0] + 1 == col and tmpl.stride > 1 and tmpl.next_to(last[1]):
            runs[-1].append((col, tmpl))
        else:
            runs.append([(col, tmpl)])
    return runs


def _rendered(tmpl: Template, images: int, cache: dict[tuple, list[str]] | None) -> list[str]:
    if cache is None:
        return tmpl.formulas(0, images)
    key = (tmpl._fmt, *tmpl.cols, tmpl.stride, images)
    formulas = cache.get(key)
    if formulas is None:
        formulas = cache[key] = tmpl.formulas(0, images)
    return formulas
