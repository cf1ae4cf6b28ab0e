"""What a run will compute, estimated from its options before any array exists, and its limits.

A run is refused early, in one line giving the estimate, the limit and what to change, when one
iteration would hold more than ``MAX_STEP_NUMBERS`` numbers (8 bytes each: its arrays, every
image's own gradients when a workbook or ``--blocks`` asks for them), the whole run would
compute more than ``MAX_RUN_NUMBERS`` (a few minutes here), or a run that keeps every block of
every iteration (a workbook, ``show``, ``--blocks``, the Python API's ``train``) would keep more
than ``MAX_KEPT_BYTES``. A workbook's own limits (cells, sheets, Excel's grid) are
``workbook/size.py``'s.
"""

from __future__ import annotations

from dataclasses import dataclass

from sheetnet.errors import SheetnetError

MAX_STEP_NUMBERS = 20_000_000  # 160 MB for one iteration's arrays
MAX_RUN_NUMBERS = 30_000_000_000  # about two minutes here (measured below)
# a net's iteration costs Python's own work too (a pass through its layers), worth this many
# numbers: the book's mlp runs 100,000 iterations (3,704 numbers each) in 11 s, MNIST's default
# 2,501 batches of 32 with 21 whole-data passes (2.6e10) in 45 s
STEP_OVERHEAD = 30_000
MAX_DATA_BYTES = 64 * 2**20  # a --data CSV
MAX_KEPT_BYTES = 2 * 2**30  # every block of every iteration, kept in memory
# what Python holds for one block beside its numbers (an array's header, its entry in the
# iteration's dict): measured 150 bytes a block on 100,000 steps of --net gd
BLOCK_BYTES = 160


def kept_bytes(numbers: int, blocks: int) -> int:
    """Bytes an iteration's blocks take when kept: ``numbers`` in ``blocks`` arrays."""
    return 8 * numbers + BLOCK_BYTES * blocks


@dataclass(frozen=True)
class Budget:
    """The numbers a run computes."""

    parameters: int
    images: int
    iterations: int
    step_numbers: int  # numbers one iteration holds
    what: str = "the run"  # how messages name it (e.g. "--net cnn (3 filters 3×3 …)")
    computed: int | None = None  # numbers the whole run computes, when not one step's each time
    overhead: int = 0  # numbers each iteration counts for besides its own (a net's STEP_OVERHEAD)
    kept: int = 0  # bytes each iteration keeps (every block: ``kept_bytes``; 0: its costs only)

    @property
    def run_numbers(self) -> int:
        per_step = self.overhead * (self.iterations + 1)
        if self.computed is not None:
            return self.computed + per_step
        return self.step_numbers * (self.iterations + 1) + per_step

    def check(self) -> None:
        """Refuse (one line) a run beyond the limits of what it computes (its memory kept:
        ``check_kept``, checked after a workbook's own limits, which say more)."""
        if self.step_numbers > MAX_STEP_NUMBERS:
            raise SheetnetError(
                f"{self.what} computes {self.step_numbers:,} numbers per iteration"
                f" ({self.parameters:,} parameters, {self.images:,} images); the limit is"
                f" {MAX_STEP_NUMBERS:,}: use fewer units, filters or images")
        if self.run_numbers > MAX_RUN_NUMBERS:
            raise SheetnetError(
                f"{self.what} would compute {self.run_numbers:,} numbers over"
                f" {self.iterations:,} iterations; the limit is {MAX_RUN_NUMBERS:,}: use fewer"
                f" --iterations (at most {self.fits():,} for this net)")

    def check_kept(self) -> None:
        """Refuse (one line) a run that would keep more than ``MAX_KEPT_BYTES`` of blocks."""
        held = self.kept * (self.iterations + 1)
        if held > MAX_KEPT_BYTES:
            most = max(MAX_KEPT_BYTES // self.kept - 1, 0)
            raise SheetnetError(
                f"{self.what} keeps every block of every iteration (a workbook, show,"
                f" --blocks, Python's train): {self.iterations:,} iterations would hold"
                f" {held / 2**30:,.1f} GB, beyond {MAX_KEPT_BYTES / 2**30:g} GB; use at most"
                f" --iterations {most:,}, or keep the costs alone (sheetnet train without"
                " --blocks; in Python train(..., blocks=False))")

    def fits(self) -> int:
        """The iterations that fit the run's budget."""
        per = self.run_numbers / (self.iterations + 1)
        return max(int(MAX_RUN_NUMBERS // max(per, 1)) - 1, 0)
