"""The output layer fused with the cost: zᴸ -> aᴸ, each image's C (and whether it is classified
right), and δᴸ = ∂C/∂zᴸ, from an ``OutputLayer`` pair (``pairs/outputs.py``).

It closes every stack, after the last dense layer, and takes its tag: a³, δ³ after z³ (the
book's mlp), aᴼ, δᴼ after zᴼ (its CNN). C_T and the accuracy are totals over the images, which
the workbook's layout writes beside them. After a sequence (a text's windows) it acts at every
step: each step's cost Cₜ, and a window's C = Σₜ Cₜ.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

import numpy as np

from sheetnet import notation as names
from sheetnet.errors import SheetnetError
from sheetnet.layers.base import UNBOUND, Block, Cells, Formula, Shape, Wiring, labels
from sheetnet.notation import Words
from sheetnet.pairs import ops
from sheetnet.pairs.outputs import OutputLayer


@dataclass(frozen=True)
class Output:
    pair: OutputLayer
    accuracy: bool = True  # False for targets that are measurements: nothing to classify
    w: Wiring = UNBOUND
    predictions: bool = True  # after a sequence: each step's character read and predicted
    # (False: as a workbook of format 4 laid it out, without them)
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
    def steps(self) -> int:
        """T after a sequence (a cost at every step), else 0."""
        return self.w.inp.steps

    @property
    def predicts(self) -> bool:
        """It shows each step's character read and predicted (a text's classes)."""
        return self.predictions and self.steps > 0 and self.units > 1

    @property
    def a(self) -> str:
        return self.w.named("a", names.a(self.w.tag))

    @property
    def delta(self) -> str:
        return self.w.named("delta", names.delta(self.w.tag))

    @property
    def symbols(self) -> tuple[str, str, str]:
        """(its input's letter, a's, δ's): z³, a³, δ³; a text's oₜ, aₜ, ∂C/∂oₜ."""
        s = names.tag_sup(self.w.tag)
        if self.steps:
            return f"{self.w.x_prefix}ₜ", "aₜ", f"∂C/∂{self.w.x_prefix}ₜ"
        return f"z{s}", f"a{s}", f"δ{s}"

    def target_shape(self) -> Shape:
        """t's shape: a column of K (at every step of a sequence)."""
        return self.w.inp

    def blocks(self, values: bool = False) -> list[Block]:
        """a, (each step's cost Cₜ,) C and correct, per image; ``values``: targets are values,
        not classes."""
        z, a, _ = self.symbols
        units, k = self.w.inp, self.units
        one = Shape.units(1)
        each = Shape.timeline(self.steps) if self.steps else one
        out = [Block(self.a, units, a, f"{a} = {self.pair.activation}({z}): the outputs",
                     labels(units, a))]
        if self.predicts:  # what the window reads and what the net makes of it
            out += [Block("read", each, "readₜ", "the character xₜ is (read off the"
                          " vocabulary)", ((0, "character xₜ"),), text=True, shows="x"),
                    Block("predicted", each, "ŷₜ", f"ŷₜ: the vocabulary's index of the largest"
                          f" {a} (the character predicted next)", ((0, f"index of max {a}"),)),
                    Block("guess", each, "nextₜ", "the character predicted next (the"
                          " vocabulary's ŷₜ-th)", ((0, "character ŷₜ"),), text=True,
                          shows="predicted"),
                    Block("p_predicted", each, "p(ŷₜ)", f"p(ŷₜ) = max {a}: the probability"
                          " the net gives the character it predicts", ((0, f"max {a}"),))]
        if self.steps:
            out.append(Block("C_step", each, "Cₜ", f"Cₜ = {self.pair.label} over step t's"
                             f" outputs {a}: the cost of step t", ((0, self.pair.label),)))
            out.append(Block("C", one, "C", "C = Σₜ Cₜ: the window's cost", ((0, "Σₜ Cₜ"),)))
        else:
            out.append(Block("C", one, "C", f"{self.pair.formula.replace('a ', f'{a} ', 1)}:"
                             " the cost of each image", ((0, self.pair.label),)))
        if self.accuracy:
            out.append(Block("correct", each, "correct",
                             "1 where the output is within 0.5 of the target, else 0" if k == 1
                             else "1 where the largest output is the target class, else 0",
                             ((0, "1 if right"),)))
        return out

    def delta_block(self) -> Block:
        z, _, d = self.symbols
        units = self.w.inp
        what = "the output layer's neural unit errors" if not self.steps else f"∂C/∂{z}"
        return Block(self.delta, units, d, f"{d}ₖ = {self.pair.delta_text}: {what}",
                     labels(units, d))

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, z: np.ndarray, t: np.ndarray, n: int) -> dict[str, np.ndarray]:
        """z, t (N, K) -> {a (N, K), C (N,), correct (N,)}; n: the data's images (MSE's N).
        After a sequence, z, t (N, T, K) -> a (N, T, K), C_step (N, T), C (N,) and correct
        (N, T)."""
        a = self.pair.forward(z)
        cost = self.pair.cost(z, a, t, n)
        out = ({self.a: a, "C_step": cost, "C": cost.sum(axis=-1)} if self.steps
               else {self.a: a, "C": cost})
        if self.predicts:
            out.update(predicted=ops.predicted(a), p_predicted=ops.largest(a))
        if self.accuracy:
            out["correct"] = (ops.correct if self.units > 1 else ops.near)(a, t)
        return out

    def backward(self, z: np.ndarray, a: np.ndarray, t: np.ndarray, n: int) -> np.ndarray:
        """δᴸ = ∂C/∂zᴸ: (N, K)."""
        return self.pair.delta(z, a, t, n)

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, cells: Cells, n: int) -> Iterator[Formula]:
        """aₖ, C and correct for the current image (``cells.out`` holds a, C, correct and t);
        after a sequence, at every step, and C the sum of the steps' costs."""
        z, a, t = cells.x, cells.out[self.a], cells.out["t"]
        k = self.units
        for step in range(max(self.steps, 1)):
            zs, as_, ts = ([p.ref(j, step) for j in range(k)] for p in (z, a, t))
            for j in range(k):
                yield self.a, j, step, self.pair.forward_xl(zs, j)
            if self.predicts:
                yield from self._characters_xl(cells, step)
            yield ("C_step" if self.steps else "C"), 0, step, self.pair.cost_xl(zs, as_, ts, n)
            if self.accuracy:
                yield "correct", 0, step, (
                    ops.correct_xl(a.span(0, k - 1, step, step), t.span(0, k - 1, step, step))
                    if k > 1 else ops.near_xl(as_[0], ts[0]))
        if self.steps:
            yield "C", 0, 0, f"SUM({cells.out['C_step'].span(0, 0, 0, self.steps - 1)})"

    def _characters_xl(self, cells: Cells, step: int) -> Iterator[Formula]:
        """Step t's character read, the index and character predicted, and its probability
        (``cells.out``: the window's one-hot input "x" and the "vocabulary" on Inputs)."""
        k = self.units
        column = cells.out[self.a].span(0, k - 1, step, step)
        vocabulary = cells.out["vocabulary"].span(0, k - 1, absolute=True, sheet=cells.sheet)
        read = ops.one_hot_index_xl(cells.out["x"].span(0, k - 1, step, step))
        yield "read", 0, step, ops.entry_xl(vocabulary, read)
        yield "predicted", 0, step, ops.predicted_xl(column)
        yield "guess", 0, step, ops.entry_xl(vocabulary, cells.out["predicted"].ref(0, step))
        yield "p_predicted", 0, step, ops.largest_xl(column)

    def delta_xl(self, cells: Cells, n: int) -> Iterator[Formula]:
        z, a, t = cells.x, cells.out[self.a], cells.out["t"]
        for step in range(max(self.steps, 1)):
            zs, as_, ts = ([p.ref(j, step) for j in range(self.units)] for p in (z, a, t))
            for j in range(self.units):
                yield self.delta, j, step, self.pair.delta_xl(zs, as_, ts, j, n)


def describe_totals(accuracy: bool, units: int, words: Words) -> dict[str, str]:
    """What the totals beside the output layer are (``words``: how the data's parts are
    named)."""
    out = {"C_T": f"C_T: the total cost, Σ of C over the {words.items}"}
    if accuracy:
        out["accuracy"] = (f"share of next {words.element}s predicted right"
                           if words.item == "window" else
                           f"share of {words.items} classified right" if units > 1 else
                           "share of outputs within 0.5 of their target")
    return out

