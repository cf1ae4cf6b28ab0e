"""The GAN's workbook: one sheet per iteration, each player's passes written by its layers.

An iteration sheet reads top to bottom as the iteration runs. First the parameters: G's and D's
values where the iteration starts, each step's gradient, the update rule's state and the values
after the step (the next sheet starts from them). Then each discriminator step: its noise z
(input cells), G's pass making points of it, D's pass on the real points (target 1) and on G's
(target 0), C_D, and backpropagation on both with each point's own gradients. Then the
generator's step: fresh noise, G's pass, D's pass (after its step) on G's points with target 1,
C_G, and backpropagation through D to G: ∂C/∂G(z) is D's error at its input, then G's own
errors and gradients. A column per point; column C holds a parameter's value or a row's total.

The layers write every formula of the passes (``forward_xl``, ``grads_xl``, ``dx_xl``, the output
pair's); this module places the blocks and writes what no layer does: the means over the
points, the updates, and the sheets around them (Summary, Points, D view and D grid,
Inputs, Data).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from sheetnet import notation as names
from sheetnet.core import gan as gan_mod
from sheetnet.core import net as net_mod
from sheetnet.core.net import Net
from sheetnet.core.run import Run
from sheetnet.core.trace import Trace
from sheetnet.layers.base import Block, Cells
from sheetnet.notation import sub
from sheetnet.pairs import ops
from sheetnet.pairs.optim import UpdateRule
from sheetnet.workbook import settings, view
from sheetnet.workbook.blocks import Rows, hyper_cells
from sheetnet.workbook.guide import VERIFY, exercise_guide
from sheetnet.workbook.layout import (
    ColorScale,
    Grid,
    LineChartSpec,
    Place,
    ScatterChartSpec,
    Series,
    SheetSpec,
    Styled,
    WorkbookSpec,
    a1,
    put,
    render_rows,
)
from sheetnet.workbook.sheets import (
    DATA,
    SUMMARY,
    inputs_sheet,
    iteration_sheet,
    map_sheet,
    names_of,
)
from sheetnet.workbook.size import Size, size_of_iteration_sheet
from sheetnet.workbook.stack_layout import SheetCells

VALUE = 3  # column C: a parameter's value where the iteration starts, a row's total or mean
POINT = 4  # column D: point 1; each point a column
FIRST_ROW = 3  # the first section's title
POINTS_SHEET, VIEW_SHEET, GRID_SHEET = "Points", "D view", "D grid"
VIEW_SIDE, VIEW_STEP = 13, 0.5  # D's view: a 13 × 13 grid over −3 … 3 in both coordinates
AXIS = (-3.0, 3.0)
# D's verdict: blue (fake, 0) — white (undecided, ½) — red (real, 1)
VERDICT: dict[str, Any] = dict(low=view.NEGATIVE, mid=view.LOW, high=view.POSITIVE,
                               mid_value=0.5, ends=(0.0, 1.0))

Places = dict[str, Place]
SIDES = {"real": "D on x", "fake": "D on G(z)"}  # column A's names of D's two passes


def noise_in(found: object, noise: int) -> np.ndarray:
    """A noise block as verify reads it back: (points, noise)."""
    values = np.asarray(found, dtype=float)
    return values.reshape(values.shape[0], noise)


def shown(iterations: int) -> list[int]:
    """The iterations the Points sheet charts: the first, a middle one and the last."""
    return sorted({0, iterations // 2, iterations})


def viewed(iterations: int) -> list[int]:
    """The iterations D view shows: the first and the last."""
    return sorted({0, iterations})


def steps_of(run: Run) -> int:
    """The discriminator's steps per iteration."""
    return int(run.model.d_steps)


# --- where every block of an iteration sheet is ---------------------------------------------


@dataclass
class SheetPlan:
    """One iteration sheet's places, its sections' titles (row, title, what the point columns
    hold) and the header rows of the parameter areas (row, player)."""

    places: Places = field(default_factory=dict)
    titles: list[tuple[int, str, str]] = field(default_factory=list)
    heads: list[tuple[int, str]] = field(default_factory=list)

    @property
    def last_row(self) -> int:
        return max(p.sheet_row(p.rows - 1) for p in self.places.values())


class _Placer:
    """Places laid out down an iteration sheet; ``row`` is the next free one."""

    def __init__(self, k: int, n: int, described: Mapping[str, str]):
        self.k, self.n, self.described = k, n, described
        self.sheet = iteration_sheet(k)
        self.row = FIRST_ROW
        self.plan = SheetPlan()

    def title(self, text: str, columns: str = "point →") -> None:
        """A section's title, on a row of its own, and (``columns``) a header row naming the
        point columns."""
        self.plan.titles.append((self.row, text, columns))
        self.row += 2 if columns else 1

    def per_point(self, name: str, rows: int, kind: str = "formula") -> Place:
        place = self.plan.places[name] = Place(
            name, self.sheet, self.row, POINT, rows, images=self.n, iteration=self.k,
            kind=kind, description=self.described.get(name, name))
        self.row += rows
        return place

    def total(self, name: str, row: int | None = None) -> None:
        """One cell in column C: beside a block's ``row``, else on a row of its own."""
        at = self.row if row is None else row
        self.plan.places[name] = Place(name, self.sheet, at, VALUE, 1, iteration=self.k,
                                       description=self.described.get(name, name))
        if row is None:
            self.row += 1

    def column(self, name: str, rows: int, col: int) -> None:
        self.plan.places[name] = Place(name, self.sheet, self.row, col, rows, iteration=self.k,
                                       description=self.described.get(name, name))


