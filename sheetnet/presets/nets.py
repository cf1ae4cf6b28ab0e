"""The network presets: each ties a core, its workbook layout, its settings and its inputs."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from sheetnet.core import cnn, cost, descent, fc, gradcheck
from sheetnet.core import data as data_mod
from sheetnet.core.cost import Cost
from sheetnet.core.data import Dataset
from sheetnet.core.run import Run, model_hypers, tune_model
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.pairs.activations import ACTIVATIONS, LEAKY_SLOPE, Activation
from sheetnet.pairs.optim import GD, UpdateRule
from sheetnet.pairs.outputs import (
    FUSED_ONLY_ACTIVATIONS,
    HUBER_DELTA,
    OutputLayer,
    output_layer,
)
from sheetnet.presets import training
from sheetnet.presets.options import Options, read_json
from sheetnet.workbook import cnn_layout, fc_layout, gradcheck_layout, settings
from sheetnet.workbook.layout import WorkbookSpec


@dataclass(frozen=True)
class NetPreset:
    """A net trained on images (or points): the ``Preset`` protocol for networks."""

    name: str
    summary: str
    follows: str
    dataset: str
    eta: float
    iterations: int
    make_model: Callable[[Dataset, Options], object]
    init: Callable[[object, int], dict[str, np.ndarray]]
    init_from_json: Callable[[object, object, str], dict[str, np.ndarray]]
    train: Callable[..., Trace]
    workbook: Callable[[Run], WorkbookSpec]
    model_from_settings: Callable[[Mapping[str, object]], object]
    # (model, images, iterations, rule): the run's size before any array exists
    cost: Callable[[object, int, int, UpdateRule], Cost]
    view: str  # how `show` draws an image's blocks: "fc" or "cnn" (see terminal.VIEWS)
    values: bool = False  # the data's labels are target values (regression), not classes
    images: bool = True  # rows of inputs that `show` draws (exercises print their steps)
    init_text: str = "standard normal"  # how `init` draws, for the Inputs sheet

    @property
    def eta_text(self) -> str:
        return f"{self.eta:g}"

    def run(self, opts: Options, workbook: bool = False) -> Run:
        """Build a run from command-line options, validating every input; its size is checked
        (``workbook``: its workbook's too) before any parameter array is made."""
        opts.unused("iterations", "eta", "seed", "init", "data", "shape", "filters",
                    "filter_size", "pool", "pool_size", "padding", "layers", "activation",
                    "output_activation", "loss", "leaky_slope", "huber_delta", "optimizer",
                    "batch_size", "shuffle", "l1", "l2", "eta_decay")
        ds = load_data(self, opts)
        model = self.make_model(ds, opts)
        eta = self.eta if opts.eta is None else opts.eta
        iterations = self.iterations if opts.iterations is None else opts.iterations
        descent.check_run(eta, iterations)
        rule, hyper = training.update_rule(opts)
        hyper.update(model_hypers(model))
        self.size(model, ds.n_images, iterations, rule).check(workbook)
        batches = training.batches(opts, ds.n_images, iterations)
        if opts.init is not None:
            params = self.init_from_json(model, read_json(opts.init), str(opts.init))
            init_origin = f"--init {Path(opts.init).name}"
        else:
            params = self.init(model, opts.seed_value)
            init_origin = f"{self.init_text}, --seed {opts.seed_value}"
        data_origin = (f"--data {Path(opts.data).name}" if opts.data
                       else f"{ds.name} (built in: {data_mod.BUILTIN[ds.name][2]})")
        return Run(self.name, model, ds, params, eta, iterations,
                   {"data": data_origin, "init": init_origin}, rule, hyper, batches)

    def size(self, model: object, images: int, iterations: int,
             rule: UpdateRule = GD) -> Cost:
        """The run's cost, named as the user asked for it (``--net cnn (…)``)."""
        cost = self.cost(model, images, iterations, rule)
        return replace(cost, what=f"--net {self.name} ({cost.what})")

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None) -> Trace:
        """The NumPy core's run; ``keep`` limits the stored blocks (None: all)."""
        return self.train(run.model, run.params, run.data.x, run.data.targets, run.eta,
                          run.iterations, progress, keep, run.rule, run.hyper, run.batches)

    def skeleton(self, config: Mapping[str, object]) -> Run:
        """A run with a workbook's shapes (from its settings) and zero values: enough to know
        where every cell is."""
        shape = settings.data_shape(config)
        n, k, iterations = shape.images, shape.classes, settings.iterations(config)
        pixels = shape.rows * shape.cols * shape.channels
        if (min(shape.rows, shape.cols, shape.channels, n, k, iterations) < 0
                or pixels * n > cost.MAX_STEP_NUMBERS):
            raise SheetnetError(f"{n:,} images of {shape.rows}x{shape.cols} with {k:,} classes"
                                " is not a workbook sheetnet writes")
        model = self.model_from_settings(config)
        if k != (0 if shape.values else model.outputs):  # type: ignore[attr-defined]
            raise SheetnetError(f"{k:,} classes do not match the net's"
                                f" {model.outputs} outputs")  # type: ignore[attr-defined]
        rule = settings.update_rule(config)
        self.size(model, n, iterations, rule).check(workbook=True)
        ds = Dataset("workbook", np.zeros((n, pixels)), (0.0,) * n,
                     tuple(float(i) for i in range(k)), (shape.rows, shape.cols),
                     values=shape.values, channels=shape.channels)
        hyper = {h.name: h.default for h in rule.hypers}
        hyper.update({name: 1.0 for name in settings.extra_hypers(config)})
        hyper.update(model_hypers(model))
        batches = np.ones((iterations + 1, n)) if settings.batched(config) else None
        return Run(self.name, model, ds, self.init(model, 0), 1.0, iterations, rule=rule,
                   hyper=hyper, batches=batches)

    def rebuild(self, skeleton: Run, found: Mapping[str, object]) -> Run:
        """The run a workbook's input cells describe (``found``: input place -> values)."""
        ds = skeleton.data
        x = np.asarray(found["x"]).reshape(ds.x.shape)
        labels = found["label"]
        if ds.values:
            labels = tuple(float(v) for v in np.asarray(labels).ravel())
        params = {name: np.asarray(found[name]).reshape(v.shape)
                  for name, v in skeleton.params.items()}
        hyper = {name: float(np.asarray(found[name]).ravel()[0])
                 for name in skeleton.hyperparameters}
        batches = None if skeleton.batches is None else np.array(
            [np.asarray(found["batch", k]).ravel() for k in range(skeleton.iterations + 1)])
        data = Dataset("workbook", x, tuple(labels), tuple(found.get("classes", ())),  # type: ignore[arg-type]
                       ds.shape, ds.values, ds.channels)
        return Run(self.name, tune_model(skeleton.model, hyper), data, params, hyper.pop("eta"),
                   skeleton.iterations, rule=skeleton.rule, hyper=hyper, batches=batches)

    def text_inputs(self, skeleton: Run) -> set[str]:
        """Input places that may hold text (class labels) rather than numbers."""
        return set() if skeleton.data.values else {"label", "classes"}


