"""What a run will take, estimated from its options before any array exists, and the limits.

A run is refused early, in one line giving the estimate, the limit and what to change, when it
is beyond what a spreadsheet can hold (Excel's rows and columns) or beyond these budgets:

- a workbook of at most ``MAX_FORMULA_CELLS`` formula cells and ``MAX_SHEETS`` sheets (one per
  iteration): LibreOffice did not finish opening 10,050 one-cell sheets within 5 minutes, and
  10 million formulas take a spreadsheet minutes to recalculate;
- training that holds at most ``MAX_STEP_NUMBERS`` numbers per iteration (every block of one
  iteration: parameters × images per-image gradients and the like; 8 bytes each) and computes
  at most ``MAX_RUN_NUMBERS`` over the whole run (a few minutes here).
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetnet.errors import SheetnetError

MAX_ROWS = 1_048_576  # Excel's limits
MAX_COLS = 16_384
MAX_FORMULA = 8_192  # characters in one formula
MAX_FORMULA_CELLS = 10_000_000
MAX_SHEETS = 2_000
MAX_STEP_NUMBERS = 20_000_000  # 160 MB for one iteration's blocks
MAX_RUN_NUMBERS = 10_000_000_000
MAX_DATA_BYTES = 64 * 2**20  # a --data CSV


@dataclass(frozen=True)
class Cost:
    """The size of a run and of its workbook."""

    parameters: int
    images: int
    iterations: int
    step_numbers: int  # numbers one iteration computes (its blocks)
    sheets: int
    formula_cells: int
    rows: int  # the tallest sheet's rows
    cols: int  # the widest sheet's columns
    what: str = "the run"  # how messages name it (e.g. "--layers 12,5000,2")
    taller: str = "units"  # what makes its sheets taller ("units", "--steps")

    @property
    def run_numbers(self) -> int:
        return self.step_numbers * (self.iterations + 1)

    def check(self, workbook: bool) -> None:
        """Refuse (one line) a run beyond the limits; ``workbook``: its workbook's too."""
        if self.step_numbers > MAX_STEP_NUMBERS:
            _refuse(f"{self.what} computes {self.step_numbers:,} numbers per iteration"
                    f" ({self.parameters:,} parameters, {self.images:,} images); the limit is"
                    f" {MAX_STEP_NUMBERS:,}: use fewer units, filters or images")
        if self.run_numbers > MAX_RUN_NUMBERS:
            _refuse(f"{self.what} would compute {self.run_numbers:,} numbers over"
                    f" {self.iterations:,} iterations; the limit is {MAX_RUN_NUMBERS:,}: use"
                    f" fewer --iterations (at most"
                    f" {MAX_RUN_NUMBERS // max(self.step_numbers, 1) - 1:,} for this net)")
        if not workbook:
            return
        if self.rows > MAX_ROWS:
            _refuse(f"{self.what} needs a sheet of {self.rows:,} rows; Excel allows"
                    f" {MAX_ROWS:,}: use fewer {self.taller}")
        if self.cols > MAX_COLS:
            _refuse(f"{self.what} needs a sheet of {self.cols:,} columns; Excel allows"
                    f" {MAX_COLS:,}: use fewer images (each takes its own columns)")
        if self.sheets > MAX_SHEETS:
            _refuse(f"{self.what} would write {self.sheets:,} sheets (one per iteration);"
                    f" the limit is {MAX_SHEETS:,}: use --iterations"
                    f" {MAX_SHEETS - (self.sheets - self.iterations):,} or fewer, or"
                    " `sheetnet train` for longer runs")
        if self.formula_cells > MAX_FORMULA_CELLS:
            per = max(self.formula_cells // max(self.iterations + 1, 1), 1)
            fewer = (f"--iterations {MAX_FORMULA_CELLS // per - 1:,} or fewer, or fewer images"
                     f" or {self.taller}" if MAX_FORMULA_CELLS // per > 1
                     else f"fewer images or {self.taller}: one iteration alone needs"
                          f" {per:,}")
            _refuse(f"{self.what} would write {self.formula_cells:,} formula cells; the limit"
                    f" is {MAX_FORMULA_CELLS:,}: use {fewer}")


def _refuse(message: str) -> None:
    raise SheetnetError(message)