def update_columns(rule: UpdateRule, step: int) -> tuple[int, list[int], int]:
    """The parameter area's columns of a player's step ``step`` (0-based): its gradient, each
    kind of the rule's state, and the value after the step."""
    base = POINT + step * (len(rule.state) + 2)
    return base, [base + 1 + j for j in range(len(rule.state))], base + 1 + len(rule.state)


def grad_name(who: str, param: str, j: int = 1) -> str:
    """A player's gradient block: ``dCG_dG_W2``, ``Dstep1_dCD_dD_W2``."""
    return f"dCG_dG_{param}" if who == "G" else f"{gan_mod.d_prefix(j)}dCD_dD_{param}"


def after_name(who: str, param: str, j: int = 1) -> str:
    """A player's parameter after its step: ``Gstep_G_W2``, ``Dstep1_D_W2``."""
    prefix = gan_mod.G_PREFIX if who == "G" else gan_mod.d_prefix(j)
    return f"{prefix}{who}_{param}"


def _judged(d: Net) -> list[Block]:
    """D's blocks on a set of points: z², a², z³, D's output a³ and each point's C."""
    return [*d.forward_blocks(), *d.output.blocks()]


def plan_sheet(gan: gan_mod.Gan, n: int, k: int, steps: int, rule: UpdateRule,
               described: Mapping[str, str]) -> SheetPlan:
    """Where each block of iteration k lives (the same cells on every iteration sheet)."""
    at = _Placer(k, n, described)
    for who in gan_mod.PLAYERS:
        _plan_parameters(at, gan.player(who), who, rule, 1 if who == "G" else steps)
    for j in range(1, steps + 1):
        _plan_d_step(at, gan, j, steps)
    _plan_g_step(at, gan, steps)
    return at.plan


def _plan_parameters(at: _Placer, net: Net, who: str, rule: UpdateRule, steps: int) -> None:
    """A player's parameters: each one's value, then per step its gradient, the rule's state
    and the value after it."""
    at.title(f"{who}'s parameters", "")
    at.plan.heads.append((at.row, who))
    at.row += 1
    for q in net.params():
        name = f"{who}_{q.name}"
        at.column(name, q.size, VALUE)
        for j in range(steps):
            grad, states, after = update_columns(rule, j)
            at.column(grad_name(who, q.name, j + 1), q.size, grad)
            last = None if who == "G" or j + 1 == steps else j + 1
            for kind, col in zip(rule.state, states, strict=True):
                at.column(gan_mod.state_name(kind, name, last), q.size, col)
            at.column(after_name(who, q.name, j + 1), q.size, after)
        at.row += q.size
    at.row += 1


def _plan_judged(at: _Placer, d: Net, prefix: str, means: str | None = None) -> None:
    """D's blocks on a set of points, its target t before each point's C; ``means``: the
    name of the mean of D's verdicts, beside them."""
    for block in _judged(d):
        if block.name == "C":
            at.per_point(prefix + "t", 1, "constant")
        place = at.per_point(prefix + block.name, block.shape.rows)
        if block.name == d.output.a and means:
            at.total(means, place.row)


def _plan_back(at: _Placer, net: Net, prefix: str, shown: Sequence[Block]) -> None:
    """Errors shown as blocks, then each point's own gradient of each parameter."""
    for block in shown:
        at.per_point(prefix + block.name, block.shape.rows)
    for q in net.params():
        at.per_point(prefix + names.grad(q.name), q.size)


def _plan_d_step(at: _Placer, gan: gan_mod.Gan, j: int, steps: int) -> None:
    d, g = gan.discriminator, gan.generator
    p = gan_mod.d_prefix(j)
    at_step = f"D step {j} of {steps}" if steps > 1 else "D step"
    at.title(f"{at_step} · G turns the noise z into points G(z) = z³")
    at.per_point(p + "z", gan.noise, "input")
    for block in g.forward_blocks():
        at.per_point(p + "gen_" + block.name, block.shape.rows)
    for side, t in (("real", "1"), ("fake", "0")):
        at.row += 1
        whose = "the real points x" if side == "real" else "G's points"
        at.title(f"{at_step} · D on {whose} (target t = {t})")
        if side == "real":
            at.per_point(p + "real_x", 2)
        _plan_judged(at, d, f"{p}{side}_", f"mean_D_{side}" if j == 1 else None)
    at.total("cost_D" if j == 1 else p + "cost_D")
    for side in ("real", "fake"):
        at.row += 1
        whose = "the real points" if side == "real" else "G's points"
        at.title(f"{at_step} · backpropagation on {whose}: errors, each point's own ∂C/∂w")
        _plan_back(at, d, f"{p}{side}_", d.backward_blocks())
    at.row += 1


def _plan_g_step(at: _Placer, gan: gan_mod.Gan, steps: int) -> None:
    d, g = gan.discriminator, gan.generator
    s = gan_mod.G_PREFIX
    at.title("G step · G turns fresh noise z into points G(z) = z³")
    at.per_point(s + "z", gan.noise, "input")
    for block in g.forward_blocks():
        at.per_point(s + "gen_" + block.name, block.shape.rows)
    at.row += 1
    at.title(f"G step · D, after its step{'s' * (steps > 1)}, on G's points (target t = 1: G"
             " wants them called real)")
    _plan_judged(at, d, s + "fake_")
    at.total("cost_G")
    at.row += 1
    at.title("G step · backpropagation through D to G: D's errors, ∂C/∂G(z), G's errors and"
             " each point's own ∂C/∂w")
    for block in d.backward_blocks():
        at.per_point(f"{s}fake_{block.name}", block.shape.rows)
    at.per_point(s + "dfake", 2)
    _plan_back(at, g, s + "gen_", g.backward_blocks()[1:])  # G's δ³ is ∂C/∂G(z), above


