"""A transformer's position-wise MLP with its residual sum, ``mlp F`` (``mlp F ln``: pre-norm):

    zᵐₜ = W₁·ℓₜ + b₁,   mₜ = relu(zᵐₜ),   outₜ = yₜ + W₂·mₜ + b₂     (W₁: F×D, W₂: D×F)

with ℓₜ = LN₂(yₜ) under ``ln``, else yₜ itself; and back, from ∂C/∂outₜ:

    ∂C/∂mₜ = W₂ᵀ·∂C/∂outₜ,   ∂C/∂zᵐₜ = ∂C/∂mₜ ⊙ relu′(zᵐₜ),   ∂C/∂ℓₜ = W₁ᵀ·∂C/∂zᵐₜ
    ∂C/∂yₜ = ∂C/∂outₜ + ∂C/∂ℓₜ (through LN₂ with ``ln``)

the weighted sums, relu and the back sums being the dense layer's and the activation's own
(``pairs/ops.py``, ``pairs/activations.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass

import numpy as np

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
)
from sheetnet.layers.layernorm import EPSILON
from sheetnet.layers.prenorm import PreNormed, outer_sum
from sheetnet.notation import grid
from sheetnet.pairs import ops
from sheetnet.pairs.activations import RELU


@dataclass(frozen=True)
class FeedForward(PreNormed, LayerBase):  # type: ignore[override]  # settings
    units: int
    layer_norm: bool = False
    epsilon: float = EPSILON
    w: Wiring = UNBOUND
    kind = "mlp"
    prefix = "out"
    number = 2
    sent_back = "dmlp"
    once = True
    follows = ("attention",)
    follows_text = ("attention",)

    @property
    def token(self) -> str:
        return f"mlp {self.units}" + (" ln" if self.layer_norm else "")

    @classmethod
    def parse(cls, item: str) -> FeedForward | None:
        """``mlp F`` or ``mlp F ln``."""
        match = re.fullmatch(r"mlp(?: (\d+))?( ln)?", item)
        if match is None:
            return None
        if match.group(1) is None or int(match.group(1)) < 1:
            raise SheetnetError(f"--arch: {item} needs its hidden units F of at least 1, e.g."
                                " mlp 32")
        return cls(int(match.group(1)), bool(match.group(2)))

    def output_shape(self, inp: Shape) -> Shape:
        if not inp.steps:
            raise SheetnetError(f"{self.token} is a transformer's: give it a text (--net"
                                " attention)")
        return inp

    @property
    def error_symbol(self) -> str:
        return "∂C/∂outₜ"

    def guide_lines(self) -> list[str]:
        reads = "LN₂(yₜ)" if self.layer_norm else "yₜ"
        return [f"The MLP ({self.token}): zᵐₜ = W₁·ℓₜ + b₁ with ℓₜ = {reads}, mₜ ="
                " MAX(0, zᵐₜ), outₜ = yₜ + W₂·mₜ + b₂; going back, ∂C/∂yₜ = ∂C/∂outₜ + what"
                " W₁ sends back.", *self.norm_guide_lines()]

    def numbers(self) -> int:
        return self.steps * (4 * self.units + 4 * self.d) + self.norm_numbers()

    # --- parameters and blocks -------------------------------------------------------------

    def params(self) -> list[Param]:
        d, f = self.d, self.units
        out = [
            Param("W1", (f, d), f * d, weight=True, fan_in=d, fan_out=f, symbol="W₁",
                  description="W₁: the hidden units' weights (row i: unit i's on the D inputs)",
                  make_labels=lambda: grid("W₁", f, d),
                  make_tile_labels=lambda: tuple(enumerate(grid("W₁", f, d)))),
            Param("b1", (f,), f, weight=False, fan_in=d, symbol="b₁",
                  description="b₁: the hidden units' biases",
                  make_labels=lambda: tuple(f"b₁[{i + 1}]" for i in range(f)),
                  make_tile_labels=lambda: tuple((i, f"b₁[{i + 1}]") for i in range(f))),
            Param("W2", (d, f), d * f, weight=True, fan_in=f, fan_out=d, symbol="W₂",
                  description="W₂: the outputs' weights (row i: output i's on the F hidden"
                              " units)",
                  make_labels=lambda: grid("W₂", d, f),
                  make_tile_labels=lambda: tuple(enumerate(grid("W₂", d, f)))),
            Param("b2", (d,), d, weight=False, fan_in=f, symbol="b₂",
                  description="b₂: the outputs' biases",
                  make_labels=lambda: tuple(f"b₂[{i + 1}]" for i in range(d)),
                  make_tile_labels=lambda: tuple((i, f"b₂[{i + 1}]") for i in range(d)))]
        return out + self.norm_params()

    def _block(self, name: str, rows: int, symbol: str, text: str) -> Block:
        """A row a unit, a column a step."""
        return Block(name, Shape.sequence(rows, self.steps), symbol, text,
                     tuple((r, f"unit {r + 1}") for r in range(rows)))

    def blocks(self) -> list[Block]:
        f, d = self.units, self.d
        reads = "ln²ₜ" if self.layer_norm else f"{self.w.x_symbol}ₜ"
        return [*self.norm_blocks(),
                self._block("zm", f, "zᵐₜ", f"zᵐₜ = W₁·{reads} + b₁: the hidden units'"
                            " weighted inputs"),
                self._block("m", f, "mₜ", "mₜ = relu(zᵐₜ) = MAX(0, zᵐₜ)"),
                self._block(self.w.out, d, "outₜ", f"outₜ = {self.w.x_symbol}ₜ + W₂·mₜ + b₂: the"
                            " residual sum")]

    def error_blocks(self) -> list[Block]:
        f, d = self.units, self.d
        return [self._block("dm", f, "∂C/∂mₜ", "∂C/∂mₜ = W₂ᵀ·∂C/∂outₜ"),
                self._block("dzm", f, "∂C/∂zᵐₜ", "∂C/∂zᵐₜ = ∂C/∂mₜ ⊙ relu′(zᵐₜ)"),
                self._block("dmlp", d, "∂C/∂ℓ²ₜ", "∂C/∂ℓ²ₜ = W₁ᵀ·∂C/∂zᵐₜ: what the MLP sends"
                            " back to what it read (ℓ²ₜ: "
                            + ("ln²ₜ)" if self.layer_norm else "yₜ itself)")),
                *self.norm_error_blocks()]

    def dx_blocks(self) -> list[Block]:
        return [self.residual_dx_block("∂C/∂outₜ", "the MLP's")]

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """y (N, T, D) -> out (N, T, D)."""
        read, cache = self.read(x, p)
        zm = ops.weighted_input(read, p["W1"], p["b1"])
        m = RELU.value(zm)
        out = x + ops.weighted_input(m, p["W2"], p["b2"])
        return out, {**cache, "x": x, "read": read, "zm": zm, "m": m}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {**self.norm_shown(cache), "zm": cache["zm"], "m": cache["m"], self.w.out: y}

    def _errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
        dm = ops.back_sum(dy, p["W2"])
        dzm = ops.hidden_error(dm, RELU, cache["zm"], cache["m"])
        return {"dm": dm, "dzm": dzm, "dmlp": ops.back_sum(dzm, p["W1"])}


    def _own_grads(self, dy: np.ndarray, cache: Cache, e: Mapping[str, np.ndarray],
                   per_window: bool) -> dict[str, np.ndarray]:
        """W₁'s and W₂'s Σₜ errorₜ·inputₜᵀ, the biases' Σₜ errorₜ: each window's, or their
        sum."""
        over = 1 if per_window else (0, 1)
        return {"W1": outer_sum(e["dzm"], cache["read"], per_window),
                "b1": e["dzm"].sum(axis=over),
                "W2": outer_sum(dy, cache["m"], per_window), "b2": dy.sum(axis=over)}


    # --- Excel ---------------------------------------------------------------------------

    def _row(self, cells: Cells, name: str, i: int, size: int) -> str:
        """Row i of a weight matrix of ``size`` columns, drawn as a column of cells."""
        return cells.params[name].span(i * size, i * size + size - 1, absolute=True)

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        norm, d, f, out = self.norm, self.d, self.units, cells.out
        if norm is not None:
            yield from norm.forward_xl(cells)
        read, zm, m = self.read_cells(cells), out["zm"], out["m"]
        b1, b2 = cells.params["b1"], cells.params["b2"]
        for t in range(self.steps):
            for i in range(f):
                yield "zm", i, t, ops.weighted_input_xl(self._row(cells, "W1", i, d),
                                                        read.span(0, d - 1, t, t),
                                                        b1.ref(i, absolute=True))
                yield "m", i, t, RELU.excel_value(zm.ref(i, t))
            for i in range(d):
                yield self.w.out, i, t, (f"{cells.x.ref(i, t)}+" + ops.weighted_input_xl(
                    self._row(cells, "W2", i, f), m.span(0, f - 1, t, t),
                    b2.ref(i, absolute=True)))

    def errors_xl(self, cells: Cells) -> Iterator[Formula]:
        d, f, out = self.d, self.units, cells.out
        w1, w2 = cells.params["W1"], cells.params["W2"]
        for t in range(self.steps):
            for i in range(f):
                yield "dm", i, t, ops.back_sum_xl([(w2.ref(j * f + i, absolute=True),
                                                    cells.dy(j, t)) for j in range(d)])
                yield "dzm", i, t, ops.hidden_error_xl(out["dm"].ref(i, t), RELU,
                                                       out["zm"].ref(i, t), out["m"].ref(i, t))
            for j in range(d):
                yield "dmlp", j, t, ops.back_sum_xl([(w1.ref(i * d + j, absolute=True),
                                                      out["dzm"].ref(i, t)) for i in range(f)])
        yield from self.norm_errors_xl(cells)

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        d, f, last, out = self.d, self.units, self.steps - 1, cells.out
        read, dy = self.read_cells(cells), cells.dy_area
        for i in range(f):
            errors = out["dzm"].span(i, i, 0, last)
            for j in range(d):
                yield "W1", i * d + j, 0, ops.step_sum_xl(errors, read.span(j, j, 0, last))
            yield "b1", i, 0, ops.step_sum_xl(errors)
        for i in range(d):
            errors = dy.span(i, i, 0, last)
            for j in range(f):
                yield "W2", i * f + j, 0, ops.step_sum_xl(errors, out["m"].span(j, j, 0, last))
            yield "b2", i, 0, ops.step_sum_xl(errors)
        yield from self.norm_grads_xl(cells)