def load_data(preset: NetPreset, opts: Options) -> Dataset:
    if opts.data is None:
        if opts.shape is not None:
            raise SheetnetError("--shape goes with --data; the built-in data set has its own shape")
        return data_mod.builtin(preset.dataset)
    if opts.shape is None:
        raise SheetnetError(f"--data {opts.data} needs --shape ROWSxCOLS (or ROWSxCOLSxCHANNELS),"
                            " e.g. --shape 4x3")
    return data_mod.load_csv(Path(opts.data), data_mod.parse_shape(opts.shape), preset.values)


_CNN_OPTIONS = {"filters": "--filters", "filter_size": "--filter-size", "pool": "--pool",
                "pool_size": "--pool-size", "padding": "--padding"}
# what each activation's or loss's own setting goes with
_SETTINGS = {"leaky_slope": (LEAKY_SLOPE, "--activation leaky-relu (or --output-activation"
                                          " leaky-relu)"),
             "huber_delta": (HUBER_DELTA, "--loss huber")}


def _choose(kind: str, name: str, table: Mapping[str, object]) -> object:
    if name not in table:
        raise SheetnetError(f"--{kind} {name!r} is not one of: {', '.join(table)}")
    return table[name]


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


def _activations(opts: Options, hidden: str, output: str,
                 loss: str) -> tuple[Activation, OutputLayer]:
    """The hidden layers' activation and the output layer the options (or defaults) name."""
    if opts.activation in FUSED_ONLY_ACTIVATIONS:
        raise SheetnetError(f"--activation {opts.activation} is an output layer's: use"
                            " --output-activation softmax --loss cross-entropy")
    act: Activation = _choose("activation", opts.activation or hidden, ACTIVATIONS)  # type: ignore[assignment]
    out = output_layer(opts.output_activation or output, opts.loss or loss)
    given: dict[str, float] = {}
    for field, (hyper, goes_with) in _SETTINGS.items():
        value = getattr(opts, field)
        if value is None:
            continue
        if not any(name == hyper.name for name, _ in (*act.settings, *out.settings)):
            raise SheetnetError(f"{hyper.option} goes with {goes_with}")
        hyper.check(value)
        given[hyper.name] = value
    return act.tune(given), out.tune(given)


