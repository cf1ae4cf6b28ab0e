"""sheetnet from Python (a notebook, a script): train, export and verify, as the CLI does.

    >>> import sheetnet
    >>> run = sheetnet.train("mlp", eta=0.5, iterations=20, layers=[12, 3, 2])
    >>> bool(run.cost[-1] < run.cost[0])
    True
    >>> sheetnet.export(run, "mlp.xlsx", force=True)   # doctest: +SKIP
    >>> sheetnet.verify("mlp.xlsx").ok                 # doctest: +SKIP
    True

Options are the CLI's, as keywords with underscores (``filter_size=2``, ``output_activation=
"softmax"``, ``momentum=0.8``), in Python's own values: numbers (NumPy's too), lists or tuples
where the CLI takes a list (``layers=[12, 5, 2]``, ``compare=["gd", "adam"]``, ``start=(3, 2)``,
``shape=(8, 8)``), a dict of arrays for ``init``, and for ``data`` a CSV's path or arrays
(``data=images, labels=labels``). A run reads as one line; ``run.history()`` is its table.
Every problem raises ``sheetnet.SheetnetError`` in one line naming the keyword or option.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import fields
from pathlib import Path

import numpy as np

from sheetnet import notebook, presets, runs
from sheetnet.audit import engines
from sheetnet.audit.explain import Explanation
from sheetnet.audit.explain import explain as _explain
from sheetnet.audit.verify import Report, check_timeout
from sheetnet.audit.verify import verify as _verify
from sheetnet.core import data as data_mod
from sheetnet.core.data import Dataset
from sheetnet.core.run import Run
from sheetnet.errors import SheetnetError
from sheetnet.files import check_out, speaking_python
from sheetnet.pairs import optim
from sheetnet.presets.exercises import points_data
from sheetnet.presets.gan import points_given
from sheetnet.presets.options import Options
from sheetnet.runs import Training

_FIELDS = {f.name for f in fields(Options)} - {"hyper"}
# options that take a whole number, with an example each; the rest of the numbers are real
_WHOLE = {"iterations": 50, "seed": 0, "filters": 3, "filter_size": 3, "pool_size": 2,
          "padding": 1, "batch_size": 8, "patience": 10, "seq_length": 10, "hidden": 8,
          "embed": 8, "mlp": 16, "per_class": 20, "freeze": 1,
          "images": 8, "pick": 0, "every": 10, "depth": 2, "noise": 2, "d_steps": 1,
          "points": 16}
LARGEST = 2**63  # a whole number beyond this is no count, size or seed sheetnet takes
_REAL = {"eta": 0.5, "leaky_slope": 0.01, "huber_delta": 1.0, "l1": 0.001, "l2": 0.01,
         "eta_decay": 0.01, "dropout": 0.5, "validation": 0.2}
# text options, and how a list or tuple of their parts is joined (None: text only)
_TEXT: dict[str, str | None] = {
    "arch": ", ", "classes": ",", "layers": ",", "compare": ",", "start": ",", "shape": "x",
    "activation": None, "output_activation": None, "loss": None, "pool": None,
    "function": None, "optimizer": None, "init_scheme": None}
_EXAMPLE = {"arch": '"conv 4 3x3, relu, maxpool 2, dense 10"', "classes": "[0, 1, 2]",
            "layers": "[12, 5, 2]",
            "compare": '["gd", "adam"]', "start": "(3, 2)", "shape": "(8, 8)",
            "activation": '"relu"', "output_activation": '"softmax"',
            "loss": '"cross-entropy"', "pool": '"average"', "function": '"bowl"',
            "optimizer": '"adam"', "init_scheme": '"he"'}


def _whole(key: str, value: object) -> int:
    example = f"e.g. {key}={_WHOLE.get(key, 1)}"
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise SheetnetError(f"{key}={value!r}: give a whole number, {example}")
    if isinstance(value, (int, np.integer)):
        if not -LARGEST < value < LARGEST:
            raise SheetnetError(f"{key}: {_huge(value)} is far too large; give a whole number,"
                                f" {example}")
    elif not (np.isfinite(value) and float(value).is_integer()):
        raise SheetnetError(f"{key}={value!r}: give a whole number, {example}")
    elif not -LARGEST < value < LARGEST:
        raise SheetnetError(f"{key}={value:g} is far too large; give a whole number, {example}")
    if key == "seed" and value < 0:
        raise SheetnetError(f"seed={value!r}: give 0 or more, e.g. seed=0")
    return int(value)


def _real(key: str, value: object, example: object = 0.5) -> float:
    if isinstance(value, (bool, np.bool_)) or not isinstance(value, (int, float, np.number)):
        raise SheetnetError(f"{key}={value!r}: give a number, e.g. {key}={example}")
    try:
        return float(value)
    except OverflowError:
        raise SheetnetError(f"{key}: {_huge(value)} is too large for a float; give a number,"
                            f" e.g. {key}={example}") from None


def _huge(value: object) -> str:
    """A huge whole number as words ("a number of about 401 digits"), never its digits."""
    bits = int(value).bit_length()  # type: ignore[call-overload]
    return f"a number of about {int(bits * 0.30103) + 1:,} digits"


def _text(key: str, value: object) -> str:
    joiner = _TEXT[key]
    if isinstance(value, str):
        return value
    if joiner is not None and isinstance(value, (list, tuple, np.ndarray)) and len(value) \
            and all(isinstance(v, (str, int, float, np.number)) and not isinstance(v, bool)
                    for v in value):
        return joiner.join(str(v) for v in value)
    raise SheetnetError(f"{key}={value!r}: give it as text or as a list of its parts, e.g."
                        f" {key}={_EXAMPLE[key]}" if joiner else
                        f"{key}={value!r}: give it as text, e.g. {key}={_EXAMPLE[key]}")


def _path(key: str, value: object) -> Path:
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise SheetnetError(f"{key}={value!r}: give a file's path (str or Path)")


def _init(value: object) -> Path | dict[str, object]:
    """A path to a JSON file, or the parameters themselves (a dict of arrays or lists)."""
    if isinstance(value, Mapping):
        return {str(k): np.asarray(v).tolist() if isinstance(v, (np.ndarray, np.number))
                else v for k, v in value.items()}
    if isinstance(value, (str, os.PathLike)):
        return Path(value)
    raise SheetnetError(f"init={value!r}: give a JSON file's path or a dict of arrays such as"
                        ' {"W2": ..., "b2": ...}')


def _data(preset: presets.Preset | None, value: object, labels: object,
          shape: object) -> Path | Dataset:
    """A CSV's path, or arrays: images with ``labels`` (or a pair (images, labels)); for the
    regression, points (n, 2)."""
    if isinstance(value, (str, os.PathLike)):
        if labels is not None:
            raise SheetnetError("labels= goes with data given as an array; a CSV holds its own")
        return Path(value)
    if isinstance(value, Dataset):
        return value
    if preset is None:
        raise SheetnetError("data given as arrays needs the net: train(net, data=...)")
    if preset.name == "regression":
        return points_data(np.asarray(value, dtype=float).reshape(-1, 2), "data", "data")
    if preset.name == "gan":
        return points_given(value)
    if isinstance(value, tuple) and len(value) == 2 and labels is None:
        value, labels = value
    if labels is None:
        raise SheetnetError("data given as an array needs labels=[...] (one an image), or give"
                            " data=(images, labels)")
    size = None if shape is None else data_mod.parse_shape(_text("shape", shape))
    return data_mod.from_arrays(value, labels, size, values=preset.values)


def _bool(key: str, value: object) -> bool:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    raise SheetnetError(f"{key}={value!r}: give True or False")


def options(net: str | None = None, **given: object) -> Options:
    """The CLI's options from Python values (numbers, text, lists, tuples, dicts, paths,
    arrays), each checked in one line naming its keyword; ``net`` is needed for data given as
    arrays."""
    preset = presets.get(net) if net is not None else None
    hypers = optim.hypers()
    labels = given.pop("labels", None)  # the images' labels, with data= as arrays
    classes = given.pop("classes", None)  # the CLI's --labels: the classes kept
    if classes is not None:
        given["labels"] = _text("classes", classes)
    unknown = [k for k in given if k not in _FIELDS and k not in hypers]
    if unknown:
        raise SheetnetError(f"unknown option {unknown[0]!r}; the options are the CLI's with"
                            " underscores: " + ", ".join(sorted(_FIELDS | set(hypers))))
    hyper = {k: _real(k, v, hypers[k][0].default) for k, v in given.items()
             if k in hypers and v is not None}
    plain: dict[str, object] = {}
    for key, value in given.items():
        if key in hypers or value is None:
            continue
        if key in _WHOLE:
            plain[key] = _whole(key, value)
        elif key in _REAL:
            plain[key] = _real(key, value, _REAL[key])
        elif key in ("shuffle", "batch_norm", "layer_norm"):
            plain[key] = _bool(key, value)
        elif key == "text":
            plain[key] = _path("text", value)
        elif key == "init":
            plain[key] = _init(value)
        elif key == "data":
            plain[key] = _data(preset, value, labels, given.get("shape"))
        elif key == "labels":
            plain[key] = value
        else:
            plain[key] = _text(key, value)
    if labels is not None and "data" not in plain:
        raise SheetnetError("labels= goes with data=: the images they label")
    if isinstance(plain.get("data"), Dataset):
        plain.pop("shape", None)  # the arrays' shape is the data set's own
    return Options(**plain, hyper=hyper)  # type: ignore[arg-type]


def train(net: str = "mlp", *, progress: Callable[[int], None] | bool | None = None,
          from_checkpoint: str | Path | None = None, blocks: bool = True,
          every: int | None = None, new_head: bool = False, **given: object) -> Training:
    """Train a preset (``sheetnet nets`` lists them) with the CLI's options; every block of
    every iteration is kept. ``progress``: a function called with k after iteration k, or
    True for a one-line progress bar (None: a bar in a Jupyter notebook, nothing elsewhere).
    ``blocks=False`` keeps the costs alone, as ``sheetnet train`` does (memory stays flat, and
    a net as large as mnist fits); in mini-batches the whole data's cost is then computed
    ``every`` k-th iteration (default: about 20 of them), each step's batch cost every one.
    ``from_checkpoint``: go on from a checkpoint (``Training.save``) with its own net and
    options, for ``iterations=`` more; given other options (``classes=``, ``per_class=``,
    ``freeze=``, ``eta=`` …) or ``new_head=True`` (a new output layer), a new run fine-tuned
    from its parameters, the optimizer's state fresh."""
    lean = not _bool("blocks", blocks)
    if _bool("new_head", new_head) and from_checkpoint is None:
        raise SheetnetError("new_head=True goes with from_checkpoint=: it replaces the"
                            " checkpoint's output layer")
    if every is not None:
        every = _whole("every", every)
        if every < 1:
            raise SheetnetError(f"every={every}: give 1 or more, e.g. every=10")
    if from_checkpoint is not None:
        planned = runs.going_on(_path("from_checkpoint", from_checkpoint),
                                options(None, **given), net=None if net == "mlp" else net,
                                detail=not lean, every=every, new_head=new_head)
    else:
        planned = runs.new_run(net, options(net, **given), detail=not lean, every=every)
    if progress is None or isinstance(progress, bool):
        shown = progress if progress is not None else notebook.in_notebook()
        progress = notebook.Bar(planned.run.iterations + 1) if shown else None
    return runs.train(planned, progress, runs.COSTS if lean else None)


