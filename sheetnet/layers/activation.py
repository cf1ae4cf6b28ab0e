"""An activation layer: a = σ(z) elementwise, and δ = ∂C/∂z = ∂C/∂a ⊙ σ'(z) back.

It follows a dense or convolution layer (or pooling) and takes that layer's tag: after ``z2`` it
makes ``a2`` and its backward pass makes δ² (``delta2``). Its backward reads ∂C/∂a once per cell,
so the dense layer after it hands it over inline: the book's δ² = (Σⱼ w³ⱼᵢδ³ⱼ)·σ'(z²) is one
formula, not two.
"""

from __future__ import annotations

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
    Elementwise,
    Formula,
    Wiring,
    labels,
)
from sheetnet.pairs import ops
from sheetnet.pairs.activations import ACTIVATIONS, Activation
from sheetnet.pairs.outputs import FUSED_ONLY_ACTIVATIONS


@dataclass(frozen=True)
class ActivationLayer(Elementwise):
    act: Activation
    w: Wiring = UNBOUND
    kind = "activation"
    prefix = "a"
    takes_inline_dy = True
    activation = True

    @property
    def name(self) -> str:
        return self.act.name

    @property
    def token(self) -> str:
        return self.act.name

    @classmethod
    def parse(cls, item: str) -> ActivationLayer | None:
        """An activation's name."""
        if item in FUSED_ONLY_ACTIVATIONS:
            raise SheetnetError(f"--arch: {item} is an output layer's activation; end the stack"
                                f" with dense N and add --output-activation {item}")
        return cls(ACTIVATIONS[item]) if item in ACTIVATIONS else None

    @property
    def settings(self) -> tuple[tuple[str, float], ...]:  # type: ignore[override]
        return self.act.settings

    @property
    def unit_interval(self) -> bool:  # type: ignore[override]
        return self.act.unit_interval

    def guide_lines(self) -> list[str]:
        return [self.act.guide_line()]

    def tune(self, values: Mapping[str, float]) -> ActivationLayer:
        return replace(self, act=self.act.tune(values))

    def blocks(self) -> list[Block]:
        w = self.w
        s = names.tag_sup(w.tag)
        maps = not w.inp.flat
        return [Block(w.out, w.inp, f"a{s}",
                      f"a{s} = {self.act.name}({w.x_symbol}): the layer's outputs",
                      labels(w.inp, f"a{s}", w.tag), "picture" if maps else None)]

    def dx_blocks(self) -> list[Block]:
        """δ = ∂C/∂z, when it is shown."""
        w = self.w
        s = names.tag_sup(w.tag)
        d, x = w.dx_symbol, w.x_symbol
        what = f"the neural unit errors of {x}" if w.x_prefix == "z" else f"∂C/∂{x}"
        prime = "σ'" if self.act.name == "sigmoid" else f"{self.act.name}'"  # the book's σ'
        return [Block(w.shown_dx, w.inp, d, f"{d} = ∂C/∂a{s} ⊙ {prime}({x}): {what}",
                      labels(w.inp, d, w.tag), None if w.inp.flat else "signed")]

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """z (N, …) -> a = σ(z) (N, …)."""
        a = self.act.value(x)
        return a, {"z": x, "a": a}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {self.w.out: y}

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """∂C/∂a (N, …) -> δ = ∂C/∂a ⊙ σ'(z) (N, …); no parameters."""
        return ops.hidden_error(dy, self.act, cache["z"], cache["a"]), {}

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        a = self.w.out
        for r in range(cells.x.rows):
            for c in range(cells.x.cols):
                yield a, r, c, self.act.excel_value(cells.x.ref(r, c))

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        return ops.hidden_error_xl(cells.dy(r, c), self.act, cells.x.ref(r, c),
                                   cells.out[self.w.out].ref(r, c))

