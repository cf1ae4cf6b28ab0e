"""A net is a stack of layers closed by an output layer with its cost; one generic pass runs it.

``build`` binds each layer of a stack (``layers/``) to its input's shape and names its blocks:
by number in a fully connected stack (the book's 3-5: ``W2``, ``z2``, ``a2``, ``delta3``), by the
book's letters once the stack has convolution or pooling (5-4: ``F``, ``zF``, ``aF``, ``zP``,
``WO``, ``deltaO``), numbered when it has several of a kind (``F1``, ``zF2``). ``iteration``
computes every block of one iteration: the forward pass of all the images, the output layer, and
the backward pass; a batch's gradients come from the batch's images alone (the forward caches
sliced), and each image's own gradient only when asked (``detail``: what a workbook, ``--blocks``
or ``show`` needs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace

import numpy as np

from sheetnet import notation as names
from sheetnet.core import budget
from sheetnet.core.params import Params, standard_normal
from sheetnet.errors import SheetnetError
from sheetnet.layers import stack as stack_of
from sheetnet.layers.base import (
    BATCH,
    HELD,
    Block,
    Cache,
    Carried,
    Layer,
    Param,
    Shape,
    StepInput,
    Wiring,
    take,
)
from sheetnet.layers.output import Output, describe_totals
from sheetnet.notation import Words
from sheetnet.pairs import ops
from sheetnet.pairs.activations import SIGMOID, Activation
from sheetnet.pairs.hyper import Hyper
from sheetnet.pairs.outputs import HALF_SSE, OutputLayer, compose


@dataclass(frozen=True)
class Net:
    """Bound layers, input to output, and the output layer fused with its cost."""

    layers: tuple[Layer, ...]
    output: Output
    input: Shape

    @property
    def maps(self) -> bool:
        """Whether images enter as maps (a convolutional stack) rather than a column."""
        return not self.input.flat

    @property
    def outputs(self) -> int:
        return self.output.units

    @property
    def accuracy(self) -> bool:
        return self.output.accuracy

    @property
    def arch(self) -> str:
        """The stack as ``--arch`` writes it (flatten implied)."""
        return ", ".join(layer.token for layer in self.layers if layer.token)

    def params(self) -> list[Param]:
        return [p for layer in self.layers for p in layer.params()]

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{"W2": (n2, n1), "b2": (n2,), …}`` in the order the workbook lists them."""
        return {p.name: p.shape for p in self.params()}

    def weighted(self) -> list[Layer]:
        """Its layers with a weight (dense, convolution, recurrent, embedding …), input to
        output."""
        return [layer for layer in self.layers if any(p.weight for p in layer.params())]

    def first_params(self, n: int) -> tuple[str, ...]:
        """The parameters of its first ``n`` weighted layers and of any layer before them
        (what ``--freeze n`` keeps as it starts)."""
        if n < 1:
            return ()
        last = self.layers.index(self.weighted()[n - 1])
        return tuple(p.name for layer in self.layers[:last + 1] for p in layer.params())

    def head(self) -> tuple[str, ...]:
        """The parameters of its last weighted layer and of any layer after it (what
        ``--new-head`` draws anew)."""
        first = self.layers.index(self.weighted()[-1])
        return tuple(p.name for layer in self.layers[first:] for p in layer.params())

    @property
    def weights(self) -> list[str]:
        """The weight blocks (not the biases): what a penalty applies to."""
        return [p.name for p in self.params() if p.weight]

    @property
    def parameters(self) -> int:
        return sum(p.size for p in self.params())

    def hypers(self) -> list[Hyper]:
        """The named cells its layers add to the Inputs sheet (each dropout layer's P)."""
        return [h for layer in self.layers for h in layer.hypers()]

    def step_inputs(self) -> list[StepInput]:
        """What its layers draw for each step (dropout masks), input to output."""
        return [s for layer in self.layers for s in layer.step_inputs()]

    def carried(self) -> list[Carried]:
        """What its layers carry from step to step (batch norm's running averages)."""
        return [c for layer in self.layers for c in layer.carried()]

    def carried_start(self) -> dict[str, np.ndarray]:
        """The carried blocks before the first step, by name."""
        return {c.name: c.start for c in self.carried()}

    @property
    def couples_batch(self) -> bool:
        """Whether a layer's numbers are the step's batch's (batch norm): then a step computes
        its images together, and its passes need the batch's weights (training mode)."""
        return any(layer.couples_batch for layer in self.layers)

    @property
    def evaluation(self) -> str:
        """What an evaluation pass does differently from a training step ("no dropout, batch
        norm's running averages"); "" when it is the same pass."""
        return ", ".join(dict.fromkeys(layer.evaluation for layer in self.layers
                                       if layer.evaluation))

    def batch_problem(self, images: int) -> str | None:
        """Why a step's batch of ``images`` images cannot be computed, if it cannot."""
        return next((why for layer in self.layers if (why := layer.batch_problem(images))),
                    None)

    def absent_params(self) -> dict[str, str]:
        """Parameters the stack leaves out, each with why (``Layer.absent_params``)."""
        return {k: v for layer in self.layers for k, v in layer.absent_params().items()}

    def states(self) -> list[str]:
        """The blocks its layers carry through time (each recurrent layer's hₜ)."""
        return [layer.state for layer in self.layers if layer.state is not None]

    def patterns(self) -> list[str]:
        """Its attention layers' T×T blocks of weights (αₜᵤ)."""
        return [layer.pattern for layer in self.layers if layer.pattern is not None]

    def forward_blocks(self) -> list[Block]:
        """The blocks of the forward pass after x and t, in order (the output's last)."""
        return [b for layer in self.layers for b in layer.blocks()]

    def backward_blocks(self) -> list[Block]:
        """δᴸ, then each ∂C/∂x shown as a block, from the output back."""
        out = [self.output.delta_block()]
        for layer in reversed(self.layers):
            out += layer.error_blocks()
            if layer.w.dx is not None:
                out += layer.dx_blocks()
        return out


