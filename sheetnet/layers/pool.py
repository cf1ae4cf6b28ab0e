"""Pooling (book 5-4, 5-6): the maximum, or the mean, of each p×p window, stride p.

Backward, max pooling sends each pooled value's error δᴾ to the position that was its window's
maximum (the first, row by row, on a tie; in NumPy and in the cells alike) and 0 elsewhere;
average pooling shares δᴾ/p² with every cell of the window. These routed errors are a block of
their own (``routed``).

After an activation the maximum's position is found on the activation's input z rather than on
a: for an increasing activation it is the same position, and it stays one position where a
saturates (tanh(19) and tanh(25) are both 1.0 in floating point, and engines round such values
differently in the last bit). The stack tells the layer which block that is (its ``key``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from sheetnet import notation as names
from sheetnet.errors import SheetnetError
from sheetnet.layers.base import (
    UNBOUND,
    Block,
    Cache,
    Cells,
    Formula,
    LayerBase,
    Param,
    Shape,
    Wiring,
    labels,
)
from sheetnet.pairs import ops

MODES = ("max", "average")


@dataclass(frozen=True)
class Pool(LayerBase):
    size: int
    mode: str = "max"
    w: Wiring = UNBOUND
    kind = "pool"  # each pooled error is read by every cell of its window: a block, not inline
    letter = "P"
    reads_maps = True
    dx_block = True  # the routed errors are shown

    @classmethod
    def parse(cls, item: str) -> Pool | None:
        """``maxpool P`` or ``avgpool P``."""
        match = re.fullmatch(r"(max|avg)pool (\d+)", item)
        if match is None:
            return None
        return cls(int(match.group(2)), "max" if match.group(1) == "max" else "average")

    def dx_name(self, tag: str, input_tag: str) -> str:
        """The routed errors: ``routed`` (``routed2`` for the second of several pools)."""
        return f"routed{names.suffix(tag)}"

    @property
    def keyed(self) -> bool:  # type: ignore[override]
        return self.mode == "max"

    def numbers(self) -> int:
        """The pooled maps and, for max pooling, where each maximum is found."""
        return self.output_shape(self.w.inp).size + self.w.inp.size

    @property
    def token(self) -> str:
        return ("maxpool" if self.mode == "max" else "avgpool") + f" {self.size}"

    def output_shape(self, inp: Shape) -> Shape:
        p = self.size
        if self.mode not in MODES:
            raise SheetnetError(f"pooling {self.mode!r} is not one of: {', '.join(MODES)}")
        if inp.flat:
            raise SheetnetError(f"{self.token} needs maps, not the units of a dense layer; pool"
                                " before the dense layers")
        if p < 1:
            raise SheetnetError(f"{self.token}: the window must be at least 1×1")
        h, w = inp.height, inp.width
        if h % p or w % p:
            fits = [q for q in range(1, min(h, w) + 1) if h % q == 0 and w % q == 0]
            raise SheetnetError(f"the {h}×{w} maps do not divide into {p}×{p} pooling windows;"
                                f" use a window of {' or '.join(map(str, fits))}, or change"
                                " the layers before it")
        return replace(inp, height=h // p, width=w // p)


    def params(self) -> list[Param]:
        return []

    def blocks(self) -> list[Block]:
        s, p = names.tag_sup(self.w.tag), self.size
        what = (f"the mean of each {p}×{p} window of {self.w.x_symbol} (average pooling)"
                if self.mode == "average" else
                f"the maximum of each {p}×{p} window of {self.w.x_symbol} (max pooling)")
        out = self.output_shape(self.w.inp)
        return [Block(self.w.out, out, f"z{s}", f"{names.indexed(f'z{s}', 'ᵏ', 'ᵢⱼ')}: {what}",
                      labels(out, f"z{s}", self.w.tag), "picture")]

    def dx_blocks(self) -> list[Block]:
        w, p = self.w, self.size
        s = names.tag_sup(w.tag)
        what = (f"δ{s}/{p * p} at every position of its {p}×{p} window (average pooling"
                " shares it equally)" if self.mode == "average" else
                f"δ{s} sent to the position of the maximum of its {p}×{p} window (found on"
                f" {self.key_symbol}; the first, row by row, on a tie), 0 elsewhere")
        tiles = tuple((row, f"{text} routed") for row, text in labels(w.inp, f"δ{s}", w.tag))
        return [Block(w.shown_dx, w.inp, f"δ{s} routed", what, tiles, "signed")]

    @property
    def key_symbol(self) -> str:
        """What the maximum is found on: zᶠ after an activation of zᶠ, else the input."""
        return self.w.key_symbol or self.w.x_symbol

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, C, H, W) -> (N, C, H/p, W/p); ``key`` (x's shape): where max pooling finds
        each window's maximum (default x itself)."""
        if self.mode == "average":
            return ops.average_pool(x, self.size), {}
        return ops.max_pool(x, self.size), {"key": x if key is None else key}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {self.w.out: y}

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """δᴾ (N, C, H/p, W/p) -> the routed errors (N, C, H, W); no parameters."""
        if self.mode == "average":
            return ops.route_average(dy, self.size), {}
        return ops.route_max(cache["key"], dy, self.size), {}

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        return {}

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        inp, p = self.w.inp, self.size
        out = self.output_shape(inp)
        pool_xl = ops.average_pool_xl if self.mode == "average" else ops.max_pool_xl
        for q in range(inp.channels):
            for i in range(out.height):
                for j in range(out.width):
                    r0 = q * inp.height + i * p
                    yield self.w.out, q * out.height + i, j, pool_xl(
                        cells.x.span(r0, r0 + p - 1, j * p, j * p + p - 1))

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        return iter(())

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        inp, p = self.w.inp, self.size
        out_h = inp.height // p
        q, i = divmod(r, inp.height)
        error = cells.dy(q * out_h + i // p, c // p)
        if self.mode == "average":
            return ops.route_average_xl(error, p)
        key = cells.key or cells.x
        wr, wc = q * inp.height + i // p * p, c // p * p  # the window's first cell
        earlier = []
        if r > wr:
            earlier.append(key.span(wr, r - 1, wc, wc + p - 1))
        if c > wc:
            earlier.append(key.span(r, r, wc, c - 1))
        return ops.route_max_xl(key.ref(r, c), key.span(wr, wr + p - 1, wc, wc + p - 1),
                                earlier, error)
