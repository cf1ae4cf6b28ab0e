"""A workbook's cells read from its sheet XML within bounds, trusting nothing in the file.

Every reader verify uses ends here: the file's own cells (settings, inputs, which cells hold
formulas) and the values an engine saved. Each sheet is read into grids no larger than the
rows and columns the layout implies, whatever the sheet claims or holds beyond them; what lies
beyond is counted and named (a finding), never allocated. A cell's reference must be its first
attribute (Excel, LibreOffice, Gnumeric, openpyxl and sheetnet all write it so).
"""

from __future__ import annotations

import re
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field
from html import unescape

import numpy as np

from sheetnet.errors import SheetnetError

Cell = tuple[int, int]  # (row, column), 1-based
MAX_NAMED = 10  # cells beyond the bounds named in a finding (the rest are counted)

_CELL = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"([^>]*?)(?:/>|>(.*?)</c>)', re.S)
_ANY_CELL = re.compile(rb"<c[\s>/]")
_TYPE = re.compile(rb'\bt="([a-zA-Z]+)"')
_TEXT = re.compile(rb"<t(?:\s[^>]*)?>([^<]*)</t>")
_SI = re.compile(rb"<si>(.*?)</si>|<si\s*/>", re.S)


@dataclass
class Scan:
    """One sheet's cells within (rows, cols): numbers (nan where none), other values (text,
    booleans), error values, which cells hold formulas, and the content beyond the bounds."""

    numbers: np.ndarray
    formulas: np.ndarray
    others: dict[Cell, object] = field(default_factory=dict)
    errors: dict[Cell, str] = field(default_factory=dict)
    outside: list[Cell] = field(default_factory=list)  # the first MAX_NAMED, in file order
    outside_count: int = 0

    def value(self, row: int, col: int) -> object:
        """One cell's value: a float, text, a boolean, an error text, or None when empty."""
        if (row, col) in self.errors:
            return self.errors[row, col]
        if (row, col) in self.others:
            return self.others[row, col]
        if row <= self.numbers.shape[0] and col <= self.numbers.shape[1]:
            v = self.numbers[row - 1, col - 1]
            return None if np.isnan(v) else float(v)
        return None


def column(letters: bytes, cache: dict[bytes, int] = {}) -> int:  # noqa: B006 (a cache)
    """``b"AB"`` -> 28."""
    n = cache.get(letters)
    if n is None:
        n = 0
        for ch in letters:
            n = n * 26 + ch - 64
        cache[letters] = n
    return n


def shared_strings(xml: bytes) -> list[str]:
    """The shared strings table: each <si>'s text runs joined."""
    return [unescape(b"".join(_TEXT.findall(m.group(1) or b"")).decode("utf-8", "replace"))
            for m in _SI.finditer(xml)]


def scan(xml: bytes, rows: int, cols: int, strings: list[str], where: str) -> Scan:
    """The cells of a sheet's XML within ``rows`` × ``cols`` (0 × 0: as far as its cells
    reach, for a file sheetnet trusts). ``where`` names the part in the one-line error for a
    sheet written in a way this reader cannot read."""
    found = _CELL.findall(xml)
    if len(found) != len(_ANY_CELL.findall(xml)):
        raise SheetnetError(f"{where} is written in a way sheetnet cannot read (a cell's"
                            " reference is not its first attribute); save it again from a"
                            " spreadsheet")
    if not rows and not cols:
        rows = max((int(d) for _, d, _, _ in found), default=0)
        cols = max((column(c) for c, _, _, _ in found), default=0)
    out = Scan(np.full((rows, cols), np.nan), np.zeros((rows, cols), bool))
    num_r, num_c, num_v = [], [], []
    for letters, digits, attrs, body in found:
        r, c = int(digits), column(letters)
        has_formula = b"<f" in body
        start = body.find(b"<v>")
        raw = body[start + 3:body.find(b"</v>", start)] if start >= 0 else None
        if r > rows or c > cols or r < 1:
            if has_formula or raw is not None or b"<is" in body:
                out.outside_count += 1
                if len(out.outside) < MAX_NAMED:
                    out.outside.append((r, c))
            continue
        if has_formula:
            out.formulas[r - 1, c - 1] = True
        kind = _TYPE.search(attrs) if b't="' in attrs else None
        if kind is None:  # a number, the most common cell by far
            if raw:
                num_r.append(r)
                num_c.append(c)
                num_v.append(raw)
            continue
        if _typed(out, r, c, kind.group(1), raw, body, strings):  # a number typed "n"
            num_r.append(r)
            num_c.append(c)
            num_v.append(raw)
    if num_v:
        try:
            values = np.array(num_v, dtype=float)
        except ValueError:
            values = np.array([_float(v) for v in num_v])
        out.numbers[np.array(num_r) - 1, np.array(num_c) - 1] = values
    return out