# --- building a stack --------------------------------------------------------------------------


def build(stack: Sequence[Layer], image: Shape, output: OutputLayer, outputs: int,
          accuracy: bool = True, predictions: bool = True, input_error: bool = False) -> Net:
    """Bind an unbound stack to images of ``image``'s shape (maps; a dense first layer reads
    them as a column) and an output layer of ``outputs`` units; one line if it cannot work.
    ``input_error``: its first layer sends ∂C/∂x back too (a GAN's discriminator, whose input
    is the generator's output)."""
    if not stack:
        raise SheetnetError("the stack is empty; give at least one dense layer")
    first = next((layer for layer in stack if not layer.transparent), None)
    maps = first is not None and first.reads_maps
    sequence = image.steps > 0
    shape = image if maps or sequence else Shape.units(image.size)
    stack_of.check_sequence(stack, image)
    lettered = any(layer.reads_maps for layer in stack)
    tags = stack_of.tags(stack, lettered, sequence)
    aliases = stack_of.aliases(stack, sequence)
    stack_of.check_order(stack)
    stack = stack_of.unbiased(stack)
    bound: list[Layer] = []
    before: Wiring = Wiring(shape, "", "", "x", need_dx=False)  # the input's "layer"
    producer: Layer | None = None  # the last layer that is not transparent
    for layer, tag, named in zip(stack, tags, aliases, strict=True):
        w = _wiring(layer, tag or before.tag, before, producer, named)
        if input_error and producer is None and not layer.transparent:
            w = replace(w, need_dx=True)
        layer = layer.bind(w)
        bound.append(layer)
        out_shape = layer.output_shape(w.inp)
        if not layer.transparent:
            producer = layer
        before = Wiring(out_shape, w.out, w.tag, w.out, *(
            ("x", "") if producer is None else (producer.symbol_prefix,
                                                names.tag_sup(producer.w.tag))))
    stack_of.check_end(bound, before.inp, outputs)
    errors = stack_of.SEQUENCE_ERRORS if sequence else ()
    wired = Wiring(before.inp, before.out, before.tag, dict(errors).get("a", names.a(before.tag)),
                   before.x_prefix, before.x_sup, names=errors)
    out = Output(output, accuracy, predictions=predictions).bind(wired)
    return Net(tuple(bound), out, bound[0].w.inp)


