"""Dropout: during training each unit of a layer's output is kept with probability 1 − P and
scaled by 1/(1 − P) (inverted dropout), ã = a ⊙ m / (1 − P); going back, ∂C/∂a = ∂C/∂ã ⊙ m /
(1 − P).

The masks m (1 keeps, 0 drops) are drawn per image, unit and step from ``--seed`` and are the
run's inputs, like the data: on the sheets they are typed-in cells of each iteration (``mask2``
beside ``drop2`` for the book's hidden layer), so recalculating never redraws them and a student
can drop a unit by hand. P is a named cell (``dropout2``). Evaluation (validation, a net's final
accuracy) runs without dropout: ã = a.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from sheetnet import notation as names
from sheetnet.errors import SheetnetError
from sheetnet.layers.base import (
    HELD,
    UNBOUND,
    Block,
    Cache,
    Cells,
    Elementwise,
    Formula,
    StepInput,
    Wiring,
    labels,
)
from sheetnet.pairs import ops
from sheetnet.pairs.hyper import Hyper


@dataclass(frozen=True)
class Dropout(Elementwise):
    rate: float
    w: Wiring = UNBOUND
    kind = "dropout"
    prefix = "drop"
    takes_inline_dy = True  # its backward reads ∂C/∂ã once per cell
    evaluation = "no dropout"

    @property
    def token(self) -> str:
        return f"dropout {float(self.rate)!r}"  # every digit: the settings rebuild it exactly

    @classmethod
    def parse(cls, item: str) -> Dropout | None:
        """``dropout P``, 0 ≤ P < 1."""
        if item == "dropout":
            raise SheetnetError("--arch: dropout needs its rate P, the share of units dropped"
                                " (e.g. dropout 0.5)")
        match = re.fullmatch(r"dropout ([0-9.eE+-]+)", item)
        if match is None:
            return None
        try:
            rate = float(match.group(1))
        except ValueError:
            rate = -1.0
        if not 0 <= rate < 1:
            raise SheetnetError(f"--arch: {item}: the dropout rate P is the share of units"
                                " dropped, 0 to less than 1 (e.g. dropout 0.5)")
        return cls(rate)

    @property
    def symbol_prefix(self) -> str:
        return f"{self.w.x_prefix}\u0303"  # ã², z̃ᴾ: its input's letter with a tilde

    @property
    def cell(self) -> str:
        """P's named cell: ``dropout2`` for the layer after ``a2``."""
        return f"dropout{self.w.tag}" if self.bound else "dropout"

    @property
    def mask(self) -> str:
        return f"mask{self.w.tag}"

    @property
    def settings(self) -> tuple[tuple[str, float], ...]:  # type: ignore[override]
        return ((self.cell, self.rate),)

    def hypers(self) -> list[Hyper]:
        """P's named cell on the Inputs sheet."""
        return [Hyper(self.cell, "P", self.rate,
                      f"dropout: the share of {self.w.x_symbol}'s units dropped a step",
                      lambda v: 0 <= v < 1, "0 to less than 1", "--dropout")]

    def step_inputs(self) -> list[StepInput]:
        """Its mask, drawn for each step from the seed: (N, *input) of 0s and 1s."""
        shape, rate = self.w.inp.array(), self.rate
        return [StepInput(self.mask, shape, lambda images, seed, step, index: ops.draw_mask(
            rate, (images, *shape), seed, step, index))]

    def tune(self, values: Mapping[str, float]) -> Dropout:
        return replace(self, rate=float(values.get(self.cell, self.rate)))

    def numbers(self) -> int:
        return 2 * self.w.inp.size  # the mask and the kept outputs

    def blocks(self) -> list[Block]:
        w = self.w
        s = names.tag_sup(w.tag)
        kept = f"{self.symbol_prefix}{w.x_sup}"
        maps = not w.inp.flat
        return [Block(self.mask, w.inp, f"m{s}",
                      f"m{s}: this step's dropout mask, 1 keeps a unit of {w.x_symbol} and 0"
                      " drops it (drawn from --seed; an input: edit it to drop a unit)",
                      labels(w.inp, f"m{s}", w.tag), input=True),
                Block(w.out, w.inp, kept,
                      f"{kept} = {w.x_symbol} ⊙ m{s} / (1 − P): the units kept, scaled by"
                      f" 1/(1 − P) (P: {self.cell})",
                      labels(w.inp, kept, w.tag), "picture" if maps else None)]

    def dx_blocks(self) -> list[Block]:
        """∂C/∂(its input), when the layer before cannot take it inline (pooling's δᴾ)."""
        w = self.w
        s = names.tag_sup(w.tag)
        return [Block(w.shown_dx, w.inp, w.dx_symbol,
                      f"{w.dx_symbol} = ∂C/∂{self.symbol_prefix}{w.x_sup} ⊙ m{s} / (1 − P): the"
                      f" errors of the units kept, 0 for those dropped",
                      labels(w.inp, w.dx_symbol, w.tag), None if w.inp.flat else "signed")]

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """a (N, …) -> ã = a ⊙ m / (1 − P) (N, …), m this step's mask (``p[mask]``; none in
        evaluation: ã = a)."""
        if self.mask not in p:
            return x, {}
        m = np.asarray(p[self.mask], dtype=float).reshape(x.shape)
        y = ops.dropout(x, m, self.rate)
        if HELD in p:  # images held out for validation are evaluated: nothing dropped
            held = (np.asarray(p[HELD]) != 0).reshape(-1, *([1] * (x.ndim - 1)))
            y = np.where(held, x, y)
        return y, {"m": m}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        shown = {self.w.out: y}
        if "m" in cache:
            shown[self.mask] = cache["m"]
        return shown

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """∂C/∂ã (N, …) -> ∂C/∂a = ∂C/∂ã ⊙ m / (1 − P); no parameters."""
        return (ops.dropout(dy, cache["m"], self.rate) if "m" in cache else dy), {}

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        m = cells.out[self.mask]
        for r in range(cells.x.rows):
            for c in range(cells.x.cols):
                kept = ops.dropout_xl(cells.x.ref(r, c), m.ref(r, c), self.cell)
                if cells.held is not None:  # an image held out is evaluated: nothing dropped
                    kept = f"IF({cells.held.ref()}<>0,{cells.x.ref(r, c)},{kept})"
                yield self.w.out, r, c, kept

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        return ops.dropout_xl(cells.dy(r, c), cells.out[self.mask].ref(r, c), self.cell)
