"""The output layer fused with the cost: zᴸ -> aᴸ, each image's C (and whether it is classified
right), and δᴸ = ∂C/∂zᴸ, from an ``OutputLayer`` pair (``pairs/outputs.py``).

It closes every stack, after the last dense layer, and takes its tag: a³, δ³ after z³ (the
book's mlp), aᴼ, δᴼ after zᴼ (its CNN). C_T and the accuracy are totals over the images, which
the workbook's layout writes beside them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from sheetnet import notation as names
from sheetnet.errors import SheetnetError
from sheetnet.layers.base import UNBOUND, Block, Cells, Formula, Shape, Wiring, labels
from sheetnet.pairs import ops
from sheetnet.pairs.outputs import OutputLayer


@dataclass(frozen=True)
class Output:
    pair: OutputLayer
    accuracy: bool = True  # False for targets that are measurements: nothing to classify
    w: Wiring = UNBOUND
    kind = "output"

    def output_shape(self, inp: Shape) -> Shape:
        if not inp.flat:
            raise SheetnetError("the output layer needs a dense layer before it; end the"
                                " stack with dense N (N: the number of classes)")
        return inp

    def bind(self, w: Wiring) -> Output:
        return replace(self, w=w)

    @property
    def units(self) -> int:
        return self.w.inp.height

    @property
    def a(self) -> str:
        return names.a(self.w.tag)

    @property
    def delta(self) -> str:
        return names.delta(self.w.tag)

    def blocks(self, values: bool = False) -> list[Block]:
        """a, C and correct (per image); ``values``: targets are values, not classes."""
        s, k = names.tag_sup(self.w.tag), self.units
        units = Shape.units(k)
        one = Shape.units(1)
        out = [Block(self.a, units, f"a{s}", f"a{s} = {self.pair.activation}(z{s}): the"
                     " outputs", labels(units, f"a{s}")),
               Block("C", one, "C", f"{self.pair.formula.replace('a ', f'a{s} ', 1)}: the cost"
                     " of each image", ((0, self.pair.label),))]
        if self.accuracy:
            out.append(Block("correct", one, "correct",
                             "1 where the output is within 0.5 of the target, else 0" if k == 1
                             else "1 where the largest output is the target class, else 0",
                             ((0, "1 if right"),)))
        return out

    def delta_block(self) -> Block:
        s = names.tag_sup(self.w.tag)
        units = Shape.units(self.units)
        return Block(self.delta, units, f"δ{s}", f"δ{s}ₖ = {self.pair.delta_text}: the output"
                     " layer's neural unit errors", labels(units, f"δ{s}"))

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, z: np.ndarray, t: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """z, t (N, K) -> {a (N, K), C (N,), correct (N,)}; n: the data's images (MSE's N)."""
        a = self.pair.forward(z)
        out = {self.a: a, "C": self.pair.cost(z, a, t, n)}
        if self.accuracy:
            out["correct"] = (ops.correct if self.units > 1 else ops.near)(a, t)
        return out

    def backward(self, z: np.ndarray, a: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
        """δᴸ = ∂C/∂zᴸ: (N, K)."""
        return self.pair.delta(z, a, t, n)

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, cells: Cells, n: int) -> Iterator[Formula]:
        """aₖ, C and correct for the current image (``cells.out`` holds a, C, correct and t)."""
        z, a, t = cells.x, cells.out[self.a], cells.out["t"]
        k = self.units
        zs, as_, ts = ([p.ref(j) for j in range(k)] for p in (z, a, t))
        for j in range(k):
            yield self.a, j, 0, self.pair.forward_xl(zs, j)
        yield "C", 0, 0, self.pair.cost_xl(zs, as_, ts, n)
        if self.accuracy:
            yield "correct", 0, 0, (ops.correct_xl(a.span(0, k - 1), t.span(0, k - 1)) if k > 1
                                    else ops.near_xl(as_[0], ts[0]))

    def delta_xl(self, cells: Cells, n: int) -> Iterator[Formula]:
        z, a, t = cells.x, cells.out[self.a], cells.out["t"]
        zs, as_, ts = ([p.ref(j) for j in range(self.units)] for p in (z, a, t))
        for j in range(self.units):
            yield self.delta, j, 0, self.pair.delta_xl(zs, as_, ts, j, n)


def describe_totals(accuracy: bool, units: int) -> dict[str, str]:
    """What the totals beside the output layer are."""
    out = {"C_T": "C_T: the total cost, Σ of C over the images"}
    if accuracy:
        out["accuracy"] = ("share of images classified right" if units > 1 else
                           "share of outputs within 0.5 of their target")
    return out

