"""``--net gan``: a generator and a discriminator on 2-D points (``core/gan.py``), as a preset.

The real points are a seeded ring of 8 Gaussians (``--points`` of them) or ``--data`` (a CSV
``x,y``); G reads ``--noise`` numbers and has ``--hidden`` units, D has 8. Each iteration takes
``--d-steps`` discriminator steps and one generator step, each player with its own state of the
update rule (Adam by default); the noise is drawn from ``--seed`` and is input cells in the
workbook (``workbook/gan_layout.py``).
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np

from sheetnet.core import descent
from sheetnet.core import gan as gan_mod
from sheetnet.core import net as net_mod
from sheetnet.core.budget import Budget, kept_bytes
from sheetnet.core.data import Dataset
from sheetnet.core.params import validate_params
from sheetnet.core.run import Found, Run
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.notation import Words
from sheetnet.pairs.optim import UpdateRule
from sheetnet.pairs.optim import rule as rule_of
from sheetnet.presets import stepping
from sheetnet.presets.exercises import check_points, read_points
from sheetnet.presets.options import Options, read_json
from sheetnet.workbook import gan_layout, settings
from sheetnet.workbook.layout import WorkbookSpec

POINTS, NOISE, HIDDEN, D_HIDDEN = 16, 2, 8, 8  # the defaults: a workbook a screen can follow
MAX_D_STEPS, MAX_NOISE, MAX_HIDDEN = 10, 64, 256
EVALUATED = 1000  # G's points evaluate() draws
ADAM_BETA1 = 0.5  # Adam's β₁ for both players unless --beta1 says otherwise (as DCGAN's)


def players(run: Run) -> dict[str, gan_mod.Players]:
    """Each player's rule and hyperparameters (the same rule and η, each its own state)."""
    player = gan_mod.Players(run.rule, run.hyperparameters)
    return {who: player for who in gan_mod.PLAYERS}


def ring_data(points: int, seed: int) -> Points:
    """The ring of 8 Gaussians as a data set of points."""
    return replace(points_of(gan_mod.ring(points, seed), "ring"), ring=True)


@dataclass(frozen=True)
class Points(Dataset):
    """The real points: a data set whose examples are points (no labels: every one is real);
    ``ring``: the ring of Gaussians (its modes known)."""

    ring: bool = False

    def words(self, maps: bool = True) -> Words:
        return Words(item="point", items="points", element="coordinate",
                     x="x: a real point (x₁, x₂)", t="t: 1 for a real point, 0 for one G made")


def points_of(xy: np.ndarray, name: str) -> Points:
    """Points (n, 2) as a data set."""
    return Points(name, np.asarray(xy, dtype=float), (0.0,) * len(xy), (), (1, 2), values=True)


def points_given(value: object) -> Dataset:
    """``data=`` from Python: points (n, 2), each a finite number a cell holds."""
    try:
        xy = np.asarray(value, dtype=float)
    except (TypeError, ValueError):
        raise SheetnetError("data=: give the points as numbers, (n, 2): one x, y a row") from None
    if xy.ndim != 2 or xy.shape[1] != 2:
        raise SheetnetError(f"data= has shape {xy.shape}; give the points as (n, 2): one x, y"
                            " a row")
    check_points(xy, "data")
    return points_of(xy, "data")


def _count(value: int | None, default: int, flag: str, low: int, high: int) -> int:
    """An option's whole number within low..high, or one line saying what is wrong."""
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or not (
            low <= value <= high):
        raise SheetnetError(f"{flag} {value} must be a whole number from {low} to {high:,},"
                            f" e.g. {flag} {default}")
    return int(value)


def _nearest(made: np.ndarray, real: np.ndarray, chunk: int = 4096) -> np.ndarray:
    """Each made point's distance (m,) to the nearest of the real points (n, 2), the real
    points a chunk at a time (m × chunk distances at once, however many there are)."""
    best = np.full(len(made), np.inf)
    for start in range(0, len(real), chunk):
        part = real[start:start + chunk]
        gaps = np.sqrt(((made[:, None, :] - part[None, :, :]) ** 2).sum(-1)).min(axis=1)
        best = np.minimum(best, gaps)
    return best


