"""The network presets: each a default stack, data set, η and length; one core, one layout.

Every net is a stack of layers (``layers/``). A preset gives the stack its data asks for, from
its shorthands (``--layers`` for a fully connected net, ``--filters``, ``--filter-size``,
``--pool``, ``--pool-size``, ``--padding`` and ``--activation`` for a CNN), or from ``--arch``
for any stack.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np

from sheetnet import layers
from sheetnet.core import budget, checkpoint, descent, gradcheck, statistics
from sheetnet.core import data as data_mod
from sheetnet.core import net as net_mod
from sheetnet.core.data import Dataset
from sheetnet.core.net import Net
from sheetnet.core.params import validate_params
from sheetnet.core.run import Found, Run, model_hypers, tune_model
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.layers import Layer
from sheetnet.pairs.activations import ACTIVATIONS, LEAKY_SLOPE, Activation
from sheetnet.pairs.optim import GD, UpdateRule
from sheetnet.pairs.outputs import FUSED_ONLY_ACTIVATIONS, HUBER_DELTA, output_layer
from sheetnet.presets import selection, stepping
from sheetnet.presets.options import Options, read_json
from sheetnet.workbook import gradcheck_layout, settings, stack_layout
from sheetnet.workbook.layout import WorkbookSpec
from sheetnet.workbook.sheets import Extra
from sheetnet.workbook.size import Size

FC_SHORTHANDS = {"layers": "--layers", "dropout": "--dropout", "batch_norm": "--batch-norm"}
CNN_SHORTHANDS = {"filters": "--filters", "filter_size": "--filter-size", "pool": "--pool",
                  "pool_size": "--pool-size", "padding": "--padding",
                  "batch_norm": "--batch-norm"}
# what each activation's or loss's own setting goes with
_SETTINGS = {"leaky_slope": (LEAKY_SLOPE, "--activation leaky-relu (or leaky-relu in --arch, or"
                                          " --output-activation leaky-relu)"),
             "huber_delta": (HUBER_DELTA, "--loss huber")}


@dataclass(frozen=True)
class NetPreset:
    """A net trained on images (or points): the ``Preset`` protocol for networks."""

    name: str
    summary: str
    follows: str
    dataset: str
    eta: float
    iterations: int
    stack: Callable[[Dataset, Options], list[Layer]]  # its stack from the shorthands
    shorthands: Mapping[str, str]  # the options ``stack`` reads, and their flags
    output_activation: str = "sigmoid"
    loss: str = "half-sse"
    init_scheme: str = "normal"  # how its initial values are drawn (``net.SCHEMES``)
    values: bool = False  # the data's labels are target values (regression), not classes
    arch: bool = True  # whether --arch may replace its stack
    check: Callable[[Net, Options], None] | None = None  # refuses nets it was not written for
    extras: Callable[[Run], Sequence[Extra]] = field(default=lambda run: ())
    extra_cells: Callable[[Net, int], int] = field(default=lambda net, images: 0)
    train_run: Callable[..., Trace] = descent.train_run  # (run, progress, keep, anchor)
    optimizer: str | None = None  # the update rule when --optimizer is not given (None: gd)
    batch_size: int | None = None  # likewise --batch-size (None: full batches)
    test_share: float = 0.0  # the built-in data's share kept apart to test on after training
    statistics: bool = True  # its workbook has a Statistics sheet
    images = True  # `show` draws an image's blocks

    @property
    def eta_text(self) -> str:
        return f"{self.eta:g}"

    def run(self, opts: Options, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Run:
        """Build a run from command-line options, validating every input; its size is checked
        (``workbook``: its workbook's too; ``detail``: every image's blocks kept) before any
        parameter array is made. ``every``: in mini-batches, training alone computes the whole
        data's cost every k-th iteration only (and the first and the last)."""
        opts.unused(*self.options(), net=self.name)
        ds = self.data(opts)
        ds, test = selection.select(*self.split(ds, opts), opts.labels, opts.per_class)
        batch = opts.batch_size or (self.batch_size and min(self.batch_size, ds.n_images))
        opts = replace(opts, optimizer=opts.optimizer or self.optimizer, batch_size=batch)
        net = self.make_net(ds, opts)
        eta = self.eta if opts.eta is None else opts.eta
        iterations = self.iterations if opts.iterations is None else opts.iterations
        descent.check_run(eta, iterations)
        rule, hyper = stepping.update_rule(opts)
        hyper.update(model_hypers(net))
        held = stepping.held_out(opts, ds.n_images)
        detail = detail or workbook
        reports = iterations + 1 if every is None or detail else iterations // every + 2
        self.check_size(net, ds.n_images, iterations, rule, workbook, detail,
                        opts.batch_size, 0 if held is None else int(held.sum()), reports)
        batches = stepping.batches(opts, ds.n_images, iterations, held)
        _check_batches(net, ds.n_images, batches, held, opts.batch_size)
        if opts.init is not None and opts.init_scheme is not None:
            raise SheetnetError("give --init (the values themselves) or --init-scheme (how they"
                                " are drawn), not both")
        if opts.init_scheme is not None and opts.init_scheme not in net_mod.SCHEMES:
            raise SheetnetError(f"--init-scheme {opts.init_scheme!r} is not one of:"
                                f" {', '.join(net_mod.SCHEMES)}")
        if isinstance(opts.init, Mapping):
            params = validate_params(net.param_shapes(), _started(net, opts.init), "init")
            init_origin = "init (given from Python)"
        elif opts.init is not None:
            params = validate_params(net.param_shapes(), _started(net, read_json(opts.init)),
                                     str(opts.init))
            init_origin = f"--init {Path(opts.init).name}"
        else:
            scheme = opts.init_scheme or self.init_scheme
            params = net_mod.init(net, scheme, opts.seed_value)
            init_origin = f"{net_mod.SCHEMES[scheme][0]}, --seed {opts.seed_value}"
        run = Run(self.name, net, ds, params, eta, iterations,
                  {"data": self.data_origin(ds, opts)
                   + selection.described(opts.labels, opts.per_class), "init": init_origin},
                  rule, hyper,
                  batches, seed=opts.seed_value, held=held, patience=opts.patience, test=test,
                  statistics=self.statistics, frozen=frozen_params(net, opts.freeze))
        return replace(run, every=every) if run.minibatches and not detail else run

    def options(self) -> tuple[str, ...]:
        """The options it reads (the others are refused, in one line)."""
        return ("iterations", "eta", "seed", "init", "init_scheme", "data", "shape", "arch",
                "activation", "output_activation", "loss", "leaky_slope", "huber_delta",
                "optimizer", "batch_size", "shuffle", "l1", "l2", "eta_decay", "validation",
                "patience", "labels", "per_class", "freeze", *FC_SHORTHANDS, *CNN_SHORTHANDS)

    def data(self, opts: Options) -> Dataset:
        """The data the options name (``load_data``)."""
        return load_data(self, opts)

    def data_origin(self, ds: Dataset, opts: Options) -> str:
        """Where the data came from, for the Inputs sheet and ``--json``."""
        if isinstance(opts.data, Dataset):
            return f"data ({ds.n_images} images {ds.shape_text}, given from Python)"
        if opts.data is not None:
            return f"--data {Path(opts.data).name}"
        return f"{ds.name} (built in: {data_mod.BUILTIN[ds.name][2]})"

    def split(self, ds: Dataset, opts: Options) -> tuple[Dataset, Dataset | None]:
        """(the images to train on, those kept apart to test on): the built-in data's
        ``test_share`` by a shuffle from --seed (MNIST's file is sorted by digit)."""
        if not self.test_share or opts.data is not None:
            return ds, None
        order = np.random.default_rng((opts.seed_value, 3)).permutation(ds.n_images)
        cut = round(self.test_share * ds.n_images)
        return ds.subset(order[cut:]), ds.subset(order[:cut])

    def test(self, run: Run, trace: Trace) -> dict[str, Any] | None:
        """The last iteration's parameters on the images kept apart: their accuracy, mean C
        and confusion matrix (rows: the true digit, columns: the predicted one)."""
        if run.test is None:
            return None
        last = trace.iterations[-1]
        given = {name: last[name] for name in (*run.params, *run.model.carried_start())}
        z = net_mod.predict(run.model, given, run.test.x)
        out = run.model.output.forward(z, run.test.targets, run.test.n_images)
        k = run.model.outputs
        confusion = np.zeros((k, k), dtype=int)
        np.add.at(confusion, (np.argmax(run.test.targets, 1), np.argmax(z, 1)), 1)
        return {"images": run.test.n_images, "accuracy": float(np.mean(out["correct"])),
                "cost_per_image": float(np.mean(out["C"])), "confusion": confusion.tolist()}

    def make_net(self, ds: Dataset, opts: Options) -> Net:
        """The net the options describe for this data, checked in one line."""
        given = {flag: getattr(opts, key) for key, flag in {**FC_SHORTHANDS,
                                                            **CNN_SHORTHANDS}.items()}
        if opts.arch is not None:
            if not self.arch:
                raise SheetnetError(f"--arch is not used by --net {self.name} (its check is"
                                    " written for its own net); use --net mlp --arch …")
            clash = [flag for flag, value in given.items() if value is not None]
            if opts.activation is not None:
                clash.append("--activation")
            if clash:
                raise SheetnetError(f"give --arch or {clash[0]}, not both: --arch writes the"
                                    " whole stack (its activations too)")
            stack = self.arch_stack(ds, opts.arch)
        else:
            for key, flag in {**FC_SHORTHANDS, **CNN_SHORTHANDS}.items():
                if key not in self.shorthands and getattr(opts, key) is not None:
                    raise SheetnetError(_wrong_shorthand(flag, key in FC_SHORTHANDS))
            stack = self.stack(ds, opts)
        stack, out = _tuned(stack, opts, self.output_activation, self.loss)
        out.check_targets(ds.targets, ds.values)
        # targets that are measurements (not classes, not 0/1) have no accuracy to report
        classify = not ds.values or bool(np.isin(ds.targets, (0.0, 1.0)).all())
        net = net_mod.build(stack, ds.input_shape(), out, ds.outputs, classify)
        if self.check is not None:
            self.check(net, opts)
        return net

    def arch_stack(self, ds: Dataset, arch: str) -> list[Layer]:
        """The stack ``--arch`` writes."""
        return layers.parse(arch)

    def check_size(self, net: Net, images: int, iterations: int, rule: UpdateRule = GD,
                   workbook: bool = False, detail: bool = False, batch: int | None = None,
                   held: int = 0, reports: int = 21) -> None:
        """Refuse, in one line and before any array exists, a run beyond the budgets.
        ``detail``: every block of every iteration kept (a workbook, show, ``--blocks``,
        Python's train), each step a pass over every image with its own gradients. Training
        alone computes each step's ``batch`` (None: every image trained on) forward and back,
        the ``held`` images held out forward, and with mini-batches the whole data forward at
        the ``reports`` iterations that report its cost."""
        what = f"--net {self.name} ({net.arch}, {images:,} images)"
        step = net_mod.step_numbers(net, images, detail)
        if detail and self.test_share and step > budget.MAX_STEP_NUMBERS:
            raise SheetnetError(f"{what}: keeping every digit's blocks (a workbook, show,"
                                " --blocks, Python's train) is far beyond the budget; train it"
                                f" keeping the costs alone (sheetnet train --net {self.name}"
                                " --checkpoint ck.npz; in Python train(..., blocks=False)),"
                                " then write a window of a few digits: sheetnet export --from"
                                " ck.npz --images 8 --out window.xlsx")
        computed, kept = None, 0
        if detail:
            kept = net_mod.kept_bytes(net, images)
        else:
            per = net_mod.per_image_numbers(net)
            trained = images - held
            taken = trained if batch is None else min(batch, trained)
            computed = (iterations + 1) * (taken * per + 8 * net.parameters + held * per // 2)
            if taken < trained:  # the whole data's cost, forward only, where it is reported
                computed += min(iterations + 1, reports) * images * per // 2
        plan = budget.Budget(net.parameters, images, iterations, step, what, computed,
                             budget.STEP_OVERHEAD, kept)
        plan.check()
        if workbook:  # Excel's own limits before the memory kept: the more telling refusal
            self.size(net, images, iterations, rule, what).check()
        plan.check_kept()

    def size(self, net: Net, images: int, iterations: int, rule: UpdateRule = GD,
             what: str = "the run") -> Size:
        size = stack_layout.size(net, images, iterations, rule,
                                 self.extra_cells(net, images)
                                 + (images * (net.input.size + 2) if self.values else 0))
        return replace(size, what=what)

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None, anchor: descent.Anchor | None = None
              ) -> Trace:
        """The NumPy core's run; ``keep`` limits the stored blocks (None: all); ``anchor``:
        each iteration starts from a recalculated workbook's parameters (verify's audit)."""
        trace = self.train_run(run, progress, keep, anchor)
        return statistics.add(run.model, trace) if keep is None and run.statistics else trace

    def evaluate(self, run: Run, trace: Trace) -> dict[str, float]:
        """The last iteration's parameters evaluated on the images trained on (no dropout,
        batch norm's running averages): {"cost": ΣC over them (no penalty), "accuracy": …}.
        A net whose training pass is already an evaluation (no dropout, no batch norm) reads
        it off its last iteration's own pass; the others take a pass of their own."""
        net: Net = run.model
        last = trace.iterations[-1]
        rows = slice(None) if run.held is None else run.held == 0
        if not net.evaluation and "C" in last:
            c = last["C"][rows]
            correct = None if "correct" not in last else last["correct"][rows]
        else:
            given = {name: last[name] for name in (*run.params, *net.carried_start())}
            x, t = run.data.x[rows], run.data.targets[rows]
            out = net.output.forward(net_mod.predict(net, given, x), t, len(x))
            c, correct = out["C"], out.get("correct")
        found = {"cost": float(np.sum(c))}
        if net.accuracy and correct is not None:
            found["accuracy"] = float(np.mean(correct))
        return found

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        """A net shows its images' blocks (``images``), not a table."""
        raise SheetnetError(f"--net {self.name} shows an image's blocks: give --image")

    def evaluation(self, run: Run) -> str:
        """What ``evaluate`` does differently from a training step (``Net.evaluation``)."""
        return run.model.evaluation

    def stopped(self, run: Run, trace: Trace) -> tuple[Run, Trace]:
        """The run and its trace cut where ``--patience`` stops it (unchanged without)."""
        if run.patience is None:
            return run, trace
        stop = descent.stop_early(trace, run.patience, run.start,
                                  run.start if run.restarts_patience else None)
        if stop is None or stop >= run.iterations:
            return run, trace
        cut = run.until(stop)
        if all(name in trace.iterations[stop] for name in trace.final):  # every block kept
            after = trace.iterations[stop + 1]  # its parameters: the update the cut run ends on
            return cut, replace(trace, iterations=trace.iterations[:stop + 1],
                                final={name: after[name] for name in trace.final})
        # training kept a few blocks an iteration: the cut run again, its last iteration whole
        again = self.trace(cut, keep=list(trace.iterations[0]))
        return cut, replace(again, iterations=[*trace.iterations[:stop], again.iterations[-1]])

    def workbook(self, run: Run) -> WorkbookSpec:
        return stack_layout.workbook(run, self.extras(run))

    def skeleton(self, config: Mapping[str, object]) -> Run:
        """A run with a workbook's shapes (from its settings) and zero values: enough to know
        where every cell is."""
        shape = settings.data_shape(config)
        n, k, iterations = shape.images, shape.classes, settings.iterations(config)
        pixels = shape.rows * shape.cols * shape.channels
        if iterations < 1:
            raise SheetnetError(f"{iterations:,} iterations is not a workbook sheetnet writes")
        if (min(shape.rows, shape.cols, shape.channels, n) < 1 or k < 0
                or pixels * n > budget.MAX_STEP_NUMBERS):
            raise SheetnetError(f"{n:,} images of {shape.rows}x{shape.cols} with {k:,} classes"
                                " is not a workbook sheetnet writes")
        net = settings.net_of(config)
        if k != (0 if shape.values else net.outputs):
            raise SheetnetError(f"{k:,} classes do not match the net's {net.outputs} outputs")
        rule = settings.update_rule(config)
        self.check_size(net, n, iterations, rule, workbook=True, detail=True)
        ds = Dataset("workbook", np.zeros((n, pixels)), (0.0,) * n,
                     tuple(float(i) for i in range(k)), (shape.rows, shape.cols),
                     values=shape.values, channels=shape.channels)
        hyper = {h.name: h.default for h in rule.hypers}
        hyper.update({name: 1.0 for name in settings.extra_hypers(config)})
        hyper.update(model_hypers(net))
        batches = np.ones((iterations + 1, n)) if settings.batched(config) else None
        held = np.zeros(n) if settings.validated(config) else None
        params = net_mod.init(net, "normal", 0)
        start = settings.first_iteration(config)
        frozen = settings.frozen(config, list(params))
        state = checkpoint.zeros_like_state({k: v for k, v in params.items()
                                             if k not in frozen}, rule.carried) if start else None
        return Run(self.name, net, ds, params, 1.0, iterations, rule=rule,
                   hyper=hyper, batches=batches, held=held,
                   statistics=settings.with_statistics(config), start=start, state=state,
                   carried=(net.carried_start() or None) if start else None, frozen=frozen)

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        """The run a workbook's input cells describe (``found``: input place -> values)."""
        ds = skeleton.data
        x = np.asarray(found["x"]).reshape(ds.x.shape)
        labels = found["label"]
        if ds.values:
            labels = tuple(float(v) for v in np.asarray(labels).ravel())
        data = Dataset("workbook", x, tuple(labels), tuple(found.get("classes", ())),  # type: ignore[arg-type]
                       ds.shape, ds.values, ds.channels)
        return self.rebuilt(skeleton, found, data)

    def rebuilt(self, skeleton: Run, found: Found, data: Dataset) -> Run:
        """The run of ``data`` and the other inputs a workbook's cells hold: parameters,
        hyperparameters, batches, step inputs, held-out flags and carried blocks."""
        params = {name: np.asarray(found[name]).reshape(v.shape)
                  for name, v in skeleton.params.items()}
        hyper = {name: float(np.asarray(found[name]).ravel()[0])
                 for name in skeleton.hyperparameters}
        batches = None if skeleton.batches is None else np.array(
            [np.asarray(found["batch", k]).ravel() for k in range(skeleton.iterations + 1)])
        n = skeleton.n_images
        drawn = {s.name: np.array([np.asarray(found[s.name, k]).reshape(n, *s.shape)
                                   for k in range(skeleton.iterations + 1)])
                 for s in skeleton.model.step_inputs()} or None
        held = (None if skeleton.held is None
                else np.asarray(found["held", 0], dtype=float).ravel())
        state = (None if skeleton.state is None
                 else checkpoint.state_found(skeleton.state, found))
        return Run(self.name, tune_model(skeleton.model, hyper), data, params, hyper.pop("eta"),
                   skeleton.iterations, rule=skeleton.rule, hyper=hyper, batches=batches,
                   drawn=drawn, held=held, statistics=skeleton.statistics,
                   start=skeleton.start, state=state, frozen=skeleton.frozen,
                   carried=None if skeleton.carried is None else {
                       name: np.asarray(found[name], dtype=float).reshape(v.shape)
                       for name, v in skeleton.carried.items()})

    def text_inputs(self, skeleton: Run) -> set[str]:
        """Input places that may hold text (class labels) rather than numbers."""
        return set() if skeleton.data.values else {"label", "classes"}


