"""Presets that are exercises rather than networks trained on images: gradient descent (2-11),
regression analysis (2-12) and backpropagation on a computational graph.

They answer the same calls as a network preset (``run``, ``trace``, ``workbook``, ``skeleton``,
``rebuild``), so export, train, show and verify treat every preset alike; ``table`` gives what
``show`` prints.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sheetnet.core import cells, descent, gd, graph, regression
from sheetnet.core.budget import MAX_DATA_BYTES, Budget, kept_bytes
from sheetnet.core.data import Dataset, csv_rows
from sheetnet.core.run import Found, Run
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import read_text
from sheetnet.pairs import functions
from sheetnet.pairs.optim import GD as GD_RULE
from sheetnet.pairs.optim import RULES, UpdateRule, flag
from sheetnet.pairs.optim import rule as rule_of
from sheetnet.presets import stepping
from sheetnet.presets.options import Options
from sheetnet.workbook import gd_layout, graph_layout, regression_layout, settings
from sheetnet.workbook.layout import WorkbookSpec
from sheetnet.workbook.size import Size


def steps_table(trace: Trace) -> tuple[str, list[str], list[list[str]]]:
    """One row per step of the blocks every step has (step 0 may carry more)."""
    names = list(trace.iterations[-1])
    rows = [[str(i), *(f"{float(b[n]):.6g}" for n in names)]
            for i, b in enumerate(trace.iterations)]
    return "Steps", ["i", *names], rows


class Exercise:
    """What the exercises share: no images (``show`` prints ``table``), no text inputs."""

    name: str
    eta: float
    images = False
    values = False
    dataset = "—"

    def stopped(self, run: Run, trace: Trace) -> tuple[Run, Trace]:
        return run, trace  # no validation: nothing stops it early

    def test(self, run: Run, trace: Trace) -> dict[str, Any] | None:
        return None

    def evaluate(self, run: Run, trace: Trace) -> dict[str, float] | None:
        return None  # no net to evaluate

    def evaluation(self, run: Run) -> str:
        return ""

    def check_size(self, points: int, steps: int, states: int = 0,
                   workbook: bool = False, detail: bool = True) -> None:
        """Refuse a run (``workbook``: or its workbook) beyond the budgets: one formula row per
        step (about 8 cells and 2 per kind of rule state, each its own block when ``detail``
        keeps them) below a few rows per data point."""
        per_step = 8 + 2 * states
        what = f"--net {self.name}"
        kept = kept_bytes(per_step, per_step) if detail or workbook else 0
        plan = Budget(parameters=2, images=points, iterations=steps,
                      step_numbers=per_step + 2 * points, what=what, kept=kept)
        plan.check()
        if workbook:
            Size(iterations=steps, sheets=3,
                 formula_cells=per_step * (steps + 1) + 6 * points + 40,
                 rows=steps + points + 40, cols=16, per_iteration=per_step, what=what,
                 taller="--steps or points").check()
        plan.check_kept()

    @property
    def eta_text(self) -> str:
        return f"{self.eta:g}"

    def text_inputs(self, skeleton: Run) -> set[str]:
        return set()

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        """(title, headers, rows) for ``show``: by default one row per step."""
        return steps_table(trace)


def _eta_and_start(found: Found) -> tuple[float, np.ndarray]:
    """η and the (x₀, y₀) or (a₀, b₀) start as read back from a workbook's input cells."""
    return (float(np.asarray(found["eta"]).ravel()[0]),
            np.asarray(found["start"], dtype=float).ravel())