def size(gan: gan_mod.Gan, points: int, iterations: int, rule: UpdateRule, what: str) -> Size:
    """The workbook's size, from one iteration sheet's places (no array made)."""
    plan = plan_sheet(gan, points, 0, gan.d_steps, rule, {})
    view_cells = len(viewed(iterations)) * (VIEW_SIDE ** 2 * (2 + _view_rows(gan)) + 50)
    return size_of_iteration_sheet(plan.places.values(), iterations=iterations,
                                   other_cells=view_cells + 4 * points * len(shown(iterations)),
                                   other_sheets=7, other_cols=VIEW_SIDE ** 2 + 3, what=what,
                                   taller="--hidden units or --d-steps")


def _view_rows(gan: gan_mod.Gan) -> int:
    return sum(b.shape.rows for b in gan.discriminator.forward_blocks()) + 1


# --- the cells of an iteration sheet ---------------------------------------------------------


class _Writer:
    """An iteration sheet's cells: the layers' passes, the means and the updates."""

    def __init__(self, run: Run, k: int, here: Places, prev: Places | None, inputs: Places,
                 data: Places):
        self.run, self.k, self.here, self.prev = run, k, here, prev
        self.inputs, self.data = inputs, data
        self.gan: gan_mod.Gan = run.model
        self.n = run.n_images
        self.steps = steps_of(run)
        self.sheet = iteration_sheet(k)
        self.rows = Rows()
        self.h = hyper_cells(run)

    def put(self, local: Mapping[str, Place], formulas) -> None:
        for name, r, c, text in formulas:
            self.rows.per_image(local[name], r, c, text)

    def constant(self, place: Place, value: float) -> None:
        for i in range(self.n):
            self.rows.row(place.row).fixed[place.col + i] = Styled(value, "number")

    def typed(self, place: Place, values: np.ndarray) -> None:
        """Input cells: ``values`` (points, rows), each point's in its column."""
        for r in range(place.rows):
            row = self.rows.row(place.sheet_row(r))
            for i in range(self.n):
                row.fixed[place.col + i] = Styled(float(values[i, r]), "input")

    def label(self, place: Place, symbol: str, labels: Sequence[tuple[int, str]]) -> None:
        self.rows.text(place.row, 1, symbol, "label")
        for r, text in labels:
            self.rows.text(place.sheet_row(r), 2, text, "element")

    def local(self, net: Net, prefix: str, params: Mapping[str, Place], **given: Place
              ) -> dict[str, Place]:
        """A pass's places by the net's own names (z2, a2, delta3, dC_dW2 …: those this
        sheet has under ``prefix``), its parameters' and any ``given``."""
        out = {name[len(prefix):]: place for name, place in self.here.items()
               if name.startswith(prefix)}
        out.update(params)
        out.update(given)
        return out

    def forward(self, net: Net, local: Mapping[str, Place], who: str) -> SheetCells:
        """A net's layers from its input (``local``: the pass's places by the net's names)."""
        cells = SheetCells(net, dict(local))
        for layer, c in zip(net.layers, cells.cells, strict=True):
            for block in layer.blocks():
                self.label(local[block.name], f"{who}: {block.symbol}", block.labels)
            self.put(local, layer.forward_xl(c))
        return cells

    def judge(self, local: Mapping[str, Place], target: float, who: str) -> Cells:
        """D's pass from its input to each point's C: the layers', then its output pair's
        (``who``: how column A names this pass, "D on x")."""
        d = self.gan.discriminator
        self.forward(d, local, who)
        out = Cells(local[d.output.w.x], {b.name: local[b.name] for b in d.output.blocks()}
                    | {"t": local["t"], d.output.delta: local[d.output.delta]})
        for block in d.output.blocks():
            self.label(local[block.name], f"{who}: {block.symbol}", block.labels)
        self.label(local["t"], "t", [(0, "1: real" if target else "0: made by G")])
        self.constant(local["t"], target)
        self.put(local, d.output.forward_xl(out, self.n))
        return out

    def back(self, net: Net, local: Mapping[str, Place], cells: SheetCells, who: str,
             grads: bool = True) -> None:
        """Each error a layer shows as a block, from the output back, then each point's own
        gradients."""
        for layer, c in zip(net.layers, cells.cells, strict=True):
            if layer.w.dx is not None:
                for block in layer.dx_blocks():
                    self.label(local[block.name], f"{who}: {block.symbol}", block.labels)
                place = local[layer.w.dx]
                self.put(local, ((layer.w.dx, r, 0, layer.dx_xl(c, r, 0))
                                 for r in range(place.rows)))
        if not grads:
            return
        for layer, c in zip(net.layers, cells.cells, strict=True):
            for q in layer.params():
                place = local[names.grad(q.name)]
                self.label(place, f"{who}: ∂C/∂{q.symbol}", list(enumerate(
                    f"∂C/∂{e}" for e in q.labels)))
            self.put(local, ((names.grad(name), r, col, text)
                             for name, r, col, text in layer.grads_xl(c)))

    # --- the parameter areas ---------------------------------------------------------------

    def parameters(self) -> None:
        """Each parameter where the iteration starts, then per step its gradient (the mean
        of each point's own), the rule's state and its value after the step."""
        here, sheet = self.here, self.sheet
        for who in gan_mod.PLAYERS:
            net = self.gan.player(who)
            steps = 1 if who == "G" else self.steps
            for q in net.params():
                name = f"{who}_{q.name}"
                value = here[name]
                self.label(value, f"{who}: {q.symbol}", list(enumerate(q.labels)))
                came = (self.prev[after_name(who, q.name, steps)] if self.prev is not None
                        else None)
                for r in range(q.size):
                    start = (self.inputs[name].ref(r, absolute=True, sheet=sheet) if came is None
                             else came.ref(r, sheet=sheet))
                    self.rows.fixed(value, r, 0, start, "value")
                for j in range(1, steps + 1):
                    self.update(who, q.name, j, steps)

    def update(self, who: str, param: str, j: int, steps: int) -> None:
        rule, here, n = self.run.rule, self.here, self.n
        name = f"{who}_{param}"
        grad, after = here[grad_name(who, param, j)], here[after_name(who, param, j)]
        before = here[name] if j == 1 else here[after_name(who, param, j - 1)]
        last = None if who == "G" or j == steps else j
        new = {kind: here[gan_mod.state_name(kind, name, last)] for kind in rule.state}
        if j > 1:
            old_at = {kind: here[gan_mod.state_name(kind, name, j - 1)] for kind in rule.state}
        elif self.prev is not None:
            old_at = {kind: self.prev[gan_mod.state_name(kind, name)] for kind in rule.state}
        else:
            old_at = {}
        step = self.k if who == "G" else self.k * steps + j - 1
        if who == "G":
            sums = [here[f"{gan_mod.G_PREFIX}gen_{names.grad(param)}"]]
        else:
            p = gan_mod.d_prefix(j)
            sums = [here[f"{p}{side}_{names.grad(param)}"] for side in ("real", "fake")]
        for r in range(grad.rows):
            total = "+".join(ops.total_xl(s.all_images_row(r)) for s in sums)
            self.rows.fixed(grad, r, 0, f"({total})/{n}", "total")
            old = {kind: (place.ref(r, sheet=self.sheet) if kind in old_at
                          and (place := old_at[kind]) is not None else "0")
                   for kind in rule.state}
            nxt, states = rule.update_xl(before.ref(r), grad.ref(r), old,
                                         {kind: new[kind].ref(r) for kind in rule.state},
                                         self.h, step)
            for kind, formula in states.items():
                self.rows.fixed(new[kind], r, 0, formula)
            self.rows.fixed(after, r, 0, nxt, "value")

    # --- the passes ------------------------------------------------------------------------

    def d_params(self, j: int) -> dict[str, Place]:
        """D's parameters as step j reads them: where the iteration starts, or after step
        j − 1 (j > steps: after the last, for the G step)."""
        d = self.gan.discriminator
        return {q.name: self.here[f"D_{q.name}" if j == 1 else after_name("D", q.name, j - 1)]
                for q in d.params()}

    def g_params(self) -> dict[str, Place]:
        return {q.name: self.here[f"G_{q.name}"] for q in self.gan.generator.params()}

    def d_step(self, j: int) -> None:
        gan, here, n = self.gan, self.here, self.n
        d, g = gan.discriminator, gan.generator
        p = gan_mod.d_prefix(j)
        assert self.run.drawn is not None, "a GAN's run carries its noise"
        z = here[p + "z"]
        self.label(z, "z", [(r, f"z{sub(r + 1)}") for r in range(z.rows)])
        self.typed(z, self.run.drawn["zD"][self.k][j - 1])
        gen = self.local(g, p + "gen_", self.g_params(), x=z)
        self.forward(g, gen, "G")
        x = here[p + "real_x"]
        self.label(x, "x", [(0, "x₁"), (1, "x₂")])
        for i in range(n):
            for r in range(2):
                self.rows.each_image(x, r, 0, i, self.data["points"].ref(i, r, sheet=self.sheet))
        params = self.d_params(j)
        sides = {}
        for side, target, given in (("real", 1.0, x), ("fake", 0.0, gen[g.layers[-1].w.out])):
            local = self.local(d, f"{p}{side}_", params, x=given)
            self.judge(local, target, SIDES[side])
            sides[side] = local
        cost = here["cost_D" if j == 1 else p + "cost_D"]
        self.rows.text(cost.row, 1, "C_D", "label")
        self.rows.text(cost.row, 2, "(ΣC real + ΣC G's)/n", "element")
        self.rows.fixed(cost, 0, 0, "+".join(ops.total_xl(sides[s]["C"].all_images_row(0))
                                             for s in ("real", "fake"))
                        .join("()") + f"/{n}", "total")
        if j == 1:
            for side in ("real", "fake"):
                self.rows.fixed(here[f"mean_D_{side}"], 0, 0,
                                ops.mean_xl(sides[side][d.output.a].all_images_row(0)), "total")
        for side, local in sides.items():
            cells = SheetCells(d, dict(local))
            out = Cells(local[d.output.w.x], {d.output.a: local[d.output.a], "t": local["t"]})
            block = d.output.delta_block()
            self.label(local[block.name], f"{SIDES[side]}: {block.symbol}", block.labels)
            self.put(local, d.output.delta_xl(out, n))
            self.back(d, local, cells, SIDES[side])

    def g_step(self) -> None:
        gan, here, n = self.gan, self.here, self.n
        d, g = gan.discriminator, gan.generator
        s = gan_mod.G_PREFIX
        assert self.run.drawn is not None, "a GAN's run carries its noise"
        z = here[s + "z"]
        self.label(z, "z", [(r, f"z{sub(r + 1)}") for r in range(z.rows)])
        self.typed(z, self.run.drawn["zG"][self.k])
        dfake = here[s + "dfake"]
        gen = self.local(g, s + "gen_", self.g_params(), x=z, **{g.output.delta: dfake})
        g_cells = self.forward(g, gen, "G")
        judge = self.local(d, s + "fake_", self.d_params(self.steps + 1),
                           x=gen[g.layers[-1].w.out])
        self.judge(judge, 1.0, SIDES["fake"])
        cost = here["cost_G"]
        self.rows.text(cost.row, 1, "C_G", "label")
        self.rows.text(cost.row, 2, "ΣC/n", "element")
        self.rows.fixed(cost, 0, 0, f"{ops.total_xl(judge['C'].all_images_row(0))}/{n}",
                        "total")
        d_cells = SheetCells(d, dict(judge))
        out = Cells(judge[d.output.w.x], {d.output.a: judge[d.output.a], "t": judge["t"]})
        block = d.output.delta_block()
        self.label(judge[block.name], f"{SIDES['fake']}: {block.symbol}", block.labels)
        self.put(judge, d.output.delta_xl(out, n))
        self.back(d, judge, d_cells, SIDES["fake"], grads=False)
        first = d.layers[0]
        self.label(dfake, "∂C/∂G(z)", [(0, "G's δ³₁"), (1, "G's δ³₂")])
        for r in range(2):
            self.rows.per_image(dfake, r, 0, first.dx_xl(d_cells.cells[0], r, 0))
        self.back(g, gen, g_cells, "G")

    def specs(self):
        self.parameters()
        for j in range(1, self.steps + 1):
            self.d_step(j)
        self.g_step()
        return self.rows.specs()