def frozen_params(net: Net, freeze: int | None) -> tuple[str, ...]:
    """The parameters ``--freeze N`` keeps as they start: those of the net's first N weighted
    layers (and of any layer before them), refused in one line where N leaves none to train."""
    if not freeze:
        return ()
    count = len(net.weighted())
    if freeze < 0 or freeze >= count:
        raise SheetnetError(f"--freeze {freeze}: {net.arch} has {count} weighted layer"
                            f"{'s' * (count != 1)}, and at least the last must train; give"
                            f" --freeze 0 to {count - 1}")
    return net.first_params(freeze)


def _check_batches(net: Net, images: int, batches: np.ndarray | None,
                   held: np.ndarray | None, size: int | None) -> None:
    """Every step's batch is one the net's layers can compute (batch norm needs 2 values of
    each unit): else say which batch falls short and why."""
    trained = images if held is None else int(np.count_nonzero(held == 0))
    smallest = trained if batches is None else int(batches.sum(axis=1).min())
    problem = net.batch_problem(smallest)
    if problem is None:
        return
    if size is None or size >= trained:
        why = f"only {trained} image is trained on; hold out fewer (--validation)"
    elif net.batch_problem(size) is not None:
        why = f"use a --batch-size larger than {size}"
    else:
        fits = [b for b in range(2, min(trained, 64) + 1)
                if net.batch_problem(trained % b or b) is None]
        why = (f"{trained} images in batches of {size} leave a last batch of"
               f" {trained % size} each epoch; use a --batch-size that does not, e.g."
               f" {', '.join(map(str, fits[:5]))}")
    raise SheetnetError(f"{problem}: {why}")