def _wiring(layer: Layer, tag: str, before: Wiring, producer: Layer | None,
            named: tuple[tuple[str, str], ...] = ()) -> Wiring:
    """How ``layer`` is wired after ``before`` (the previous layer's output: its shape, block,
    tag and symbol), ``producer`` being the layer that made that block; ``named``: the names
    the stack gives it in place of its tag's."""
    x = before.out
    if layer.transparent:  # its output is its input's cells
        return Wiring(before.inp, x, before.tag, x, before.x_prefix, before.x_sup, need_dx=False)
    key = key_symbol = None
    if layer.keyed and producer is not None and producer.activation:
        key = producer.w.x  # the maximum is found on the activation's input
        key_symbol = producer.w.x_symbol
    need_dx = x != "x"
    dx, label = None, ""
    if need_dx and producer is not None and (layer.dx_block or not producer.takes_inline_dy):
        dx = producer.error_name or layer.dx_name(tag, before.tag)
        label = producer.error_symbol if producer.error_name else ""
    return Wiring(before.inp, x, tag, dict(named).get("out", f"{layer.prefix}{tag}"),
                  before.x_prefix, before.x_sup, dx, need_dx, key, key_symbol, named, label)


# --- the book's two stacks ------------------------------------------------------------------

BOOK_OUTPUT = compose(SIGMOID, HALF_SSE)  # the book's sigmoid outputs and ½Σ(a − t)²


def fully_connected(sizes: Sequence[int], activation: Activation = SIGMOID,
                    output: OutputLayer = BOOK_OUTPUT, biases: bool = True,
                    accuracy: bool = True) -> Net:
    """The book's 3-5 net and its kin: ``fully_connected((12, 3, 2))``."""
    return build(stack_of.dense_layers(sizes, activation, biases), Shape.units(sizes[0]), output,
                 sizes[-1], accuracy)


def convolutional(image: tuple[int, int] = (6, 6), filters: int = 3, size: int = 3,
                  pool: int = 2, outputs: int = 3, activation: Activation = SIGMOID,
                  output: OutputLayer = BOOK_OUTPUT, pooling: str = "max", padding: int = 0,
                  channels: int = 1) -> Net:
    """The book's 5-4 CNN and its kin: ``convolutional((6, 6))``."""
    stack = stack_of.cnn_layers(filters, size, pool, outputs, activation, pooling, padding)
    return build(stack, Shape.image(*image, channels), output, outputs)


# --- parameters --------------------------------------------------------------------------------


# each scheme's standard deviation of a weight (None: 1, and the biases drawn too), from its
# fan-in and fan-out: torch.nn.init's xavier_normal_ and kaiming_normal_ (gain √2, fan-in)
SCHEMES: dict[str, tuple[str, Callable[[int, int], float] | None]] = {
    "normal": ("standard normal", None),
    "xavier": ("Xavier (normal × √(2/(fan-in + fan-out)), biases 0)",
               lambda fan_in, fan_out: np.sqrt(2.0 / (fan_in + fan_out))),
    "he": ("He (normal × √(2/fan-in), biases 0)", lambda fan_in, fan_out: np.sqrt(2.0 / fan_in)),
    "uniform": ("uniform ±1/√fan-in (a recurrent layer's ±1/√H), as torch draws weights;"
                " biases 0", None),
}