def _fc_model(hidden: tuple[int, ...], activation: str = "sigmoid",
              output_activation: str = "sigmoid", loss: str = "half-sse",
              biases: bool = True) -> Callable[[Dataset, Options], fc.FCNet]:
    def make(ds: Dataset, opts: Options) -> fc.FCNet:
        for field, flag in _CNN_OPTIONS.items():
            if getattr(opts, field) is not None:
                raise SheetnetError(f"{flag} is for --net cnn; a fully connected net has no"
                                    " filters")
        sizes = (_parse_layers(opts.layers, ds) if opts.layers
                 else (ds.x.shape[1], *hidden, ds.outputs))
        act, out = _activations(opts, activation, output_activation, loss)
        out.check_targets(ds.targets, ds.values)
        # targets that are measurements (not classes, not 0/1) have no accuracy to report
        classify = not ds.values or bool(np.isin(ds.targets, (0.0, 1.0)).all())
        return fc.FCNet(sizes, act, out, biases, classify)
    return make


HE = "He (normal × √(2/fan-in), biases 0)"


def _fc_preset(name: str, summary: str, follows: str, dataset: str, eta: float,
               iterations: int, model: Callable[[Dataset, Options], fc.FCNet],
               init: Callable[..., dict[str, np.ndarray]] = fc.init_params,
               init_text: str = "standard normal",
               values: bool = False, train: Callable[..., Trace] = fc.train,
               workbook: Callable[[Run], WorkbookSpec] = fc_layout.workbook,
               cost: Callable[..., Cost] | None = None) -> NetPreset:
    """A fully connected preset: the shared core, layout and ``--init`` format."""
    return NetPreset(name=name, summary=summary, follows=follows, dataset=dataset, eta=eta,
                  iterations=iterations, make_model=model, init=init,
                  init_from_json=fc.params_from_json,  # type: ignore[arg-type]
                  train=train, workbook=workbook, model_from_settings=settings.fc_model,
                  cost=cost or (fc_layout.fit_cost if values else fc_layout.cost),  # type: ignore[arg-type]
                  view="fc", values=values, init_text=init_text)


MLP = _fc_preset(
    name="mlp",
    summary="12-3-2 sigmoid net, 0 and 1 in 4×3",
    follows="book 3-5, 4-4",
    dataset="digits01",
    eta=0.2,
    iterations=50,
    model=_fc_model((3,)),
)


def _cnn_model(filters: int = 3, output_activation: str = "sigmoid", loss: str = "half-sse"
               ) -> Callable[[Dataset, Options], cnn.CNNNet]:
    def make(ds: Dataset, opts: Options) -> cnn.CNNNet:
        if opts.layers:
            raise SheetnetError("--layers is for fully connected nets; the CNN's shape comes"
                                " from --filters, --filter-size and --pool-size")
        chosen = {k: getattr(opts, k) for k in _CNN_OPTIONS if getattr(opts, k) is not None}
        pooling = chosen.get("pool", "max")
        if pooling.isdigit():
            raise SheetnetError(f"--pool is max or average; the window's size is --pool-size"
                                f" {pooling}")
        act, out = _activations(opts, "sigmoid", output_activation, loss)
        out.check_targets(ds.targets, ds.values)
        return cnn.CNNNet(ds.shape, filters=chosen.get("filters", filters),
                          size=chosen.get("filter_size", 3), pool=chosen.get("pool_size", 2),
                          outputs=len(ds.classes), activation=act, output=out,
                          pooling=pooling, padding=chosen.get("padding", 0),
                          channels=ds.channels)
    return make