def _started(net: Net, given: object) -> object:
    """``--init``'s values, with the parameters that have a start of their own (batch norm's
    γ 1 and β 0) filled in where left out."""
    if not isinstance(given, Mapping):
        return given
    out = dict(given)
    for name, why in net.absent_params().items():
        if name in out and name not in net.param_shapes():
            raise SheetnetError(f"--init gives {name}, but {why}; leave {name} out")
    for p in net.params():
        if p.start is not None and p.name not in out:
            out[p.name] = np.full(p.shape, p.start).tolist()
    return out


def load_data(preset: NetPreset, opts: Options) -> Dataset:
    """The options' data set: built in, a CSV (whose images need ``--shape`` only where the
    net reads them as images: a convolution or pooling), or a ``Dataset`` from the API."""
    if opts.data is None:
        if opts.shape is not None:
            raise SheetnetError("--shape goes with --data; the built-in data set has its own shape")
        return data_mod.builtin(preset.dataset)
    if isinstance(opts.data, Dataset):
        if opts.data.values != preset.values:
            what = "target values" if preset.values else "class labels"
            raise SheetnetError(f"--net {preset.name} learns from {what}; give data with such"
                                " labels")
        return opts.data
    if opts.shape is None and _reads_images(preset, opts):
        raise SheetnetError(f"--data {opts.data} needs --shape ROWSxCOLS (or ROWSxCOLSxCHANNELS),"
                            " e.g. --shape 6x6: this net's convolution or pooling reads images")
    shape = None if opts.shape is None else data_mod.parse_shape(opts.shape)
    return data_mod.load_csv(Path(opts.data), shape, preset.values)


