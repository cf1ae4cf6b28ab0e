"""Presets that are exercises rather than networks trained on images: gradient descent (2-11).

They answer the same calls as a network preset (``run``, ``trace``, ``workbook``, ``skeleton``,
``rebuild``), so export, train, show and verify treat every preset alike.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet import descent, gd, gd_book
from sheetnet.layout import WorkbookSpec
from sheetnet.options import Options
from sheetnet.run import Run
from sheetnet.trace import Trace


@dataclass(frozen=True)
class GradientDescent:
    name: str = "gd"
    summary: str = "gradient descent on z = f(x, y), one row per step (--function, --start)"
    follows: str = "book 2-11 (gradient descent)"
    dataset: str = "—"
    eta: float = 0.1
    iterations: int = 30
    start: str = "3,2"
    function: str = "bowl"

    def run(self, opts: Options) -> Run:
        opts.unused("iterations", "eta", "function", "start")
        f = gd.function(opts.function or self.function)
        start = gd.parse_start(opts.start or self.start)
        eta = self.eta if opts.eta is None else opts.eta
        steps = self.iterations if opts.iterations is None else opts.iterations
        descent.check_run(eta, steps)
        return Run(self.name, f, None, {"start": start}, eta, steps,  # type: ignore[arg-type]
                   {"function": f.name})

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None) -> Trace:
        return gd.descend(run.model, run.params["start"], run.eta, run.iterations,  # type: ignore[arg-type]
                          progress)

    def workbook(self, run: Run) -> WorkbookSpec:
        return gd_book.workbook(run)

    def skeleton(self, config: Mapping[str, object]) -> Run:
        f = gd.function(str(config["function"]))
        return Run(self.name, f, None, {"start": np.zeros(2)}, 1.0,  # type: ignore[arg-type]
                   int(str(config["iterations"])))

    def rebuild(self, skeleton: Run, found: Mapping[str, object]) -> Run:
        start = np.asarray(found["start"], dtype=float).ravel()
        eta = float(np.asarray(found["eta"]).ravel()[0])
        return Run(self.name, skeleton.model, None, {"start": start}, eta,  # type: ignore[arg-type]
                   skeleton.iterations)

    def text_inputs(self, skeleton: Run) -> set[str]:
        return set()


GD = GradientDescent()
