"""The nets ``sheetnet export --net NAME`` knows, each tying a core, a layout and its inputs."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sheetnet import cnn, cnn_book, descent, fc, fc_book
from sheetnet import data as data_mod
from sheetnet.data import Dataset
from sheetnet.errors import SheetnetError
from sheetnet.layout import WorkbookSpec
from sheetnet.run import Run
from sheetnet.trace import Trace

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Options:
    """What a user may set on the command line (None: the preset's default)."""

    iterations: int | None = None
    eta: float | None = None
    seed: int = DEFAULT_SEED
    init: Path | None = None
    data: Path | None = None
    shape: str | None = None
    filters: int | None = None  # the CNN's K, f and p
    filter_size: int | None = None
    pool: int | None = None


@dataclass(frozen=True)
class Preset:
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
    model_from_config: Callable[[Mapping[str, object]], object]

    def run(self, opts: Options) -> Run:
        """Build a run from command-line options, validating every input."""
        ds = load_data(self, opts)
        model = self.make_model(ds, opts)
        if opts.init is not None:
            params = self.init_from_json(model, read_json(opts.init), str(opts.init))
            init_origin = f"--init {Path(opts.init).name}"
        else:
            params = self.init(model, opts.seed)
            init_origin = f"standard normal, --seed {opts.seed}"
        eta = self.eta if opts.eta is None else opts.eta
        iterations = self.iterations if opts.iterations is None else opts.iterations
        descent.check_run(eta, iterations)
        data_origin = (f"--data {Path(opts.data).name}" if opts.data
                       else f"{ds.name} (built in: {data_mod.BUILTIN[ds.name][2]})")
        return Run(self.name, model, ds, params, eta, iterations,
                   {"data": data_origin, "init": init_origin})

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None) -> Trace:
        """The NumPy core's run; ``keep`` limits the stored blocks (None: all)."""
        return self.train(run.model, run.params, run.data.x, run.data.targets, run.eta,
                          run.iterations, progress, keep)


def load_data(preset: Preset, opts: Options) -> Dataset:
    if opts.data is None:
        if opts.shape is not None:
            raise SheetnetError("--shape goes with --data; the built-in data set has its own shape")
        return data_mod.builtin(preset.dataset)
    if opts.shape is None:
        raise SheetnetError(f"--data {opts.data} needs --shape ROWSxCOLS, e.g. --shape 4x3")
    return data_mod.load_csv(Path(opts.data), data_mod.parse_shape(opts.shape))


def read_json(path: Path) -> object:
    path = Path(path)
    if not path.is_file():
        raise SheetnetError(f"--init {path}: no such file; give a JSON file of initial parameters")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SheetnetError(f"--init {path}: not valid JSON ({e}); fix the file") from None


_CNN_OPTIONS = {"filters": "--filters", "filter_size": "--filter-size", "pool": "--pool"}


def _fc_model(hidden: tuple[int, ...]) -> Callable[[Dataset, Options], fc.FCNet]:
    def make(ds: Dataset, opts: Options) -> fc.FCNet:
        for field, flag in _CNN_OPTIONS.items():
            if getattr(opts, field) is not None:
                raise SheetnetError(f"{flag} is for --net cnn; a fully connected net has no"
                                    " filters")
        return fc.FCNet((ds.x.shape[1], *hidden, len(ds.classes)))
    return make


def _fc_from_config(config: Mapping[str, object]) -> fc.FCNet:
    sizes = tuple(int(s) for s in str(config["layers"]).split(","))
    return fc.FCNet(sizes)


MLP = Preset(
    name="mlp",
    summary="12-3-2 sigmoid network recognising 0 and 1 with backpropagation",
    follows="book 3-5 (cost) and 4-4 (backpropagation)",
    dataset="digits01",
    eta=0.2,
    iterations=50,
    make_model=_fc_model((3,)),
    init=fc.init_params,  # type: ignore[arg-type]
    init_from_json=fc.params_from_json,  # type: ignore[arg-type]
    train=fc.train,
    workbook=fc_book.workbook,
    model_from_config=_fc_from_config,
)

def _cnn_model(ds: Dataset, opts: Options) -> cnn.CNNNet:
    chosen = {k: getattr(opts, k) for k in _CNN_OPTIONS if getattr(opts, k) is not None}
    return cnn.CNNNet(ds.shape, filters=chosen.get("filters", 3),
                      size=chosen.get("filter_size", 3), pool=chosen.get("pool", 2),
                      outputs=len(ds.classes))


def _cnn_from_config(config: Mapping[str, object]) -> cnn.CNNNet:
    rows, cols = (int(v) for v in str(config["image shape"]).split("x"))
    k, f, p, n = (int(str(config[key])) for key in ("filters", "filter size", "pool", "classes"))
    return cnn.CNNNet((rows, cols), filters=k, size=f, pool=p, outputs=n)


CNN = Preset(
    name="cnn",
    summary="convolutional network (3 filters 3×3, 2×2 max pooling) recognising 1, 2 and 3",
    follows="book 5-4 (CNN, cost) and 5-6 (its backpropagation)",
    dataset="digits123",
    eta=0.2,
    iterations=50,
    make_model=_cnn_model,
    init=cnn.init_params,  # type: ignore[arg-type]
    init_from_json=cnn.params_from_json,  # type: ignore[arg-type]
    train=cnn.train,
    workbook=cnn_book.workbook,
    model_from_config=_cnn_from_config,
)

PRESETS: dict[str, Preset] = {p.name: p for p in (MLP, CNN)}


def get(name: str) -> Preset:
    try:
        return PRESETS[name]
    except KeyError:
        raise SheetnetError(f"unknown net {name!r}; choose one of: {', '.join(PRESETS)}"
                            " (see `sheetnet nets`)") from None


def replace_iterations(run: Run, iterations: int) -> Run:
    """The same run, shorter or longer."""
    from dataclasses import replace

    return replace(run, iterations=iterations)
