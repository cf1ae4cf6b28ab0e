"""A workbook's size, from the places of its layout before anything is written, and the limits
it must fit: Excel's grid and the budgets of what a spreadsheet can recalculate.

- at most ``MAX_FORMULA_CELLS`` formula cells and ``MAX_SHEETS`` sheets (one per iteration):
  LibreOffice did not finish opening 10,050 one-cell sheets within 5 minutes, and 10 million
  formulas take a spreadsheet minutes to recalculate;
- Excel's 1,048,576 rows, 16,384 columns and 8,192 characters in a formula;
- what ``sheetnet verify`` needs: it recalculates a big workbook a few iteration sheets at a
  time (``audit/chunks.py``), but never less than one iteration sheet beside the sheets over
  all iterations, in one engine process per core; each engine's cells a gigabyte were
  measured (``audit/engines.py``), and every engine must fit ``VERIFY_MEMORY``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sheetnet.errors import SheetnetError

MAX_ROWS = 1_048_576  # Excel's limits
MAX_COLS = 16_384
MAX_FORMULA = 8_192  # characters in one formula
MAX_FORMULA_CELLS = 10_000_000
MAX_SHEETS = 2_000
VERIFY_MEMORY = 6 * 2**30  # what verify's engine processes may hold at once, in every engine


@dataclass(frozen=True)
class Size:
    """A workbook's sheets and cells."""

    iterations: int
    sheets: int
    formula_cells: int
    rows: int  # the tallest sheet's rows
    cols: int  # the widest sheet's columns
    per_iteration: int  # formula cells of one iteration sheet (what a per-image trace holds)
    what: str = "the run"  # how messages name it
    taller: str = "units"  # what makes its sheets taller ("units", "--steps")
    one_image_cols: int = 0  # the widest sheet's columns with one image (0: not known)
    image_cols: int = 0  # the columns each further image adds

    def check(self) -> None:
        """Refuse (one line) a workbook beyond the limits."""
        if self.sheets > MAX_SHEETS:
            raise SheetnetError(f"{self.what} would write {self.sheets:,} sheets (one per"
                                f" iteration); the limit is {MAX_SHEETS:,}: use --iterations"
                                f" {MAX_SHEETS - (self.sheets - self.iterations):,} or fewer,"
                                " or `sheetnet train` for longer runs")
        if self.rows > MAX_ROWS:
            raise SheetnetError(f"{self.what} needs a sheet of {self.rows:,} rows; Excel allows"
                                f" {MAX_ROWS:,}: use fewer {self.taller}")
        if self.cols > MAX_COLS:
            if self.one_image_cols > MAX_COLS or not self.image_cols:
                fix = (f"even one image needs {self.one_image_cols:,}: use smaller images or"
                       f" fewer {self.taller}" if self.one_image_cols
                       else "use fewer images (each takes its own columns)")
            else:
                most = (MAX_COLS - self.one_image_cols) // self.image_cols + 1
                fix = (f"use {most:,} images or fewer (each takes {self.image_cols:,}"
                       " columns)")
            raise SheetnetError(f"{self.what} needs a sheet of {self.cols:,} columns; Excel"
                                f" allows {MAX_COLS:,}: {fix}")
        if self.formula_cells > MAX_FORMULA_CELLS:
            per = max(self.formula_cells // max(self.iterations + 1, 1), 1)
            fewer = (f"--iterations {MAX_FORMULA_CELLS // per - 1:,} or fewer, or fewer images"
                     f" or {self.taller}" if MAX_FORMULA_CELLS // per > 1
                     else f"fewer images or {self.taller}: one iteration alone needs"
                          f" {per:,}")
            raise SheetnetError(f"{self.what} would write {self.formula_cells:,} formula cells;"
                                f" the limit is {MAX_FORMULA_CELLS:,}: use {fewer}")
        need, engine = self.verify_memory()
        if need > VERIFY_MEMORY:
            raise SheetnetError(f"{self.what} needs {self.per_iteration:,} formula cells on each"
                                f" iteration sheet; verify recalculates at least one at a time"
                                f" on each core, which would take {engine} about"
                                f" {need / 2**30:,.1f} GB (the limit is"
                                f" {VERIFY_MEMORY / 2**30:.0f} GB): use fewer images or"
                                f" {self.taller}")

    def verify_memory(self) -> tuple[int, str]:
        """The most memory ``sheetnet verify`` will need at once in any engine (bytes), and
        that engine's name: its processes at once, each recalculating its smallest chunk (one
        iteration sheet and the sheets over all iterations) or its share of the whole."""
        from sheetnet.audit.engines import ENGINES, WORKERS

        other = self.formula_cells - self.per_iteration * (self.iterations + 1)
        worst = (0, "")
        for e in ENGINES.values():
            least = ((self.per_iteration + other) * e.bytes_per_cell + e.base) * WORKERS
            need = max(least, min(e.memory, self.formula_cells * e.bytes_per_cell + e.base))
            worst = max(worst, (need, e.title))
        return worst


def size_of_iteration_sheet(places: Iterable, *, iterations: int, other_cells: int = 0,
                            other_sheets: int = 4, other_rows: int = 0, other_cols: int = 0,
                            what: str = "the run", taller: str = "units") -> Size:
    """A workbook's size from the places of one iteration sheet (every iteration has the same).

    other_cells: formula cells beyond the iteration sheets (Summary, a Check sheet …);
    other_sheets: sheets beyond them (Summary, Inputs, Data, Map …); other_rows/other_cols:
    the tallest and widest of those.
    """
    places = list(places)
    cells = sum(p.size for p in places)
    rows = max(p.sheet_row(p.rows - 1) for p in places)
    cols = max(p.col + (max(p.images, 1) - 1) * p.stride + p.cols - 1 for p in places)
    summary = 2 * (iterations + 1)
    mapped = len(places) * (iterations + 1)  # the Map sheet links every block of every sheet
    widest = max(cols, other_cols)
    images = max((p.images for p in places), default=0)
    stride = max((p.stride for p in places if p.images > 1), default=0)
    one = widest - (images - 1) * stride if images > 1 else widest  # wherever the rest lies
    return Size(iterations=iterations, sheets=iterations + 1 + other_sheets,
                formula_cells=cells * (iterations + 1) + summary + mapped + other_cells,
                rows=max(rows, other_rows, mapped + 1), cols=widest,
                per_iteration=cells, what=what, taller=taller, one_image_cols=one,
                image_cols=stride)
