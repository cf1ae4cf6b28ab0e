"""A workbook's cell values as arrays, however they were read.

Every engine hands back the same thing: per sheet, a dense float grid (nan where a cell holds no
number), the non-number cells (text, booleans) and the error cells (``#DIV/0!`` …). Rows and
columns are 1-based in the dicts and 0-based in the grid, so ``numbers[r - 1, c - 1]``.

Readers (measured in ``benchmarks/bench_verify.py``): an engine's own API where it has one
(IronCalc), else python-calamine for the .xlsx an engine saved, plus a scan of the sheet XML for
error cells, which calamine reads as empty.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sheetnet.errors import SheetnetError
from sheetnet.workbook.ooxml import sheet_parts

Cell = tuple[int, int]  # (row, column), 1-based


@dataclass
class SheetValues:
    numbers: np.ndarray  # (rows, cols) float; nan where the cell holds no number
    others: dict[Cell, object] = field(default_factory=dict)  # text and booleans
    errors: dict[Cell, str] = field(default_factory=dict)  # "#DIV/0!", "#NUM!", …

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


Values = dict[str, SheetValues]  # sheet name -> its values, in the workbook's sheet order


def _is_number(v: object) -> bool:
    return type(v) is float or (type(v) is int)


_numeric = np.frompyfunc(_is_number, 1, 1)


def from_rows(rows: list[list[object]]) -> SheetValues:
    """A sheet read as rows of Python values (``""`` or None for an empty cell)."""
    width = max((len(r) for r in rows), default=0)
    grid = np.empty((len(rows), width), dtype=object)
    for i, r in enumerate(rows):  # rows may be ragged; calamine's are not, and this is cheap
        grid[i, :len(r)] = r
    numeric = _numeric(grid).astype(bool) if grid.size else np.zeros(grid.shape, bool)
    numbers = np.full(grid.shape, np.nan)
    numbers[numeric] = grid[numeric].astype(float)
    others = {(int(r) + 1, int(c) + 1): grid[r, c]
              for r, c in zip(*np.nonzero(~numeric), strict=True)
              if grid[r, c] is not None and grid[r, c] != ""}
    return SheetValues(numbers, others)


def read_xlsx(path: Path, sheets: list[str] | None = None) -> Values:
    """Cached values of an .xlsx file (all sheets, or those named), with its error cells."""
    import python_calamine

    try:
        wb = python_calamine.CalamineWorkbook.from_path(str(path))
    except Exception as e:  # calamine raises several types for damaged files
        raise SheetnetError(f"{path.name}: not a readable .xlsx workbook ({type(e).__name__});"
                            " give a workbook made by `sheetnet export`") from None
    try:
        names = wb.sheet_names if sheets is None else [s for s in sheets if s in wb.sheet_names]
        out = {name: from_rows(wb.get_sheet_by_name(name).to_python(skip_empty_area=False))
               for name in names}
    finally:
        wb.close()
    for name, errors in error_cells(path, set(out)).items():
        out[name].errors.update(errors)
    return out


_ERROR_CELL = re.compile(rb'<c r="([A-Z]+)(\d+)"[^>]*?\bt="e"[^>]*>(.*?)</c>', re.S)
_VALUE = re.compile(rb"<v>([^<]*)</v>")


def error_cells(path: Path, sheets: set[str]) -> dict[str, dict[Cell, str]]:
    """Cells typed as errors (``t="e"``) in the named sheets of an .xlsx file."""
    from openpyxl.utils.cell import column_index_from_string

    out: dict[str, dict[Cell, str]] = {}
    with zipfile.ZipFile(path) as z:
        for name, member in sheet_parts(z).items():
            if name not in sheets:
                continue
            xml = z.read(member)
            if b't="e"' not in xml:
                continue
            found = out.setdefault(name, {})
            for m in _ERROR_CELL.finditer(xml):
                v = _VALUE.search(m.group(3))
                cell = (int(m.group(2)), column_index_from_string(m.group(1).decode()))
                found[cell] = v.group(1).decode() if v else "#VALUE!"
    return out
