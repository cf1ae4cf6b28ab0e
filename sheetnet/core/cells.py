"""What one spreadsheet cell can hold (Excel's specifications and limits), checked where a
user's content enters: a number's magnitude, a text's length.

Excel keeps numbers within ±9.99999999999999E+307 and stores any nonzero magnitude below
2.2250738585072E-308 (a subnormal double) as 0; a cell holds at most 32,767 characters.
A workbook holding more would not be the run NumPy computed, so such input is refused.
"""

from __future__ import annotations

import numpy as np

from sheetnet.errors import SheetnetError

MAX_NUMBER = 9.99999999999999e307
MIN_NUMBER = 2.2250738585072e-308
MAX_TEXT = 32_767


def number_problem(value: float) -> str | None:
    """Why a finite number does not fit a cell, or None when it does."""
    size = abs(value)
    if size > MAX_NUMBER:
        return (f"{value:.6g}, beyond what a spreadsheet cell holds"
                " (±9.99999999999999E+307); scale it down")
    if 0 < size < MIN_NUMBER:
        return (f"{value:.6g}, below the smallest number a spreadsheet keeps"
                " (2.2250738585072E-308; it would store 0); round it to 0")
    return None


def first_problem(values: np.ndarray) -> tuple[tuple[int, ...], str] | None:
    """The index of the first number ``values`` holds that no cell can (finite ones), and why;
    None when every one fits. Vectorized: a data set of millions of pixels takes milliseconds."""
    array = np.asarray(values, dtype=float)
    size = np.abs(array)
    bad = (size > MAX_NUMBER) | ((size > 0) & (size < MIN_NUMBER))
    if not bad.any():
        return None
    index = tuple(int(i) for i in np.argwhere(bad)[0])
    return index, number_problem(float(array[index]))  # type: ignore[return-value]


def check_numbers(values: np.ndarray, what: str) -> None:
    """Refuse, naming the first, a number ``values`` holds that no cell can (finite ones)."""
    found = first_problem(values)
    if found is not None:
        index, problem = found
        where = f" at {list(index)}" if index else ""
        raise SheetnetError(f"{what}{where} holds {problem}")


def check_text(text: str, what: str) -> None:
    if len(text) > MAX_TEXT:
        raise SheetnetError(f"{what} is {len(text):,} characters long; a spreadsheet cell holds"
                            f" at most {MAX_TEXT:,}: shorten it")