# --- the workbook ------------------------------------------------------------------------------


def add_views(run: Run, trace: Trace) -> None:
    """D's view of the plane at the iterations D view shows: the grid's points, D's blocks on
    them (D after its step(s), as it judged G's step) and its verdict as a table (rows: x₂
    from 3 down to −3; columns: x₁ from −3 up to 3)."""
    gan: gan_mod.Gan = run.model
    d = gan.discriminator
    steps = steps_of(run)
    grid = view_points()
    for k in viewed(run.iterations):
        blocks = trace.iterations[k]
        params = {q.name: blocks[after_name("D", q.name, steps)] for q in d.params()}
        score, _, shown_blocks = net_mod.forward(d, params, grid)
        a = d.output.pair.forward(score)
        blocks.update({"view_x": grid, **{f"view_{n}": v for n, v in shown_blocks.items()},
                       f"view_{d.output.a}": a,
                       "view_table": a[:, 0].reshape(VIEW_SIDE, VIEW_SIDE)})
        blocks.update({f"view_D_{q}": v for q, v in params.items()})


def view_points() -> np.ndarray:
    """The grid's points (side², 2), row by row from the top: x₂ falls, x₁ rises."""
    values = AXIS[0] + VIEW_STEP * np.arange(VIEW_SIDE)
    x1, x2 = np.meshgrid(values, values[::-1])
    return np.column_stack([x1.ravel(), x2.ravel()])


