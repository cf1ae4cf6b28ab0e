"""Causal self-attention with its residual sum, ``attention`` (``attention ln``: pre-norm): one
head over a window's T positions, every position a column of D numbers.

Forward, in each window (ℓₜ = LN₁(xₜ) with ``ln``, else xₜ itself):

    qₜ = W_q·ℓₜ,  kₜ = W_k·ℓₜ,  vₜ = W_v·ℓₜ                       (D×D each, no bias)
    sₜᵤ = qₜ·kᵤ/√D for every pair; αₜᵤ = softmax over u ≤ t of sₜᵤ, 0 for u > t (the mask:
    a position reads itself and the ones before it, never a later one)
    cₜ = Σᵤ αₜᵤ·vᵤ,   yₜ = xₜ + W_o·cₜ                           (the residual sum)

Backward, with ∂C/∂yₜ from the layer above:

    ∂C/∂cₜ = W_oᵀ·∂C/∂yₜ,   ∂C/∂αₜᵤ = ∂C/∂cₜ·vᵤ (u ≤ t)
    ᾱₜ = Σᵤ αₜᵤ·∂C/∂αₜᵤ,    ∂C/∂sₜᵤ = αₜᵤ·(∂C/∂αₜᵤ − ᾱₜ)     (the softmax's Jacobian on a row)
    ∂C/∂qₜ = Σᵤ ∂C/∂sₜᵤ·kᵤ/√D,  ∂C/∂kᵤ = Σₜ ∂C/∂sₜᵤ·qₜ/√D,  ∂C/∂vᵤ = Σₜ αₜᵤ·∂C/∂cₜ
    ∂C/∂ℓₜ = W_qᵀ·∂C/∂qₜ + W_kᵀ·∂C/∂kₜ + W_vᵀ·∂C/∂vₜ
    ∂C/∂xₜ = ∂C/∂yₜ + ∂C/∂ℓₜ (through LN₁ with ``ln``)            (the residual sum, back)

A T×T block (s, α and their errors) is drawn as a window's band: a column per query position t,
a row per key position u, so column t of α is position t's attention pattern.
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
    Shape,
    Wiring,
)
from sheetnet.layers.layernorm import EPSILON
from sheetnet.layers.prenorm import PreNormed, outer_sum
from sheetnet.notation import grid
from sheetnet.pairs import ops
from sheetnet.pairs.outputs import softmax, softmax_xl

WEIGHTS = (("Wq", "W_q", "the queries'"), ("Wk", "W_k", "the keys'"), ("Wv", "W_v", "the values'"),
           ("Wo", "W_o", "the output's"))


@dataclass(frozen=True)
class SelfAttention(PreNormed, LayerBase):  # type: ignore[override]  # settings
    layer_norm: bool = False
    epsilon: float = EPSILON
    w: Wiring = UNBOUND
    kind = "attention"
    prefix = "y"
    number = 1
    sent_back = "dqkv"
    once = True
    follows = ("embed", "mlp")
    follows_text = ("embed", "mlp")

    @property
    def token(self) -> str:
        return "attention ln" if self.layer_norm else "attention"

    @classmethod
    def parse(cls, item: str) -> SelfAttention | None:
        """``attention`` or ``attention ln``."""
        match = re.fullmatch(r"attention( ln)?", item)
        return None if match is None else cls(bool(match.group(1)))

    def output_shape(self, inp: Shape) -> Shape:
        if not inp.steps:
            raise SheetnetError("attention reads a sequence: give it a text (--net attention)")
        return inp

    @property
    def error_symbol(self) -> str:
        return "∂C/∂yₜ"

    @property
    def pattern(self) -> str:
        return "att"

    def guide_lines(self) -> list[str]:
        x = self.w.x_symbol
        reads = f"ln¹ₜ = LN₁({x}ₜ)" if self.layer_norm else f"{x}ₜ"
        lines = [f"Causal self-attention ({self.token}): qₜ, kₜ, vₜ = W_q, W_k, W_v times"
                 f" {reads}; sₜᵤ = qₜ·kᵤ/√{self.d} in a T×T tile (a column per position t, a"
                 " row per position u it reads); αₜᵤ = softmax of column t over u ≤ t, 0 for"
                 " u > t (later positions are masked); ctxₜ = Σᵤ αₜᵤvᵤ and yₜ ="
                 f" {x}ₜ + W_o·ctxₜ. Going back: ∂C/∂sₜᵤ = αₜᵤ(∂C/∂αₜᵤ − ᾱₜ), the softmax's"
                 f" Jacobian on a column, and ∂C/∂{x}ₜ = ∂C/∂yₜ + what q, k and v send back."]
        return lines + self.norm_guide_lines()

    def numbers(self) -> int:
        return self.steps * (12 * self.d + 4 * self.steps + 1) + self.norm_numbers()

    # --- parameters and blocks -------------------------------------------------------------

    def params(self) -> list[Param]:
        d = self.d
        out = [Param(name, (d, d), d * d, weight=True, fan_in=d, fan_out=d, symbol=symbol,
                     description=f"{symbol}: {what} weights (row i: output i's weights on the"
                                 " D inputs)",
                     make_labels=functools.partial(grid, symbol, d, d),
                     make_tile_labels=functools.partial(_tiles, symbol, d))
               for name, symbol, what in WEIGHTS]
        return out + self.norm_params()

    @property
    def _read_text(self) -> str:
        return "ln¹ₜ" if self.layer_norm else f"{self.w.x_symbol}ₜ itself"

    def _vectors(self, name: str, symbol: str, text: str) -> Block:
        """D numbers a position, a row a unit."""
        return Block(name, self.w.inp, symbol, text,
                     tuple((r, f"unit {r + 1}") for r in range(self.d)))

    def _pairs(self, name: str, symbol: str, text: str, colour: str | None = None) -> Block:
        """A T×T block: a column per position t, a row per position u."""
        return Block(name, Shape.sequence(self.steps, self.steps), symbol, text,
                     tuple((u, f"u = {u + 1}") for u in range(self.steps)), colour=colour)

    def blocks(self) -> list[Block]:
        reads = "ln¹ₜ" if self.layer_norm else f"{self.w.x_symbol}ₜ"
        return [
            *self.norm_blocks(),
            self._vectors("q", "qₜ", f"qₜ = W_q·{reads}: position t's query"),
            self._vectors("k", "kₜ", f"kₜ = W_k·{reads}: position t's key"),
            self._vectors("v", "vₜ", f"vₜ = W_v·{reads}: position t's value"),
            self._pairs("s", "sₜᵤ", f"sₜᵤ = qₜ·kᵤ/√{self.d}: how well position u's key matches"
                        " position t's query (a column per t; 0 for u > t: masked, not read)",
                        "signed"),
            self._pairs("att", "αₜᵤ", "αₜᵤ = softmax over u ≤ t of sₜᵤ, 0 for u > t: how much"
                        " position t reads position u (each column sums to 1)", "picture"),
            self._vectors("ctx", "ctxₜ", "ctxₜ = Σᵤ αₜᵤ·vᵤ: what position t reads, its"
                          " context"),
            self._vectors(self.w.out, "yₜ", f"yₜ = {self.w.x_symbol}ₜ + W_o·ctxₜ: the"
                          " residual sum")]

    def error_blocks(self) -> list[Block]:
        return [
            self._vectors("dctx", "∂C/∂ctxₜ", "∂C/∂ctxₜ = W_oᵀ·∂C/∂yₜ"),
            self._pairs("datt", "∂C/∂αₜᵤ", "∂C/∂αₜᵤ = ∂C/∂ctxₜ·vᵤ for u ≤ t (0 for u > t)"),
            Block("abar", Shape.timeline(self.steps), "ᾱₜ",
                  "ᾱₜ = Σᵤ αₜᵤ·∂C/∂αₜᵤ: the column's weighted mean error", ((0, "Σᵤ α·∂C/∂α"),)),
            self._pairs("ds", "∂C/∂sₜᵤ", "∂C/∂sₜᵤ = αₜᵤ·(∂C/∂αₜᵤ − ᾱₜ): the softmax's Jacobian"
                        " on column t"),
            self._vectors("dq", "∂C/∂qₜ", f"∂C/∂qₜ = Σᵤ ∂C/∂sₜᵤ·kᵤ/√{self.d}"),
            self._vectors("dk", "∂C/∂kₜ", f"∂C/∂kᵤ = Σₜ ∂C/∂sₜᵤ·qₜ/√{self.d}"),
            self._vectors("dv", "∂C/∂vₜ", "∂C/∂vᵤ = Σₜ αₜᵤ·∂C/∂ctxₜ"),
            self._vectors("dqkv", "∂C/∂ℓ¹ₜ", "∂C/∂ℓ¹ₜ = W_qᵀ·∂C/∂qₜ + W_kᵀ·∂C/∂kₜ +"
                          f" W_vᵀ·∂C/∂vₜ: what the attention sends back to what it read"
                          f" (ℓ¹ₜ: {self._read_text})"),
            *self.norm_error_blocks()]

    def dx_blocks(self) -> list[Block]:
        return [self.residual_dx_block("∂C/∂yₜ", "the attention's")]

    # --- NumPy ---------------------------------------------------------------------------

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, T, D) -> y (N, T, D); s and α (N, T, T) indexed [window, t, u]."""
        read, cache = self.read(x, p)
        q, k, v = (read @ p[name].T for name in ("Wq", "Wk", "Wv"))
        mask = _mask(self.steps)
        s = np.where(mask, q @ k.transpose(0, 2, 1) / np.sqrt(self.d), 0.0)
        att = softmax(np.where(mask, s, -np.inf))
        ctx = att @ v
        y = x + ctx @ p["Wo"].T
        return y, {**cache, "x": x, "read": read, "q": q, "k": k, "v": v, "s": s, "att": att,
                   "ctx": ctx}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        return {**self.norm_shown(cache),
                **{k: cache[k] for k in ("q", "k", "v", "s", "att", "ctx")}, self.w.out: y}

    def _errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
        root = np.sqrt(self.d)
        att, q, k, v = cache["att"], cache["q"], cache["k"], cache["v"]
        dctx = ops.back_sum(dy, p["Wo"])
        datt = (dctx @ v.transpose(0, 2, 1)) * _mask(self.steps)
        abar = np.sum(att * datt, axis=-1)
        ds = att * (datt - abar[..., None])
        dq, dk = ds @ k / root, ds.transpose(0, 2, 1) @ q / root
        dv = att.transpose(0, 2, 1) @ dctx
        dqkv = sum(ops.back_sum(e, p[name]) for e, name in ((dq, "Wq"), (dk, "Wk"), (dv, "Wv")))
        return {"dctx": dctx, "datt": datt, "abar": abar, "ds": ds, "dq": dq, "dk": dk,
                "dv": dv, "dqkv": dqkv}


    def _own_grads(self, dy: np.ndarray, cache: Cache, e: Mapping[str, np.ndarray],
                   per_window: bool) -> dict[str, np.ndarray]:
        """Σₜ errorₜ·inputₜᵀ of each weight: each window's, or their sum."""
        read = cache["read"]
        out = {name: outer_sum(e[error], read, per_window)
               for name, error in (("Wq", "dq"), ("Wk", "dk"), ("Wv", "dv"))}
        out["Wo"] = outer_sum(dy, cache["ctx"], per_window)
        return out


    # --- Excel ---------------------------------------------------------------------------

    def _unit(self, cells: Cells, name: str, i: int) -> str:
        """Row i of a D×D weight matrix (output i's weights), drawn as a column of cells."""
        return cells.params[name].span(i * self.d, i * self.d + self.d - 1, absolute=True)

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        norm, d, steps, out = self.norm, self.d, self.steps, cells.out
        if norm is not None:
            yield from norm.forward_xl(cells)
        read = self.read_cells(cells)
        for t in range(steps):
            column = read.span(0, d - 1, t, t)
            for name in ("q", "k", "v"):
                for i in range(d):
                    yield name, i, t, f"SUMPRODUCT({self._unit(cells, 'W' + name, i)},{column})"
        q, k, v, s, att, ctx = (out[n] for n in ("q", "k", "v", "s", "att", "ctx"))
        for t in range(steps):
            for u in range(steps):
                yield "s", u, t, (f"SUMPRODUCT({q.span(0, d - 1, t, t)},{k.span(0, d - 1, u, u)})"
                                  f"/SQRT({d})" if u <= t else "0")
            scores = [s.ref(u, t) for u in range(t + 1)]
            for u in range(steps):
                yield "att", u, t, softmax_xl(scores, u) if u <= t else "0"
            for i in range(d):
                yield "ctx", i, t, "+".join(f"{att.ref(u, t)}*{v.ref(i, u)}"
                                            for u in range(t + 1))
                yield self.w.out, i, t, (f"{cells.x.ref(i, t)}+SUMPRODUCT("
                                         f"{self._unit(cells, 'Wo', i)},"
                                         f"{ctx.span(0, d - 1, t, t)})")

    def errors_xl(self, cells: Cells) -> Iterator[Formula]:
        d, steps, out, last = self.d, self.steps, cells.out, self.steps - 1
        wo = cells.params["Wo"]
        q, k, v, att = (out[n] for n in ("q", "k", "v", "att"))
        dctx, datt, abar, ds = (out[n] for n in ("dctx", "datt", "abar", "ds"))
        dq, dk, dv = (out[n] for n in ("dq", "dk", "dv"))
        for t in range(steps):
            for i in range(d):
                yield "dctx", i, t, ops.back_sum_xl([(wo.ref(j * d + i, absolute=True),
                                                      cells.dy(j, t)) for j in range(d)])
            for u in range(steps):
                yield "datt", u, t, (f"SUMPRODUCT({dctx.span(0, d - 1, t, t)},"
                                     f"{v.span(0, d - 1, u, u)})" if u <= t else "0")
            yield "abar", 0, t, (f"SUMPRODUCT({att.span(0, last, t, t)},"
                                 f"{datt.span(0, last, t, t)})")
            for u in range(steps):
                yield "ds", u, t, f"{att.ref(u, t)}*({datt.ref(u, t)}-{abar.ref(0, t)})"
            for i in range(d):
                terms = "+".join(f"{ds.ref(u, t)}*{k.ref(i, u)}" for u in range(t + 1))
                yield "dq", i, t, f"({terms})/SQRT({d})"
                yield "dk", i, t, (f"SUMPRODUCT({ds.span(t, t, t, last)},{q.span(i, i, t, last)})"
                                   f"/SQRT({d})")
                yield "dv", i, t, (f"SUMPRODUCT({att.span(t, t, t, last)},"
                                   f"{dctx.span(i, i, t, last)})")
            for j in range(d):
                yield "dqkv", j, t, ops.back_sum_xl(
                    [(cells.params[name].ref(i * d + j, absolute=True), error.ref(i, t))
                     for name, error in (("Wq", dq), ("Wk", dk), ("Wv", dv)) for i in range(d)])
        yield from self.norm_errors_xl(cells)

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        d, last, out = self.d, self.steps - 1, cells.out
        read = self.read_cells(cells)
        for name, errors in (("Wq", out["dq"]), ("Wk", out["dk"]), ("Wv", out["dv"]),
                             ("Wo", cells.dy_area)):
            inputs = out["ctx"] if name == "Wo" else read
            for i in range(d):
                for j in range(d):
                    yield name, i * d + j, 0, ops.step_sum_xl(errors.span(i, i, 0, last),
                                                              inputs.span(j, j, 0, last))
        yield from self.norm_grads_xl(cells)


def _tiles(symbol: str, d: int) -> tuple[tuple[int, str], ...]:
    """A D×D matrix's labels, each beside its cell (a row's weights are a column)."""
    return tuple(enumerate(grid(symbol, d, d)))


def _mask(steps: int) -> np.ndarray:
    """[t, u]: True where position t reads position u (u ≤ t)."""
    return np.tril(np.ones((steps, steps), dtype=bool))