def init(net: Net, scheme: str, seed: int) -> Params:
    """A net's initial parameters: every parameter drawn standard normal from ``seed`` in the
    order the net lists them, then scaled by ``scheme`` (``SCHEMES``); a parameter with a fixed
    start (batch norm's γ and β) takes it."""
    if scheme not in SCHEMES:
        raise SheetnetError(f"--init-scheme {scheme!r} is not one of: {', '.join(SCHEMES)}")
    if scheme == "uniform":
        return _uniform(net, seed)
    drawn = standard_normal(net.param_shapes(), seed)
    std = SCHEMES[scheme][1]
    out: Params = {}
    for p in net.params():
        value = drawn[p.name]
        if p.start is not None:
            value = np.full(p.shape, p.start)
        elif std is not None:
            value = value * std(p.fan_in, p.fan_out) if p.weight else np.zeros(p.shape)
        out[p.name] = value
    return out


def _uniform(net: Net, seed: int) -> Params:
    """Each weight uniform in ±bound (``Param.bound``, else 1/√fan-in), drawn from ``seed`` in
    the order the net lists them; biases 0 (nothing drawn for them), fixed starts kept."""
    rng = np.random.default_rng(seed)
    out: Params = {}
    for p in net.params():
        if p.start is not None:
            out[p.name] = np.full(p.shape, p.start)
        elif p.weight:
            bound = p.bound if p.bound is not None else 1 / np.sqrt(p.fan_in)
            out[p.name] = rng.uniform(-bound, bound, p.shape)
        else:
            out[p.name] = np.zeros(p.shape)
    return out


# --- one iteration -------------------------------------------------------------------------


def _shown(block: Block, value: np.ndarray) -> np.ndarray:
    """A block as the trace keeps it: (N, *its shape), e.g. x of one channel as (N, H, W); a
    block of the batch (batch norm's μ) as its own shape."""
    if block.batch:
        return value.reshape(block.shape.array())
    return value.reshape(value.shape[0], *block.shape.array())


def forward(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray, show: bool = True,
            inputs: Mapping[str, np.ndarray] | None = None
            ) -> tuple[np.ndarray, list[Cache], dict[str, np.ndarray]]:
    """x (N, pixels) -> (zᴸ (N, K), each layer's cache, every forward block by name; none
    without ``show``). ``inputs``: the step's own inputs by block name (dropout masks, (N, …));
    without them the pass is an evaluation (no dropout)."""
    h = x.reshape(x.shape[0], *net.input.computed())
    given = {**params, **inputs} if inputs else params
    caches: list[Cache] = []
    blocks: dict[str, np.ndarray] = {}
    computed: dict[str, np.ndarray] = {"x": h}
    for layer in net.layers:
        key = computed[layer.w.key] if layer.w.key is not None else None
        h, cache = layer.forward(h, given, key=key)
        caches.append(cache)
        shown = layer.shown(h, cache)
        computed.update(shown)
        if show:
            for block in layer.blocks():
                if block.name in shown:
                    blocks[block.name] = _shown(block, shown[block.name])
    return h, caches, blocks


def backward(net: Net, params: Mapping[str, np.ndarray], caches: Sequence[Cache],
             delta: np.ndarray, detail: bool = False
             ) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray], dict[str, np.ndarray]]:
    """From δᴸ (N, K) back through the stack: (each parameter's gradient summed over the N
    images; with ``detail``, each ∂C/∂x shown as a block and each image's own gradients)."""
    totals: dict[str, np.ndarray] = {}
    shown: dict[str, np.ndarray] = {}
    own: dict[str, np.ndarray] = {}
    dy: np.ndarray | None = delta
    for layer, cache in zip(reversed(net.layers), reversed(caches), strict=True):
        assert dy is not None, f"{layer.token}: the layer after it sent back no error"
        if detail:
            own.update(layer.per_image(dy, cache, params))
        dx, grads = layer.backward(dy, cache, params)
        totals.update(grads)
        own_errors = layer.error_blocks()
        if detail and (layer.w.dx is not None or own_errors):
            errors = layer.errors(dy, cache, params)
            for block in own_errors:
                shown[block.name] = _shown(block, errors[block.name])
            for block in layer.dx_blocks() if layer.w.dx is not None else []:
                value = errors.get(block.name, dx)
                assert value is not None, f"{block.name}: no error computed"
                shown[block.name] = _shown(block, value)
        dy = dx
    return totals, shown, own