def workbook(run: Run) -> WorkbookSpec:
    """The whole workbook's layout for a GAN's run."""
    gan: gan_mod.Gan = run.model
    n, steps, rule = run.n_images, steps_of(run), run.rule
    described = gan_mod.descriptions(gan, steps, rule)
    param_rows = [(f"{who}_{q.name}", [f"{who}: {e}" for e in q.labels],
                   run.params[f"{who}_{q.name}"].ravel())
                  for who in gan_mod.PLAYERS for q in gan.player(who).params()]
    inputs_spec, inputs = inputs_sheet(
        run, settings.gan_settings(run), param_rows,
        {name: described[name].replace(" (where the iteration starts)", "")
         for name, _, _ in param_rows},
        note="Yellow cells are inputs: edit η, an initial parameter here, a point on Data or"
             " the noise z on an iteration sheet, and everything recomputes. Grey cells"
             " describe the layout; leave them.")
    by_name = {p.name: p for p in inputs}
    data = {"points": Place("points", DATA, 3, 2, n, 2, kind="input",
                            description="the real points (x₁, x₂), one a row")}
    plans = [plan_sheet(gan, n, k, steps, rule, described) for k in range(run.iterations + 1)]
    sheets = [_iteration_spec(run, k, plans, by_name, data) for k in range(run.iterations + 1)]
    summary, summary_places = _summary(run, plans)
    points, points_places = _points(run, plans, data)
    view_spec, grid_spec, view_places = _view(run, plans)
    places = [*inputs, *data.values(), *summary_places, *points_places, *view_places,
              *(p for plan in plans for p in plan.places.values())]
    return WorkbookSpec([_guide(run), summary, points, view_spec, *sheets, grid_spec, inputs_spec,
                         _data_sheet(run), map_sheet(places, "points")],
                        places, names_of(inputs, run.hyperparameters))


