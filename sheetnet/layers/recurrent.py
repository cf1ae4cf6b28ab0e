"""A recurrent layer: ``rnn H`` (an Elman cell), ``lstm H`` (an LSTM cell) or ``gru H`` (a GRU
cell), unrolled through the T steps of a window, each step's input a column of the sequence
below it.

The cell (``layers/cells.py``, ``layers/lstm.py``, ``layers/gru.py``) holds one step's math;
this module runs it over time, batched over windows (axis 0), and backpropagates through time
from ∂C/∂hₜ, the error the layer above sends back at every step (``dh_out``, shown as a block).
Beside its own errors it shows how far an error reaches going back: ‖∂C/∂hₜ‖ at every step,
and the last step's error sent back alone (``last_…``, the cell's backward pass again from
∂C_T/∂h_T only), with their means over the windows, which the Through time sheet charts.

A stack's only recurrent layer names its blocks plainly (``h``, ``Wxh``, ``dh_out``), as the
character RNN always has; several are numbered from the input (``h1``, ``h2``).
"""

from __future__ import annotations

import functools
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
    Refs,
    Shape,
    Wiring,
)
from sheetnet.layers.cells import ELMAN, Cell, Role
from sheetnet.layers.gru import GRU_CELL
from sheetnet.layers.lstm import LSTM_CELL
from sheetnet.notation import indices, sub, tag_sup
from sheetnet.pairs import ops

CELLS: dict[str, Cell] = {"rnn": ELMAN, "lstm": LSTM_CELL, "gru": GRU_CELL}
NORMS = {
    "dh_norm": ("‖∂C/∂h", "ₜ‖", "‖∂C/∂hₜ‖: the size of the error reaching step t"),
    "last_dh_out": ("∂C/∂h", "ₜ above, last only",
                    "the last step's ∂C/∂hₜ from above alone (0 at the other steps): the error"
                    " the next rows send back through time"),
    "last_norm": ("‖∂C_last/∂h", "ₜ‖", "‖∂C_last/∂hₜ‖: how much of the last step's error"
                                        " reaches step t"),
}
MEANS = {
    "dh_norm_mean": ("dh_norm", "‖∂C/∂hₜ‖ averaged over the windows"),
    "last_norm_mean": ("last_norm", "‖∂C_last/∂hₜ‖ averaged over the windows: how the last"
                                    " step's error fades going back (vanishing gradients)"),
}