def _reads_images(preset: NetPreset, opts: Options) -> bool:
    """Whether the net's stack has a layer that reads images as maps (not rows of inputs)."""
    if opts.arch is not None:
        return any(layer.reads_maps for layer in layers.parse(opts.arch))
    return "layers" not in preset.shorthands


def _wrong_shorthand(flag: str, fully_connected: bool) -> str:
    if flag == "--batch-norm":
        return "--batch-norm is for --net mlp, cnn and their kin; this net's check is its own"
    if flag == "--dropout":
        return ("--dropout is for fully connected nets; in a CNN write dropout P in --arch"
                " after the layer whose outputs it drops")
    if fully_connected:
        return (f"{flag} is for fully connected nets; the CNN's shape comes from --filters,"
                " --filter-size and --pool-size (or write any stack with --arch)")
    return (f"{flag} is for --net cnn; a fully connected net has no filters (write a stack with"
            " convolutions with --arch)")


def _choose(kind: str, name: str, table: Mapping[str, object]) -> object:
    if name not in table:
        raise SheetnetError(f"--{kind} {name!r} is not one of: {', '.join(table)}")
    return table[name]


def _activation(opts: Options, default: str) -> Activation:
    """The activation ``--activation`` names (default: the preset's)."""
    if opts.activation in FUSED_ONLY_ACTIVATIONS:
        raise SheetnetError(f"--activation {opts.activation} is an output layer's: use"
                            " --output-activation softmax --loss cross-entropy")
    return _choose("activation", opts.activation or default, ACTIVATIONS)  # type: ignore[return-value]