def _iteration_spec(run: Run, k: int, plans: Sequence[SheetPlan], inputs: Places,
                    data: Places) -> SheetSpec:
    plan = plans[k]
    prev = plans[k - 1].places if k else None
    n, rule, steps = run.n_images, run.rule, steps_of(run)

    def build() -> Grid:
        g: Grid = {1: {1: Styled(f"Iteration {k} of {run.iterations} · gan: {steps} D"
                                 f" step{'s' * (steps > 1)}, then a G step", "title")}}
        for row, title, columns in plan.titles:
            put(g, row, 1, title, "section")
            if columns:
                put(g, row + 1, 2, columns, "element")
                put(g, row + 1, VALUE, "Σ or mean", "header")
                for i in range(n):
                    put(g, row + 1, POINT + i, i + 1, "header")
        for row, who in plan.heads:
            put(g, row, VALUE, "value", "header")
            for j in range(1 if who == "G" else steps):
                grad, states, after = update_columns(rule, j)
                at = f" (D step {j + 1})" if steps > 1 and who == "D" else ""
                put(g, row, grad, f"∂C_{who}/∂p{at}", "header")
                for kind, col in zip(rule.state, states, strict=True):
                    put(g, row, col, rule.symbol(kind), "header")
                put(g, row, after, f"after{at or ' the step'}", "header")
        writer = _Writer(run, k, plan.places, prev, inputs, data)
        return render_rows(writer.specs(), n, g)

    widths = {1: 14, 2: 16, VALUE: 12, **{c: 12 for c in range(POINT, POINT + max(
        n, update_columns(rule, steps)[2]))}}
    verdicts = [ColorScale(p.extent, **VERDICT) for name, p in plan.places.items()
                if name.endswith(f"_{run.model.discriminator.output.a}")]
    last_col = max(POINT + n - 1, update_columns(rule, steps - 1)[2])
    return SheetSpec(iteration_sheet(k), build, widths=widths, freeze=a1(2, POINT),
                     color_scales=verdicts, max_col=last_col, max_row=plan.last_row,
                     formula_style="number", print_rows="1:1", print_cols="A:B")


SUMMARY_COLUMNS = (("cost_D", "C_D"), ("cost_G", "C_G"), ("mean_D_real", "mean D(x)"),
                   ("mean_D_fake", "mean D(G(z))"))


def _summary(run: Run, plans: Sequence[SheetPlan]) -> tuple[SheetSpec, list[Place]]:
    """Both costs and D's mean verdicts per iteration (references into the iteration sheets)
    and a chart of the costs."""
    top, count = 4, run.iterations + 1
    places = [Place(name, SUMMARY, top, 2 + c, count,
                    description=f"{heading} at iteration 0..N (the first D step's)"
                    if name != "cost_G" else f"{heading} at iteration 0..N")
              for c, (name, heading) in enumerate(SUMMARY_COLUMNS)]

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, "Summary · the two players' costs and D's verdicts, iteration by"
                     " iteration", "title")
        put(g, 2, 1, "C_D falls as D tells real from fake; C_G falls as G fools it. At the"
                     " balance D says ½ everywhere: C_D = 2 ln 2 ≈ 1.386, C_G = ln 2 ≈ 0.693.",
            "note")
        put(g, top - 1, 1, "iteration", "header")
        for c, (_, heading) in enumerate(SUMMARY_COLUMNS):
            put(g, top - 1, 2 + c, heading, "header")
        for k in range(count):
            put(g, top + k, 1, k)
            for place in places:
                source = plans[k].places[place.name]
                put(g, top + k, place.col, "=" + source.ref(sheet=SUMMARY), "number")
        return g

    chart = LineChartSpec("The players' costs", "cost", "iteration",
                          f"B{top - 1}:B{top + count - 1}", f"A{top}:A{top + count - 1}",
                          anchor="G3", more=(("C_G", f"C{top - 1}:C{top + count - 1}"),),
                          name="C_D")
    return (SheetSpec(SUMMARY, build, widths={1: 10, **{c: 14 for c in range(2, 6)}},
                      freeze=f"A{top}", chart=chart, max_col=5, max_row=top + count - 1,
                      tab_color="27AE60"), places)


def _points(run: Run, plans: Sequence[SheetPlan], data: Places
            ) -> tuple[SheetSpec, list[Place]]:
    """The real points beside G's at the first, a middle and the last iteration (its G step's
    G(z)), each pair charted together."""
    n, at = run.n_images, shown(run.iterations)
    edge = max(AXIS[1], float(np.ceil(1.1 * np.abs(run.data.x).max())))  # the real points',
    axis = (-edge, edge)  # all on the charts, on the same axes for x₁ and x₂
    first = plans[0].places[gan_mod.d_prefix(1) + "real_x"]
    places = [Place("real_points", POINTS_SHEET, 4, 2, n, 2, iteration=0,
                    source=first.name, description="the real points (from Data)")]
    made = gan_mod.G_PREFIX + "gen_z3"
    for c, k in enumerate(at):
        places.append(Place("G_points", POINTS_SHEET, 4, 4 + 3 * c, n, 2, iteration=k,
                            source=made, description=f"G(z) of iteration {k}'s G step"))

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, "Points · the real points and G's, at the first, a middle and the last"
                     f" iteration (charted from −{edge:g} to {edge:g}: the tables list any point"
                     " beyond)", "title")
        put(g, 3, 1, "point", "header")
        for head, col in (("real x₁", 2), ("real x₂", 3)):
            put(g, 3, col, head, "header")
        for c, k in enumerate(at):
            put(g, 2, 4 + 3 * c, f"iteration {k}", "section")
            put(g, 3, 4 + 3 * c, "G(z) x₁", "header")
            put(g, 3, 5 + 3 * c, "G(z) x₂", "header")
        for i in range(n):
            put(g, 4 + i, 1, i + 1)
            for r in range(2):
                put(g, 4 + i, 2 + r, "=" + first.ref(r, image=i, sheet=POINTS_SHEET))
            for c, k in enumerate(at):
                source = plans[k].places[made]
                for r in range(2):
                    put(g, 4 + i, 4 + 3 * c + r, "=" + source.ref(r, image=i, sheet=POINTS_SHEET))
        return g

    last = 3 + n
    charts = [ScatterChartSpec(f"Iteration {k}: real points and G's", "x₁", "x₂",
                               (Series("real", f"B4:B{last}", f"C4:C{last}", line=False,
                                       color=view.POSITIVE_LINE),
                                Series("G(z)", f"{a1(4, 4 + 3 * c)}:{a1(last, 4 + 3 * c)}",
                                       f"{a1(4, 5 + 3 * c)}:{a1(last, 5 + 3 * c)}",
                                       line=False, color=view.NEGATIVE_LINE)),
                               anchor=a1(2 + 24 * c, 5 + 3 * len(at)), x_range=axis,
                               y_range=axis, square=True)
              for c, k in enumerate(at)]
    widths = {1: 7, 2: 10, 3: 10, **{4 + 3 * c + r: 10 for c in range(len(at)) for r in (0, 1)}}
    return (SheetSpec(POINTS_SHEET, build, widths=widths, freeze="B4", scatters=charts,
                      max_col=3 + 3 * len(at), max_row=last, tab_color="9B59B6",
                      formula_style="number"), places)


