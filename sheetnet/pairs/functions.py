"""Functions of two variables for the gradient-descent exercise (book 2-11), each z = f(x, y)
with its gradient, NumPy form beside Excel form."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sheetnet.errors import SheetnetError

Pair = tuple[str, str]


@dataclass(frozen=True)
class Function:
    """z = f(x, y) with its gradient, in NumPy form and in Excel form side by side."""

    name: str
    text: str
    value: Callable[[Any, Any], Any]  # (x, y) -> z, on numbers or arrays alike
    gradient: Callable[[Any, Any], tuple[Any, Any]]
    excel_value: Callable[[str, str], str]
    excel_gradient: Callable[[str, str], Pair]
    start: tuple[float, float] = (3.0, 2.0)  # defaults that show the function's character
    eta: float = 0.1
    steps: int = 30


BOWL = Function(
    name="bowl",
    text="z = x² + y² (the book's bowl)",
    value=lambda x, y: x * x + y * y,
    gradient=lambda x, y: (2 * x, 2 * y),
    excel_value=lambda x, y: f"{x}*{x}+{y}*{y}",  # products: see ops.square_xl
    excel_gradient=lambda x, y: (f"2*{x}", f"2*{y}"),
)

ELONGATED = Function(
    name="elongated",
    text="z = x² + 10y² (an elongated bowl: descent zigzags across the narrow valley)",
    value=lambda x, y: x * x + 10 * y * y,
    gradient=lambda x, y: (2 * x, 20 * y),
    excel_value=lambda x, y: f"{x}*{x}+10*{y}*{y}",
    excel_gradient=lambda x, y: (f"2*{x}", f"20*{y}"),
    eta=0.09,  # y is multiplied by 1 − 20η = −0.8 a step: a zigzag that settles (0.1: never)
)

ROSENBROCK = Function(
    name="rosenbrock",
    text="z = (1 − x)² + 100(y − x²)² (Rosenbrock's banana valley, minimum at (1, 1))",
    value=lambda x, y: (1 - x) ** 2 + 100 * (y - x * x) ** 2,
    gradient=lambda x, y: (-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)),
    excel_value=lambda x, y: f"(1-{x})*(1-{x})+100*({y}-{x}*{x})*({y}-{x}*{x})",
    excel_gradient=lambda x, y: (f"-2*(1-{x})-400*{x}*({y}-{x}*{x})", f"200*({y}-{x}*{x})"),
    start=(-1.2, 1.0),
    eta=0.001,
    steps=2000,
)

FUNCTIONS: dict[str, Function] = {f.name: f for f in (BOWL, ELONGATED, ROSENBROCK)}


def function(name: str) -> Function:
    if name not in FUNCTIONS:
        raise SheetnetError(f"--function {name!r} is not one of: {', '.join(FUNCTIONS)}")
    return FUNCTIONS[name]
