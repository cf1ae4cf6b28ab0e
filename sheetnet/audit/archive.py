"""The workbook as an archive, checked before any engine or reader inflates it, and scanned
for which cells hold formulas.

A decompression bomb (a small file whose XML inflates to gigabytes) is refused by inflating
each part with a byte budget: the parts needed to read the settings first (each capped), then
the sheets, whose budget follows from the cells the layout implies.
"""

from __future__ import annotations

import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from xml.etree.ElementTree import ParseError

import numpy as np

from sheetnet.errors import SheetnetError
from sheetnet.workbook.ooxml import sheet_parts

MAX_PARTS = 20_000
MAX_SMALL_PART = 64 * 2**20  # any part read before the settings are known
BYTES_PER_CELL = 300  # the XML of one cell, generously: LibreOffice writes about 105
SLACK = 32 * 2**20
_CHUNK = 1 << 20


@dataclass
class Archive:
    path: Path
    parts: dict[str, str]  # sheet name -> its XML part

    @classmethod
    def open(cls, path: Path, first_sheet: str) -> Archive:
        """Check the archive's shape and inflate every part but the sheets (and ``first_sheet``,
        which holds the settings), each within ``MAX_SMALL_PART``."""
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
                if len(infos) > MAX_PARTS:
                    raise SheetnetError(f"{path.name} holds {len(infos):,} parts; a workbook has"
                                        f" far fewer (at most {MAX_PARTS:,} are read)")
                parts = sheet_parts(z)
                sheets = set(parts.values()) - {parts.get(first_sheet)}
                for info in infos:
                    if info.filename not in sheets:
                        _inflate(z, info, MAX_SMALL_PART, path)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError, ParseError) as e:
            raise SheetnetError(f"{path.name}: a damaged .xlsx archive ({e}); export the"
                                " workbook again") from None
        return cls(path, parts)

    def check_sheets(self, expected_cells: int) -> None:
        """Inflate the sheets within what ``expected_cells`` cells can take."""
        budget = BYTES_PER_CELL * expected_cells + SLACK
        total = 0
        with zipfile.ZipFile(self.path) as z:
            for part in self.parts.values():
                try:
                    info = z.getinfo(part)
                except KeyError:
                    continue  # a missing sheet part is reported where it is needed
                total += _inflate(z, info, budget - total, self.path, budget)


def _inflate(z: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, path: Path,
             budget: int | None = None) -> int:
    """Read a part to its end, refusing it past ``cap`` bytes; its size."""
    size = 0
    with z.open(info) as f:
        while chunk := f.read(_CHUNK):
            size += len(chunk)
            if size > cap:
                what = (f"its sheets inflate past {budget / 2**20:,.0f} MB, more than the"
                        " cells its settings describe can take" if budget is not None
                        else f"{info.filename} inflates past {cap / 2**20:,.0f} MB")
                raise SheetnetError(f"{path.name}: {what} (a decompression bomb?); refusing"
                                    " to open it")
    return size


# --- which cells hold formulas --------------------------------------------------------------

# A cell whose first child is a formula; every writer seen puts r first (Excel, LibreOffice,
# Gnumeric, openpyxl, sheetnet).
_FORMULA_CELL = re.compile(rb'<c r="([A-Z]{1,3})(\d+)"[^>]*?(?<!/)>\s*<f[\s>/]')
_ANY_FORMULA = re.compile(rb"<f[\s>/]")
_FORMULA_TEXT = re.compile(rb'<c r="%s"[^>]*?(?<!/)>\s*<f[^>]*>([^<]*)</f>')


def _column(letters: bytes, cache: dict[bytes, int] = {}) -> int:  # noqa: B006 (a cache)
    n = cache.get(letters)
    if n is None:
        n = 0
        for ch in letters:
            n = n * 26 + ch - 64
        cache[letters] = n
    return n


def formula_cells(path: Path, sheets: list[str], parts: dict[str, str]) -> dict[str, np.ndarray]:
    """For each named sheet, a boolean grid: True where a cell holds a formula
    (``grid[row - 1, col - 1]``)."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as z:
        for sheet in sheets:
            if sheet not in parts:
                continue
            xml = z.read(parts[sheet])
            found = _FORMULA_CELL.findall(xml)
            if len(found) != len(_ANY_FORMULA.findall(xml)):
                raise SheetnetError(f"{path.name}: sheet {sheet!r} is written in a way sheetnet"
                                    " cannot read (a cell's reference is not its first"
                                    " attribute); save it again from a spreadsheet")
            rows = np.fromiter((int(r) for _, r in found), np.int64, len(found))
            cols = np.fromiter((_column(c) for c, _ in found), np.int64, len(found))
            grid = np.zeros((int(rows.max(initial=0)), int(cols.max(initial=0))), bool)
            grid[rows - 1, cols - 1] = True
            out[sheet] = grid
    return out


def formula_text(path: Path, part: str, cell: str) -> str:
    """The formula a cell holds, as written (``=…``), or ``""``."""
    with zipfile.ZipFile(path) as z:
        m = re.search(_FORMULA_TEXT.pattern % cell.encode(), z.read(part))
    if not m:
        return ""
    text = m.group(1).decode("utf-8", "replace")
    return "=" + text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"') \
        .replace("&apos;", "'").replace("&amp;", "&")