def _view(run: Run, plans: Sequence[SheetPlan]
          ) -> tuple[SheetSpec, SheetSpec, list[Place]]:
    """D's verdict over a grid of the plane at the first and the last iteration: on D grid,
    the grid's points (a column each) and D's layers on them (its parameters copied from the
    iteration sheet: D after its step(s)); on D view, the verdicts as colour-scaled tables."""
    gan: gan_mod.Gan = run.model
    d = gan.discriminator
    steps, count = steps_of(run), VIEW_SIDE ** 2
    a = d.output.a
    params = sum(q.size for q in d.params())
    per = params + 1 + 2 + _view_rows(gan) + 3
    places: list[Place] = []
    sections: list[tuple[int, int, dict[str, Place]]] = []
    for s, k in enumerate(viewed(run.iterations)):
        top = 3 + s * per
        here: dict[str, Place] = {}
        row = top + 1
        for q in d.params():
            here[q.name] = Place(f"view_D_{q.name}", GRID_SHEET, row, 3, q.size, iteration=k,
                                 description=f"D's {q.symbol} after iteration {k}'s D step(s)")
            row += q.size
        row += 1
        here["x"] = Place("view_x", GRID_SHEET, row, 3, 2, images=count, iteration=k,
                          kind="constant", description="the grid's points (x₁, x₂)")
        row += 2
        for block in d.forward_blocks():
            here[block.name] = Place(f"view_{block.name}", GRID_SHEET, row, 3, block.shape.rows,
                                     images=count, iteration=k,
                                     description=f"D on the grid: {block.description}")
            row += block.shape.rows
        here[a] = Place(f"view_{a}", GRID_SHEET, row, 3, 1, images=count, iteration=k,
                        description="D(x) on the grid: its verdict, 1 real, 0 fake")
        here["table"] = Place("view_table", VIEW_SHEET, 5 + s * (VIEW_SIDE + 4), 2, VIEW_SIDE,
                              VIEW_SIDE, iteration=k, description="D(x) over the plane: rows"
                              " x₂ = 3 … −3, columns x₁ = −3 … 3")
        sections.append((k, top, here))
        places += list(here.values())

    def grid() -> Grid:
        g: Grid = {1: {1: Styled("D grid · D's layers on the 169 points of D view's grid, a"
                                 " column each", "title")}}
        rows = Rows()  # one render for both sections: shared formulas are numbered per sheet
        for k, top, here in sections:
            put(g, top, 1, f"iteration {k}: D after its step{'s' * (steps > 1)}", "section")
            _grid_section(g, rows, d, here, plans[k].places, steps)
        return render_rows(rows.specs(), count, g)

    def tables() -> Grid:
        g: Grid = {1: {1: Styled("D view · D(x), the discriminator's verdict over the plane",
                                 "title")},
                   2: {1: Styled("red 1: real · white ½: undecided · blue 0: made by G"
                                 + ("; the real points lie on a ring of radius 2 (Points)"
                                    if run.data.name == "ring" else
                                    "; the real points are on Points"), "note")}}
        values = view_points()
        for k, _, here in sections:
            table = here["table"]
            put(g, table.row - 2, 1, f"iteration {k}: D after its step{'s' * (steps > 1)}",
                "section")
            put(g, table.row - 1, 1, "x₂ ↓  x₁ →", "header")
            for c in range(VIEW_SIDE):
                put(g, table.row - 1, table.col + c, float(values[c, 0]), "header")
            for r in range(VIEW_SIDE):
                put(g, table.row + r, 1, float(values[r * VIEW_SIDE, 1]), "header")
                for c in range(VIEW_SIDE):
                    put(g, table.row + r, table.col + c, "=" + here[a].ref(
                        0, image=r * VIEW_SIDE + c, sheet=VIEW_SHEET))
        return g

    scales = [ColorScale(here["table"].extent, **VERDICT) for _, _, here in sections]
    last_table = sections[-1][2]["table"]
    view_spec = SheetSpec(VIEW_SHEET, tables, widths={1: 11, **{2 + c: 7 for c in range(
        VIEW_SIDE)}}, color_scales=scales, max_col=1 + VIEW_SIDE,
        max_row=last_table.sheet_row(VIEW_SIDE - 1), formula_style="number",
        tab_color="E67E22", fit_width=True)
    last = max(p.sheet_row(p.rows - 1) for p in places if p.sheet == GRID_SHEET)
    grid_spec = SheetSpec(GRID_SHEET, grid, widths={1: 10, 2: 10,
                                                    **{3 + c: 9 for c in range(count)}},
                          freeze="C3", max_col=2 + count, max_row=last,
                          formula_style="number", print_cols="A:B")
    return view_spec, grid_spec, places