def _tuned(stack: list[Layer], opts: Options, output: str, loss: str):
    """The stack and its output layer with the activations' and loss's settings the options
    give (``--leaky-slope``, ``--huber-delta``), each refused where nothing uses it."""
    out = output_layer(opts.output_activation or output, opts.loss or loss)
    given: dict[str, float] = {}
    for key, (hyper, goes_with) in _SETTINGS.items():
        value = getattr(opts, key)
        if value is None:
            continue
        used = (*(s for layer in stack for s in layer.settings), *out.settings)
        if not any(name == hyper.name for name, _ in used):
            raise SheetnetError(f"{hyper.flag} goes with {goes_with}")
        hyper.check(value)
        given[hyper.name] = value
    return [layer.tune(given) for layer in stack], out.tune(given)


# --- the presets' stacks ---------------------------------------------------------------------


def dense_stack(hidden: tuple[int, ...], activation: str = "sigmoid", biases: bool = True
                ) -> Callable[[Dataset, Options], list[Layer]]:
    """A fully connected stack: ``--layers`` (every layer's size, input to output) or the
    preset's hidden layers, the activation after each hidden layer."""
    def make(ds: Dataset, opts: Options) -> list[Layer]:
        sizes = (_parse_layers(opts.layers, ds) if opts.layers
                 else (ds.x.shape[1], *hidden, ds.outputs))
        if len(sizes) < 3 and (opts.dropout is not None or opts.batch_norm):
            flag = "--dropout" if opts.dropout is not None else "--batch-norm"
            raise SheetnetError(f"{flag} acts on hidden layers, and --layers"
                                f" {','.join(map(str, sizes))} has none; add one (e.g."
                                f" --layers {sizes[0]},8,{sizes[-1]})")
        stack = _normalised(layers.dense_layers(sizes, _activation(opts, activation), biases),
                            opts)
        if opts.dropout is None:
            return stack
        if not (np.isfinite(opts.dropout) and 0 <= opts.dropout < 1):
            raise SheetnetError(f"--dropout {opts.dropout:g} is the share of units dropped: 0 to"
                                " less than 1, e.g. --dropout 0.5")
        out: list[Layer] = []
        for layer in stack:  # after every hidden layer's activation
            out.append(layer)
            if layer.activation:
                out.append(layers.Dropout(opts.dropout))
        return out
    return make