@dataclass(frozen=True)
class GradientDescent(Exercise):
    name: str = "gd"
    summary: str = "gradient descent on z = f(x, y)"
    follows: str = "book 2-11"
    eta: float = 0.1
    iterations: int = 30
    function: str = "bowl"  # its start (3, 2), η and steps are the defaults

    def run(self, opts: Options, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Run:
        opts.unused("iterations", "eta", "function", "start", "optimizer", "compare",
                    net=self.name)
        f = functions.function(opts.function or self.function)
        start = gd.parse_start(opts.start) if opts.start else np.array(f.start)
        eta = f.eta if opts.eta is None else opts.eta
        steps = f.steps if opts.iterations is None else opts.iterations
        descent.check_run(eta, steps)
        origin = {"function": f.name}
        if opts.compare is None:
            rule, hyper = stepping.update_rule(opts)
            self.check_size(0, steps, len(rule.state), workbook, detail)
            return Run(self.name, f, None, {"start": start}, eta, steps, origin, rule, hyper)
        if opts.optimizer is not None:
            raise SheetnetError("give --optimizer or --compare, not both (--compare names every"
                                " rule, e.g. --compare gd,momentum,adam)")
        rules = tuple(rule_of(n.strip()) for n in opts.compare.split(",") if n.strip())
        if len(rules) < 2 or len({r.name for r in rules}) < len(rules):
            raise SheetnetError(f"--compare {opts.compare!r} needs two or more different rules,"
                                f" e.g. gd,momentum,rmsprop,adam (of: {', '.join(RULES)})")
        hyper = compare_hypers(rules, opts)
        self.check_size(0, steps, sum(2 + len(r.state) for r in rules), workbook, detail)
        return Run(self.name, gd.Comparison(f, rules), None, {"start": start}, eta, steps,
                   origin, hyper=hyper)

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None, anchor: descent.Anchor | None = None
              ) -> Trace:
        if isinstance(run.model, gd.Comparison):
            return gd.race(run.model, run.params["start"], run.eta, run.iterations, progress,
                           keep, run.hyper)
        return gd.walk(run.model, run.params["start"], run.eta, run.iterations,
                       progress, keep, run.rule, run.hyper)

    def workbook(self, run: Run) -> WorkbookSpec:
        return gd_layout.workbook(run)

    def skeleton(self, config: Mapping[str, object]) -> Run:
        f = functions.function(settings.gd_function(config))
        steps = settings.iterations(config)
        if steps < 1:
            raise SheetnetError(f"{steps:,} iterations is not a workbook sheetnet writes")
        rules = settings.compared(config)
        self.check_size(0, steps, sum(2 + len(r.state) for r in rules or [GD_RULE]), True)
        if rules:
            return Run(self.name, gd.Comparison(f, tuple(rules)), None,
                       {"start": np.zeros(2)}, 1.0, steps,
                       hyper=compare_hypers(tuple(rules), Options()))
        rule = settings.update_rule(config)
        return Run(self.name, f, None, {"start": np.zeros(2)}, 1.0, steps, rule=rule,
                   hyper={h.name: h.default for h in rule.hypers})

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        """The steps in the sheet's columns and headings (x, y, ∂z/∂x, ∂z/∂y, the rule's
        state, Δx, Δy, z); a comparison's under their blocks' names."""
        title, heads, rows = steps_table(trace)
        if any("." in name for name in heads):
            return title, heads, rows
        order = [0, *sorted(range(1, len(heads)), key=lambda i: heads[i] == "z")]
        return (title, [gd_layout.HEADERS.get(heads[i], heads[i]) for i in order],
                [[row[i] for i in order] for row in rows])

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        eta, start = _eta_and_start(found)
        hyper = {name: float(np.asarray(found[name]).ravel()[0]) for name in skeleton.hyper}
        return Run(self.name, skeleton.model, None, {"start": start}, eta,
                   skeleton.iterations, rule=skeleton.rule, hyper=hyper)


def compare_hypers(rules: tuple[UpdateRule, ...], opts: Options) -> dict[str, float]:
    """Each compared rule's own hyperparameters (the options' or its defaults), by their cell
    names (``adam_beta1`` …); an option applies to every rule that takes it."""
    takes = {h.name: h.flag for r in rules for h in r.hypers}
    for name in opts.hyper:
        if name not in takes:
            raise SheetnetError(f"{flag(name)} is not used by any of the rules compared;"
                                f" {', '.join(r.name for r in rules)} take"
                                f" {', '.join(sorted(takes.values())) or 'none'}")
    hyper = {}
    for rule in rules:
        for h in rule.hypers:
            value = opts.hyper.get(h.name, h.default)
            h.check(value)
            hyper[gd.own_hyper(rule, h.name)] = value
    return hyper


GD = GradientDescent()


def read_points(path: Path) -> np.ndarray:
    """A CSV with columns ``x,y``, one point per row: the points (n, 2), each a finite number
    a cell holds."""
    path = Path(path)
    rows = csv_rows(read_text(path, "--data", MAX_DATA_BYTES), f"--data {path}")
    if not rows or [c.strip().lower() for c in rows[0]] != ["x", "y"]:
        raise SheetnetError(f"--data {path}: the header must be `x,y`, then one point per row")
    points = []
    for i, row in enumerate(rows[1:], start=2):
        try:
            x, y = (float(v) for v in row)
        except ValueError:
            raise SheetnetError(f"--data {path}: line {i} is not two numbers x,y") from None
        points.append((x, y))
    xy = np.array(points).reshape(-1, 2)
    check_points(xy, f"--data {path}", lambda k: f"line {k + 2}")
    return xy


def check_points(xy: np.ndarray, source: str,
                 where: Callable[[int], str] = lambda k: f"point {k}") -> None:
    """Every coordinate a finite number a cell holds, or one line naming the first that is
    not."""
    for k, (x, y) in enumerate(xy):
        if not (np.isfinite(x) and np.isfinite(y)):
            raise SheetnetError(f"{source}: {where(k)} has a number that is not finite")
    if found := cells.first_problem(xy):
        (k, _), problem = found
        raise SheetnetError(f"{source}: {where(k)} has a number {problem}")


def load_points(path: Path) -> Dataset:
    """The regression's data from a CSV ``x,y``."""
    return points_data(read_points(path), Path(path).name, f"--data {path}")


