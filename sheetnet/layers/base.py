"""What every layer kind shares: the shape that flows between layers, parameters, blocks, and the
cell references a layer's Excel forms write over.

A layer kind is one module beside this one. It holds, side by side:

- its parameters (``Param``: name in the book's notation, shape, how it is drawn and drawn from);
- ``forward(x, params) -> (y, cache)`` and ``backward(dy, cache, params) -> (dx, grads)`` in
  NumPy, batched over images (axis 0) and written for BLAS; ``per_image`` gives each image's own
  gradients, which only a workbook, ``--blocks`` or ``show`` asks for;
- the same two passes as Excel formulas over a ``Cells`` of references (``forward_xl``,
  ``grads_xl``, ``dx_xl``);
- the blocks it shows (``Block``: name, shape, symbol, labels, what it is, its colour).

Layers are built unbound (``Dense(3)``) and bound by the stack (``core/stack.py``), which gives
each its input shape and the names of its blocks; a bound layer is immutable.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import NoReturn, Protocol, TypeVar

import numpy as np

from sheetnet.notation import delta, numbered, sub, sup
from sheetnet.pairs.hyper import Hyper

# --- shapes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What one image carries between two layers.

    ``units``: n numbers, drawn as a column of n cells; maps: ``channels`` tiles of
    ``height × width`` cells, one under the other with a blank row between them. A map block
    keeps its channel axis in NumPy ((N, C, H, W)) when ``tiled``; a single-channel image
    does not ((N, H, W), drawn as one tile without the blank row), as the book draws x.
    A ``sequence`` (a window of a text) is n units at each of T steps: a column of n cells per
    step, time running left to right, (N, T, n) in NumPy ((N, T) for one number a step).
    """

    channels: int
    height: int
    width: int
    flat: bool = False
    tiled: bool = True
    steps: int = 0  # a sequence's T (0: not a sequence)
    per_step: bool = False  # a sequence of one number a step, (N, T) in NumPy

    @classmethod
    def sequence(cls, n: int, steps: int) -> Shape:
        return cls(1, n, steps, flat=True, tiled=False, steps=steps)

    @classmethod
    def timeline(cls, steps: int) -> Shape:
        """One number at each step (a step's cost, its error's size)."""
        return cls(1, 1, steps, flat=True, tiled=False, steps=steps, per_step=True)

    @property
    def step(self) -> Shape:
        """What one step carries: the shape itself when it is not a sequence."""
        return Shape.units(self.height) if self.steps else self

    @classmethod
    def units(cls, n: int) -> Shape:
        return cls(1, n, 1, flat=True, tiled=False)

    @classmethod
    def image(cls, height: int, width: int, channels: int = 1) -> Shape:
        return cls(channels, height, width, tiled=channels > 1)

    @property
    def size(self) -> int:
        """Numbers per image."""
        return self.channels * self.height * self.width

    @property
    def rows(self) -> int:
        """Rows of the footprint (the blank rows between tiles not counted)."""
        return self.channels * self.height

    @property
    def cols(self) -> int:
        return self.width

    @property
    def tile(self) -> int:
        """Rows per tile (0: drawn without blank rows)."""
        return self.height if self.tiled and not self.flat else 0

    def array(self) -> tuple[int, ...]:
        """One image's block shape in NumPy: (n,), (C, H, W), (H, W), (T, n) or (T,)."""
        if self.steps:
            return (self.steps,) if self.per_step else (self.steps, self.height)
        if self.flat:
            return (self.height,)
        if self.tiled:
            return (self.channels, self.height, self.width)
        return (self.height, self.width)

    def maps(self) -> tuple[int, int, int]:
        """(C, H, W) as the layers compute on maps."""
        return self.channels, self.height, self.width

    def computed(self) -> tuple[int, ...]:
        """One image as the layers compute on it: (n,), (C, H, W) or (T, n)."""
        if self.steps:
            return (self.steps, self.height)
        return (self.size,) if self.flat else self.maps()

    @property
    def text(self) -> str:
        if self.steps:
            return f"{self.height} × {self.steps} steps"
        return f"{self.height}" if self.flat else (
            f"{self.channels}×{self.height}×{self.width}" if self.tiled
            else f"{self.height}×{self.width}")