def backward_to_input(net: Net, params: Mapping[str, np.ndarray], caches: Sequence[Cache],
                      delta: np.ndarray) -> tuple[dict[str, np.ndarray], np.ndarray]:
    """From δᴸ (N, K) back through a stack built with ``input_error``: (each parameter's
    gradient summed over the N inputs, ∂C/∂x (N, inputs))."""
    totals: dict[str, np.ndarray] = {}
    dy: np.ndarray | None = delta
    for layer, cache in zip(reversed(net.layers), reversed(caches), strict=True):
        assert dy is not None, f"{layer.token}: the layer after it sent back no error"
        dy, grads = layer.backward(dy, cache, params)
        totals.update(grads)
    assert dy is not None, "built without input_error: its first layer sends nothing back"
    return totals, dy


CHUNK_NUMBERS = 8_000_000  # numbers one chunk of images may hold while training (64 MB)


def per_image_numbers(net: Net) -> int:
    """Numbers one image holds in a forward and backward pass: each layer's output and cache
    (a convolution's windows), and as much again for the errors going back."""
    total = net.input.size + 3 * net.outputs + sum(layer.numbers() for layer in net.layers)
    return 2 * total


def step_numbers(net: Net, images: int, detail: bool) -> int:
    """Numbers one iteration holds: with ``detail`` every image's blocks and own gradients at
    once; else a chunk of images at a time, and the parameters with their gradients."""
    per = per_image_numbers(net)
    if detail:
        return images * (per + net.parameters) + 4 * net.parameters
    return min(images, chunk_size(net)) * per + 8 * net.parameters


def kept_bytes(net: Net, images: int) -> int:
    """Bytes one iteration's every block takes when a run keeps them (a workbook, show,
    ``--blocks``, Python's train): its numbers, and a block's own overhead for each of them
    (a few per layer and parameter)."""
    return budget.kept_bytes(step_numbers(net, images, True),
                             12 + 6 * len(net.layers) + 6 * len(net.params()))


