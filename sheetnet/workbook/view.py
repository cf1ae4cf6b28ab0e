"""How a block's numbers look: one number format per block, chosen from its own magnitude.

A fixed number of decimals hides exactly what a learner studies: a gradient of 3e-6 prints as
0.0000. Here every block gets the format its numbers need, decided once from the numbers NumPy
computed for it (over every iteration, so a block reads the same on every sheet) and the width
of its columns:

- whole numbers (0/1 pixels, one-hot targets, counts) as integers;
- otherwise as many decimals as show its typical (median) nonzero number to 3 significant
  digits and its largest to 4 — more, up to 6, if its smallest nonzero number needs them to
  show at all — when that fits the column;
- otherwise scientific notation, as many digits as the column holds.

One format a block, never one a cell: a cell keeps its format when an edit in the workbook
changes its number. In the run exported, no nonzero number is shown as 0 (unless it lies below
1e-99, where even scientific notation would need three exponent digits).
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

DEFAULT_WIDTH = 8.43  # a column no sheet sized (Excel's default, in characters)
MAX_DECIMALS = 6

# format key -> Excel number format; "f3" three decimals, "e2" scientific with two decimals
FORMATS = {"int": "0", **{f"f{d}": "0." + "0" * d if d else "0" for d in range(MAX_DECIMALS + 1)},
           **{f"e{d}": ("0." + "0" * d if d else "0") + "E+00" for d in range(4)}}


def number_format(values: np.ndarray, width: float = DEFAULT_WIDTH) -> str:
    """The key (of ``FORMATS``) of the format that shows a block of ``values`` best in a
    column ``width`` characters wide: integers as integers, else significant digits, never a
    nonzero number as 0."""
    v = np.abs(np.asarray(values, dtype=float).ravel())
    v = v[np.isfinite(v)]
    nonzero = v[v > 0]
    if nonzero.size == 0:
        return "int"
    room = _room(width)
    largest, smallest = float(nonzero.max()), float(nonzero.min())
    if largest < 1e9 and bool(np.all(v == np.round(v))):
        return "int" if _digits(largest) + 1 <= room else _scientific(room)
    typical = float(np.median(nonzero))
    decimals = max(_decimals(typical, 3), _decimals(largest, 4), _decimals(smallest, 1), 0)
    wide = 1 + _digits(largest) + (decimals + 1 if decimals else 0)  # -12.345
    if decimals <= MAX_DECIMALS and wide <= room:
        return f"f{decimals}"
    return _scientific(room)


def _room(width: float) -> int:
    """Characters a number may take, its minus and point included."""
    return max(int(width), 6)


def _digits(x: float) -> int:
    """Digits before the decimal point (at least one)."""
    return max(1, math.floor(math.log10(x)) + 1) if x >= 1 else 1


def _decimals(x: float, significant: int) -> int:
    """Decimals that show ``x`` to ``significant`` digits."""
    return significant - 1 - math.floor(math.log10(x))


def _scientific(room: int) -> str:
    """The most decimals a scientific number (-1.234E-05) fits in ``room`` characters."""
    return f"e{max(0, min(3, room - 7))}"


# --- colour: a scale per block or map, its ends from the block's own numbers -----------------

# blue < 0 < red, white at 0: light enough that black digits stay readable; a block of
# numbers ≥ 0 runs white to red, one of numbers ≤ 0 blue to white, so a hue means one sign
LOW = "FFFFFF"
NEGATIVE, POSITIVE = "6C9BD2", "E07B6F"
NEGATIVE_LINE, POSITIVE_LINE = "2F6DB5", "C0392B"  # the same hues, dark enough for markers


def scale_ends(values: np.ndarray) -> tuple[tuple[float, str], ...] | None:
    """The colour scale for a block's (or a map's) numbers: (value, colour) at its ends and,
    for signed numbers, white at 0 with the ends at ±(largest |value|), so a colour means the
    same size on both sides. None: nothing to tell apart (all equal, or none finite)."""
    v = np.asarray(values, dtype=float).ravel()
    v = v[np.isfinite(v)]
    if v.size == 0 or float(v.min()) == float(v.max()):
        return None
    low, high = float(v.min()), float(v.max())
    if low < 0 < high:
        edge = max(-low, high)
        return ((-edge, NEGATIVE), (0.0, LOW), (edge, POSITIVE))
    if low >= 0:
        return ((0.0, LOW), (high, POSITIVE))
    return ((low, NEGATIVE), (0.0, LOW))


# --- charts -----------------------------------------------------------------------------------

FEW_POINTS = 30  # a line of fewer points shows each as a marker
SPAN = 100  # a curve spanning more than this factor is drawn on a log scale
RATIO_SPAN = 10  # … or this, for curves compared by their ratios (errors layer by layer)


def needs_log(numbers: list[float], span: float = SPAN) -> bool:
    """A log scale: every number positive and the largest more than ``span`` times the
    smallest (a cost falling from 8.3 to 0.02, or one spike of 929,187 among values near 50)."""
    v = np.asarray(numbers, dtype=float)
    v = v[np.isfinite(v)]
    return bool(v.size > 1 and v.min() > 0 and v.max() > span * v.min())


def tick_step(span: int) -> int:
    """A whole-number step between axis ticks over ``span`` (last − first): the first of 1, 2,
    5, 10, 20, 50 … that gives at most ten steps."""
    step = 1
    while span > 10 * step:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2
    return step


# --- print ------------------------------------------------------------------------------------

PAGE_WIDTH = 104  # column-width units across a landscape A4 page at 100 % (LibreOffice's
# default margins, measured on a rendered page)
PAGE_ROWS = 38  # rows down it
SMALLEST = 0.5  # the smallest scale a printed page may take and stay readable


def fit_to_page(widths: Mapping[int, float], cols: int, rows: int) -> tuple[bool, bool]:
    """Whether a sheet ``cols`` columns wide (``widths``: column -> characters) prints one page
    wide at a readable scale, and whether it prints on one page altogether."""
    width = sum(widths.get(c, DEFAULT_WIDTH) for c in range(1, cols + 1))
    scale = min(1.0, PAGE_WIDTH / max(width, 1.0), PAGE_ROWS / max(rows, 1))
    return PAGE_WIDTH / max(width, 1.0) >= SMALLEST, scale >= SMALLEST