@dataclass(frozen=True)
class Recurrent(LayerBase):
    units: int
    cell: Cell = ELMAN
    w: Wiring = UNBOUND
    kind = "recurrent"
    prefix = "h"

    @property
    def token(self) -> str:
        return f"{self.cell.name} {self.units}"

    @classmethod
    def parse(cls, item: str) -> Recurrent | None:
        """``rnn H``, ``lstm H`` or ``gru H``."""
        match = re.fullmatch(r"(rnn|lstm|gru)(?: (\d+))?", item)
        if match is None:
            return None
        if match.group(2) is None:
            raise SheetnetError(f"--arch: {item} needs its units H, e.g. {item} 8")
        if int(match.group(2)) < 1:
            raise SheetnetError(f"--arch: {item} needs at least 1 unit")
        return cls(int(match.group(2)), CELLS[match.group(1)])

    def output_shape(self, inp: Shape) -> Shape:
        if not inp.steps:
            raise SheetnetError(f"{self.token} reads a sequence, one step after another: give"
                                " it a text (--net rnn, lstm or gru, --text FILE), or leave it out")
        return Shape.sequence(self.units, inp.steps)


    @property
    def steps(self) -> int:
        return self.w.inp.steps

    def name(self, role: str) -> str:
        """A block's or parameter's name: its role and the layer's tag (``h``, ``dh_out2``)."""
        return role + self.w.tag

    @property
    def error_name(self) -> str:
        return self.name("dh_out")

    @property
    def error_symbol(self) -> str:
        return f"∂C/∂h{tag_sup(self.w.tag)}ₜ from above"

    @property
    def state(self) -> str:
        return self.name("h")

    @property
    def spread(self) -> tuple[str, str]:
        return self.name("h"), self.name("dh")

    def guide_lines(self) -> list[str]:
        return [f"{self.cell.title[0].upper()}{self.cell.title[1:]} of {self.units} units"
                f" ({self.token}): {self.cell.formula}; backpropagation through time runs from"
                " the last step to the first, right to left."]

    def numbers(self) -> int:
        rows = sum(r.per_unit for r in (*self.cell.forward_roles, *self.cell.backward_roles))
        return self.steps * (self.w.inp.height + 2 * rows * self.units + 4)

    # --- parameters and blocks -------------------------------------------------------------

    def params(self) -> list[Param]:
        s, h, m = tag_sup(self.w.tag), self.units, self.w.inp.height
        bound = 1 / np.sqrt(h)  # torch.nn.RNN, LSTM and GRU draw every weight in ±1/√H
        out = []
        for p in self.cell.params:
            rows, cols = self._rows_cols(p.name)
            symbol = f"{p.symbol}{s}"
            made = (symbol, rows, cols if p.reads else 0, h if p.per_unit > 1 else 0,
                    self.cell.gates)
            out.append(Param(self.name(p.name), (rows, cols) if p.reads else (rows,),
                             rows * cols, weight=bool(p.reads), fan_in=cols if p.reads else m,
                             fan_out=rows, bound=bound, symbol=symbol,
                             description=p.description,
                             make_labels=functools.partial(_labels, *made),
                             make_tile_labels=functools.partial(_tiles, *made)))
        return out

    def _rows_cols(self, param: str) -> tuple[int, int]:
        """A parameter's (rows, columns) as a matrix: (H, 4H or 3H; m or H), or (…, 1) for a
        bias."""
        p = next(q for q in self.cell.params if q.name == param)
        return p.per_unit * self.units, {"x": self.w.inp.height, "h": self.units, "": 1}[p.reads]

    def _block(self, role: Role, prefix: str = "", note: str = "") -> Block:
        units = role.per_unit * self.units
        symbol = f"{role.letter}{tag_sup(self.w.tag)}{role.index}{note}"
        return Block(prefix + self.name(role.name), Shape.sequence(units, self.steps), symbol,
                     self._described(role.description if not prefix else
                                     f"the last step's error alone: {role.description}"),
                     tuple((r, self._row_label(role, r)) for r in range(units)))

    def _described(self, text: str) -> str:
        """What a block is, saying which recurrent layer when a stack has several."""
        return f"{text} (recurrent layer {self.w.tag})" if self.w.tag else text

    def _row_label(self, role: Role, r: int) -> str:
        if role.per_unit == 1:
            return f"unit {r + 1}"
        return f"{self.cell.gates[r // self.units]}, unit {r % self.units + 1}"

    def _timeline(self, name: str) -> Block:
        """A number at each step (‖∂C/∂hₜ‖), or the last step's error alone (an H × T block)."""
        letter, index, description = NORMS[name]
        if name == "last_dh_out":
            return self._block(Role(name, 1, letter, index, description))
        return Block(self.name(name), Shape.timeline(self.steps),
                     f"{letter}{tag_sup(self.w.tag)}{index}", self._described(description),
                     ((0, "norm"),))

    def _mean(self, name: str) -> Block:
        """A size's mean over the windows, a value per step (one copy for the batch)."""
        source, description = MEANS[name]
        letter, index, _ = NORMS[source]
        return Block(self.name(name), Shape.units(self.steps),
                     f"{letter}{tag_sup(self.w.tag)}{index} mean", self._described(description),
                     tuple((t, f"step {t + 1}") for t in range(self.steps)), batch=True)

    def blocks(self) -> list[Block]:
        return [self._block(role) for role in self.cell.forward_roles]

    def error_blocks(self) -> list[Block]:
        """BPTT's errors, ‖∂C/∂hₜ‖, the last step's error sent back alone and its size, then
        both sizes' means over the windows."""
        last = [self._block(role, "last_", " (last)") for role in self.cell.backward_roles]
        return [*(self._block(role) for role in self.cell.backward_roles),
                self._timeline("dh_norm"), self._timeline("last_dh_out"), *last,
                self._timeline("last_norm"), *(self._mean(name) for name in MEANS)]

    def dx_blocks(self) -> list[Block]:
        w, s = self.w, tag_sup(self.w.tag)
        weights = next(p.symbol for p in self.cell.params if p.name == self.cell.input_weights)
        error = next(r for r in self.cell.backward_roles if r.name == self.cell.error)
        return [Block(w.shown_dx, w.inp, w.dx_symbol,
                      f"{w.dx_symbol} = Σₖ {weights}{s}ₖᵢ·({error.letter}{s}{error.index})ₖ at"
                      f" every step: what recurrent layer {w.tag or ''} sends back to each of"
                      f" its inputs {w.x_symbol}ᵢ",
                      tuple((r, f"unit {r + 1}") for r in range(w.inp.height)))]

    def _own(self, p: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Its parameters by role (``Wxh`` for ``Wxh2``)."""
        return {q.name: p[self.name(q.name)] for q in self.cell.params}

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, T, m) -> h (N, T, H), through the cell step by step (h₀ = 0)."""
        cache = self.cell.forward(self._own(p), x, self.units)
        return cache["h"], {"x": x, **cache}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {self.name(role.name): cache[role.name] for role in self.cell.forward_roles}

    def _through_time(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                      ) -> dict[str, np.ndarray]:
        return self.cell.backward(self._own(p), cache, dy)

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """∂C/∂hₜ from above (N, T, H) -> (∂C/∂x (N, T, m) or None, each parameter's gradient
        summed over the windows and their steps)."""
        errors = self._through_time(dy, cache, p)
        # each window's own over its steps, then Σ over the windows
        grads = {k: v.sum(axis=0) for k, v in self._own_gradients({**cache, **errors}).items()}
        if not self.w.need_dx:
            return None, grads
        e = errors[self.cell.error]
        dx = e.reshape(-1, e.shape[-1]) @ self._own(p)[self.cell.input_weights]
        return dx.reshape(*e.shape[:2], -1), grads

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        """Each window's own gradients, summed over its steps: (W, …) each."""
        return self._own_gradients({**cache, **self._through_time(dy, cache, p)})

    def _own_gradients(self, blocks: Mapping[str, np.ndarray]) -> dict[str, np.ndarray]:
        """Each window's gradients from its blocks: Σₜ errorsₜ·inputsₜᵀ, or Σₜ errorsₜ."""
        out = {}
        for g in self.cell.gradients:
            e = blocks[g.errors]
            out[self.name(g.param)] = (e.sum(axis=1) if g.inputs is None else
                                       np.einsum("wti,wtj->wij", e, blocks[g.inputs]))
        return out

    def errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
        """BPTT's error blocks, their sizes, and the last step's error sent back alone."""
        errors = self._through_time(dy, cache, p)
        norms = np.sqrt(np.sum(errors["dh"] ** 2, axis=2))
        last_out = np.zeros_like(dy)
        last_out[:, -1] = dy[:, -1]
        last = self._through_time(last_out, cache, p)
        last_norms = np.sqrt(np.sum(last["dh"] ** 2, axis=2))
        out = {self.name(k): v for k, v in errors.items()}
        out.update({"last_" + self.name(k): v for k, v in last.items()})
        out.update({self.name("dh_norm"): norms, self.name("last_dh_out"): last_out,
                    self.name("last_norm"): last_norms,
                    self.name("dh_norm_mean"): norms.mean(axis=0),
                    self.name("last_norm_mean"): last_norms.mean(axis=0)})
        return out

    # --- Excel ---------------------------------------------------------------------------

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        refs = _StepCells(self, cells)
        for t in range(self.steps):
            for role, r, formula in self.cell.forward_xl(refs, t, self.units):
                yield self.name(role), r, t, formula

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        """A window's gradient of each weight: SUMPRODUCT of the error's row with the input's
        across the steps; of a bias, the SUM of the error's row."""
        refs = _StepCells(self, cells)
        last = self.steps - 1
        for g in self.cell.gradients:
            rows, cols = self._rows_cols(g.param)
            for i in range(rows):
                errors = refs.block(g.errors).span(i, i, 0, last)
                for j in range(cols):
                    inputs = None if g.inputs is None else refs.block(g.inputs).span(j, j, 0, last)
                    yield self.name(g.param), i * cols + j, 0, ops.step_sum_xl(errors, inputs)

    def errors_xl(self, cells: Cells) -> Iterator[Formula]:
        """From the last step to the first: the cell's errors, ‖∂C/∂hₜ‖, and the same again
        for the last step's error alone; then the sizes' means over the windows."""
        refs, last = _StepCells(self, cells), _StepCells(self, cells, "last_")
        dh_out = cells.dy
        for t in reversed(range(self.steps)):
            end = t == self.steps - 1
            for role, r, formula in self.cell.backward_xl(refs, t, self.units, end):
                yield self.name(role), r, t, formula
            yield self.name("dh_norm"), 0, t, f"SQRT(SUMSQ({refs.column('dh', t)}))"
            for i in range(self.units):
                yield self.name("last_dh_out"), i, t, dh_out(i, t) if end else "0"
            for role, r, formula in self.cell.backward_xl(last, t, self.units, end):
                yield "last_" + self.name(role), r, t, formula
            yield self.name("last_norm"), 0, t, f"SQRT(SUMSQ({last.column('dh', t)}))"
        for name, (source, _) in MEANS.items():
            for t in range(self.steps):
                yield self.name(name), t, 0, cells.sums.mean(cells.out[self.name(source)], 0, t)

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        """∂C/∂x at unit r, step c: Σₖ w(k, r)·errorₖ,c term by term."""
        weights = cells.params[self.name(self.cell.input_weights)]
        errors = cells.out[self.name(self.cell.error)]
        m = self.w.inp.height
        return ops.back_sum_xl([(weights.ref(k * m + r, absolute=True), errors.ref(k, c))
                                for k in range(errors.rows)])


def _tiles(symbol: str, rows: int, cols: int, gates: int, letters: str
           ) -> tuple[tuple[int, str], ...]:
    """The same, each with its footprint row (a unit's weights are a column)."""
    return tuple(enumerate(_labels(symbol, rows, cols, gates, letters)))


def _labels(symbol: str, rows: int, cols: int, gates: int, letters: str) -> tuple[str, ...]:
    """A parameter's element labels: w_xh₁₁ … (``cols`` 0: a bias, b_h₁ …); ``gates``: the
    units of each of an LSTM's or GRU's gates (``letters``: "ifgo", "rzn"), each row named by
    its gate (w¹ f₂,₃: gate f of unit 2)."""
    def row(i: int) -> str:
        return f"{symbol} {letters[i // gates]}{sub(i % gates + 1)}" if gates else \
            f"{symbol}{sub(i + 1)}"

    if not cols:
        return tuple(row(i) for i in range(rows))
    if gates:
        return tuple(f"{row(i)},{sub(j + 1)}" for i in range(rows) for j in range(cols))
    return tuple(f"{symbol}{indices(i + 1, j + 1)}" for i in range(rows) for j in range(cols))


class _StepCells:
    """The cells a cell's formulas read (``cells.StepRefs``), by role: the layer's own blocks
    (``prefix`` "last_": the last step's error sent back alone, which reads the forward blocks
    as they are), its input ``x``, its parameters, and ``dh_out``, the error from above."""

    def __init__(self, layer: Recurrent, cells: Cells, prefix: str = ""):
        self.layer, self.cells, self.prefix = layer, cells, prefix
        self.again = {"dh_out", *(role.name for role in layer.cell.backward_roles)}

    def block(self, role: str) -> Refs:
        if role == "x":
            return self.cells.x
        name = self.layer.name(role)
        if self.prefix and role in self.again:
            name = self.prefix + name
        if role == "dh_out" and not self.prefix:
            return self.cells.dy_area
        return self.cells.out[name]

    def ref(self, role: str, r: int, t: int) -> str:
        if role == "dh_out" and not self.prefix:
            return self.cells.dy(r, t)
        return self.block(role).ref(r, t)

    def column(self, role: str, t: int) -> str:
        block = self.block(role)
        return block.span(0, block.rows - 1, t, t)

    def unit(self, param: str, i: int) -> str:
        block = self.cells.params[self.layer.name(param)]
        size = self.layer._rows_cols(param)[1]
        return block.span(i * size, i * size + size - 1, absolute=True)

    def param(self, name: str, r: int) -> str:
        return self.cells.params[self.layer.name(name)].ref(r, absolute=True)