def points_data(xy: np.ndarray, name: str, source: str) -> Dataset:
    """Points (n, 2) of x and y as the regression's data, each a finite number a cell holds."""
    check_points(xy, source)
    regression.check_points(xy[:, 0], source)
    return Dataset(name, xy[:, :1], tuple(float(v) for v in xy[:, 1]), (), (1, 1), values=True)


@dataclass(frozen=True)
class Regression(Exercise):
    name: str = "regression"
    summary: str = "least-squares line y = px + q"
    follows: str = "book 2-12"
    dataset: str = "7 heights and weights"
    eta: float = 0.0  # 0: 0.5/n, which halves the error of every step (see regression.py)
    iterations: int = 40
    eta_text: str = "0.5/n"

    def run(self, opts: Options, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Run:
        opts.unused("iterations", "eta", "data", "start", net=self.name)
        if isinstance(opts.data, Dataset):
            ds, origin = opts.data, f"data ({opts.data.n_images} points, given from Python)"
        elif opts.data is not None:
            ds, origin = load_points(opts.data), f"--data {Path(opts.data).name}"
        else:
            ds = Dataset("heights", np.array(regression.HEIGHTS)[:, None],
                         regression.WEIGHTS, (), (1, 1), values=True)
            origin = "built in: 7 people's height (cm) and weight (kg)"
        start = gd.parse_start(opts.start or "0,0")
        eta = 0.5 / ds.n_images if opts.eta is None else opts.eta
        steps = self.iterations if opts.iterations is None else opts.iterations
        descent.check_run(eta, steps)
        self.check_size(ds.n_images, steps, workbook=workbook, detail=detail)
        return Run(self.name, None, ds, {"start": start}, eta, steps, {"data": origin})

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None, anchor: descent.Anchor | None = None
              ) -> Trace:
        return regression.fit(run.data.x[:, 0], run.data.targets[:, 0],
                                  run.params["start"], run.eta, run.iterations, progress, keep)

    def workbook(self, run: Run) -> WorkbookSpec:
        return regression_layout.workbook(run)

    def skeleton(self, config: Mapping[str, object]) -> Run:
        n, steps = settings.regression_size(config)
        if n < 1 or steps < 1:
            raise SheetnetError(f"{n:,} points and {steps:,} iterations is not a workbook"
                                " sheetnet writes")
        self.check_size(n, steps, workbook=True)
        ds = Dataset("workbook", np.zeros((n, 1)), (0.0,) * n, (), (1, 1), values=True)
        return Run(self.name, None, ds, {"start": np.zeros(2)}, 1.0, steps)

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        x = np.asarray(found["x"], dtype=float).reshape(-1, 1)
        y = tuple(float(v) for v in np.asarray(found["y"]).ravel())
        ds = Dataset("workbook", x, y, (), (1, 1), values=True)
        eta, start = _eta_and_start(found)
        return Run(self.name, None, ds, {"start": start}, eta, skeleton.iterations)


REGRESSION = Regression()


@dataclass(frozen=True)
class Graph(Exercise):
    name: str = "graph"
    summary: str = "backprop on the shopping graph"
    follows: str = "classic"
    eta: float = 0.0
    iterations: int = 0
    eta_text: str = "—"

    def run(self, opts: Options, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Run:
        opts.unused(net=self.name)
        values = np.array([graph.DEFAULTS[n.name] for n in graph.inputs_of(graph.SHOPPING)])
        return Run(self.name, graph.SHOPPING, None, {"inputs": values}, 0.0, 0)

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None, anchor: descent.Anchor | None = None
              ) -> Trace:
        names = [n.name for n in graph.inputs_of(run.model)]
        trace = graph.evaluate(run.model, dict(zip(names, run.params["inputs"], strict=True)))
        if progress:
            progress(0)
        return trace

    def workbook(self, run: Run) -> WorkbookSpec:
        return graph_layout.workbook(run)

    def skeleton(self, config: Mapping[str, object]) -> Run:
        if settings.iterations(config) != 0:
            raise SheetnetError("the graph workbook has no iterations (its setting must be 0)")
        n = len(graph.inputs_of(graph.SHOPPING))
        return Run(self.name, graph.SHOPPING, None, {"inputs": np.zeros(n)}, 0.0, 0)

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        values = np.array([float(np.asarray(found[n.name]).ravel()[0])
                           for n in graph.inputs_of(graph.SHOPPING)])
        return Run(self.name, graph.SHOPPING, None, {"inputs": values}, 0.0, 0)

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        b = trace.iterations[0]
        rows = [[n.name, n.label, f"{b['value'][i]:.6g}", f"{b['grad'][i]:.6g}"]
                for i, n in enumerate(graph.SHOPPING)]
        return "Shopping graph", ["node", "what", "value", "∂total/∂node"], rows


GRAPH = Graph()
