"""A transformer sub-block's pre-norm: with ``ln`` (``--layer-norm``), the attention reads LN₁(x)
and the MLP reads LN₂(y), each the layer norm of ``layers/layernorm.py`` (as torch.nn.LayerNorm:
biased variance, ε = 1e-5), bound inside the sub-block and named as the issue names it: gains
``ln1_g``, ``ln2_g`` (start at 1) and shifts ``ln1_b``, ``ln2_b`` (start at 0). Its passes are
the layer norm's own; the sub-block hands it ∂C/∂ℓ, the error of what it read, and adds the
layer norm's ∂C/∂x to the residual path's.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator, Mapping
from dataclasses import replace
from typing import TypeVar

import numpy as np

from sheetnet.layers.base import UNBOUND, Block, Cache, Cells, Formula, Param, Refs, Wiring
from sheetnet.layers.layernorm import LayerNorm
from sheetnet.notation import sup
from sheetnet.pairs.hyper import Hyper

_Block = TypeVar("_Block", bound="PreNormed")
_ROLES = {"ln_gamma": "g", "ln_beta": "b", "ln_mu": "mu", "ln_var": "var", "ln_zc": "zc",
          "ln_hat": "hat", "ln_dhat": "dhat", "ln_g": "gbar", "ln_gx": "gxbar",
          "ln_epsilon": "epsilon"}


def pre_norm(w: Wiring, number: int, epsilon: float) -> LayerNorm:
    """LN₁ or LN₂ (``number``) of a sub-block wired as ``w``: it reads the sub-block's input,
    its output is ``ln1``, its ∂C/∂x ``ln1_dx``."""
    names = tuple((role, f"ln{number}_{name}") for role, name in _ROLES.items())
    return LayerNorm(epsilon).bind(Wiring(
        w.inp, w.x, str(number), f"ln{number}", w.x_prefix, w.x_sup, dx=f"ln{number}_dx",
        need_dx=True, names=names,
        dx_label=f"∂C/∂{w.x_symbol}ₜ through ln{sup(number)}"))


class PreNormed:
    """What a sub-block with an optional pre-norm and a residual sum shares: the layer norm,
    what it reads (ℓ: LN(x), or x itself), the layer norm's settings, and the way back:
    ∂C/∂x = ∂C/∂(its output) + ∂C/∂ℓ (through the layer norm), ∂C/∂ℓ being the block
    ``sent_back`` that the sub-block's own errors end with."""

    layer_norm: bool
    epsilon: float
    number: int  # 1: the attention's, 2: the MLP's
    sent_back: str  # the block of ∂C/∂ℓ
    w: Wiring

    @property
    def d(self) -> int:
        """D, the numbers at each position."""
        return self.w.inp.height

    @property
    def steps(self) -> int:
        return self.w.inp.steps

    @property
    def error_name(self) -> str:
        """∂C/∂(its output), the block the layer above writes."""
        return f"dC_d{self.w.out}"

    @property
    def spread(self) -> tuple[str, str]:
        """Its outputs and their errors, whose spread the Statistics sheet follows."""
        return self.w.out, self.error_name

    def _errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
        """The sub-block's own errors, ending with ``sent_back``."""
        raise NotImplementedError

    def _own_grads(self, dy: np.ndarray, cache: Cache, e: Mapping[str, np.ndarray],
                   per_window: bool) -> dict[str, np.ndarray]:
        """Its own parameters' gradients from its errors ``e``: each window's, or their sum."""
        raise NotImplementedError

    def _grads(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray],
               e: Mapping[str, np.ndarray], per_window: bool) -> dict[str, np.ndarray]:
        out = self._own_grads(dy, cache, e, per_window)
        norm = self.norm
        if norm is not None:
            grads = norm.per_image(e[self.sent_back], self.norm_cache(cache), p)
            out.update(grads if per_window else {k: v.sum(axis=0) for k, v in grads.items()})
        return out

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        """Each window's gradients, summed over its positions."""
        return self._grads(dy, cache, p, self._errors(dy, cache, p), True)

    @functools.cached_property
    def norm(self) -> LayerNorm | None:
        """The pre-norm, bound with the sub-block (None: none, or not bound yet); made once
        for each bound sub-block."""
        if not self.layer_norm or self.w is UNBOUND:
            return None
        return pre_norm(self.w, self.number, self.epsilon)

    def norm_params(self) -> list[Param]:
        norm = self.norm
        return norm.params() if norm is not None else []

    def norm_blocks(self) -> list[Block]:
        """The layer norm's forward blocks (none without it)."""
        norm = self.norm
        return norm.blocks() if norm is not None else []

    def norm_error_blocks(self) -> list[Block]:
        """The layer norm's error blocks and its ∂C/∂x (none without it)."""
        norm = self.norm
        return [*norm.error_blocks(), *norm.dx_blocks()] if norm is not None else []

    def norm_guide_lines(self) -> list[str]:
        norm = self.norm
        return norm.guide_lines() if norm is not None else []

    def norm_numbers(self) -> int:
        norm = self.norm
        return norm.numbers() if norm is not None else 0

    def norm_shown(self, cache: Cache) -> dict[str, np.ndarray]:
        """The layer norm's blocks as a trace keeps them (none without it)."""
        norm = self.norm
        return norm.shown(cache["read"], self.norm_cache(cache)) if norm is not None else {}

    @property
    def read_name(self) -> str | None:
        """The block the sub-block reads (``ln1``), or None: its input itself."""
        return f"ln{self.number}" if self.layer_norm else None

    @property
    def settings(self) -> tuple[tuple[str, float], ...]:
        norm = self.norm
        return norm.settings if norm is not None else ()

    def hypers(self) -> list[Hyper]:
        norm = self.norm
        return norm.hypers() if norm is not None else []

    def tune(self: _Block, values: Mapping[str, float]) -> _Block:
        norm = self.norm
        if norm is None:
            return self
        return replace(self, epsilon=norm.tune(values).epsilon)  # type: ignore[type-var]

    def read(self, x: np.ndarray, p: Mapping[str, np.ndarray]) -> tuple[np.ndarray, Cache]:
        """ℓ (N, T, D) and the layer norm's cache, its keys marked ``ln.``."""
        norm = self.norm
        if norm is None:
            return x, {}
        out, cache = norm.forward(x, p)
        return out, {f"ln.{k}": v for k, v in cache.items()}

    def norm_cache(self, cache: Cache) -> Cache:
        return {k[3:]: v for k, v in cache.items() if k.startswith("ln.")}

    def read_cells(self, cells: Cells) -> Refs:
        """The cells of ℓ: LN's outputs, or the input's."""
        name = self.read_name
        return cells.x if name is None else cells.out[name]

    def through_norm(self, cells: Cells, error: str) -> Cells:
        """The cells as the layer norm reads them going back: ∂C/∂ℓ is the block ``error``."""
        block = cells.out[error]
        return replace(cells, dy=lambda r, c: block.ref(r, c), dy_block=block)

    def norm_dx(self, dread: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                ) -> dict[str, np.ndarray]:
        """The layer norm's error blocks and its ∂C/∂x, from ∂C/∂ℓ (none without it)."""
        norm = self.norm
        if norm is None:
            return {}
        inner = self.norm_cache(cache)
        dx = norm.backward(dread, inner, p)[0]
        assert dx is not None, "a pre-norm always sends its error back"
        return {**norm.errors(dread, inner, p), norm.w.shown_dx: dx}

    def errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
        errors = self._errors(dy, cache, p)
        return {**errors, **self.norm_dx(errors[self.sent_back], cache, p)}

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """∂C/∂(output) (N, T, D) -> (∂C/∂x, each parameter's gradient summed over the
        windows)."""
        e = self._errors(dy, cache, p)
        grads = self._grads(dy, cache, p, e, False)
        if not self.w.need_dx:
            return None, grads
        back, norm = e[self.sent_back], self.norm
        if norm is not None:
            through = norm.backward(back, self.norm_cache(cache), p)[0]
            assert through is not None, "a pre-norm always sends its error back"
            back = through
        return dy + back, grads

    @property
    def back_name(self) -> str:
        """The block ∂C/∂x adds to ∂C/∂(output): ∂C/∂ℓ, through the layer norm if any."""
        norm = self.norm
        return norm.w.shown_dx if norm is not None else self.sent_back

    def residual_dx_block(self, output: str, what: str) -> Block:
        """∂C/∂x = ∂C/∂(output) + the sub-block's ∂C/∂ℓ."""
        w = self.w
        s = sup(self.number)
        back = f"∂C/∂ℓ{s}ₜ through ln{s}" if self.layer_norm else f"∂C/∂ℓ{s}ₜ"
        return Block(w.shown_dx, w.inp, w.dx_symbol,
                     f"{w.dx_symbol} = {output} + {back}: the residual sum's error and {what}",
                     tuple((r, f"unit {r + 1}") for r in range(w.inp.height)))

    def norm_errors_xl(self, cells: Cells) -> Iterator[Formula]:
        """The layer norm's errors and its ∂C/∂x, from ∂C/∂ℓ (none without it)."""
        norm = self.norm
        if norm is None:
            return
        inner = self.through_norm(cells, self.sent_back)
        yield from norm.errors_xl(inner)
        for t in range(self.w.inp.steps):
            for j in range(self.w.inp.height):
                yield norm.w.shown_dx, j, t, norm.dx_xl(inner, j, t)

    def norm_grads_xl(self, cells: Cells) -> Iterator[Formula]:
        norm = self.norm
        if norm is not None:
            yield from norm.grads_xl(self.through_norm(cells, self.sent_back))

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        return f"{cells.dy(r, c)}+{cells.out[self.back_name].ref(r, c)}"


def outer_sum(errors: np.ndarray, inputs: np.ndarray, per_window: bool) -> np.ndarray:
    """Σₜ errorsₜ·inputsₜᵀ, (N, T, a) and (N, T, b): each window's (N, a, b) by a batched
    matrix product, or the sum over the windows (a, b) by one."""
    if per_window:
        return errors.transpose(0, 2, 1) @ inputs
    return errors.reshape(-1, errors.shape[-1]).T @ inputs.reshape(-1, inputs.shape[-1])