def _cnn_preset(name: str, summary: str, follows: str, dataset: str, eta: float,
                iterations: int, model: Callable[[Dataset, Options], cnn.CNNNet]) -> NetPreset:
    """A CNN preset: the shared core, layout and ``--init`` format."""
    return NetPreset(name=name, summary=summary, follows=follows, dataset=dataset, eta=eta,
                     iterations=iterations, make_model=model,
                     init=cnn.init_params,  # type: ignore[arg-type]
                     init_from_json=cnn.params_from_json,  # type: ignore[arg-type]
                     train=cnn.train, workbook=cnn_layout.workbook,
                     model_from_settings=settings.cnn_model,
                     cost=cnn_layout.cost,  # type: ignore[arg-type]
                     view="cnn")


CNN = _cnn_preset(
    name="cnn",
    summary="CNN with max pooling, 1, 2, 3 in 6×6",
    follows="book 5-4, 5-6",
    dataset="digits123",
    eta=0.2,
    iterations=50,
    model=_cnn_model(),
)

DIGITS = _cnn_preset(
    name="digits",
    summary="softmax CNN, UCI digits 0–9 in 8×8",
    follows="book 5-4, UCI",
    dataset="digits",
    eta=0.03,
    iterations=20,
    model=_cnn_model(4, "softmax", "cross-entropy"),
)

XOR = _fc_preset(
    name="xor",
    summary="2-4-1 net learning XOR, MSE",
    follows="classic",
    dataset="xor",
    eta=0.5,
    iterations=300,
    model=_fc_model((4,), "sigmoid", "identity", "mse"),
    values=True,
)

CURVE = _fc_preset(
    name="curve",
    summary="1-10-10-1 ReLU net, y = x² + noise",
    follows="classic",
    dataset="curve",
    eta=0.2,
    iterations=100,
    model=_fc_model((10, 10), "relu", "identity", "mse"),
    init=fc.init_he,
    init_text=HE,
    values=True,
)

def _twolayer_model(ds: Dataset, opts: Options) -> fc.FCNet:
    """f = W₂ max(0, W₁x) only: its Check sheet's cells move one score at a time, which holds
    for that net alone (ReLU hidden layer, identity output, ½Σ(f − t)², two weight layers)."""
    net = _fc_model((3,), "relu", "identity", "half-sse", biases=False)(ds, opts)
    wrong = [f"{flag} {got}" for flag, got, want in (
        ("--activation", net.activation.name, "relu"),
        ("--output-activation", net.output.activation, "identity"),
        ("--loss", net.output.loss, "half-sse")) if got != want]
    if len(net.sizes) != 3:
        wrong.append(f"--layers {','.join(map(str, net.sizes))}")
    wrong += [flag for flag, value in (("--l1", opts.l1), ("--l2", opts.l2),
                                       ("--batch-size", opts.batch_size)) if value is not None]
    if wrong:
        raise SheetnetError(f"{', '.join(wrong)}: the twolayer check is written for f = W₂"
                            " max(0, W₁x) (relu, identity output, half-sse, --layers IN,H,OUT,"
                            " the whole data, no penalty); for other nets use --net mlp with"
                            " these options")
    return net


TWOLAYER = _fc_preset(
    name="twolayer",
    summary="W₂ max(0, W₁x) and a gradient check",
    follows="classic",
    dataset="digits01",
    eta=0.01,
    iterations=30,
    model=_twolayer_model,
    init=fc.init_he,
    init_text=HE,
    train=gradcheck.train,
    workbook=gradcheck_layout.workbook,
    cost=gradcheck_layout.cost,
)
