"""Batch normalisation (Ioffe & Szegedy 2015), after a weighted sum and before its activation.

Forward, per unit (per filter, over every position, for a convolution's maps), over the step's
batch of m values: μ = Σz/m, var = Σ(z − μ)²/m (biased), ẑ = (z − μ)/√(var + ε), y = γẑ + β.
Backward, with ∂C/∂y from the layer above, written out as the paper does:

- ∂C/∂ẑ = ∂C/∂y · γ (each image);
- ∂C/∂var = Σ ∂C/∂ẑ·(z − μ) · (−½)(var + ε)^(−3/2) (the batch);
- ∂C/∂μ = −Σ ∂C/∂ẑ / √(var + ε) (the batch; the paper's second term, ∂C/∂var·Σ−2(z − μ)/m, is
  0 since Σ(z − μ) = 0);
- δ = ∂C/∂z = ∂C/∂ẑ/√(var + ε) + ∂C/∂var·2(z − μ)/m + ∂C/∂μ/m (each image): every image's error
  reaches every other image's through μ and var, which is why the sums run over the batch;
- ∂C/∂γ = Σ ∂C/∂y·ẑ, ∂C/∂β = Σ ∂C/∂y.

Training also keeps running averages as torch does (momentum 0.1, the unbiased variance
var·m/(m − 1)), starting from 0 and 1; evaluation (validation, a final accuracy) normalises with
them instead of the batch's. In the cells μ, var, their errors and the running averages are one
column beside the parameters; z − μ, ẑ, y and ∂C/∂ẑ are blocks of each image; ε and the
momentum are named cells.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace

import numpy as np

from sheetnet import notation as names
from sheetnet.layers.base import (
    BATCH,
    HELD,
    UNBOUND,
    Block,
    Cache,
    Carried,
    Cells,
    Formula,
    LayerBase,
    Param,
    Shape,
    Wiring,
    labels,
)
from sheetnet.notation import sub
from sheetnet.pairs import ops
from sheetnet.pairs.hyper import Hyper

EPSILON = 1e-5  # torch.nn.BatchNorm's eps
MOMENTUM = 0.1  # and its momentum for the running averages


@dataclass(frozen=True)
class BatchNorm(LayerBase):
    epsilon: float = EPSILON
    momentum: float = MOMENTUM
    w: Wiring = UNBOUND
    kind = "batchnorm"
    prefix = "y"
    token = "batchnorm"
    couples_batch = True  # μ and var are the batch's: its images are computed together
    evaluation = "batch norm's running averages"

    @classmethod
    def parse(cls, item: str) -> BatchNorm | None:
        return cls() if item in ("batchnorm", "batch norm", "bn") else None

    def output_shape(self, inp: Shape) -> Shape:
        return inp


    # --- names --------------------------------------------------------------------------

    def _name(self, what: str) -> str:
        return f"{what}{self.w.tag}"

    @property
    def units(self) -> int:
        """Units (a column of units) or filters (maps) normalised, each with its own μ, γ …"""
        return self.w.inp.height if self.w.inp.flat else self.w.inp.channels

    @property
    def positions(self) -> int:
        """Values of one unit per image: 1, or a map's H·W."""
        return 1 if self.w.inp.flat else self.w.inp.height * self.w.inp.width

    @property
    def error_name(self) -> str:
        """∂C/∂y's block: the error the layer above hands back (``dC_dy2``)."""
        return names.grad(self._name("y"))

    @property
    def settings(self) -> tuple[tuple[str, float], ...]:  # type: ignore[override]
        if not self.bound:  # named once bound
            return ()
        return ((self._name("epsilon"), self.epsilon), (self._name("momentum"), self.momentum))

    def hypers(self) -> list[Hyper]:
        s = names.tag_sup(self.w.tag)
        return [Hyper(self._name("epsilon"), "ε", self.epsilon,
                      f"batch norm of z{s}: ε, added to the variance before its square root",
                      lambda v: v > 0, "a positive number", "--batch-norm"),
                Hyper(self._name("momentum"), "running momentum", self.momentum,
                      f"batch norm of z{s}: the running averages' momentum",
                      lambda v: 0 <= v <= 1, "0 to 1", "--batch-norm")]

    def tune(self, values: Mapping[str, float]) -> BatchNorm:
        if not self.bound:
            return self
        return replace(self, epsilon=float(values.get(self._name("epsilon"), self.epsilon)),
                       momentum=float(values.get(self._name("momentum"), self.momentum)))

    def numbers(self) -> int:
        return 5 * self.w.inp.size  # z − μ, ẑ, y and two errors

    # --- parameters and blocks -----------------------------------------------------------

    def params(self) -> list[Param]:
        n, s = self.units, names.tag_sup(self.w.tag)
        what = "unit" if self.w.inp.flat else "filter"

        def param(letter: str, symbol: str, start: float, text: str) -> Param:
            return Param(self._name(letter), (n,), n, weight=False, fan_in=1, start=start,
                         symbol=f"{symbol}{s}", description=f"{symbol}{s}ⱼ: {what} j's {text}",
                         make_labels=lambda: tuple(f"{symbol}{s}{sub(j + 1)}" for j in range(n)),
                         make_tile_labels=lambda: tuple((j, f"{symbol}{s}{sub(j + 1)}")
                                                        for j in range(n)))

        return [param("bn_gamma", "γ", 1.0, "scale after normalising (starts at 1)"),
                param("bn_beta", "β", 0.0, "shift after normalising (starts at 0)")]

    def _stat(self, what: str, symbol: str, text: str, terminal: bool = True) -> Block:
        shape = Shape.units(self.units)
        return Block(self._name(what), shape, symbol, text, labels(shape, symbol), batch=True,
                     terminal=terminal)

    def blocks(self) -> list[Block]:
        w = self.w
        s, z = names.tag_sup(w.tag), w.x_symbol
        each = "each unit" if w.inp.flat else "each filter, over every position"
        maps = None if w.inp.flat else "signed"
        return [
            self._stat("mu", f"μ{s}", f"μ{s} = Σ{z}/m: the mean of {each} over the step's batch"
                                      " (m values)"),
            self._stat("var", f"var{s}", f"var{s} = Σ({z} − μ{s})²/m: the (biased) variance of"
                                         f" {each} over the batch"),
            Block(self._name("zc"), w.inp, f"{z}−μ{s}", f"{z} − μ{s}: each value's distance from"
                  " the batch's mean (an image held out for validation: from the running mean"
                  f" μ̄{s})", self._centred_labels(z, s), maps, terminal=False),
            Block(self._name("zhat"), w.inp, f"ẑ{s}", f"ẑ{s} = ({z} − μ{s})/√(var{s} + ε):"
                  " normalised, mean 0 and variance 1 over the batch (held out: with μ̄ and"
                  " var̄)",
                  labels(w.inp, f"ẑ{s}", w.tag), maps),
            Block(w.out, w.inp, f"y{s}", f"y{s} = γ{s}ẑ{s} + β{s}: scaled and shifted, what"
                  " the next layer reads", labels(w.inp, f"y{s}", w.tag), maps),
            self._stat("rmean", f"μ̄{s}", f"μ̄{s}: the running mean, (1 − momentum)·the last"
                                         f" iteration's + momentum·μ{s} (starts at 0);"
                                         " evaluation uses it", terminal=False),
            self._stat("rvar", f"var̄{s}", f"var̄{s}: the running variance, (1 − momentum)·the"
                                           f" last iteration's + momentum·var{s}·m/(m − 1)"
                                           " (unbiased; starts at 1); evaluation uses it",
                       terminal=False),
        ]

    def _centred_labels(self, z: str, s: str) -> tuple[tuple[int, str], ...]:
        """z²₁−μ²₁ for each unit (a map's tile: "z²−μ², map 1")."""
        if self.w.inp.flat:
            return tuple((j, f"{z}{sub(j + 1)}−μ{s}{sub(j + 1)}")
                         for j in range(self.w.inp.height))
        return labels(self.w.inp, f"{z}−μ{s}", self.w.tag)

    def guide_lines(self) -> list[str]:
        s = names.tag_sup(self.w.tag)
        return [f"Batch norm (batchnorm): μ{s} and var{s} over the step's batch, ẑ{s} ="
                f" (z − μ{s})/√(var{s} + ε), y{s} = γ{s}ẑ{s} + β{s}; μ̄{s} and var̄{s} are"
                " running averages over the iterations (the momentum on Inputs), which an"
                " evaluation (held-out images, `sheetnet train`'s final one) uses instead."]

    def dx_blocks(self) -> list[Block]:
        w = self.w
        s = names.tag_sup(w.tag)
        maps = None if w.inp.flat else "signed"
        return [
            Block(self._name("dC_dzhat"), w.inp, f"∂C/∂ẑ{s}", f"∂C/∂ẑ{s} = ∂C/∂y{s}·γ{s}",
                  labels(w.inp, f"∂C/∂ẑ{s}", w.tag), maps),
            self._stat("dC_dvar", f"∂C/∂var{s}", f"∂C/∂var{s} = Σ ∂C/∂ẑ{s}·({w.x_symbol} − μ{s})"
                                                 f"·(−½)(var{s} + ε)^(−3/2), over the batch"),
            self._stat("dC_dmu", f"∂C/∂μ{s}", f"∂C/∂μ{s} = −Σ ∂C/∂ẑ{s}/√(var{s} + ε), over the"
                                              f" batch (+ ∂C/∂var{s}·Σ−2({w.x_symbol} − μ{s})/m,"
                                              " which is 0)"),
            Block(w.shown_dx, w.inp, w.dx_symbol,
                  f"{w.dx_symbol} = ∂C/∂ẑ{s}/√(var{s} + ε) + ∂C/∂var{s}·2({w.x_symbol} − μ{s})/m"
                  f" + ∂C/∂μ{s}/m: each image's error, through μ and var, reaches the others'",
                  labels(w.inp, w.dx_symbol, w.tag), maps),
        ]

    # --- NumPy ---------------------------------------------------------------------------

    def _axes(self, ndim: int) -> tuple[int, ...]:
        return (0,) if ndim == 2 else (0, 2, 3)

    def _per(self, v: np.ndarray, ndim: int) -> np.ndarray:
        """A per-unit (units,) array broadcast against (N, units) or (N, K, H, W)."""
        return v if ndim == 2 else v[:, None, None]

    def _maps(self, x: np.ndarray) -> np.ndarray:
        """x as (N, units) or (N, K, H, W) (a single-channel map keeps its channel axis)."""
        if self.w.inp.flat:
            return x.reshape(x.shape[0], -1)
        return x.reshape(x.shape[0], *self.w.inp.maps())

    @property
    def statistics(self) -> tuple[str, ...]:
        """The blocks of the batch a training step shows: μ, var and the running averages."""
        return tuple(self._name(k) for k in ("mu", "var", "rmean", "rvar"))

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """z (N, …) -> y (N, …). Training (``p[BATCH]``: the batch's weights (N,)) normalises
        with the batch's μ and var, and moves the running averages from the last step's (given
        as ``p[rmean…]``, ``p[rvar…]``) to this one's; images held out (``p[HELD]``) are
        normalised with those. Evaluation (no ``p[BATCH]``) uses the running averages given."""
        z = self._maps(x)
        nd = z.ndim
        gamma = self._per(p[self._name("bn_gamma")], nd)
        beta = self._per(p[self._name("bn_beta")], nd)
        if BATCH not in p:
            mu, var = p[self._name("rmean")], p[self._name("rvar")]
            zhat = (z - self._per(mu, nd)) / np.sqrt(self._per(var, nd) + self.epsilon)
            return (gamma * zhat + beta).reshape(x.shape), {}
        weights = np.asarray(p[BATCH], dtype=float)
        m = float(weights.sum()) * self.positions
        mu = ops.batch_total(z, weights, self._axes(nd)) / m
        zc = z - self._per(mu, nd)
        var = ops.batch_total(zc**2, weights, self._axes(nd)) / m
        inv = 1 / np.sqrt(var + self.epsilon)
        zhat = zc * self._per(inv, nd)
        n = z.shape[0]
        cache = {"zc": zc, "zhat": zhat, "weights": weights,
                 **{k: np.broadcast_to(v, (n, self.units)) for k, v in
                    (("mu", mu), ("var", var), ("inv", inv))},
                 "m": np.full(n, m)}
        if self._name("rmean") in p:
            moved = self.running(p, {self._name("mu"): mu, self._name("var"): var}, m)
            cache.update({k: np.broadcast_to(v, (n, self.units)) for k, v in moved.items()})
            held = np.asarray(p.get(HELD, np.zeros(n))) != 0
            if held.any():  # evaluated with this step's running averages
                rmean = self._per(moved[self._name("rmean")], nd)
                rvar = self._per(moved[self._name("rvar")], nd)
                zc[held] = (z - rmean)[held]
                zhat[held] = (zc / np.sqrt(rvar + self.epsilon))[held]
        return (gamma * zhat + beta).reshape(x.shape), cache

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        shown = {self.w.out: y}
        if cache:
            shown.update({self._name("zc"): cache["zc"], self._name("zhat"): cache["zhat"]})
            shown.update({name: cache[what][0] for name, what in
                          zip(self.statistics, ("mu", "var", self._name("rmean"),
                                                self._name("rvar")), strict=True)
                          if what in cache})
        return shown

    def _errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
        nd = cache["zc"].ndim
        axes = self._axes(nd)
        dy = dy.reshape(cache["zc"].shape)
        inv = cache["inv"][0]
        dzhat = dy * self._per(p[self._name("bn_gamma")], nd)
        dvar = ops.batch_total(dzhat * cache["zc"], cache["weights"], axes) * -0.5 * inv**3
        dmu = -ops.batch_total(dzhat, cache["weights"], axes) * inv
        m = cache["m"][0]
        dz = (dzhat * self._per(inv, nd) + self._per(dvar, nd) * 2 * cache["zc"] / m
              + self._per(dmu, nd) / m)
        return {"dzhat": dzhat, "dvar": dvar, "dmu": dmu, "dz": dz, "dy": dy}

    def errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
        """The blocks of the backward pass by name (∂C/∂ẑ (N, …), ∂C/∂var, ∂C/∂μ (units,))."""
        e = self._errors(dy, cache, p)
        return {self._name("dC_dzhat"): e["dzhat"], self._name("dC_dvar"): e["dvar"],
                self._name("dC_dmu"): e["dmu"]}

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        """∂C/∂y (N, …) -> (δ = ∂C/∂z (N, …), {γ: Σ ∂C/∂y·ẑ, β: Σ ∂C/∂y} over the batch)."""
        e = self._errors(dy, cache, p)
        axes = self._axes(e["dy"].ndim)
        grads = {self._name("bn_gamma"): ops.batch_total(e["dy"] * cache["zhat"], cache["weights"],
                                                       axes),
                 self._name("bn_beta"): ops.batch_total(e["dy"], cache["weights"], axes)}
        return e["dz"].reshape(dy.shape), grads

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        dy = dy.reshape(cache["zc"].shape)
        over = tuple(range(2, dy.ndim))  # a map's positions
        return {self._name("bn_gamma"): np.sum(dy * cache["zhat"], axis=over),
                self._name("bn_beta"): np.sum(dy, axis=over)}

    def carried(self) -> list[Carried]:
        """The running averages, from 0 and 1 as torch starts them (the variance never below
        0); each step's forward pass moves them (``running``, ``running_xl``)."""
        return [Carried(self._name("rmean"), np.zeros(self.units)),
                Carried(self._name("rvar"), np.ones(self.units), nonnegative=True)]

    def batch_problem(self, images: int) -> str | None:
        """μ and var need 2 values of each unit (or filter) in a batch."""
        if images * self.positions >= 2:
            return None
        return "batch norm needs at least 2 values of each unit in every step's batch"

    def absent_params(self) -> dict[str, str]:
        return {names.bias(self.w.tag):
                "batch norm follows that layer: its μ would subtract any bias (β is the"
                " shift), so the layer has none"}

    def running(self, old: Mapping[str, np.ndarray], blocks: Mapping[str, np.ndarray],
                m: float) -> dict[str, np.ndarray]:
        """The running averages after a step whose batch had μ and var over m values each."""
        rmean, rvar = self._name("rmean"), self._name("rvar")
        return {rmean: ops.running(old[rmean], blocks[self._name("mu")], self.momentum),
                rvar: ops.running(old[rvar], blocks[self._name("var")] * m / (m - 1),
                                  self.momentum)}

    # --- Excel ---------------------------------------------------------------------------

    def _rows(self, j: int) -> tuple[int, int]:
        """Unit j's footprint rows: its row, or filter j's tile."""
        h = 1 if self.w.inp.flat else self.w.inp.height
        return j * h, j * h + h - 1

    def _unit(self, r: int) -> int:
        return r if self.w.inp.flat else r // self.w.inp.height

    def _root(self, cells: Cells, j: int, held: bool = False) -> str:
        """√(var + ε) of unit j (``held``: of the running variance for an image held out)."""
        var = self._either(cells, "var", "rvar", j) if held else (
            cells.out[self._name("var")].ref(j, absolute=True))
        return f"SQRT({var}+{self._name('epsilon')})"

    def _either(self, cells: Cells, batch: str, running: str, j: int) -> str:
        """The batch's statistic, or the running one for an image held out (evaluated)."""
        mine = cells.out[self._name(batch)].ref(j, absolute=True)
        if cells.held is None:
            return mine
        kept = cells.out[self._name(running)].ref(j, absolute=True)
        return f"IF({cells.held.ref()}<>0,{kept},{mine})"

    def _each(self, block: str, text: Callable[[int, int, int], str]) -> Iterator[Formula]:
        for r in range(self.w.inp.rows):
            for c in range(self.w.inp.cols):
                yield block, r, c, text(r, c, self._unit(r))

    def forward_xl(self, cells: Cells) -> Iterator[Formula]:
        out, batch = cells.out, cells.sums
        mu, var = out[self._name("mu")], out[self._name("var")]
        zc, zhat = out[self._name("zc")], out[self._name("zhat")]
        count = batch.count(self.positions)
        gamma, beta = cells.params[self._name("bn_gamma")], cells.params[self._name("bn_beta")]
        for j in range(self.units):
            area = batch.area(cells.x, *self._rows(j))
            yield mu.name, j, 0, f"{ops.batch_total_xl(area, batch.weights)}/{count}"
            area = batch.area(zc, *self._rows(j))
            yield var.name, j, 0, f"{ops.batch_total_xl(area, batch.weights, square=True)}/{count}"
        yield from self._each(zc.name, lambda r, c, j: (
            f"{cells.x.ref(r, c)}-{self._either(cells, 'mu', 'rmean', j)}"))
        yield from self._each(zhat.name, lambda r, c, j: (
            f"{zc.ref(r, c)}/{self._root(cells, j, held=True)}"))
        yield from self._each(self.w.out, lambda r, c, j: (
            f"{gamma.ref(j, absolute=True)}*{zhat.ref(r, c)}+{beta.ref(j, absolute=True)}"))
        yield from self.running_xl(cells, count)

    def running_xl(self, cells: Cells, count: str) -> Iterator[Formula]:
        """The running averages from the last iteration's (or 0 and 1 before the first)."""
        momentum = self._name("momentum")
        for what, stat, start, unbiased in (("rmean", "mu", "0", ""),
                                            ("rvar", "var", "1", f"*{count}/({count}-1)")):
            here = cells.out[self._name(stat)]
            for j in range(self.units):
                old = (cells.prev[self._name(what)].ref(j, sheet=cells.sheet)
                       if cells.prev is not None else start)
                yield self._name(what), j, 0, ops.running_xl(old, f"{here.ref(j)}{unbiased}",
                                                             momentum)

    def errors_xl(self, cells: Cells) -> Iterator[Formula]:
        """∂C/∂ẑ of each image, then ∂C/∂var and ∂C/∂μ over the batch."""
        out, batch = cells.out, cells.sums
        dzhat = out[self._name("dC_dzhat")]
        gamma = cells.params[self._name("bn_gamma")]
        yield from self._each(dzhat.name, lambda r, c, j: (
            f"{cells.dy(r, c)}*{gamma.ref(j, absolute=True)}"))
        zc = out[self._name("zc")]
        for j in range(self.units):
            r0, r1 = self._rows(j)
            product = f"{batch.area(dzhat, r0, r1)}*{batch.area(zc, r0, r1)}"
            marks = f"*{batch.weights}" if batch.weights else ""
            yield (self._name("dC_dvar"), j, 0,
                   f"SUMPRODUCT({product}{marks})*(-0.5)*{self._root(cells, j)}^(-3)")
            yield (self._name("dC_dmu"), j, 0,
                   f"-{ops.batch_total_xl(batch.area(dzhat, r0, r1), batch.weights)}"
                   f"/{self._root(cells, j)}")

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        out = cells.out
        j = self._unit(r)
        count = cells.sums.count(self.positions)
        dvar = out[self._name("dC_dvar")].ref(j, absolute=True)
        dmu = out[self._name("dC_dmu")].ref(j, absolute=True)
        return (f"{out[self._name('dC_dzhat')].ref(r, c)}/{self._root(cells, j)}"
                f"+{dvar}*2*{out[self._name('zc')].ref(r, c)}/{count}+{dmu}/{count}")

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        zhat = cells.out[self._name("zhat")]
        for j in range(self.units):
            r0, r1 = self._rows(j)
            if self.w.inp.flat:
                dy, value = cells.dy(j, 0), zhat.ref(j, 0)
                yield self._name("bn_gamma"), j, 0, f"{dy}*{value}"
                yield self._name("bn_beta"), j, 0, dy
                continue
            cols = self.w.inp.cols - 1
            dy = cells.dy_area.span(r0, r1, 0, cols)
            yield self._name("bn_gamma"), j, 0, f"SUMPRODUCT({dy},{zhat.span(r0, r1, 0, cols)})"
            yield self._name("bn_beta"), j, 0, f"SUM({dy})"