def cnn_stack(filters: int = 3) -> Callable[[Dataset, Options], list[Layer]]:
    """The book's CNN: conv K f×f (pad P), activation, pooling p×p, dense (one unit a class)."""
    def make(ds: Dataset, opts: Options) -> list[Layer]:
        pooling = opts.pool or "max"
        if pooling.isdigit():
            raise SheetnetError(f"--pool is max or average; the window's size is --pool-size"
                                f" {pooling}")
        if pooling not in layers.pool.MODES:
            raise SheetnetError(f"--pool {pooling!r} is not one of:"
                                f" {', '.join(layers.pool.MODES)} (the window's size is"
                                " --pool-size)")
        k = filters if opts.filters is None else opts.filters
        f = 3 if opts.filter_size is None else opts.filter_size
        p = 2 if opts.pool_size is None else opts.pool_size
        if k < 1 or f < 1 or p < 1:
            raise SheetnetError("--filters, --filter-size and --pool-size must be at least 1")
        padding = opts.padding or 0
        if not 0 <= padding < f:
            raise SheetnetError(f"--padding {padding} must be 0 to {f - 1} (less than the"
                                " filter size: a wider frame only adds maps of zeros)")
        (h, w), side = ds.shape, min(ds.shape) + 2 * padding
        if f > side:
            raise SheetnetError(f"a {f}×{f} filter is larger than the {h}×{w} image; use"
                                f" --filter-size {side} or less")
        mh, mw = h + 2 * padding - f + 1, w + 2 * padding - f + 1
        if mh % p or mw % p:
            fits = [q for q in range(1, min(mh, mw) + 1) if mh % q == 0 and mw % q == 0]
            raise SheetnetError(f"the {mh}×{mw} feature maps do not divide into {p}×{p} pooling"
                                f" windows; use --pool-size {' or '.join(map(str, fits))}, or"
                                " another --filter-size or --padding")
        return _normalised(layers.cnn_layers(k, f, p, ds.outputs, _activation(opts, "sigmoid"),
                                              pooling, padding), opts)
    return make


