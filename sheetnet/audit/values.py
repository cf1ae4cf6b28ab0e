"""A workbook's cell values as arrays, however they were read.

Every engine hands back the same thing: per sheet, a dense float grid (nan where a cell holds no
number), the non-number cells (text, booleans) and the error cells (``#DIV/0!`` …), never larger
than the bounds the layout implies. Rows and columns are 1-based in the dicts and 0-based in the
grid, so ``numbers[r - 1, c - 1]``.

Readers (measured in ``benchmarks/bench_verify.py``): an engine's own API where it has one
(IronCalc), else ``audit/cells.py``'s bounded reader of the sheet XML an engine saved.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

from sheetnet.audit.cells import Bounds, Scan, read
from sheetnet.errors import SheetnetError
from sheetnet.workbook.ooxml import sheet_parts

SheetValues = Scan
Values = dict[str, SheetValues]  # sheet name -> its values, in the workbook's sheet order


def read_xlsx(path: Path, bounds: Bounds | None = None) -> Values:
    """The stored values of an .xlsx file's sheets, each within ``bounds`` (None: every sheet
    at the extent of its own cells, for a file sheetnet trusts, such as its tests')."""
    try:
        with zipfile.ZipFile(path) as z:
            parts = sheet_parts(z)
    except (zipfile.BadZipFile, KeyError, OSError) as e:
        raise SheetnetError(f"{Path(path).name}: not a readable .xlsx workbook ({e})") from None
    if bounds is None:
        bounds = {name: (0, 0) for name in parts}  # (0, 0): as far as its cells reach
    return read(path, parts, {name: b for name, b in bounds.items() if name in parts})
