"""A dense (fully connected) layer: zⱼ = Σᵢ wⱼᵢxᵢ + bⱼ, the book's weighted input.

Forward, zˡ = Wˡaˡ⁻¹ + bˡ for every image at once (one matrix product); backward, with
δ = ∂C/∂z: ∂C/∂W = δ·xᵀ and ∂C/∂b = δ (summed over the images in one product), and
∂C/∂x = Wᵀδ, which the book writes out term by term, Σⱼ wⱼᵢδⱼ.

In the cells each unit's weights are drawn in the shape of the input: a column of m cells after
a column of units (w²ⱼᵢ), the pooled maps' tiles after a CNN's pooling (wᴼ), so
zⱼ = SUMPRODUCT(unit j's weights, the input) + bⱼ reads the two areas cell for cell. An input of
maps is flattened channel by channel, each row by row.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

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
from sheetnet.notation import indices, sub
from sheetnet.pairs import ops


@dataclass(frozen=True)
class Dense(LayerBase):
    units: int
    bias: bool = True
    w: Wiring = UNBOUND
    kind = "dense"  # δ is read by every weight's gradient: it must be a block (not inline)
    weighted = True

    @property
    def token(self) -> str:
        return f"dense {self.units}" + ("" if self.bias else " nobias")

    @classmethod
    def parse(cls, item: str) -> Dense | None:
        """``dense N [nobias]``."""
        match = re.fullmatch(r"dense (\d+)( nobias)?", item)
        if match is None:
            return None
        if int(match.group(1)) < 1:
            raise SheetnetError(f"--arch: {item} needs at least 1 unit")
        return cls(int(match.group(1)), bias=match.group(2) is None)

    def output_shape(self, inp: Shape) -> Shape:
        return Shape.sequence(self.units, inp.steps) if inp.steps else Shape.units(self.units)


    @property
    def weights(self) -> str:
        return self.w.named("W", names.weights(self.w.tag))

    @property
    def bias_name(self) -> str:
        return self.w.named("b", names.bias(self.w.tag))

    @property
    def steps(self) -> int:
        """T when it reads a sequence (each step's units through the same weights), else 0."""
        return self.w.inp.steps

    def params(self) -> list[Param]:
        one, n, s = self.w.inp.step, self.units, names.tag_sup(self.w.tag)
        m = one.size
        w, b = self.w.named("w", f"w{s}"), self.w.named("b_symbol", f"b{s}")
        step = " at each step" if self.steps else ""
        out = [Param(self.weights, (n, m), n * one.rows, one.cols,
                     0 if one.flat else one.height, weight=True, fan_in=m, fan_out=n,
                     symbol=w,
                     description=f"{w}ⱼᵢ: unit j's weight on input i ({self.w.x_symbol}{step},"
                                 " in its shape)",
                     make_labels=lambda: self._weight_labels(w),
                     make_tile_labels=lambda: self._weight_tiles(w),
                     colour=None if one.flat else "signed")]
        if self.bias:
            out.append(Param(self.bias_name, (n,), n, weight=False, fan_in=m, symbol=b,
                             description=f"{b}ⱼ: unit j's bias",
                             make_labels=lambda: tuple(f"{b}{sub(j + 1)}" for j in range(n)),
                             make_tile_labels=lambda: tuple((j, f"{b}{sub(j + 1)}")
                                                            for j in range(n))))
        return out

    def _weight_labels(self, w: str) -> tuple[str, ...]:
        inp = self.w.inp.step
        if inp.flat:
            return tuple(f"{w}{indices(j + 1, i + 1)}" for j in range(self.units)
                         for i in range(inp.size))
        ch = inp.tiled
        return tuple(f"{w}{sub(j + 1)},{sub(c + 1) if ch else ''}{sub(r + 1)}{sub(q + 1)}"
                     for j in range(self.units) for c in range(inp.channels)
                     for r in range(inp.height) for q in range(inp.width))

    def _weight_tiles(self, w: str) -> tuple[tuple[int, str], ...]:
        inp = self.w.inp.step
        if inp.flat:
            return tuple(enumerate(self._weight_labels(w)))
        per = inp.channels if inp.tiled else 1
        what = "channel" if self.w.x == "x" else "filter"  # an image's channels, or the maps
        return tuple(((j * per + c) * inp.height,  # of a convolution's filters
                      f"{w}{sub(j + 1)} · {what} {c + 1}" if inp.tiled else f"{w}{sub(j + 1)}")
                     for j in range(self.units) for c in range(per))

    @property
    def symbol_prefix(self) -> str:
        return self.w.named("z", self.prefix)

    def blocks(self) -> list[Block]:
        s, x = names.tag_sup(self.w.tag), self.w.x_symbol
        at = "ₜ" if self.steps else ""
        w, z_ = self.w.named("w", f"w{s}"), self.w.named("z", f"z{s}") + at
        plus_b = f" + {self.w.named('b_symbol', f'b{s}')}" if self.bias else ""
        z = self.output_shape(self.w.inp)
        each = ", at each step t" if self.steps else ""
        return [Block(self.w.out, z, z_,
                      f"{z_} = {w}·{x}{at}{plus_b}: the layer's weighted inputs{each}",
                      labels(z, z_))]

    def dx_blocks(self) -> list[Block]:
        w = self.w
        s = names.tag_sup(w.tag)
        ws = w.named("w", f"w{s}")
        # its error: δ, or ∂C/∂oₜ for a text's output scores
        d = f"∂C/∂{w.named('z', 'z')}ₜ," if "z" in dict(w.names) else f"δ{s}"
        at = " at each step t" if self.steps else ""
        return [Block(w.shown_dx, w.inp, w.dx_symbol,
                      f"{w.dx_symbol} = Σⱼ {ws}ⱼᵢ·{d}ⱼ: the error of each input"
                      f" {w.x_symbol}ᵢ{at}",
                      tuple((r, f"unit {r + 1}") for r in range(w.inp.height)) if self.steps
                      else labels(w.inp, w.dx_symbol, w.tag))]

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, m) or (N, C, H, W), flattened -> z (N, n); a sequence x (N, T, m) -> z (N, T, n).
        Parameter sets stacked on a leading axis (W (S, n, m), b (S, n)) give z (S, N, n): the
        gradient check moves weights so."""
        flat = x if self.w.inp.flat else x.reshape(x.shape[0], -1)
        bias = p[self.bias_name] if self.bias else 0.0
        if self.steps:  # every window's every step in one matrix product
            z = ops.weighted_input(flat.reshape(-1, flat.shape[-1]), p[self.weights], bias)
            return z.reshape(*flat.shape[:-1], self.units), {"x": flat}
        return ops.weighted_input(flat, p[self.weights], bias), {"x": flat}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {self.w.out: y}

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """δ (N, n) -> (Wᵀδ (N, *input) or None, {W: δᵀx (n, m), b: Σ δ (n,)}); a sequence's
        δ (N, T, n) gives the same summed over its steps too."""
        if self.steps:  # each window's own over its steps, then Σ over the windows
            grads = {k: v.sum(axis=0) for k, v in self.per_image(dy, cache, p).items()}
        else:
            grads = {self.weights: dy.T @ cache["x"]}
            if self.bias:
                grads[self.bias_name] = dy.sum(axis=0)
        if not self.w.need_dx:
            return None, grads
        dx = ops.back_sum(dy.reshape(-1, self.units), p[self.weights])
        return dx.reshape(dy.shape[0], *self.w.inp.computed()), grads

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        if self.steps:  # each window's own, summed over its steps
            grads = {self.weights: np.einsum("ntj,nti->nji", dy, cache["x"])}
            if self.bias:
                grads[self.bias_name] = dy.sum(axis=1)
            return grads
        grads = {self.weights: ops.weight_gradient(dy, cache["x"])}
        if self.bias:
            grads[self.bias_name] = dy
        return grads

    # --- Excel ---------------------------------------------------------------------------

    def _unit(self, cells: Cells, j: int) -> str:
        """Unit j's weights: a copy of the input's footprint (its rows, blank rows included;
        one step's column of a sequence)."""
        rows, cols = self.w.inp.step.rows, self.w.inp.step.cols
        w = cells.params[self.weights]
        return w.span(j * rows, j * rows + rows - 1, 0, cols - 1, absolute=True)

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        x, inp = cells.x, self.w.inp
        b = cells.params.get(self.bias_name)
        for t in range(max(self.steps, 1)):  # a sequence: each step's column alone
            read = (x.span(0, inp.rows - 1, t, t) if self.steps
                    else x.span(0, inp.rows - 1, 0, inp.cols - 1))
            for j in range(self.units):
                yield self.w.out, j, t, ops.weighted_input_xl(
                    self._unit(cells, j), read, b.ref(j, absolute=True) if b else None)

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        if self.steps:
            yield from self._sequence_grads_xl(cells)
            return
        rows, cols = self.w.inp.rows, self.w.inp.cols
        for j in range(self.units):
            d = cells.dy(j, 0)
            for r in range(rows):
                for c in range(cols):
                    yield self.weights, j * rows + r, c, ops.weight_gradient_xl(
                        d, cells.x.ref(r, c))
            if self.bias:
                yield self.bias_name, j, 0, d

    def _sequence_grads_xl(self, cells: Cells) -> Iterator[Formula]:
        """A window's ∂C/∂wⱼᵢ = Σₜ δⱼ,ₜ·xᵢ,ₜ: SUMPRODUCT of δⱼ's row with xᵢ's across the
        steps; ∂C/∂bⱼ = Σₜ δⱼ,ₜ."""
        m, last = self.w.inp.height, self.steps - 1
        dy = cells.dy_area
        for j in range(self.units):
            d = dy.span(j, j, 0, last)
            for i in range(m):
                yield self.weights, j * m + i, 0, ops.step_sum_xl(d, cells.x.span(i, i, 0, last))
            if self.bias:
                yield self.bias_name, j, 0, ops.step_sum_xl(d)

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        rows = self.w.inp.step.rows
        w = cells.params[self.weights]
        # a sequence: the same weights at every step c, against step c's δ; maps: the
        # weights' column c, against the column of δ
        col, step = (0, c) if self.steps else (c, 0)
        return ops.back_sum_xl([(w.ref(j * rows + r, col, absolute=True), cells.dy(j, step))
                                for j in range(self.units)])