def _grid_section(g: Grid, rows: Rows, d: Net, here: Mapping[str, Place], source: Places,
                  steps: int) -> None:
    """One iteration's D on the grid: its parameters (references to the iteration sheet),
    the grid's points and D's layers on them, to its verdicts."""
    values = view_points()
    for q in d.params():
        place = here[q.name]
        put(g, place.row, 1, f"D: {q.symbol}", "label")
        for r, e in enumerate(q.labels):
            put(g, place.row + r, 2, e, "element")
            put(g, place.row + r, 3,
                "=" + source[after_name("D", q.name, steps)].ref(r, sheet=GRID_SHEET), "value")
    x = here["x"]
    put(g, x.row - 1, 3, "grid point →", "element")
    put(g, x.row, 1, "x", "label")
    put(g, x.row, 2, "x₁", "element")
    put(g, x.row + 1, 2, "x₂", "element")
    for i in range(len(values)):
        for r in range(2):
            put(g, x.row + r, x.col + i, float(values[i, r]), "number")
    cells = SheetCells(d, {name: p for name, p in here.items() if name != "table"})
    for layer, layer_cells in zip(d.layers, cells.cells, strict=True):
        for block in layer.blocks():
            put(g, here[block.name].row, 1, f"D: {block.symbol}", "label")
            for r, text in block.labels:
                put(g, here[block.name].row + r, 2, text, "element")
        for name, r, col, text in layer.forward_xl(layer_cells):
            rows.per_image(here[name], r, col, text)
    a = here[d.output.a]
    put(g, a.row, 1, "D(x)", "label")
    put(g, a.row, 2, "a³₁", "element")
    rows.per_image(a, 0, 0, d.output.pair.forward_xl([here[d.output.w.x].ref(0)], 0))


def _data_sheet(run: Run) -> SheetSpec:
    ds, n = run.data, run.n_images

    def build() -> Grid:
        g: Grid = {}
        put(g, 1, 1, "Data · the real points (edit them: the whole run recomputes)", "title")
        for c, h in enumerate(("point", "x₁", "x₂"), start=1):
            put(g, 2, c, h, "header")
        for i in range(n):
            put(g, 3 + i, 1, i + 1)
            put(g, 3 + i, 2, float(ds.x[i, 0]), "input")
            put(g, 3 + i, 3, float(ds.x[i, 1]), "input")
        return g

    return SheetSpec(DATA, build, widths={1: 7, 2: 12, 3: 12}, freeze="A3", max_col=3,
                     max_row=n + 2, tab_color="F2C94C")


def _guide(run: Run) -> SheetSpec:
    steps = steps_of(run)
    moves = (f"with its own {run.rule.name} state" if run.rule.state
             else f"stepping by {run.rule.name}")
    return exercise_guide(
        "sheetnet · gan: a generator learns to fool a discriminator",
        ["Two nets play against each other. The generator G turns random noise z into points"
         " G(z); the discriminator D gives each point the chance D(x) that it is real. D learns"
         " to say 1 on the real points and 0 on G's; G learns to make D say 1 on its points.",
         f"Each iteration takes {steps} D step{'s' * (steps > 1)} and then one G step, each"
         f" player {moves}. C_D = −mean ln D(x) − mean"
         " ln(1 − D(G(z))); C_G = −mean ln D(G(z)) (the non-saturating cost).",
         "Every cell is a formula: edit a yellow input and everything recomputes."],
        [("Summary", "C_D, C_G, mean D(x) and mean D(G(z)) per iteration, with a chart"),
         (POINTS_SHEET, "the real points and G's at the first, a middle and the last"
                        " iteration, charted together"),
         (VIEW_SHEET, "D's verdict over a grid of the plane, a colour-scaled table, at the"
                      " first and the last iteration"),
         ("Iter 0", "one sheet per iteration (Iter 0, Iter 1 …): the parameters and their"
                    " updates, then each step's passes, a column per point"),
         (GRID_SHEET, "D's layers on the grid's 169 points, which D view's tables read"),
         ("Inputs", "η, the rule's settings and the initial parameters: edit them"),
         ("Data", "the real points: edit them"), ("Map", "every block and where it is")],
        ["Top of an iteration sheet: each player's parameters where the iteration starts"
         " (column C), then per step the gradient (the mean of each point's own, below), the"
         " rule's state and the value after the step. The next sheet starts from that value.",
         "D step: the noise z (yellow, drawn from --seed, never redrawn), G's layers making"
         " G(z) = z³, then D's layers on the real points (t = 1) and on G's (t = 0), each"
         " point's C = softplus(z³) − t·z³, and C_D = (ΣC real + ΣC G's)/n.",
         "Backpropagation on each side: δ³ = a³ − t, δ² = relu′(z²)·Σⱼ w³ⱼ δ³ⱼ, and each"
         " point's own ∂C/∂w = δ·(its input); the step's gradient is their sum over both sides"
         " over n.",
         "G step: fresh noise, G's points, D (after its step) on them with t = 1. D's error at"
         " its input, ∂C/∂G(z) = Σⱼ w²ⱼᵢ δ²ⱼ, is G's δ³: backpropagation goes on through G,"
         " whose gradient is the mean of each point's own. D does not move in the G step."],
        ["Change η on Inputs: a larger η makes the players circle each other; a smaller one"
         " slows both.",
         "Type over a noise cell z: that point of G moves, and every later iteration with it.",
         "Watch D view: where D is red it believes points are real; G's points are pushed"
         " towards red.", VERIFY])


__all__ = ["add_views", "noise_in", "plan_sheet", "size", "workbook"]