def _normalised(stack: list[Layer], opts: Options) -> list[Layer]:
    """With ``--batch-norm``, batch norm after each weighted layer followed by an activation
    (every hidden dense layer; the CNN's convolution)."""
    if not opts.batch_norm:
        return stack
    out: list[Layer] = []
    for i, layer in enumerate(stack):
        out.append(layer)
        if layer.weighted and i + 1 < len(stack) and stack[i + 1].activation:
            out.append(layers.BatchNorm())
    return out


def _parse_layers(text: str, ds: Dataset) -> tuple[int, ...]:
    try:
        sizes = tuple(int(v) for v in text.replace(" ", "").split(","))
    except ValueError:
        raise SheetnetError(f"--layers {text!r} is not a list of sizes; write it like 2,4,1"
                            ) from None
    if len(sizes) < 2 or min(sizes) < 1:
        raise SheetnetError(f"--layers {text!r} needs at least an input and an output layer of"
                            " at least 1 unit each, e.g. 2,4,1")
    inputs, outputs = ds.x.shape[1], ds.outputs
    if sizes[0] != inputs:
        raise SheetnetError(f"--layers {text} starts with {sizes[0]} inputs but the data has"
                            f" {inputs} per row; start with {inputs}")
    if sizes[-1] != outputs:
        what = "one target value" if ds.values else f"{outputs} classes"
        raise SheetnetError(f"--layers {text} ends with {sizes[-1]} outputs but the data has"
                            f" {what}; end with {outputs}")
    return sizes