# --- parameters and blocks ------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """A parameter block: its name (``W2``, ``F``), NumPy shape, how it is drawn (``rows`` ×
    ``cols``, tiles of ``tile`` rows), whether it is a weight (penalties apply) and its fan-in."""

    name: str
    shape: tuple[int, ...]
    rows: int
    cols: int = 1
    tile: int = 0
    weight: bool = True
    fan_in: int = 1
    fan_out: int = 1  # the units (or filters × window) each input feeds: Xavier's other half
    start: float | None = None  # a fixed initial value (batch norm's γ 1, β 0), not drawn
    bound: float | None = None  # the uniform scheme's ±bound (None: 1/√fan-in; a recurrent
    # layer's: 1/√H, as torch draws it)
    symbol: str = ""  # column A of an iteration sheet, e.g. "wᶠ"
    description: str = ""
    # one label per element, row-major (the Inputs sheet's column B), and (footprint row, text)
    # on iteration sheets: made when a sheet is written (a net too big for one has millions)
    make_labels: Callable[[], tuple[str, ...]] = field(default=tuple, repr=False,
                                                       compare=False)
    make_tile_labels: Callable[[], tuple[tuple[int, str], ...]] = field(
        default=tuple, repr=False, compare=False)
    colour: str | None = None  # "signed": a blue-white-red colour scale

    @property
    def size(self) -> int:
        return int(np.prod(self.shape))

    @property
    def labels(self) -> tuple[str, ...]:
        return self.make_labels()

    @property
    def tile_labels(self) -> tuple[tuple[int, str], ...]:
        return self.make_tile_labels()


@dataclass(frozen=True)
class Block:
    """A block a layer shows per image: its name, shape, symbol (column A), labels (column B:
    (footprint row, text)), what it is (the Map sheet's words) and its colour scale
    ("picture", "signed" or None)."""

    name: str
    shape: Shape
    symbol: str
    description: str
    labels: tuple[tuple[int, str], ...] = ()
    colour: str | None = None
    padded: bool = False  # the padded copy of a convolution's input (x̃): drawn beside it
    input: bool = False  # typed in, not computed (a dropout mask): read back by verify
    batch: bool = False  # one copy for the step's batch (batch norm's μ), not one per image
    terminal: bool = True  # shown by ``show`` (not the steps between: z − μ, running averages)
    text: bool = False  # characters read off the vocabulary (formulas whose values are text:
    # shown, not compared) …
    shows: str = ""  # … at the 1-based index this block holds (a one-hot block: where its 1 is)


def labels(shape: Shape, symbol: str, tag: str = "") -> tuple[tuple[int, str], ...]:
    """Column B of a per-image block: each unit of a column (z²₁, z²₂ …), or each tile of maps
    (zᶠ¹, zᶠ² … for filter 1, 2; "zᶠ², map 1" in a stack with several convolution layers)."""
    if shape.flat:
        return tuple((j, f"{symbol}{sub(j + 1)}") for j in range(shape.height))
    if not shape.tiled:
        return ()
    return tuple((q * shape.height, f"{symbol}, map {q + 1}" if numbered(tag)
                  else f"{symbol}{sup(q + 1)}") for q in range(shape.channels))


# --- cell references -----------------------------------------------------------------------


class Refs(Protocol):
    """One block's cells, as ``workbook.layout.Place`` gives them: the current image's footprint
    (a per-image block) or the block's only copy (a parameter; pass ``absolute=True`` so every
    image's formula reads the same cells)."""

    @property
    def name(self) -> str: ...

    @property
    def rows(self) -> int: ...

    @property
    def cols(self) -> int: ...

    def ref(self, r: int = 0, c: int = 0, *, image: int | None = None, absolute: bool = False,
            sheet: str | None = None) -> str: ...

    def span(self, r0: int, r1: int, c0: int = 0, c1: int = 0, *, image: int | None = None,
             absolute: bool = False, sheet: str | None = None) -> str: ...

    def sheet_row(self, r: int) -> int: ...

    def all_images_row(self, r: int, c: int = 0, sheet: str | None = None) -> str: ...


Formula = tuple[str, int, int, str]  # (block name, footprint row, column, formula text)


@dataclass(frozen=True)
class Cells:
    """Where a layer's blocks are, for its Excel forms: its input ``x``, its forward blocks
    ``out`` and parameters ``params`` by name, per-image gradient blocks ``grads`` by parameter
    name, the upstream gradient ``dy(r, c)`` at its output's cell (a cell reference, or an
    expression when the layer takes it inline; ``dy_block`` when it is a block), and ``key``:
    the block max pooling finds its maximum on."""

    x: Refs
    out: Mapping[str, Refs] = field(default_factory=dict)
    params: Mapping[str, Refs] = field(default_factory=dict)
    grads: Mapping[str, Refs] = field(default_factory=dict)
    dy: Callable[[int, int], str] = field(default=lambda r, c: _missing("an upstream error"))
    dy_block: Refs | None = None  # the upstream gradient's block, when it is one
    key: Refs | None = None
    batch: Batch | None = None  # batch norm's sums over the batch's images
    prev: Mapping[str, Refs] | None = None  # the previous iteration's blocks (running stats)
    sheet: str | None = None  # the sheet the formulas live on (for ``prev``'s references)
    held: Refs | None = None  # each image's held-out flag (1: evaluated, not trained on)

    @property
    def dy_area(self) -> Refs:
        """The upstream gradient's block (a layer that reads it whole: a convolution's)."""
        return self.dy_block if self.dy_block is not None else _missing("an error block")

    @property
    def sums(self) -> Batch:
        """The sums over the step's batch (a layer that couples the batch's images)."""
        return self.batch if self.batch is not None else _missing("the batch's sums")


def _missing(what: str) -> NoReturn:
    raise AssertionError(f"the stack gave this layer no {what}")


@dataclass(frozen=True)
class Batch:
    """How a layer's Excel forms reach across the images of a step's batch (batch norm):
    ``area(block, r0, r1)``, rows r0..r1 of a per-image block over every image; ``weights``, an
    expression of 1s (in the batch) and 0s over the same columns (None: every image is in the
    batch); ``count(n)``, the batch's images × n positions each."""

    area: Callable[[Refs, int, int], str]
    weights: str | None
    count: Callable[[int], str]
    mean: Callable[[Refs, int, int], str] = field(
        default=lambda block, r, c: _missing("a mean over the images"))  # (block, r, c): of
    # cell (r, c) over every image, in the batch or not (an error's size at each step)


Cache = dict[str, np.ndarray]  # every entry has the image as axis 0, so a batch is a slice


@dataclass(frozen=True)
class Wiring:
    """What the stack tells a layer when it binds it: its input's shape and block name, its
    tag (``2``, ``F``, ``O`` …, from which its blocks are named), the name of its output block,
    the name of ∂C/∂(its input) when that is shown as a block (None: inline, or not needed for
    the first layer), and for max pooling the block its maximum is found on."""

    inp: Shape
    x: str
    tag: str
    out: str
    x_prefix: str = "x"  # the input block's letter ("z", "a"; "x" for the image) …
    x_sup: str = ""  # … and its superscript: the input is zᴾ, a², x
    dx: str | None = None
    need_dx: bool = True
    key: str | None = None
    key_symbol: str | None = None  # the block max pooling finds its maximum on, as written
    # names the stack gives in place of those the tag makes (a text's output layer: W_hy is
    # ``Why``, its scores ``o``), by role: "W", "b", "w", "b_symbol", "z", "a", "delta"
    names: tuple[tuple[str, str], ...] = ()
    dx_label: str = ""  # ∂C/∂x's symbol when the layer before names it (its error_symbol)

    def named(self, role: str, default: str) -> str:
        """The name the stack gives ``role``, else ``default`` (the tag's)."""
        return dict(self.names).get(role, default)

    @property
    def x_symbol(self) -> str:
        return self.x_prefix + self.x_sup

    @property
    def shown_dx(self) -> str:
        """∂C/∂x's block name, for a layer that shows it (``dx`` is then set)."""
        return self.dx if self.dx is not None else _missing("block for ∂C/∂x")

    @property
    def dx_symbol(self) -> str:
        """∂C/∂x in the book's letters: δᴾ for ∂C/∂zᴾ (the layer before's own name for it,
        when it has one: a recurrent layer's ∂C/∂hₜ from above)."""
        if self.dx_label:
            return self.dx_label
        return f"δ{self.x_sup}" if self.x_prefix == "z" else f"∂C/∂{self.x_symbol}"


def take(cache: Cache, rows: np.ndarray | None) -> Cache:
    """The cache of the images ``rows`` (None: all), for a batch's backward pass."""
    return cache if rows is None else {k: v[rows] for k, v in cache.items()}


UNBOUND = Wiring(Shape.units(0), "", "", "")  # a layer's wiring before the stack binds it
# what a forward pass may be given beside the parameters and the layers' step inputs
BATCH = "batch"  # the step's batch weights (N,): a layer coupling the batch is in training mode
HELD = "held"  # the images held out for validation (N,): evaluated, not trained on


# --- what a layer declares beyond its passes ---------------------------------------------------


@dataclass(frozen=True)
class StepInput:
    """A block a layer draws afresh for each training step from the run's seed (a dropout
    mask): typed into the cells as inputs, so a spreadsheet never redraws it, and read back
    by verify. ``draw(images, seed, step, index)`` gives it for every image, (N, *shape);
    ``index`` counts the net's step inputs, input to output."""

    name: str
    shape: tuple[int, ...]  # one image's
    draw: Callable[[int, int, int, int], np.ndarray]


@dataclass(frozen=True)
class Carried:
    """A block a layer carries from one training step to the next (batch norm's running
    mean): its value before the first step, and whether it can never be negative (a
    variance). The advance is the layer's own forward pass, which is given the last step's
    value under ``name`` and shows this step's; its formula is the layer's ``forward_xl``,
    reading the last sheet's cells (``Cells.prev``)."""

    name: str
    start: np.ndarray
    nonnegative: bool = False


_Kind = TypeVar("_Kind", bound="LayerBase")


class LayerBase:
    """What every layer kind declares, with the defaults most kinds take. A kind overrides
    what it is; nothing outside ``layers/`` asks which kind a layer is."""

    kind: str = ""  # its name among the kinds (its module's business, and --arch's)
    w: Wiring = UNBOUND
    letter: str | None = None  # its tag's letter in a stack of maps (F, P); None: the tag before
    prefix = "z"  # its output block's letter: "z" (a weighted input, a pooled map) or "a"
    reads_maps = False  # it needs maps (an image), not units
    takes_inline_dy = False  # its backward reads dy once per cell, so dy may be an expression
    dx_block = False  # its dx is always a block of its own (pooling's routed errors)
    keyed = False  # max pooling: finds its maxima on the input of an activation before it
    transparent = False  # its output is its input's cells (flatten): no block of its own
    weighted = False  # a weighted sum (dense, convolution): the Statistics sheet watches it
    activation = False  # an activation: what a weighted layer's outputs are watched through
    couples_batch = False  # its numbers are the step's batch's (batch norm): never in chunks
    evaluation = ""  # what an evaluation pass does differently ("no dropout"); "": nothing
    unit_interval = False  # its outputs lie in 0..1 (a sigmoid's): pictures shade them so
    settings: tuple[tuple[str, float], ...] = ()  # hyperparameters of its own, by cell name
    follows: tuple[str, ...] = ()  # the kinds it must come right after (): any
    follows_text: tuple[str, ...] = ()  # the same as a student reads them
    leads = False  # it reads the net's input itself (an embedding): it comes first
    once = False  # at most one in a stack: its names are untagged (a transformer's Wq, W1)

    def bind(self: _Kind, w: Wiring) -> _Kind:
        """The layer wired into its stack (every kind is a frozen dataclass)."""
        return replace(self, w=w)  # type: ignore[type-var]

    @property
    def bound(self) -> bool:
        return self.w is not UNBOUND

    @property
    def error_name(self) -> str | None:
        """∂C/∂(its output), when it shows it as a block of its own (batch norm's ∂C/∂y)."""
        return None

    @property
    def error_symbol(self) -> str:
        """That block's symbol ("": the book's δ or ∂C/∂ of the output's letter)."""
        return ""

    @property
    def spread(self) -> tuple[str, str] | None:
        """(its outputs' block, its errors' block) whose spread the Statistics sheet follows,
        for a kind that is not a weighted layer followed by an activation (a recurrent layer's
        hₜ and ∂C/∂hₜ)."""
        return None

    def tune(self, values: Mapping[str, float]):
        """The same layer with its settings taken from ``values`` (a workbook's cells)."""
        return self

    def hypers(self) -> list[Hyper]:
        """The named cells it adds to the Inputs sheet (dropout's P)."""
        return []

    def step_inputs(self) -> list[StepInput]:
        """What it draws for each step (``StepInput``)."""
        return []

    def carried(self) -> list[Carried]:
        """What it carries from step to step (``Carried``)."""
        return []

    def batch_problem(self, images: int) -> str | None:
        """Why a step's batch of ``images`` images cannot be computed ("" or None: it can)."""
        return None

    def guide_lines(self) -> list[str]:
        """How its cells read, for the Guide (an activation's formula)."""
        return []

    def absent_params(self) -> dict[str, str]:
        """Parameters the stack leaves out because of this layer, each with why (batch norm
        makes the layer before it lose its bias)."""
        return {}

    @property
    def symbol_prefix(self) -> str:
        """The letter its output is written with (``z``, ``a``; a dropout's ``ã``)."""
        return self.prefix

    def numbers(self) -> int:
        return self.output_shape(self.w.inp).size  # type: ignore[attr-defined]

    def dx_name(self, tag: str, input_tag: str) -> str:
        """∂C/∂x's block name: δ of the input's z (``deltaP`` for ∂C/∂zᴾ)."""
        return delta(input_tag)

    def dx_blocks(self) -> list[Block]:
        """∂C/∂(its input) as blocks, when the stack shows it."""
        return []

    def error_blocks(self) -> list[Block]:
        """Error blocks of its own, shown whether or not ∂C/∂x is (backpropagation through
        time's ∂C/∂hₜ, δₜ …), each computed by ``errors`` and written by ``errors_xl``."""
        return []

    @property
    def state(self) -> str | None:
        """The block it carries through time (hₜ), drawn as a heat strip by ``show``."""
        return None

    @property
    def pattern(self) -> str | None:
        """Its T×T block of attention weights (a column per position), which the Attention
        sheet draws at the first and the last iteration."""
        return None

    def errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
               ) -> dict[str, np.ndarray]:
        """Error blocks of its own beyond ∂C/∂x (batch norm's ∂C/∂ẑ), by name."""
        return {}

    def errors_xl(self, cells: Cells) -> Iterator[Formula]:
        """The same as formulas, written before ``dx_xl``'s."""
        return iter(())


