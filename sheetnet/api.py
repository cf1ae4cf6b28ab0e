"""sheetnet from Python (a notebook, a script): train, export and verify, as the CLI does.

    >>> import sheetnet
    >>> run = sheetnet.train("mlp", eta=0.5, iterations=20)
    >>> run.cost[-1] < run.cost[0]
    True
    >>> sheetnet.export(run, "mlp.xlsx", force=True)   # doctest: +SKIP
    >>> sheetnet.verify("mlp.xlsx").ok                 # doctest: +SKIP
    True

Options are the CLI's, as keywords with underscores (``filter_size=2``, ``output_activation=
"softmax"``, ``momentum=0.8``). Every problem raises ``sheetnet.SheetnetError`` with the CLI's
one-line message.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np

from sheetnet import presets
from sheetnet.audit import engines
from sheetnet.audit.verify import Report
from sheetnet.audit.verify import verify as _verify
from sheetnet.core.run import Run
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import check_out
from sheetnet.pairs import optim
from sheetnet.presets.options import Options
from sheetnet.workbook import xlsx
from sheetnet.workbook.layout import WorkbookSpec


@dataclass(frozen=True)
class Training:
    """A trained run: its inputs (``run``) and every block of every iteration (``trace``)."""

    net: str
    run: Run
    trace: Trace
    options: Options

    @property
    def cost(self) -> np.ndarray:
        """C_T at iterations 0..N (gd: z per step)."""
        return self.trace.cost

    @property
    def accuracy(self) -> np.ndarray | None:
        """Share classified right at iterations 0..N; None for nets that do not classify."""
        return self.trace.accuracy if self.trace.has_accuracy else None

    def blocks(self, iteration: int) -> dict[str, np.ndarray]:
        """Every block of one iteration by its name (``z2``, ``delta3``, ``dC_dW2`` …), as in
        the workbook's Map sheet and ``--json``."""
        if not 0 <= iteration < len(self.trace.iterations):
            raise SheetnetError(f"iteration {iteration} is outside"
                                f" 0..{len(self.trace.iterations) - 1}")
        return dict(self.trace.iterations[iteration])

    @property
    def descriptions(self) -> dict[str, str]:
        """What each block is, in the book's notation."""
        return dict(self.trace.descriptions)


_FIELDS = {f.name for f in fields(Options)} - {"hyper"}
_TEXT = {"arch": 'arch="conv 4 3x3, relu, maxpool 2, dense 10"', "layers": 'layers="12,5,2"',
         "shape": 'shape="8x8"', "activation": 'activation="relu"',
         "output_activation": 'output_activation="softmax"', "loss": 'loss="cross-entropy"',
         "pool": 'pool="average"', "function": 'function="bowl"', "start": 'start="3,2"',
         "compare": 'compare="gd,adam"', "optimizer": 'optimizer="adam"'}  # text options


def options(**given: object) -> Options:
    """The CLI's options from keywords; an unknown one is a ``SheetnetError``."""
    hypers = optim.hypers()
    hyper = {k: float(v) for k, v in given.items() if k in hypers and v is not None}  # type: ignore[arg-type]
    unknown = [k for k in given if k not in _FIELDS and k not in hypers]
    if unknown:
        raise SheetnetError(f"unknown option {unknown[0]!r}; the options are the CLI's with"
                            " underscores: " + ", ".join(sorted(_FIELDS | set(hypers))))
    plain = {k: v for k, v in given.items() if k in _FIELDS}
    for key, value in plain.items():
        if key in _TEXT and value is not None and not isinstance(value, str):
            raise SheetnetError(f"{key}={value!r}: give it as text, as on the command line,"
                                f" e.g. {_TEXT[key]}")
    for key in ("init", "data"):
        if plain.get(key) is not None:
            plain[key] = Path(plain[key])  # type: ignore[arg-type]
    return Options(**plain, hyper=hyper)  # type: ignore[arg-type]


def train(net: str = "mlp", *, progress: Callable[[int], None] | None = None,
          **given: object) -> Training:
    """Train a preset (``sheetnet nets`` lists them) with the CLI's options; every block of
    every iteration is kept (``progress(k)`` is called after iteration k)."""
    preset = presets.get(net)
    opts = options(**given)
    run = preset.run(opts, detail=True)
    return Training(preset.name, run, preset.trace(run, progress), opts)


def export(what: Training | str, out: str | Path, *, force: bool = False,
           progress: Callable[[str], None] | None = None, **given: object) -> Path:
    """Write a workbook: of a ``Training``, or of a preset trained with ``given`` options.
    Every formula cell stores the value NumPy computed. Returns the path written."""
    out = Path(out)
    check_out(out, force, ".xlsx")
    if isinstance(what, str):
        preset = presets.get(what)
        run = preset.run(options(**given), workbook=True)
        spec = layout(preset, run)  # refused here, before any training, if too big
        trace = preset.trace(run)
    else:
        if given:
            raise SheetnetError("options go to train(); export(training, path) writes that run")
        preset, run, trace = presets.get(what.net), what.run, what.trace
        preset.run(what.options, workbook=True)  # refuses a run too big for a workbook
        spec = layout(preset, run)
    xlsx.write(spec, out, progress, force, trace)
    return out


def layout(preset: presets.Preset, run: Run) -> WorkbookSpec:
    """The run's workbook layout (sheets are built lazily, as they are written), refused in one
    line if Excel could not open it. The CLI's export and ``export`` share it."""
    spec = preset.workbook(run)
    spec.check_limits()
    return spec


def verify(path: str | Path, engine: str | Sequence[str] = engines.DEFAULT,
           timeout: float = 600) -> Report:
    """Recalculate a workbook in a spreadsheet engine (``"ironcalc"``, ``"libreoffice"``,
    ``"gnumeric"``, a list of them or ``"all"``) and compare every cell with NumPy; the report's
    ``ok`` says whether every cell agrees within 1e-9."""
    names = [engine] if isinstance(engine, str) else list(engine)
    return _verify(Path(path), names, timeout)


__all__ = ["SheetnetError", "Training", "export", "options", "train", "verify",
           "layout"]