MLP = NetPreset(
    name="mlp",
    summary="12-3-2 sigmoid net, 0 and 1 in 4×3",
    follows="book 3-5, 4-4",
    dataset="digits01",
    eta=0.2,
    iterations=50,
    stack=dense_stack((3,)),
    shorthands=FC_SHORTHANDS,
)

CNN = NetPreset(
    name="cnn",
    summary="CNN with max pooling, 1, 2, 3 in 6×6",
    follows="book 5-4, 5-6",
    dataset="digits123",
    eta=0.2,
    iterations=50,
    stack=cnn_stack(),
    shorthands=CNN_SHORTHANDS,
)

DIGITS = NetPreset(
    name="digits",
    summary="softmax CNN, UCI digits 0–9 in 8×8",
    follows="book 5-4, UCI",
    dataset="digits",
    eta=0.03,
    iterations=20,
    stack=cnn_stack(4),
    shorthands=CNN_SHORTHANDS,
    output_activation="softmax",
    loss="cross-entropy",
)

MNIST = NetPreset(
    name="mnist",
    summary="two-conv CNN, MNIST digits in 28×28",
    follows="beyond",
    dataset="mnist",
    eta=0.003,
    iterations=2500,
    stack=lambda ds, opts: layers.parse("conv 8 5x5, relu, maxpool 2, conv 16 5x5, relu,"
                                        f" maxpool 2, dense {ds.outputs}"),
    shorthands={},
    output_activation="softmax",
    loss="cross-entropy",
    init_scheme="he",
    optimizer="adam",
    batch_size=32,
    test_share=0.2,
)

XOR = NetPreset(
    name="xor",
    summary="2-4-1 net learning XOR, MSE",
    follows="classic",
    dataset="xor",
    eta=0.5,
    iterations=300,
    stack=dense_stack((4,)),
    shorthands=FC_SHORTHANDS,
    output_activation="identity",
    loss="mse",
    values=True,
)

CURVE = NetPreset(
    name="curve",
    summary="1-10-10-1 ReLU net, y = x² + noise",
    follows="classic",
    dataset="curve",
    eta=0.2,
    iterations=100,
    stack=dense_stack((10, 10), "relu"),
    shorthands=FC_SHORTHANDS,
    output_activation="identity",
    loss="mse",
    init_scheme="he",
    values=True,
)


def _twolayer_check(net: Net, opts: Options) -> None:
    """f = W₂ max(0, W₁x) only: its Check sheet's cells move one score at a time, which holds
    for that net alone (ReLU hidden layer, identity output, ½Σ(f − t)², two weight layers)."""
    wrong = []
    if opts.activation not in (None, "relu"):
        wrong.append(f"--activation {opts.activation}")
    wrong += [f"{flag} {got}" for flag, got, want in (
        ("--output-activation", net.output.pair.activation, "identity"),
        ("--loss", net.output.pair.loss, "half-sse")) if got != want]
    if len(net.param_shapes()) != 2 and opts.layers is not None:
        wrong.append(f"--layers {opts.layers}")
    wrong += [flag for flag, value in (("--l1", opts.l1), ("--l2", opts.l2),
                                       ("--batch-size", opts.batch_size),
                                       ("--dropout", opts.dropout),
                                       ("--batch-norm", opts.batch_norm),
                                       ("--validation", opts.validation),
                                       ("--patience", opts.patience)) if value is not None]
    if wrong:
        raise SheetnetError(f"{', '.join(wrong)}: the twolayer check is written for f = W₂"
                            " max(0, W₁x) (relu, identity output, half-sse, --layers IN,H,OUT,"
                            " the whole data, no penalty); for other nets use --net mlp with"
                            " these options")


TWOLAYER = NetPreset(
    name="twolayer",
    summary="W₂ max(0, W₁x) and a gradient check",
    follows="classic",
    dataset="digits01",
    eta=0.01,
    iterations=30,
    stack=dense_stack((3,), "relu", biases=False),
    shorthands=FC_SHORTHANDS,
    output_activation="identity",
    init_scheme="he",
    arch=False,
    check=_twolayer_check,
    extras=lambda run: [lambda inputs, data, it: gradcheck_layout.check_sheet(run, it[0])],
    extra_cells=gradcheck_layout.check_cells,
    train_run=gradcheck.train_run,
)
