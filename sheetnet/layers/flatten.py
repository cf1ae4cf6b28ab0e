"""Flatten: where a stack's maps become a dense layer's input, channel by channel, each row by row.

It computes nothing and draws nothing: the dense layer after it reads the maps' cells in their
own shape (its weights are drawn in that shape too), so the cells of zᴾ are the cells of the
flattened vector. ``--arch`` implies it between a convolution part and a dense part.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet.layers.base import UNBOUND, Block, Cache, Cells, Elementwise, Formula, Shape, Wiring


@dataclass(frozen=True)
class Flatten(Elementwise):
    w: Wiring = UNBOUND
    kind = "flatten"
    token = ""  # implied: --arch need not write it
    transparent = True  # its output is its input's cells, its dx is its dy

    @classmethod
    def parse(cls, item: str) -> Flatten | None:
        return cls() if item == "flatten" else None

    def numbers(self) -> int:
        return 0

    def output_shape(self, inp: Shape) -> Shape:
        return inp  # the same cells; the dense layer after it reads them in order

    def blocks(self) -> list[Block]:
        return []

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """(N, C, H, W) -> (N, C·H·W)."""
        return x.reshape(x.shape[0], -1), {}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {}

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        return dy.reshape(dy.shape[0], *self.w.inp.maps()), {}

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        return iter(())

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        return cells.dy(r, c)