@dataclass(frozen=True)
class GanPreset:
    name: str = "gan"
    summary: str = "a GAN: G fools D on a ring of points"
    follows: str = "beyond"
    dataset: str = f"ring of 8 Gaussians ({POINTS} points)"
    eta: float = 0.005
    iterations: int = 100
    images = False  # `show` prints its table
    players = True  # two nets, each with its own state (checkpoints keep one: refused)
    values = False

    @property
    def eta_text(self) -> str:
        return f"{self.eta:g}"

    def run(self, opts: Options, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Run:
        opts.unused("iterations", "eta", "seed", "init", "init_scheme", "data", "hidden",
                    "noise", "d_steps", "points", "optimizer", net=self.name)
        noise = _count(opts.noise, NOISE, "--noise", 1, MAX_NOISE)
        hidden = _count(opts.hidden, HIDDEN, "--hidden", 1, MAX_HIDDEN)
        d_steps = _count(opts.d_steps, 1, "--d-steps", 1, MAX_D_STEPS)
        if isinstance(opts.data, Dataset):
            if opts.points is not None:
                raise SheetnetError("give --points (a ring of that many) or --data, not both")
            ds, origin = opts.data, f"data ({opts.data.n_images} points, given from Python)"
        elif opts.data is not None:
            if opts.points is not None:
                raise SheetnetError("give --points (a ring of that many) or --data, not both")
            ds = points_of(read_points(Path(opts.data)), Path(opts.data).name)
            origin = f"--data {Path(opts.data).name}"
        else:
            points = _count(opts.points, POINTS, "--points", 2, 100_000)
            ds = ring_data(points, opts.seed_value)
            origin = (f"a ring of {gan_mod.MODES} Gaussians (radius {gan_mod.RADIUS:g},"
                      f" σ {gan_mod.SPREAD:g}), {points} points, --seed {opts.seed_value}")
        if ds.x.ndim != 2 or ds.x.shape[1] != 2 or ds.n_images < 2:
            raise SheetnetError("--net gan learns 2-D points: give at least 2 points x,y")
        gan = gan_mod.make(noise, hidden, D_HIDDEN, d_steps)
        eta = self.eta if opts.eta is None else opts.eta
        iterations = self.iterations if opts.iterations is None else opts.iterations
        descent.check_run(eta, iterations)
        if opts.optimizer is None:
            opts = replace(opts, optimizer="adam")
        takes = {h.name for h in rule_of(opts.optimizer or "adam").hypers}
        if "beta1" in takes and "beta1" not in opts.hyper:  # GANs' usual Adam (and AdamW)
            opts = replace(opts, hyper={**opts.hyper, "beta1": ADAM_BETA1})
        rule, hyper = stepping.update_rule(opts)
        self.check_size(gan, ds.n_images, iterations, rule, workbook,
                        detail or workbook)
        params, init_origin = self._params(gan, opts)
        # a workbook's noise is its cells, drawn now; training draws it as it goes
        draws = (gan_mod.noise(gan, ds.n_images, iterations, opts.seed_value, d_steps)
                 if workbook or detail else None)
        return Run(self.name, gan, ds, params, eta, iterations,
                   {"data": origin, "init": init_origin}, rule, hyper, seed=opts.seed_value,
                   drawn=draws)

    def _params(self, gan: gan_mod.Gan, opts: Options) -> tuple[dict[str, np.ndarray], str]:
        if opts.init is not None and opts.init_scheme is not None:
            raise SheetnetError("give --init (the values themselves) or --init-scheme (how they"
                                " are drawn), not both")
        shapes = {f"{who}_{p.name}": p.shape for who in gan_mod.PLAYERS
                  for p in gan.player(who).params()}
        if isinstance(opts.init, Mapping):
            return validate_params(shapes, opts.init, "init"), "init (given from Python)"
        if opts.init is not None:
            return (validate_params(shapes, read_json(Path(opts.init)), str(opts.init)),
                    f"--init {Path(opts.init).name}")
        scheme = opts.init_scheme or "uniform"
        if scheme not in net_mod.SCHEMES:
            raise SheetnetError(f"--init-scheme {scheme!r} is not one of:"
                                f" {', '.join(net_mod.SCHEMES)}")
        return (gan_mod.init(gan, opts.seed_value, scheme),
                f"{net_mod.SCHEMES[scheme][0]}, --seed {opts.seed_value}")

    def check_size(self, gan: gan_mod.Gan, points: int, iterations: int, rule: UpdateRule,
                   workbook: bool, detail: bool) -> None:
        """Refuse a run (``workbook``: or its workbook) beyond the budgets, in one line."""
        d_steps, states = gan.d_steps, len(rule.state)
        what = f"--net gan ({points:,} points, {d_steps} D step{'s' * (d_steps > 1)})"
        params = sum(p.size for who in gan_mod.PLAYERS for p in gan.player(who).params())
        per_point = sum(net_mod.per_image_numbers(gan.player(who)) + params
                        for who in gan_mod.PLAYERS) * (d_steps + 1)
        numbers = per_point * points + params * (4 + 2 * states)
        plan = Budget(parameters=params, images=points, iterations=iterations,
                      step_numbers=numbers, what=what,
                      kept=kept_bytes(numbers, 60 * (d_steps + 1)) if detail else 0)
        plan.check()
        if workbook:
            gan_layout.size(gan, points, iterations, rule, what).check()
        plan.check_kept()

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None, anchor: descent.Anchor | None = None
              ) -> Trace:
        detail = keep is None
        draws = (gan_mod.given(run.drawn) if run.drawn is not None
                 else gan_mod.drawn(run.model, run.n_images, run.seed))
        trace = gan_mod.train(run.model, run.params, run.data.x, run.iterations, players(run),
                              draws, progress, detail=detail, keep=keep, anchor=anchor)
        if detail:
            gan_layout.add_views(run, trace)
        return trace

    def workbook(self, run: Run) -> WorkbookSpec:
        return gan_layout.workbook(run)

    def skeleton(self, config: Mapping[str, object]) -> Run:
        points, noise, hidden, d_steps = settings.gan_size(config)
        iterations = settings.iterations(config)
        if (points < 2 or iterations < 1 or not 1 <= d_steps <= MAX_D_STEPS
                or not 1 <= noise <= MAX_NOISE or not 1 <= hidden <= MAX_HIDDEN):
            raise SheetnetError(f"{points:,} points, {iterations:,} iterations, {d_steps} D"
                                f" steps, noise {noise} and {hidden} hidden units is not a"
                                " workbook sheetnet writes")
        rule = settings.update_rule(config)
        gan = gan_mod.make(noise, hidden, D_HIDDEN, d_steps)
        self.check_size(gan, points, iterations, rule, True, True)
        params = {f"{who}_{p.name}": np.zeros(p.shape) for who in gan_mod.PLAYERS
                  for p in gan.player(who).params()}
        draws = {name: np.zeros_like(v) for name, v in
                 gan_mod.noise(gan, points, iterations, 0, d_steps).items()}
        return Run(self.name, gan, points_of(np.zeros((points, 2)), "workbook"), params, 1.0,
                   iterations, rule=rule, hyper={h.name: h.default for h in rule.hypers},
                   drawn=draws)

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        gan = skeleton.model
        params = {name: np.asarray(found[name], dtype=float).reshape(v.shape)
                  for name, v in skeleton.params.items()}
        assert skeleton.drawn is not None, "a GAN's skeleton carries its noise's shape"
        z_d, z_g = (np.array(skeleton.drawn[n]) for n in ("zD", "zG"))
        for k in range(skeleton.iterations + 1):
            for j in range(z_d.shape[1]):
                z_d[k, j] = gan_layout.noise_in(found[(gan_mod.d_prefix(j + 1) + "z", k)],
                                                z_d.shape[-1])
            z_g[k] = gan_layout.noise_in(found[(gan_mod.G_PREFIX + "z", k)], z_g.shape[-1])
        hyper = {name: float(np.asarray(found[name]).ravel()[0]) for name in skeleton.hyper}
        data = points_of(np.asarray(found["points"], dtype=float).reshape(-1, 2), "workbook")
        return Run(self.name, gan, data, params, float(np.asarray(found["eta"]).ravel()[0]),
                   skeleton.iterations, rule=skeleton.rule, hyper=hyper,
                   drawn={"zD": z_d, "zG": z_g})

    def text_inputs(self, skeleton: Run) -> set[str]:
        return set()

    def stopped(self, run: Run, trace: Trace) -> tuple[Run, Trace]:
        return run, trace

    def test(self, run: Run, trace: Trace) -> dict[str, Any] | None:
        return None

    def evaluate(self, run: Run, trace: Trace) -> dict[str, float] | None:
        """G after the last update on fresh noise: how far its points lie from the real ones
        (the mean distance to the nearest), and on the ring how many of its 8 modes G's
        points cover (a mode holding at least 2 % of them, within 3σ of its centre) and the
        share that lie so near a mode."""
        gan: gan_mod.Gan = run.model
        g = {k[2:]: v for k, v in trace.final.items() if k.startswith("G_")}
        z = np.random.default_rng((run.seed, 29)).standard_normal((EVALUATED, gan.noise))
        with np.errstate(all="ignore"):  # points beyond floating point: an infinite distance
            made = net_mod.predict(gan.generator, g, z)
            nearest = _nearest(made, run.data.x)
        found = {"mean_distance_to_a_real_point": float(nearest.mean())}
        if getattr(run.data, "ring", False):
            centres = gan_mod.centres()
            with np.errstate(all="ignore"):
                gaps = np.sqrt(((made[:, None, :] - centres[None]) ** 2).sum(-1))
            near = gaps.min(axis=1) <= 3 * gan_mod.SPREAD
            share = np.bincount(gaps.argmin(axis=1)[near], minlength=gan_mod.MODES) / EVALUATED
            found.update(modes_covered=float(np.sum(share >= 0.02)),
                         share_near_a_mode=float(near.mean()))
        return found

    def evaluation(self, run: Run) -> str:
        return f"G on {EVALUATED:,} fresh draws of noise"

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        """A row per iteration (about 20 of them): both costs and D's mean verdicts."""
        every = max(1, -(-run.iterations // 20))
        rows = [[str(k), *(f"{float(b[n]):.4f}" for n in gan_mod.COSTS)]
                for k, b in enumerate(trace.iterations)
                if k % every == 0 or k == run.iterations]
        return ("GAN", ["iteration", "C_D", "C_G", "mean D(x)", "mean D(G(z))"], rows)


GAN = GanPreset()