@speaking_python()
def export(what: Training | str, out: str | Path, *, force: bool = False,
           progress: Callable[[str], None] | None = None, **given: object) -> Path:
    """Write a workbook: of a ``Training``, or of a preset trained with ``given`` options.
    Every formula cell stores the value NumPy computed. Returns the path written."""
    out = _path("out", out)
    check_out(out, _bool("force", force), ".xlsx")
    written = None if progress is None else lambda name, sheets: progress(name)
    if isinstance(what, str):
        runs.write(runs.new_run(what, options(what, **given), workbook=True), out, force,
                   sheet_written=written)
    elif not isinstance(what, Training):
        shown = repr(what) if len(repr(what)) <= 40 else f"a {type(what).__name__}"
        hint = " (its .run is not: give the training itself)" if isinstance(what, Run) else ""
        raise SheetnetError(f"export({shown}, …): give a net's name or what sheetnet.train()"
                            f" returned{hint}")
    else:
        if given:
            raise SheetnetError("options go to train(); export(training, path) writes that run")
        runs.write(what, out, force, sheet_written=written)
    return out


@speaking_python()
def window(checkpoint: str | Path, out: str | Path, *, images: int | None = None,
           pick: Sequence[int] | None = None, iterations: int | None = None,
           force: bool = False, progress: Callable[[str], None] | None = None) -> Path:
    """Write a window of a checkpoint's run: ``iterations`` (default 2) going on from it, on
    ``images`` of its next batches (default 8) or those ``pick`` numbers (from 1, among the
    images trained on, as the workbook and ``show --image`` count), the checkpoint's
    parameters and optimizer state as input cells (``sheetnet export --from``)."""
    out = _path("out", out)
    if pick is not None and (isinstance(pick, (str, bytes)) or not hasattr(pick, "__iter__")):
        raise SheetnetError(f"pick={pick!r}: give a list of image numbers, e.g. pick=[1, 17, 42]")
    rows = None if pick is None else ",".join(str(_whole("pick", r)) for r in pick)
    steps = None if iterations is None else _whole("iterations", iterations)
    count = None if images is None else _whole("images", images)
    check_out(out, _bool("force", force), ".xlsx")
    planned = runs.window_of(_path("checkpoint", checkpoint), Options(iterations=steps),
                             images=count, pick=rows)
    runs.write(planned, out, force, sheet_written=None if progress is None
               else lambda name, sheets: progress(name))
    return out


