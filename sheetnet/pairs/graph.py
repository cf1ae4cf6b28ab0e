"""The operations of a computational graph's nodes (the shopping example), each its value and
local derivatives in NumPy form beside Excel form."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class Op:
    """A node's operation: its value and local derivatives, in NumPy form and Excel form."""

    symbol: str
    value: Callable[[Sequence[float]], float]
    local: Callable[[Sequence[float]], list[float]]
    excel_value: Callable[[Sequence[str]], str]
    excel_local: Callable[[Sequence[str]], list[str]]


MUL = Op("×", lambda v: v[0] * v[1], lambda v: [v[1], v[0]],
         lambda c: f"{c[0]}*{c[1]}", lambda c: [c[1], c[0]])
ADD = Op("+", lambda v: v[0] + v[1], lambda v: [1.0, 1.0],
         lambda c: f"{c[0]}+{c[1]}", lambda c: ["1", "1"])
