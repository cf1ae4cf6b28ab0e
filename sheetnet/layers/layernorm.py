"""Layer normalisation (Ba, Kiros & Hinton 2016), as torch.nn.LayerNorm: each image's values
normalised over the layer's units (over all its maps' values; at each step of a sequence),
μ = Σx/n, var = Σ(x − μ)²/n (biased), x̂ = (x − μ)/√(var + ε), y = γ ⊙ x̂ + β, with a gain γ
(starts at 1) and a shift β (starts at 0) for every value, and ε = 1e-5 a named cell.

Backward, with ∂C/∂y from the layer above, within each image (no image reaches another, unlike
batch norm): ∂C/∂x̂ = ∂C/∂y ⊙ γ, then

    ∂C/∂x = (∂C/∂x̂ − mean(∂C/∂x̂) − x̂ · mean(∂C/∂x̂ ⊙ x̂)) / √(var + ε),

the two means shown as rows of their own (ḡ and ḡx̂); ∂C/∂γ = Σ ∂C/∂y ⊙ x̂, ∂C/∂β = Σ ∂C/∂y.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from sheetnet import notation as names
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
from sheetnet.pairs.hyper import Hyper

EPSILON = 1e-5  # torch.nn.LayerNorm's eps


@dataclass(frozen=True)
class LayerNorm(LayerBase):
    epsilon: float = EPSILON
    w: Wiring = UNBOUND
    kind = "layernorm"
    prefix = "ln"
    token = "layernorm"
    follows = ("dense", "conv", "recurrent")  # it normalises a layer's outputs
    follows_text = ("dense", "convolution", "rnn", "lstm", "gru")

    @classmethod
    def parse(cls, item: str) -> LayerNorm | None:
        return cls() if item in ("layernorm", "layer norm", "ln") else None

    def output_shape(self, inp: Shape) -> Shape:
        return inp


    def _name(self, what: str) -> str:
        """A block's, parameter's or setting's name: its own and the tag (``ln_gamma2``), or
        the name the stack gives it (a transformer block's ``ln1_g``)."""
        return self.w.named(what, f"{what}{self.w.tag}")

    @property
    def steps(self) -> int:
        return self.w.inp.steps

    @property
    def n(self) -> int:
        """Values normalised together: the units (at one step), or every value of the maps."""
        return self.w.inp.step.size

    @property
    def error_name(self) -> str:
        """∂C/∂y's block: the error the layer above hands back (``dC_dln2``)."""
        return names.grad(self.w.out)

    @property
    def settings(self) -> tuple[tuple[str, float], ...]:  # type: ignore[override]
        return ((self._name("ln_epsilon"), self.epsilon),) if self.bound else ()

    def hypers(self) -> list[Hyper]:
        return [Hyper(self._name("ln_epsilon"), "ε", self.epsilon,
                      f"added to the variance before its square root (layer norm of"
                      f" {self.w.x_symbol})", lambda v: v > 0, "a positive number",
                      "--arch layernorm")]

    def guide_lines(self) -> list[str]:
        s, x = names.tag_sup(self.w.tag), self.w.x_symbol
        item = "window" if self.steps else "image"
        return [f"Layer norm of {x} (layernorm): each {item}'s μ{s} and var{s} over its"
                f" {'units at each step' if self.steps else 'values'}, x̂{s} = ({x} − μ{s})/√(var{s}"
                f" + ε), ln{s} = γ{s} ⊙ x̂{s} + β{s}; going back, ∂C/∂x̂{s} = ∂C/∂ln{s} ⊙ γ{s},"
                f" its mean ḡ{s} and the mean ḡx̂{s} of ∂C/∂x̂{s} ⊙ x̂{s}, and"
                f" ∂C/∂{x} = (∂C/∂x̂{s} − ḡ{s} − x̂{s}·ḡx̂{s})/√(var{s} + ε)."]

    def tune(self, values: Mapping[str, float]) -> LayerNorm:
        if not self.bound:
            return self
        return replace(self, epsilon=float(values.get(self._name("ln_epsilon"), self.epsilon)))

    def numbers(self) -> int:
        return 6 * self.w.inp.size  # x − μ, x̂, y, ∂C/∂x̂ and the statistics

    # --- parameters and blocks -------------------------------------------------------------

    def params(self) -> list[Param]:
        one, s = self.w.inp.step, names.tag_sup(self.w.tag)
        shape = one.array() if one.flat else one.maps()
        return [self._param("ln_gamma", "γ", 1.0, "gain", shape, s),
                self._param("ln_beta", "β", 0.0, "shift", shape, s)]

    def _param(self, name: str, letter: str, start: float, what: str, shape: tuple[int, ...],
               s: str) -> Param:
        one, symbol, tag = self.w.inp.step, f"{letter}{s}", self.w.tag
        return Param(self._name(name), shape, one.rows, one.cols, one.tile, weight=False,
                     fan_in=1, start=start, symbol=symbol,
                     description=f"{symbol}: the {what} of each value after normalising (starts"
                                 f" at {start:g})",
                     make_labels=lambda: tuple(f"{symbol}{k + 1}" for k in range(self.n)),
                     make_tile_labels=lambda: labels(one, symbol, tag))

    def _each(self) -> Shape:
        """A statistic's shape: one number an image, or one a step."""
        return Shape.timeline(self.steps) if self.steps else Shape.units(1)

    def blocks(self) -> list[Block]:
        w, s = self.w, names.tag_sup(self.w.tag)
        x, each, inp = w.x_symbol, self._each(), w.inp
        over = "over its units at each step" if self.steps else "over its values"
        return [
            Block(self._name("ln_mu"), each, f"μ{s}", f"μ{s} = Σ{x}/n: each"
                  f" {'window' if self.steps else 'image'}'s mean {over}"
                  f" (n = {self.n})", ((0, "mean"),)),
            Block(self._name("ln_var"), each, f"var{s}", f"var{s} = Σ({x} − μ{s})²/n: the"
                  " (biased) variance", ((0, "variance"),)),
            Block(self._name("ln_zc"), inp, f"{x}−μ{s}", f"{x} − μ{s}: each value's distance"
                  " from the mean", tuple((r, f"{text} − μ{s}")
                                          for r, text in labels(inp, x, w.tag)),
                  terminal=False),
            Block(self._name("ln_hat"), inp, f"x̂{s}", f"x̂{s} = ({x} − μ{s})/√(var{s} + ε):"
                  " normalised, mean 0 and variance 1", labels(inp, f"x̂{s}", w.tag)),
            Block(w.out, inp, f"ln{s}", f"ln{s} = γ{s} ⊙ x̂{s} + β{s}: the layer's outputs",
                  labels(inp, f"ln{s}", w.tag))]

    def error_blocks(self) -> list[Block]:
        s, each, inp = names.tag_sup(self.w.tag), self._each(), self.w.inp
        return [
            Block(self._name("ln_dhat"), inp, f"∂C/∂x̂{s}", f"∂C/∂x̂{s} = ∂C/∂ln{s} ⊙ γ{s}",
                  labels(inp, f"∂C/∂x̂{s}", self.w.tag)),
            Block(self._name("ln_g"), each, f"ḡ{s}", f"ḡ{s} = Σ∂C/∂x̂{s}/n: the mean error",
                  ((0, "mean"),)),
            Block(self._name("ln_gx"), each, f"ḡx̂{s}", f"ḡx̂{s} = Σ∂C/∂x̂{s}·x̂{s}/n",
                  ((0, "mean"),))]

    def dx_blocks(self) -> list[Block]:
        w, s = self.w, names.tag_sup(self.w.tag)
        return [Block(w.shown_dx, w.inp, w.dx_symbol,
                      f"{w.dx_symbol} = (∂C/∂x̂{s} − ḡ{s} − x̂{s}·ḡx̂{s})/√(var{s} + ε): each"
                      " value's error, through the mean and the variance",
                      labels(w.inp, w.dx_symbol, w.tag))]

    # --- NumPy ---------------------------------------------------------------------------

    def _axes(self, ndim: int) -> tuple[int, ...]:
        """The axes normalised over: the units (a sequence's last), or every map axis."""
        return (ndim - 1,) if self.w.inp.flat else tuple(range(1, ndim))

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x (N, …) -> y = γ ⊙ x̂ + β (N, …); the statistics keep their axes for broadcasting."""
        axes = self._axes(x.ndim)
        mu = x.mean(axis=axes, keepdims=True)
        zc = x - mu
        var = (zc * zc).mean(axis=axes, keepdims=True)
        root = np.sqrt(var + self.epsilon)
        hat = zc / root
        y = p[self._name("ln_gamma")] * hat + p[self._name("ln_beta")]
        return y, {"mu": mu, "var": var, "zc": zc, "hat": hat, "root": root}

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        n = len(y)
        return {self._name("ln_mu"): cache["mu"].reshape(n, -1),
                self._name("ln_var"): cache["var"].reshape(n, -1),
                self._name("ln_zc"): cache["zc"], self._name("ln_hat"): cache["hat"],
                self.w.out: y}

    def _errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
        axes = self._axes(dy.ndim)
        dhat = dy * p[self._name("ln_gamma")]
        g = dhat.mean(axis=axes, keepdims=True)
        gx = (dhat * cache["hat"]).mean(axis=axes, keepdims=True)
        return {"dhat": dhat, "g": g, "gx": gx,
                "dx": (dhat - g - cache["hat"] * gx) / cache["root"]}

    def errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
        e, n = self._errors(dy, cache, p), len(dy)
        return {self._name("ln_dhat"): e["dhat"], self._name("ln_g"): e["g"].reshape(n, -1),
                self._name("ln_gx"): e["gx"].reshape(n, -1)}

    def _reduce(self, values: np.ndarray) -> np.ndarray:
        """Each image's own sum of a per-value gradient over a sequence's steps."""
        return values.sum(axis=1) if self.steps else values

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """∂C/∂y (N, …) -> (∂C/∂x (N, …), {γ: Σ ∂C/∂y ⊙ x̂, β: Σ ∂C/∂y})."""
        grads = {name: v.sum(axis=0) for name, v in self.per_image(dy, cache, p).items()}
        return (self._errors(dy, cache, p)["dx"] if self.w.need_dx else None), grads

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        return {self._name("ln_gamma"): self._reduce(dy * cache["hat"]),
                self._name("ln_beta"): self._reduce(dy)}

    # --- Excel ---------------------------------------------------------------------------

    def _groups(self) -> list[tuple[int, tuple[int, int]]]:
        """(statistic's column, the footprint's columns it is over): each step's column, or
        the whole footprint."""
        if self.steps:
            return [(t, (t, t)) for t in range(self.steps)]
        return [(0, (0, self.w.inp.cols - 1))]

    def _cells(self) -> Iterator[tuple[int, int, int]]:
        """(r, c, statistic's column) of every footprint cell."""
        for c in range(self.w.inp.cols):
            for r in range(self.w.inp.rows):
                yield r, c, c if self.steps else 0

    def _param_ref(self, cells: Cells, name: str, r: int, c: int) -> str:
        return cells.params[self._name(name)].ref(r, 0 if self.steps else c, absolute=True)

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        x, out, rows = cells.x, cells.out, self.w.inp.rows - 1
        mu, var = out[self._name("ln_mu")], out[self._name("ln_var")]
        zc, hat = out[self._name("ln_zc")], out[self._name("ln_hat")]
        eps = self._name("ln_epsilon")
        for g, (c0, c1) in self._groups():
            yield mu.name, 0, g, f"AVERAGE({x.span(0, rows, c0, c1)})"
        for r, c, g in self._cells():
            yield zc.name, r, c, f"{x.ref(r, c)}-{mu.ref(0, g)}"
        for g, (c0, c1) in self._groups():
            area = zc.span(0, rows, c0, c1)
            yield var.name, 0, g, f"SUMPRODUCT({area},{area})/{self.n}"
        for r, c, g in self._cells():
            yield hat.name, r, c, f"{zc.ref(r, c)}/SQRT({var.ref(0, g)}+{eps})"
            yield self.w.out, r, c, (f"{self._param_ref(cells, 'ln_gamma', r, c)}*{hat.ref(r, c)}"
                                     f"+{self._param_ref(cells, 'ln_beta', r, c)}")

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        """Each image's ∂C/∂γ = ∂C/∂y ⊙ x̂ and ∂C/∂β = ∂C/∂y (a sequence's summed over its
        steps)."""
        hat, dy, last = cells.out[self._name("ln_hat")], cells.dy_area, self.steps - 1
        gamma, beta = self._name("ln_gamma"), self._name("ln_beta")
        if self.steps:
            for r in range(self.w.inp.rows):
                yield gamma, r, 0, ops.step_sum_xl(dy.span(r, r, 0, last), hat.span(r, r, 0, last))
                yield beta, r, 0, ops.step_sum_xl(dy.span(r, r, 0, last))
            return
        for r, c, _ in self._cells():
            yield gamma, r, c, f"{dy.ref(r, c)}*{hat.ref(r, c)}"
            yield beta, r, c, dy.ref(r, c)

    def errors_xl(self, cells: Cells) -> Iterator[Formula]:
        out, rows = cells.out, self.w.inp.rows - 1
        dhat, hat = out[self._name("ln_dhat")], out[self._name("ln_hat")]
        for r, c, _ in self._cells():
            yield dhat.name, r, c, f"{cells.dy(r, c)}*{self._param_ref(cells, 'ln_gamma', r, c)}"
        for g, (c0, c1) in self._groups():
            errors = dhat.span(0, rows, c0, c1)
            yield self._name("ln_g"), 0, g, f"SUM({errors})/{self.n}"
            yield self._name("ln_gx"), 0, g, (f"SUMPRODUCT({errors},{hat.span(0, rows, c0, c1)})"
                                              f"/{self.n}")

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        out, g = cells.out, c if self.steps else 0
        dhat, hat = out[self._name("ln_dhat")], out[self._name("ln_hat")]
        var = out[self._name("ln_var")]
        return (f"({dhat.ref(r, c)}-{out[self._name('ln_g')].ref(0, g)}-{hat.ref(r, c)}"
                f"*{out[self._name('ln_gx')].ref(0, g)})"
                f"/SQRT({var.ref(0, g)}+{self._name('ln_epsilon')})")