def verify(path: str | Path, engine: str | Sequence[str] = engines.DEFAULT,
           timeout: float = 600) -> Report:
    """Recalculate a workbook in a spreadsheet engine (``"ironcalc"``, ``"libreoffice"``,
    ``"gnumeric"``, a list of them or ``"all"``) and compare every cell with NumPy; the report's
    ``ok`` says whether every cell agrees within 1e-9."""
    names = [engine] if isinstance(engine, str) else list(engine) \
        if isinstance(engine, (list, tuple)) else None
    if not names or not all(isinstance(n, str) for n in names):
        raise SheetnetError(f"engine={engine!r}: name an engine ({', '.join(engines.ENGINES)}),"
                            " a list of them or \"all\"")
    seconds = _real("timeout", timeout, 600)
    check_timeout(seconds)
    return _verify(_path("path", path), names, seconds)


def explain(path: str | Path, cell: str, *, sheet: str | None = None,
            depth: int = 1) -> Explanation:
    """A cell's story, read from the workbook alone: what it is in the book's notation, its
    formula as written, in the book's notation and with the numbers plugged in, its value as
    stored, and each cell it reads, named (``depth`` > 1: a tree of them). ``cell``:
    ``"'Iter 0'!E34"``, ``"Iter 0!E34"`` or ``"E34"`` with ``sheet="Iter 0"``.

        >>> e = sheetnet.explain("mlp.xlsx", "'Iter 0'!E34")   # doctest: +SKIP
        >>> e.what, e.book                                     # doctest: +SKIP
        ('δ²₁ of image 1, iteration 0', '(w³₁₁·δ³₁ + w³₂₁·δ³₂)·a²₁·(1 − a²₁)')
    """
    if not isinstance(cell, str):
        raise SheetnetError(f"cell={cell!r}: give the cell as text, e.g. \"'Iter 0'!E34\"")
    if sheet is not None and not isinstance(sheet, str):
        raise SheetnetError(f"sheet={sheet!r}: give the sheet's name as text, e.g."
                            " sheet=\"Iter 0\"")
    depth = _whole("depth", depth)
    return _explain(_path("path", path), cell, sheet=sheet, depth=depth)


layout = runs.layout

__all__ = ["SheetnetError", "Training", "explain", "export", "layout", "options", "train",
           "verify", "window"]
