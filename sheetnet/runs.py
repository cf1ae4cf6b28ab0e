"""Every command's steps, each written once: the CLI's commands and the Python API both call
them. A run is planned (new from options, going on from a checkpoint, or a window of one),
trained (and cut where ``--patience`` stops it) into a ``Training``, written as a workbook,
saved as a checkpoint, and recorded (``--json``)."""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Collection
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sheetnet import presets
from sheetnet.core import health, stamp
from sheetnet.core.checkpoint import Checkpoint
from sheetnet.core.descent import Progress
from sheetnet.core.run import Run
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import check_out, speaking_python
from sheetnet.presets import resume
from sheetnet.presets.options import Options
from sheetnet.workbook import xlsx
from sheetnet.workbook.layout import WorkbookSpec

COSTS = ("C_batch", "eta_k")  # what a run that keeps its costs alone keeps beside C_T and accuracy



@dataclass(frozen=True)
class Plan:
    """A run ready to train: its preset, the run, the options it was made from (a checkpoint's
    own when it goes on from one) and that checkpoint."""

    preset: presets.Preset
    run: Run
    options: Options
    checkpoint: Checkpoint | None = None


def rows_every(iterations: int) -> int:
    """About 20 rows of a run's table, and as many whole-data passes in mini-batches."""
    return max(1, -(-iterations // 20))


def new_run(net: str, opts: Options, *, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Plan:
    """A run of preset ``net`` from options, its size checked before any array exists
    (``workbook``: for a workbook; ``detail``: every block kept). Kept lean, a run in
    mini-batches computes the whole data's cost ``every`` k-th iteration (None: about 20 of
    them)."""
    preset = presets.get(net)
    lean = not (workbook or detail)
    every = (every or rows_every(opts.iterations or preset.iterations)) if lean else None
    return Plan(preset, preset.run(opts, workbook=workbook, detail=detail, every=every), opts)


def going_on(source: Path, opts: Options, *, net: str | None = None, detail: bool = False,
             every: int | None = None, new_head: bool = False) -> Plan:
    """The run a checkpoint saved, going on from it for ``opts.iterations`` more (``detail``,
    ``every``: as ``new_run`` takes them); given other options or ``new_head``, a new run
    fine-tuned from it (``resume.fine_tuned``)."""
    tune = new_head or any(name != "iterations" for name in opts.given())
    preset, ck = resume.load(net, source, opts, tune)
    if not detail:
        every = every or rows_every(opts.iterations or preset.iterations)
    if tune:
        run, made_of = resume.fine_tuned(preset, ck, opts, new_head, detail,
                                         None if detail else every)
        return Plan(preset, run, made_of, ck)
    run = resume.continued(preset, ck, opts.iterations, None if detail else every,
                           detail=detail)
    return Plan(preset, run, replace(resume.options_of(ck), iterations=run.iterations), ck)


def window_of(source: Path, opts: Options, *, net: str | None = None, images: int | None = None,
              pick: str | None = None) -> Plan:
    """A window of a checkpoint's run: a few iterations on a few images, as cells."""
    preset, ck = resume.load(net, source, opts)
    run = resume.window(preset, ck, opts.iterations, images, pick)
    return Plan(preset, run, resume.options_of(ck), ck)


@dataclass(frozen=True)
class Training:
    """A trained run: its inputs (``run``) and the blocks of every iteration (``trace``; every
    block, or its costs alone when ``kept_blocks`` is False); ``cut_from``: the iterations it
    had before ``--patience`` stopped it (None: it ran its course)."""

    net: str
    run: Run
    trace: Trace
    options: Options
    kept_blocks: bool = True
    cut_from: int | None = None

    @property
    def preset(self) -> presets.Preset:
        return presets.get(self.net)

    @property
    def cost(self) -> np.ndarray:
        """C_T at iterations 0..N (gd: z per step)."""
        return self.trace.cost

    @property
    def accuracy(self) -> np.ndarray | None:
        """Share classified right at iterations 0..N; None for nets that do not classify."""
        return self.trace.accuracy if self.trace.has_accuracy else None

    @property
    def costs(self) -> dict[str, np.ndarray]:
        """Each compared rule's curve (``gd --compare``: z per step, by rule), else the cost
        curves under their block names (``C_T``; with batches ``C_T`` and the batch's)."""
        return health.curves(self.run, self.trace)

    @property
    def warnings(self) -> list[str]:
        """What went wrong in learning (the cost rose sharply, ended above its start, stopped
        moving far from a minimum); empty for a healthy run, and for a game's players, whose
        costs need not fall."""
        if not self.trace.minimised:
            return []
        return health.warnings(self.costs, self.run.eta)

    @property
    def stop_note(self) -> str:
        """A line saying where ``--patience`` stopped the run ("" if it ran its course)."""
        if self.cut_from is None:
            return ""
        best = int(self.trace.iterations[-1]["best_iteration"])
        return (f"stopped early at iteration {self.run.start + self.run.iterations}: the"
                f" validation cost has not improved for {self.run.patience} iterations; the"
                f" best parameters are iteration {best}'s (its sheet and --json blocks hold"
                " them)")

    def test(self) -> dict[str, Any] | None:
        """The last parameters on the data kept apart to test on (mnist); None without."""
        return self.preset.test(self.run, self.trace)

    def evaluation(self) -> dict[str, float] | None:
        """The last parameters evaluated on the data trained on (None: an exercise)."""
        return self.preset.evaluate(self.run, self.trace)

    def record(self) -> dict[str, object]:
        """What ``--json`` holds: the net, its options, each curve, the validation, test and
        evaluation figures, the warnings (and ``first_iteration`` going on from a
        checkpoint)."""
        run, trace = self.run, self.trace
        out: dict[str, object] = {"net": self.net, "options": self.options.given(),
                                  **trace.to_json(run.start, run.minibatches)}
        out.update({name: trace.series(name).tolist() for name in trace.curves})
        last = trace.iterations[-1]
        if "validation_cost" in last:
            out["validation_cost"] = trace.series("validation_cost").tolist()
            out["best_iteration"] = int(last["best_iteration"])
            if "validation_accuracy" in last:
                out["validation_accuracy"] = trace.series("validation_accuracy").tolist()
        if (found := self.test()) is not None:
            out["test_accuracy"] = found["accuracy"]
            out["test"] = found
        out["evaluation"] = self.evaluation()
        out["warnings"] = self.warnings
        if run.start:
            out["first_iteration"] = run.start
        if run.frozen:
            out["frozen"] = list(run.frozen)
        return out

    def blocks(self, iteration: int) -> dict[str, np.ndarray]:
        """Every block of one iteration by its name (``z2``, ``delta3``, ``dC_dW2`` …), as in
        the workbook's Map sheet and ``--json``; ``-1`` is the last iteration."""
        count = len(self.trace.iterations)
        if isinstance(iteration, (bool, np.bool_)) or not isinstance(iteration,
                                                                     (int, np.integer)):
            raise SheetnetError(f"blocks({iteration!r}): give an iteration number 0 to"
                                f" {count - 1} (or -1 for the last)")
        if not -count <= iteration < count:
            raise SheetnetError(f"iteration {iteration} is outside 0..{count - 1} (or -{count}"
                                " to -1 from the end)")
        return dict(self.trace.iterations[int(iteration)])

    @property
    def descriptions(self) -> dict[str, str]:
        """What each block is, in the book's notation."""
        return dict(self.trace.descriptions)

    def history(self, as_frame: bool | None = None):
        """The run iteration by iteration, one column each: ``iteration``, each cost curve
        (``C_T``, …) and ``accuracy``; as a dict of arrays, or a pandas DataFrame of the same
        columns with ``as_frame`` (None: when pandas is installed), so that
        ``history().plot(x="iteration", y="C_T")`` works either way one plots."""
        table: dict[str, np.ndarray] = {"iteration": np.arange(len(self.cost))}
        table.update(self.costs)
        table.update({name: self.trace.series(name) for name in self.trace.curves
                      if name not in table})  # a GAN's D(x) and D(G(z)) means beside its costs
        if self.accuracy is not None:
            table["accuracy"] = self.accuracy
        if as_frame is False:
            return table
        try:
            import pandas as pd
        except ImportError:
            if as_frame:
                raise SheetnetError("history(as_frame=True) needs pandas; pip install pandas,"
                                    " or use the dict history() gives") from None
            return table
        return pd.DataFrame(table)

    @speaking_python()
    def save(self, path: str | Path, *, force: bool = False) -> Path:
        """Write the run's checkpoint (``train --checkpoint``): the parameters after its last
        update, the optimizer's state, the step count and the options, to go on from
        (``train(from_checkpoint=…)``, ``window(…)``)."""
        if not isinstance(path, (str, os.PathLike)):
            raise SheetnetError(f"path={path!r}: give a file's path (str or Path)")
        if not isinstance(force, (bool, np.bool_)):
            raise SheetnetError(f"force={force!r}: give True or False")
        path = Path(path)
        check_out(path, bool(force), ".npz")
        self.saved(path, bool(force))
        return path

    def saved(self, path: Path, force: bool = False) -> Checkpoint:
        """Write the checkpoint (its path already checked); what it holds."""
        return resume.save(self.preset, self.options, self.run, self.trace, path, force)

    def _repr_html_(self) -> str:
        """In a notebook: a table of the run and its cost curve (inline SVG)."""
        from sheetnet.notebook import training_html

        return training_html(self)

    def __repr__(self) -> str:
        parts = [f"net={self.net!r}", f"iterations={self.run.iterations}",
                 f"eta={self.run.eta:g}"]
        for name, curve in self.costs.items():
            parts.append(f"{name} {_short(curve[0])} → {_short(curve[-1])}")
        if self.accuracy is not None:
            parts.append(f"accuracy {self.accuracy[0]:.1%} → {self.accuracy[-1]:.1%}")
        parts.append(f"{len(self.trace.iterations[0])} blocks an iteration")
        return f"Training({', '.join(parts)})"


def _short(value: float) -> str:
    """A number as a person reads it: 6 significant digits, scientific beyond 1e6."""
    return f"{value:.6g}" if abs(value) < 1e6 else f"{value:.3e}"


def train(plan: Plan, progress: Progress | None = None, keep: Collection[str] | None = None
          ) -> Training:
    """Train the plan's run (``keep``: the blocks to store; None: all), cut where
    ``--patience`` stops it."""
    preset, run = plan.preset, plan.run
    trace = preset.trace(run, progress, keep)
    cut, trace = preset.stopped(run, trace)
    return Training(preset.name, cut, trace, plan.options, keep is None,
                    None if cut.iterations == run.iterations else run.iterations)


def layout(preset: presets.Preset, run: Run) -> WorkbookSpec:
    """The run's workbook layout (sheets are built lazily, as they are written), refused in one
    line if Excel could not open it."""
    spec = preset.workbook(run)
    spec.check_limits()
    return spec


@dataclass(frozen=True)
class Written:
    """A workbook written: where, of which training, its sheets and formula cells, and the
    seconds training and writing took."""

    path: Path
    training: Training
    sheets: int
    cells: int
    seconds: float


def write(what: Plan | Training, out: Path, force: bool = False,
          progress: Progress | None = None,
          sheet_written: Callable[[str, int], None] | None = None) -> Written:
    """Write a run's workbook: a plan trained first (every block: the cells store its
    numbers), or a training that kept every block. ``sheet_written(name, sheets)`` after each
    sheet. Its layout is checked before any training."""
    started = time.perf_counter()
    if isinstance(what, Plan):
        layout(what.preset, what.run)  # refused here, before any training, if too big
        training = train(what, progress)
    else:
        if not what.kept_blocks:
            raise SheetnetError("this run kept its costs alone (train(..., blocks=False)); a"
                                " workbook shows every block: train it with blocks=True, or"
                                " save it and write a window (Training.save, then window())")
        what.preset.run(what.options, workbook=True)  # refuses a run too big for a workbook
        training = what
    spec = layout(training.preset, training.run)
    sheets = len(spec.sheets)
    cells = xlsx.write(spec, out, None if sheet_written is None
                       else lambda name: sheet_written(name, sheets), force, training.trace,
                       (stamp.PROPERTY, stamp.make(training.run, training.trace)))
    return Written(out, training, sheets, cells, time.perf_counter() - started)