_REF = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"([^>]*?)(/?)>(\s*<f)?')
_COLUMNS = {col: k for k, col in enumerate(
    [bytes([a]) for a in range(65, 91)]
    + [bytes([a, b]) for a in range(65, 91) for b in range(65, 91)], start=1)}


def formula_cells(xml: bytes, rows: int, cols: int, where: str) -> Scan:
    """Which cells of a sheet's XML within ``rows`` × ``cols`` hold formulas, and the content
    beyond them: what verify checks of a sheet whose values it does not read (a formula comes
    first in its cell, as the schema orders a cell's parts). Vectorized: a cell costs no
    Python step of its own."""
    found = _REF.findall(xml)
    if len(found) != len(_ANY_CELL.findall(xml)):
        raise SheetnetError(f"{where} is written in a way sheetnet cannot read (a cell's"
                            " reference is not its first attribute); save it again from a"
                            " spreadsheet")
    out = Scan(np.full((rows, cols), np.nan), np.zeros((rows, cols), bool))
    if not found:
        return out
    letters, digits, _, empty, formula = zip(*found, strict=True)
    r = np.array(digits).astype(np.int64)
    unique, inverse = np.unique(np.array(letters), return_inverse=True)
    c = np.array([_COLUMNS.get(u) or column(u) for u in unique.tolist()])[inverse]
    has_formula = np.array([bool(f) for f in formula])
    inside = (r >= 1) & (r <= rows) & (c <= cols)
    hit = inside & has_formula
    out.formulas[r[hit] - 1, c[hit] - 1] = True
    beyond = np.flatnonzero(~inside & ~np.array([bool(e) for e in empty]))
    out.outside_count = len(beyond)  # a cell with content (an empty <c …/> is none)
    out.outside = [(int(r[k]), int(c[k])) for k in beyond[:MAX_NAMED]]
    return out


def _typed(out: Scan, r: int, c: int, t: bytes, raw: bytes | None, body: bytes,
           strings: list[str]) -> bool:
    """A cell of type ``t`` (text, a boolean, an error …) into ``out``; True for a number
    typed "n", which the caller gathers with the others."""
    if t == b"inlineStr":
        out.others[r, c] = unescape(b"".join(_TEXT.findall(body)).decode("utf-8", "replace"))
    elif raw is None or raw == b"" and t != b"str":
        return False
    elif t == b"n":
        return True
    elif t == b"s":
        index = int(raw) if raw.isdigit() else -1
        out.others[r, c] = strings[index] if 0 <= index < len(strings) else ""
    elif t == b"b":
        out.others[r, c] = raw.strip() in (b"1", b"true")
    elif t == b"e":
        out.errors[r, c] = raw.decode("utf-8", "replace")
    else:  # str (a formula's text), d (a date as text)
        out.others[r, c] = unescape(raw.decode("utf-8", "replace"))
    return False


def _float(raw: bytes) -> float:
    try:
        return float(raw)
    except ValueError:
        return np.nan


Bounds = dict[str, tuple[int, int]]  # sheet -> (rows, cols) the layout implies


def read(path, parts: dict[str, str], bounds: Bounds,
         check: Callable[[bytes, str], None] | None = None,
         values: bool = True) -> dict[str, Scan]:
    """The named sheets of an .xlsx file (``parts``: sheet -> its XML part), each within its
    bounds, and each first given to ``check`` with its part's name (e.g. a check that it is
    well-formed); a sheet the archive lacks is left out (the caller says so). ``values``
    False: which cells hold formulas only (``formula_cells``)."""
    out: dict[str, Scan] = {}
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        strings = (shared_strings(z.read("xl/sharedStrings.xml"))
                   if "xl/sharedStrings.xml" in names else [])
        for sheet, (rows, cols) in bounds.items():
            part = parts.get(sheet)
            if part is None or part not in names:
                continue
            xml = z.read(part)
            if check is not None:
                check(xml, part)
            where = f"the sheet {sheet!r}"
            out[sheet] = (scan(xml, rows, cols, strings, where) if values
                          else formula_cells(xml, rows, cols, where))
    return out
