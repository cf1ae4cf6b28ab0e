"""A convolution layer (book 5-4, 5-6): K filters of f×f×C, stride 1, P of zero padding.

Forward, zᵏᵢⱼ = Σcᵤᵥ wᵏcᵤᵥ·x̃c₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎ + bᵏ over the padded input x̃, as one matrix product of
every window (im2col) with the filters. Backward, with δ = ∂C/∂z: ∂C/∂wᵏcᵤᵥ = Σᵢⱼ δᵏᵢⱼ·x̃c₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎
(δ against each window it saw), ∂C/∂bᵏ = Σᵢⱼ δᵏᵢⱼ, and, when a layer comes before it, each
input cell's error Σ over the windows that saw it of wᵏcᵤᵥ·δᵏ₍ᵢ₋ᵤ₎₍ⱼ₋ᵥ₎.

In the cells z is the book's SUMPRODUCT(window, filter) + b, one SUMPRODUCT per channel; the
padded input x̃ is its own block (the frame =0, the inside a reference to x); each filter is C
tiles of f×f.
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
from sheetnet.notation import sup
from sheetnet.pairs import ops


@dataclass(frozen=True)
class Conv(LayerBase):
    filters: int
    size: int
    padding: int = 0
    bias: bool = True
    w: Wiring = UNBOUND
    kind = "conv"  # δ is read by every filter weight's gradient: it must be a block
    letter = "F"
    weighted = True
    reads_maps = True

    @property
    def token(self) -> str:
        return (f"conv {self.filters} {self.size}x{self.size}"
                + (f" pad {self.padding}" if self.padding else "")
                + ("" if self.bias else " nobias"))

    @classmethod
    def parse(cls, item: str) -> Conv | None:
        """``conv K FxF [pad P] [nobias]``."""
        match = re.fullmatch(r"conv (\d+) (\d+)(?:x(\d+))?(?: pad (\d+))?( nobias)?", item)
        if match is None:
            return None
        k, f, f2, p, nobias = match.groups()
        if f2 is not None and f2 != f:
            raise SheetnetError(f"--arch: {item}: filters are square; write conv {k} {f}x{f}")
        return cls(int(k), int(f), int(p or 0), bias=nobias is None)

    def numbers(self) -> int:
        """z, x̃ and every window (im2col)."""
        z = self.output_shape(self.w.inp)
        return z.size + self.padded.size + z.height * z.width * self.w.inp.channels * self.size**2

    def output_shape(self, inp: Shape) -> Shape:
        k, f, p = self.filters, self.size, self.padding
        if inp.flat:
            raise SheetnetError(f"conv {k} {f}x{f} needs maps (an image, or a convolution's or"
                                " pooling's output), not the units of a dense layer; put the"
                                " convolution layers first")
        if k < 1 or f < 1:
            raise SheetnetError(f"conv {k} {f}x{f} needs at least 1 filter of at least 1×1")
        if not 0 <= p < f:
            raise SheetnetError(f"conv {k} {f}x{f} pad {p}: the padding must be 0 to {f - 1}"
                                " (less than the filter size: a wider frame only adds maps of"
                                " zeros)")
        h, w = inp.height + 2 * p, inp.width + 2 * p
        if f > min(h, w):
            raise SheetnetError(f"conv {k} {f}x{f}: a {f}×{f} filter is larger than its"
                                f" {inp.height}×{inp.width} input; use a filter of"
                                f" {min(h, w)}x{min(h, w)} or less, or pad the input")
        return Shape(k, h - f + 1, w - f + 1)


    @property
    def name(self) -> str:
        return self.w.tag  # the book's F (F1, F2 … in a stack of several)

    @property
    def bias_name(self) -> str:
        return names.bias(self.w.tag)

    @property
    def padded(self) -> Shape:
        """x̃: the input with P rows and columns of zeros around each map."""
        inp, p = self.w.inp, self.padding
        return replace(inp, height=inp.height + 2 * p, width=inp.width + 2 * p)

    @property
    def pad_name(self) -> str:
        """x̃'s block (a padded input's only)."""
        return f"xpad{names.suffix(self.w.tag)}"

    def filter_shape(self) -> tuple[int, ...]:
        """K×f×f for one input channel (the book's), K×C×f×f for more."""
        k, c, f = self.filters, self.w.inp.channels, self.size
        return (k, f, f) if c == 1 else (k, c, f, f)

    def params(self) -> list[Param]:
        k, c, f, s = self.filters, self.w.inp.channels, self.size, names.tag_sup(self.w.tag)
        numbered = names.suffix(self.w.tag) != ""
        wk, bk = (names.indexed(f"{p}{s}", "ᵏ", word="filter") for p in "wb")

        def filter_label(q: int) -> str:
            return f"w{s}, filter {q + 1}" if numbered else f"w{s}{sup(q + 1)}"

        def tiles() -> tuple[tuple[int, str], ...]:
            return tuple(((q * c + ch) * f, filter_label(q) + (f" channel {ch + 1}" if c > 1
                                                                else ""))
                         for q in range(k) for ch in range(c))

        def elements() -> tuple[str, ...]:
            return tuple(names.element(filter_label(q) + (f", channel {ch + 1}" if c > 1
                                                          else ""), u + 1, v + 1)
                         for q in range(k) for ch in range(c) for u in range(f)
                         for v in range(f))

        def bias_labels() -> tuple[str, ...]:
            return tuple(f"b{s}, filter {q + 1}" if numbered else f"b{s}{sup(q + 1)}"
                         for q in range(k))

        depth = f"×{c}" if c > 1 else ""
        out = [
            Param(self.name, self.filter_shape(), k * c * f, f, f, weight=True,
                  fan_in=c * f * f, fan_out=k * f * f, symbol=f"w{s}",
                  description=f"{wk}: the {k} filters, {f}×{f}{depth} weights each"
                              + (" (a tile per channel)" if c > 1 else ""),
                  make_labels=elements, make_tile_labels=tiles, colour="signed"),
            Param(self.bias_name, (k,), k, weight=False, fan_in=c * f * f, symbol=f"b{s}",
                  description=f"{bk}: each filter's bias", make_labels=bias_labels,
                  make_tile_labels=lambda: tuple(enumerate(bias_labels()))),
        ]
        return out if self.bias else out[:1]

    def blocks(self) -> list[Block]:
        s, f, c = names.tag_sup(self.w.tag), self.size, self.w.inp.channels
        wk, bk = (names.indexed(f"{p}{s}", "ᵏ", word="filter") for p in "wb")
        out: list[Block] = []
        seen = self.w.x_symbol
        if self.padding:
            sym = "x̃" if self.w.x == "x" else f"{self.w.x_symbol} padded"
            seen = sym
            out.append(Block(self.pad_name, self.padded, sym,
                             f"{sym}: {self.w.x_symbol} with {self.padding} row(s) and column(s)"
                             " of zeros around it (padding)",
                             tuple((ch * self.padded.height, f"{sym} channel {ch + 1}")
                                   for ch in range(c)) if self.padded.tiled and c > 1 else
                             labels(self.padded, sym, self.w.tag) if self.w.x != "x" else (),
                             "picture", padded=True))
        over = ", summed over the channels" if c > 1 else ""
        z = self.output_shape(self.w.inp)
        out.append(Block(self.w.out, z, f"z{s}",
                         f"{names.indexed(f'z{s}', 'ᵏ', 'ᵢⱼ')} = Σ {wk}"
                         f" ⊙ (the {f}×{f} window of {seen} at i, j){over}"
                         + (f" + {bk}" if self.bias else "")
                         + ": the feature maps",
                         labels(z, f"z{s}", self.w.tag), "signed"))
        return out

    def dx_blocks(self) -> list[Block]:
        w = self.w
        return [Block(w.shown_dx, w.inp, w.dx_symbol,
                      f"{w.dx_symbol}: the error of each input cell, Σ over the windows that"
                      f" saw it of w{names.tag_sup(w.tag)}·δ", labels(w.inp, w.dx_symbol, w.tag),
                      "signed")]

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, C, H, W) -> z (N, K, H', W'); the cache keeps x̃ and every window."""
        seen = ops.pad(x, self.padding) if self.padding else x
        cols = ops.im2col(seen, self.size)
        out = self.output_shape(self.w.inp)
        bias = p[self.bias_name] if self.bias else np.zeros(self.filters)
        z = ops.convolve(cols, p[self.name], bias, (out.height, out.width))
        return z, {"cols": cols, "seen": seen}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        blocks = {self.w.out: y}
        if self.padding:
            blocks[self.pad_name] = cache["seen"]
        return blocks

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """δ (N, K, H', W') -> (∂C/∂x (N, C, H, W) or None, {F: Σ δ·windows, bF: Σ δ})."""
        grads = {self.name: ops.filter_gradient(dy, cache["cols"]).reshape(self.filter_shape())}
        if self.bias:
            grads[self.bias_name] = dy.sum(axis=(0, 2, 3))
        if not self.w.need_dx:
            return None, grads
        flat = p[self.name].reshape(self.filters, -1)
        return ops.filter_back(dy, flat, self.padded.maps(), self.padding), grads

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        n = dy.shape[0]
        grads = {self.name: ops.filter_gradients(dy, cache["cols"]).reshape(
                     n, *self.filter_shape())}
        if self.bias:
            grads[self.bias_name] = ops.map_sum(dy)
        return grads

    # --- Excel ---------------------------------------------------------------------------

    def _seen(self, cells: Cells):
        return cells.out[self.pad_name] if self.padding else cells.x

    def _window(self, cells: Cells, ch: int, i: int, j: int, rows: int, cols: int) -> str:
        """Channel ch's rows × cols window of x̃ at (i, j)."""
        hp = self.padded.height
        return self._seen(cells).span(ch * hp + i, ch * hp + i + rows - 1, j, j + cols - 1)

    def _tile(self, q: int, size: int) -> tuple[int, int]:
        return q * size, q * size + size - 1

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        c, f, p = self.w.inp.channels, self.size, self.padding
        ih, iw = self.w.inp.height, self.w.inp.width
        if self.padding:
            hp, wp = self.padded.height, self.padded.width
            for ch in range(c):
                for i in range(hp):
                    for j in range(wp):
                        inside = p <= i < ih + p and p <= j < iw + p
                        yield self.pad_name, ch * hp + i, j, ops.pad_xl(
                            cells.x.ref(ch * ih + i - p, j - p) if inside else None)
        z = self.output_shape(self.w.inp)
        w, b = cells.params[self.name], cells.params.get(self.bias_name)
        for q in range(self.filters):
            filters = [w.span(*self._tile(q * c + ch, f), 0, f - 1, absolute=True)
                       for ch in range(c)]
            for i in range(z.height):
                for j in range(z.width):
                    yield self.w.out, q * z.height + i, j, ops.convolve_xl(
                        [self._window(cells, ch, i, j, f, f) for ch in range(c)], filters,
                        b.ref(q, absolute=True) if b else None)

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        c, f = self.w.inp.channels, self.size
        z = self.output_shape(self.w.inp)
        delta = cells.dy_area
        for q in range(self.filters):
            d0, d1 = self._tile(q, z.height)
            errors = delta.span(d0, d1, 0, z.width - 1)
            for ch in range(c):
                for u in range(f):
                    for v in range(f):
                        yield self.name, (q * c + ch) * f + u, v, ops.filter_gradient_xl(
                            errors, self._window(cells, ch, u, v, z.height, z.width))
            if self.bias:
                yield self.bias_name, q, 0, ops.map_sum_xl(errors)

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        """Input cell (channel ch, row i, column j): Σ over filters k and offsets (u, v) whose
        window covers it of wᵏchᵤᵥ·δᵏ at the window's position."""
        inp, f, p = self.w.inp, self.size, self.padding
        ch, i = divmod(r, inp.height)
        z = self.output_shape(inp)
        w = cells.params[self.name]
        pairs = []
        for k in range(self.filters):
            for u in range(f):
                for v in range(f):
                    oi, oj = i + p - u, c + p - v
                    if 0 <= oi < z.height and 0 <= oj < z.width:
                        pairs.append((w.ref((k * inp.channels + ch) * f + u, v, absolute=True),
                                      cells.dy(k * z.height + oi, oj)))
        return ops.back_sum_xl(pairs) if pairs else "0"