class Elementwise(LayerBase):
    """What layers without parameters that keep their input's shape share (an activation,
    dropout, flatten): binding, the shape, no parameters and no gradients of their own."""

    def output_shape(self, inp: Shape) -> Shape:
        return inp

    def params(self) -> list[Param]:
        return []

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        return {}

    def grads_xl(self, cells: Cells) -> Iterator[Formula]:
        return iter(())


class Layer(Protocol):
    """A layer kind: its declarations (``LayerBase``'s, with their defaults), its parameters
    and blocks, and its passes in NumPy and in Excel (see the module's docstring). What it
    declares is read only (a layer is immutable; ``bind`` and ``tune`` make new ones)."""

    @property
    def kind(self) -> str: ...

    @property
    def w(self) -> Wiring: ...

    @property
    def token(self) -> str: ...

    @property
    def letter(self) -> str | None: ...

    @property
    def prefix(self) -> str: ...

    @property
    def reads_maps(self) -> bool: ...

    @property
    def takes_inline_dy(self) -> bool: ...

    @property
    def dx_block(self) -> bool: ...

    @property
    def keyed(self) -> bool: ...

    @property
    def transparent(self) -> bool: ...

    @property
    def weighted(self) -> bool: ...

    @property
    def activation(self) -> bool: ...

    @property
    def couples_batch(self) -> bool: ...

    @property
    def evaluation(self) -> str: ...

    @property
    def error_name(self) -> str | None: ...

    @property
    def error_symbol(self) -> str: ...

    @property
    def spread(self) -> tuple[str, str] | None: ...

    @property
    def unit_interval(self) -> bool: ...

    @property
    def settings(self) -> tuple[tuple[str, float], ...]: ...

    @property
    def follows(self) -> tuple[str, ...]: ...

    @property
    def follows_text(self) -> tuple[str, ...]: ...

    @property
    def leads(self) -> bool: ...

    @property
    def once(self) -> bool: ...

    @classmethod
    def parse(cls, item: str) -> Layer | None:
        """The unbound layer an ``--arch`` token describes, or None if it is not this kind's."""

    @property
    def bound(self) -> bool: ...

    @property
    def symbol_prefix(self) -> str: ...

    def output_shape(self, inp: Shape) -> Shape: ...

    def bind(self, w: Wiring) -> Layer: ...

    def tune(self, values: Mapping[str, float]) -> Layer: ...

    def hypers(self) -> list[Hyper]: ...

    def step_inputs(self) -> list[StepInput]: ...

    def carried(self) -> list[Carried]: ...

    def batch_problem(self, images: int) -> str | None: ...

    def guide_lines(self) -> list[str]: ...

    def absent_params(self) -> dict[str, str]: ...

    def numbers(self) -> int:
        """Numbers one image holds in its forward pass: output and cache."""

    def dx_name(self, tag: str, input_tag: str) -> str: ...

    def params(self) -> list[Param]: ...

    def blocks(self) -> list[Block]: ...

    def dx_blocks(self) -> list[Block]: ...

    def error_blocks(self) -> list[Block]: ...

    @property
    def state(self) -> str | None: ...

    @property
    def pattern(self) -> str | None: ...

    def forward(self, x: np.ndarray, p: Mapping[str, np.ndarray],
                key: np.ndarray | None = None) -> tuple[np.ndarray, Cache]:
        """x: (N, *input) -> y: (N, *output), and what backward needs; ``key``: the block a
        keyed layer (max pooling) finds its maxima on (``Wiring.key``)."""

    def shown(self, y: np.ndarray, cache: Cache) -> dict[str, np.ndarray]:
        """The forward blocks it shows, by name."""

    def backward(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                 ) -> tuple[np.ndarray | None, dict[str, np.ndarray]]:
        """dy: (N, *output) -> (dx (N, *input), or None when not needed; each parameter's
        gradient summed over the N images)."""

    def per_image(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
                  ) -> dict[str, np.ndarray]:
        """Each image's own gradient of each parameter: (N, *parameter)."""

    def errors(self, dy: np.ndarray, cache: Cache, p: Mapping[str, np.ndarray]
               ) -> dict[str, np.ndarray]: ...

    def forward_xl(self, cells: Cells) -> Iterator[Formula]: ...

    def grads_xl(self, cells: Cells) -> Iterator[Formula]: ...

    def errors_xl(self, cells: Cells) -> Iterator[Formula]: ...

    def dx_xl(self, cells: Cells, r: int, c: int) -> str:
        """∂C/∂x at the input's footprint cell (r, c), from ``cells.dy``."""
