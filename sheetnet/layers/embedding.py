"""A character embedding with learned positions, ``embed D``: the first layer of a transformer
on a text. Each step's one-hot character xₜ (V rows) becomes a column of D numbers,

    eₜ = E[cₜ] + Pos[t]          (E: V×D, a row per character; Pos: T×D, a row per position)

where cₜ is the character xₜ is (the row of its 1). Going back, with ∂C/∂eₜ from the layer above:

    ∂C/∂E[c] = Σ over the steps t that read c of ∂C/∂eₜ = Σₜ xₜ,c·∂C/∂eₜ,   ∂C/∂Pos[t] = ∂C/∂eₜ

In the cells eₜ,d is ``INDEX`` of E at the character's row (``MATCH(1, xₜ, 0)``), plus Pos[t, d];
a window's ∂C/∂E is a SUMPRODUCT of xₜ's row with ∂C/∂eₜ's across the steps, as a recurrent
layer's input weights are.
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
from sheetnet.notation import grid
from sheetnet.pairs import ops


@dataclass(frozen=True)
class Embedding(LayerBase):
    size: int
    w: Wiring = UNBOUND
    kind = "embed"
    prefix = "e"
    leads = True  # it reads the characters themselves

    @property
    def token(self) -> str:
        return f"embed {self.size}"

    @classmethod
    def parse(cls, item: str) -> Embedding | None:
        """``embed D``."""
        match = re.fullmatch(r"embed(?: (\d+))?", item)
        if match is None:
            return None
        if match.group(1) is None or int(match.group(1)) < 1:
            raise SheetnetError(f"--arch: {item} needs its size D of at least 1, e.g. embed 16")
        return cls(int(match.group(1)))

    def output_shape(self, inp: Shape) -> Shape:
        if not inp.steps:
            raise SheetnetError(f"{self.token} reads a text's characters: give it a text"
                                " (--net attention, --text FILE), or leave it out")
        return Shape.sequence(self.size, inp.steps)

    @property
    def steps(self) -> int:
        return self.w.inp.steps

    @property
    def vocab(self) -> int:
        return self.w.inp.height

    @property
    def error_name(self) -> str:
        return f"dC_d{self.w.out}"

    @property
    def error_symbol(self) -> str:
        return "∂C/∂eₜ"

    @property
    def spread(self) -> tuple[str, str]:
        return self.w.out, self.error_name

    def guide_lines(self) -> list[str]:
        return [f"The embedding ({self.token}): eₜ = E[cₜ] + Pos[t], the row of E of the"
                " character read (INDEX at MATCH(1, xₜ, 0)) plus the row of Pos of the step."]

    def numbers(self) -> int:
        return 2 * self.size * self.steps

    # --- parameters and blocks -------------------------------------------------------------

    def params(self) -> list[Param]:
        v, d, t = self.vocab, self.size, self.steps
        return [
            Param("E", (v, d), v * d, weight=True, fan_in=v, fan_out=d, bound=1.0, symbol="E",
                  description="E[c, d]: character c's embedding (a row per character of the"
                              " vocabulary; uniform ±1 from --seed)",
                  make_labels=lambda: grid("E", v, d),
                  make_tile_labels=lambda: tuple(enumerate(grid("E", v, d)))),
            Param("Pos", (t, d), t * d, weight=True, fan_in=d, fan_out=d, bound=1 / np.sqrt(d),
                  symbol="Pos", description="Pos[t, d]: step t's position embedding (a row per"
                                            " step; uniform ±1/√D)",
                  make_labels=lambda: grid("Pos", t, d),
                  make_tile_labels=lambda: tuple(enumerate(grid("Pos", t, d))))]

    def blocks(self) -> list[Block]:
        out = self.output_shape(self.w.inp)
        return [Block(self.w.out, out, "eₜ", "eₜ = E[cₜ] + Pos[t]: the character's embedding"
                      " and the step's position", tuple((r, f"unit {r + 1}")
                                                        for r in range(self.size)))]

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, T, V) one-hot -> e (N, T, D) = x·E + Pos."""
        return x @ p["E"] + p["Pos"], {"x": x}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {self.w.out: y}

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        """Each window's ∂C/∂E = Σₜ xₜ·∂C/∂eₜᵀ (V×D) and ∂C/∂Pos = ∂C/∂e (T×D)."""
        return {"E": np.einsum("ntv,ntd->nvd", cache["x"], dy), "Pos": dy}

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        grads = {k: v.sum(axis=0) for k, v in self.per_image(dy, cache, p).items()}
        return (dy @ p["E"].T if self.w.need_dx else None), grads

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        e, pos = cells.params["E"], cells.params["Pos"]
        table = e.span(0, self.vocab * self.size - 1, absolute=True)
        for t in range(self.steps):
            row = f"(MATCH(1,{cells.x.span(0, self.vocab - 1, t, t)},0)-1)*{self.size}"
            for d in range(self.size):
                yield (self.w.out, d, t,
                       f"INDEX({table},{row}+{d + 1})+{pos.ref(t * self.size + d, absolute=True)}")

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        dy, last = cells.dy_area, self.steps - 1
        for c in range(self.vocab):
            reads = cells.x.span(c, c, 0, last)
            for d in range(self.size):
                yield "E", c * self.size + d, 0, ops.step_sum_xl(dy.span(d, d, 0, last), reads)
        for t in range(self.steps):
            for d in range(self.size):
                yield "Pos", t * self.size + d, 0, cells.dy(d, t)

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        raise AssertionError("embed reads the characters: nothing comes before it")

