"""Initial parameters: seeded standard-normal draws, or a user's ``--init`` JSON, shape-checked."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from sheetnet.core import cells
from sheetnet.errors import SheetnetError

Params = dict[str, np.ndarray]


def standard_normal(shapes: Mapping[str, tuple[int, ...]], seed: int) -> Params:
    """One standard-normal array per parameter, drawn in the order ``shapes`` lists them."""
    rng = np.random.default_rng(seed)
    return {name: rng.standard_normal(shape) for name, shape in shapes.items()}


def validate_params(shapes: Mapping[str, tuple[int, ...]], obj: object, source: str) -> Params:
    """Check an ``--init`` object against the expected shapes; copies into float64 arrays."""
    if not isinstance(obj, dict):
        raise SheetnetError(f"{source}: expected a JSON object with keys {', '.join(shapes)}")
    missing = [k for k in shapes if k not in obj]
    if missing:
        raise SheetnetError(f"{source}: missing {', '.join(missing)}; it needs"
                            f" {', '.join(f'{k} {fmt_shape(s)}' for k, s in shapes.items())}")
    extra = [k for k in obj if k not in shapes]
    if extra:
        raise SheetnetError(f"{source}: unknown key {', '.join(extra)}; this net takes"
                            f" {', '.join(shapes)}")
    params: Params = {}
    for key, shape in shapes.items():
        if not _only_numbers(obj[key], len(shape)):
            raise SheetnetError(f"{source}: {key} must be {fmt_shape(shape)} numbers (nested"
                                " lists of plain numbers: no text, true/false or null)")
        try:
            value = np.array(obj[key], dtype=float)
        except (TypeError, ValueError, OverflowError):
            raise SheetnetError(f"{source}: {key} must be {fmt_shape(shape)} numbers"
                                " (nested lists, no ragged rows)") from None
        if value.shape != shape:
            raise SheetnetError(f"{source}: {key} has shape {fmt_shape(value.shape)}, this net"
                                f" needs {fmt_shape(shape)}")
        if not np.all(np.isfinite(value)):
            raise SheetnetError(f"{source}: {key} holds a value that is not finite; use numbers")
        cells.check_numbers(value, f"{source}: {key}")
        params[key] = value
    return params


def _only_numbers(value: object, depth: int) -> bool:
    """``value`` is a number (depth 0) or lists nested ``depth`` deep of numbers (not bools)."""
    level: list[Any] = [value]
    for _ in range(depth):
        if not all(isinstance(v, list) for v in level):
            return False
        level = [v for sub in level for v in sub]
    return all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in level)


def fmt_shape(shape: tuple[int, ...]) -> str:
    return "×".join(str(s) for s in shape) if shape else "a number"
