"""Which differing cells are causes and which only follow them.

A *root* is a differing cell whose referenced cells all agree with NumPy: its own formula (or a
constant typed over it) is what is wrong. Every other differing cell references a differing
cell, so it is downstream of some root.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

# A cell or range reference, optionally on another sheet; not a function name such as LOG10(.
_REF = re.compile(
    r"(?<![\w.$'])(?:(?P<sheet>'(?:[^']|'')+'|[A-Za-z_][\w.]*)!)?"
    r"\$?(?P<c1>[A-Za-z]{1,3})\$?(?P<r1>\d+)(?::\$?(?P<c2>[A-Za-z]{1,3})\$?(?P<r2>\d+))?"
    r"(?![\w(!])")
_STRING = re.compile(r'"(?:[^"]|"")*"')


def _col(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def references(formula: str, sheet: str) -> list[tuple[str, int, int, int, int]]:
    """Every (sheet, row0, col0, row1, col1) a formula refers to (1-based, inclusive)."""
    out = []
    for m in _REF.finditer(_STRING.sub('""', formula)):
        name = m["sheet"]
        if name is None:
            name = sheet
        elif name.startswith("'"):
            name = name[1:-1].replace("''", "'")
        r1, c1 = int(m["r1"]), _col(m["c1"])
        r2, c2 = (int(m["r2"]), _col(m["c2"])) if m["r2"] else (r1, c1)
        out.append((name, min(r1, r2), min(c1, c2), max(r1, r2), max(c1, c2)))
    return out


@dataclass(frozen=True)
class Root:
    sheet: str
    row: int
    col: int
    formula: str | None  # None: a constant where the layout has a formula


def roots(bad: dict[str, np.ndarray], ordered: list[tuple[str, int, int]],
          formulas: dict[tuple[str, int, int], str | None]) -> list[Root]:
    """The roots among the differing cells ``ordered`` (earliest first).

    bad: sheet -> boolean grid, True where a compared cell differs ([row - 1, col - 1]).
    """
    found = []
    for sheet, r, c in ordered:
        formula = formulas.get((sheet, r, c))
        if formula is None or not any(_any_bad(bad, ref) for ref in references(formula, sheet)):
            found.append(Root(sheet, r, c, formula))
    return found


def _any_bad(bad: dict[str, np.ndarray], ref: tuple[str, int, int, int, int]) -> bool:
    sheet, r0, c0, r1, c1 = ref
    grid = bad.get(sheet)
    if grid is None:
        return False
    return bool(grid[r0 - 1:r1, c0 - 1:c1].any())