def chunk_size(net: Net) -> int:
    """Images per chunk while training: as many as ``CHUNK_NUMBERS`` hold (at least one);
    every image at once when a layer couples the batch (batch norm's statistics)."""
    if net.couples_batch:
        return 2**62
    return max(1, CHUNK_NUMBERS // per_image_numbers(net))


def in_batch(mask: np.ndarray | None, inputs: Mapping[str, np.ndarray] | None
             ) -> np.ndarray | None:
    """The batch a step trains on: its marks, less any image held out for validation."""
    held = None if inputs is None else inputs.get(HELD)
    if held is None:
        return mask
    trained = (np.asarray(held) == 0).astype(float)
    return trained if mask is None else (np.asarray(mask) != 0) * trained


def step_inputs(net: Net, n: int, mask: np.ndarray | None,
                inputs: Mapping[str, np.ndarray] | None) -> dict[str, np.ndarray] | None:
    """A training step's inputs: what its layers drew (dropout masks) and, when a layer couples
    the batch, the batch's weights (1 for the batch's images, 0 for the others), which put it
    in training mode."""
    if not net.couples_batch:
        return dict(inputs) if inputs else None
    weights = np.ones(n) if mask is None else (np.asarray(mask) != 0).astype(float)
    return {**(inputs or {}), BATCH: weights}


def iteration(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray,
              mask: np.ndarray | None = None, detail: bool = True,
              inputs: Mapping[str, np.ndarray] | None = None) -> dict[str, np.ndarray]:
    """Every block of one iteration. x: (N, pixels), t: (N, K); ``mask`` (N,) of 0/1: the
    images of this step's batch (None: all), whose gradients are summed; ``detail``: every
    block, each image's δ and own gradients too (a workbook's blocks), else only what training
    needs (the costs, the accuracy and the gradients), a chunk of images at a time;
    ``inputs``: the step's own per-image inputs (dropout masks, (N, …) by block name)."""
    mask = in_batch(mask, inputs)
    inputs = step_inputs(net, x.shape[0], mask, inputs)
    if not detail:
        return _training_step(net, params, x, t, mask, inputs)
    n = x.shape[0]
    z, caches, forward_blocks = forward(net, params, x, inputs=inputs)
    out = net.output.forward(z, t, n)
    b: dict[str, np.ndarray] = dict(params)
    b["x"] = x.reshape(n, *net.input.array())
    b["t"] = t
    b.update(forward_blocks)
    b.update(out)
    _costs(net, b, inputs)
    delta = net.output.backward(z, out[net.output.a], t, n)
    rows = None if mask is None else np.flatnonzero(np.asarray(mask) != 0)
    totals = None
    if detail:
        b[net.output.delta] = delta
        all_totals, shown, own = backward(net, params, caches, delta, detail=True)
        b.update(shown)
        b.update({names.grad(k): v for k, v in own.items()})
        totals = all_totals if rows is None else None
    if totals is None:
        sliced = [take(cache, rows) for cache in caches]
        totals = backward(net, params, sliced, delta if rows is None else delta[rows])[0]
    b.update({names.total_grad(k): v for k, v in totals.items()})
    return b


def batch_step(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray,
               mask: np.ndarray, inputs: Mapping[str, np.ndarray] | None = None
               ) -> dict[str, np.ndarray]:
    """A training step on its batch's images alone (what training between reported iterations
    needs): the gradients summed over the batch and its cost (``C_in_batch``); no whole-data
    C_T or accuracy. Images held out for validation (``inputs[HELD]``) are evaluated too, as
    every iteration evaluates them: ``validation_cost`` and ``validation_accuracy``."""
    given = dict(inputs or {})
    batch = np.asarray(in_batch(mask, given)) != 0
    held = np.asarray(given.get(HELD, np.zeros(len(x)))) != 0
    rows = np.flatnonzero(batch | held)  # the batch, and the images it is validated on
    carried = net.carried_start()
    per_image = {k: v[rows] for k, v in given.items() if np.ndim(v)
                 and np.shape(v)[0] == x.shape[0] and k not in carried}
    shared = {k: v for k, v in given.items() if k not in per_image}
    trained = batch[rows].astype(float)
    b = _training_step(net, params, x[rows], t[rows], trained,
                       step_inputs(net, len(rows), trained, {**per_image, **shared}))
    b["C_in_batch"] = b.pop("C_T")
    for key in ("C", "correct", "accuracy", HELD):
        b.pop(key, None)
    return b


def _costs(net: Net, b: dict[str, np.ndarray], inputs: Mapping[str, np.ndarray] | None
           ) -> None:
    """C_T and the accuracy over the training images; with images held out (``inputs[HELD]``)
    their mean cost and accuracy too, in evaluation mode (no dropout; batch norm's running
    averages)."""
    held = None if inputs is None else inputs.get(HELD)
    if held is None:
        b["C_T"] = ops.total(b["C"])
        if net.accuracy:
            b["accuracy"] = ops.mean(b["correct"])
        return
    b[HELD] = np.asarray(held, dtype=float)
    b["C_T"] = ops.split_total(b["C"], held, False)
    b["validation_cost"] = ops.split_mean(b["C"], held, True)
    if net.accuracy:
        b["accuracy"] = ops.split_mean(b["correct"], held, False)
        b["validation_accuracy"] = ops.split_mean(b["correct"], held, True)


def _training_step(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray,
                   mask: np.ndarray | None, inputs: Mapping[str, np.ndarray] | None = None
                   ) -> dict[str, np.ndarray]:
    """What training needs of one iteration, a chunk of images at a time so that memory is
    bounded by the chunk and the stack: C and correct of every image, and the batch's
    gradients summed (chunk by chunk)."""
    n = x.shape[0]
    size = chunk_size(net)
    chosen = np.ones(n, bool) if mask is None else np.asarray(mask) != 0
    parts: dict[str, list[np.ndarray]] = {}
    totals: dict[str, np.ndarray] = {}
    stats: dict[str, np.ndarray] = {}
    for start in range(0, n, size):
        stop = min(start + size, n)
        whole = start == 0 and stop == n  # (batch norm's running averages are not per image)
        chunk = inputs if whole or not inputs else {k: v[start:stop] for k, v in inputs.items()}
        z, caches, _ = forward(net, params, x[start:stop], show=False, inputs=chunk)
        for layer, cache in zip(net.layers, caches, strict=True):
            if layer.couples_batch:  # its batch's blocks (μ, var …; one chunk: every image)
                shown = layer.shown(z, cache)
                stats.update({b.name: shown[b.name] for b in layer.blocks()
                              if b.batch and b.name in shown})
        out = net.output.forward(z, t[start:stop], n)
        for key in ("C", "correct"):
            if key in out:
                parts.setdefault(key, []).append(out[key])
        rows = np.flatnonzero(chosen[start:stop])
        if not len(rows):
            continue
        whole = len(rows) == stop - start
        delta = net.output.backward(z, out[net.output.a], t[start:stop], n)
        sliced = caches if whole else [take(cache, rows) for cache in caches]
        grads = backward(net, params, sliced, delta if whole else delta[rows])[0]
        for k, v in grads.items():
            totals[k] = totals[k] + v if k in totals else v
    for p in net.params():  # a batch of no images (its marks all edited to 0) moves nothing
        totals.setdefault(p.name, np.zeros(p.shape))
    b: dict[str, np.ndarray] = dict(params)
    b.update(stats)
    b.update({k: np.concatenate(v) for k, v in parts.items()})
    _costs(net, b, inputs)
    b.update({names.total_grad(k): v for k, v in totals.items()})
    return b


def predict(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray) -> np.ndarray:
    """zᴸ (N, K) of an evaluation pass (no step inputs), a chunk of images at a time so that
    memory stays bounded (2,000 MNIST digits at once would hold a gigabyte of windows)."""
    size = max(1, CHUNK_NUMBERS // per_image_numbers(net))
    return np.concatenate([forward(net, params, x[start:start + size], show=False)[0]
                           for start in range(0, x.shape[0], size)])


def costs(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray,
          t: np.ndarray) -> np.ndarray:
    """C per image by a forward pass alone: (N,); parameters stacked on a leading axis of S
    sets (dense stacks) give (S, N)."""
    z, _, _ = forward(net, params, x, show=False)
    a = net.output.pair.forward(z)
    return net.output.pair.cost(z, a, t, x.shape[0])


def cost(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """C_T for one set of parameters (for gradient checks)."""
    return float(np.sum(costs(net, params, x, t)))


# --- what each block is --------------------------------------------------------------------


def describe(net: Net, words: Words | None = None) -> dict[str, str]:
    """What each block is, in the book's notation (the Map sheet, ``--json``, the terminal);
    ``words``: how the data's parts are named (its ``Dataset.words``; default: images)."""
    words = words or Words(x="x: the inputs (an image's pixels)")
    d = {"x": words.x, "t": words.t}
    per = "window, summed over its steps" if net.input.steps else words.item
    for p in net.params():
        d[p.name] = p.description
        d[names.grad(p.name)] = f"∂C/∂{p.symbol} per {per}"
        d[names.total_grad(p.name)] = (f"∂C_T/∂{p.symbol}, summed over the {words.items} (the"
                                       " batch's)")
    for block in (*net.forward_blocks(), *net.output.blocks(), *net.backward_blocks()):
        d[block.name] = block.description
    d.update(describe_totals(net.accuracy, net.outputs, words))
    return d
