"""A spreadsheet formula as tokens: what ``explain`` names, moves and fills with numbers.

The formulas sheetnet writes (and a spreadsheet saves back) use cell and range references
(``E83``, ``$C$43``, ``'Iter 0'!D4``, ``E75:E76``), defined names (``eta``), functions, numbers,
text in quotes and the usual operators; nothing here evaluates them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from sheetnet.workbook.layout import col_letter

_SHEET = r"(?:'(?:[^']|'')+'|[A-Za-z_][\w.]*)"
_CELL = r"\$?[A-Za-z]{1,3}\$?\d+"
_TOKEN = re.compile(
    r'(?P<str>"(?:[^"]|"")*")'
    rf"|(?P<ref>(?<![\w.$'])(?:{_SHEET}!)?{_CELL}(?::{_CELL})?(?![\w(!]))"
    r"|(?P<func>[A-Za-z_][\w.]*(?=\())"
    r"|(?P<name>[A-Za-z_\\][\w.]*)"
    r"|(?P<num>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)"
    r"|(?P<op><>|<=|>=|[-+*/^&=<>(),:;%{}])"
    r"|(?P<space>\s+)"
    r"|(?P<other>.)", re.S)
_ENDPOINT = re.compile(r"(\$?)([A-Za-z]{1,3})(\$?)(\d+)")


@dataclass(frozen=True)
class Token:
    kind: str  # str, ref, func, name, num, op, space or other
    text: str


@dataclass(frozen=True)
class Ref:
    """A reference's cells: (sheet or None for the formula's own, first row, first column,
    last row, last column), 1-based and inclusive."""

    sheet: str | None
    row: int
    col: int
    last_row: int
    last_col: int

    @property
    def cells(self) -> int:
        return (self.last_row - self.row + 1) * (self.last_col - self.col + 1)

    @property
    def single(self) -> bool:
        return self.cells == 1


def tokens(formula: str) -> list[Token]:
    """A formula's tokens (with or without its leading ``=``), in order; joined, they give the
    text back."""
    text = formula[1:] if formula.startswith("=") else formula
    out = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup or "other"
        out.append(Token(kind, m.group()))
    return out


def _column(letters: str) -> int:
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


def parse_ref(text: str) -> Ref:
    """``'Iter 0'!$C$4:$C$15`` -> Ref('Iter 0', 4, 3, 15, 3)."""
    sheet = None
    if "!" in text:
        prefix, text = text.rsplit("!", 1)
        sheet = prefix[1:-1].replace("''", "'") if prefix.startswith("'") else prefix
    points = [(int(m.group(4)), _column(m.group(2)))
              for m in map(_ENDPOINT.fullmatch, text.split(":")) if m]
    (r0, c0), (r1, c1) = points[0], points[-1]
    return Ref(sheet, min(r0, r1), min(c0, c1), max(r0, r1), max(c0, c1))


def shift(formula: str, rows: int, cols: int) -> str:
    """A formula moved ``rows`` down and ``cols`` right, as a spreadsheet fills it: every
    relative row and column of its references moves, absolute ones (``$``) stay."""
    def move(m: re.Match) -> str:
        col_abs, letters, row_abs, digits = m.groups()
        col = _column(letters) + (0 if col_abs else cols)
        row = int(digits) + (0 if row_abs else rows)
        return f"{col_abs}{col_letter(col)}{row_abs}{row}"

    out = []
    for t in tokens(formula):
        if t.kind == "ref":
            prefix, bang, cells = t.text.rpartition("!")
            out.append(prefix + bang + _ENDPOINT.sub(move, cells))
        else:
            out.append(t.text)
    return ("=" if formula.startswith("=") else "") + "".join(out)


def unary(previous: Token | None) -> bool:
    """Whether a ``-`` or ``+`` after ``previous`` (the last token that is not a space) is a
    sign rather than an operator."""
    return previous is None or (previous.kind == "op" and previous.text not in (")", "%", "}"))
