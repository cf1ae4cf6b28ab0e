"""A GAN: a generator G (noise z → a point) and a discriminator D (a point → the chance it is
real), two nets of layers trained in turn, each by its own update rule and state.

Each iteration: ``d_steps`` discriminator steps, each on the real points and as many of G's
points G(z), z drawn for that step, at the cost C_D = −mean log D(x) − mean log(1 − D(G(z)))
(binary cross-entropy, targets 1 and 0); then one generator step on fresh noise at the
non-saturating cost C_G = −mean log D(G(z)), backpropagated through D (whose parameters it
does not move) to G. The noise is a step input, drawn from the seed like a dropout mask.

Blocks are named by player: G's parameters ``G_W2`` …, D's ``D_W2`` …; their gradients
``dCG_dG_W2`` and ``dCD_dD_W2``.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from sheetnet import layers
from sheetnet import notation as names
from sheetnet.core import net as net_mod
from sheetnet.core.net import Net
from sheetnet.core.trace import Trace, check_finite
from sheetnet.layers.base import Cache, Shape
from sheetnet.pairs.optim import UpdateRule
from sheetnet.pairs.outputs import BINARY_CROSS_ENTROPY, output_layer

MODES, RADIUS, SPREAD = 8, 2.0, 0.1  # the ring: 8 Gaussians of σ 0.1 on a circle of radius 2
PLAYERS = ("G", "D")
DESCRIPTIONS = {
    "cost_D": "C_D = −mean ln D(x) − mean ln(1 − D(G(z))): the discriminator's cost (its first"
              " step's)",
    "cost_G": "C_G = −mean ln D(G(z)): the generator's (non-saturating) cost",
    "mean_D_real": "the mean of D(x) over the real points (the first D step's)",
    "mean_D_fake": "the mean of D(G(z)) over G's points (the first D step's)",
    "fake_G": "G(z): the points of the G step (training keeps them when it keeps no detail)",
}


def ring(n: int, seed: int) -> np.ndarray:
    """n points (n, 2) of ``MODES`` Gaussians on a ring, the same number round each (point i
    near mode i mod 8), drawn from ``seed``."""
    rng = np.random.default_rng((seed, 17))
    return centres()[np.arange(n) % MODES] + SPREAD * rng.standard_normal((n, 2))


def centres() -> np.ndarray:
    """The ring's ``MODES`` centres (MODES, 2), mode i at angle 2πi/MODES."""
    angle = 2 * np.pi * np.arange(MODES) / MODES
    return RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)


@dataclass(frozen=True)
class Gan:
    """The two nets: G from ``noise`` numbers to a point (no cost of its own: D scores it) and
    D from a point to one sigmoid unit, built to send ∂C/∂x back to G; and the game's pace,
    ``d_steps`` discriminator steps before each generator step."""

    generator: Net
    discriminator: Net
    d_steps: int = 1

    @property
    def noise(self) -> int:
        return self.generator.input.size

    def player(self, name: str) -> Net:
        return self.generator if name == "G" else self.discriminator


def make(noise: int = 2, hidden: int = 8, d_hidden: int = 8, d_steps: int = 1) -> Gan:
    """G: noise → dense ``hidden``, relu → dense 2 (identity); D: a point → dense ``d_hidden``,
    relu → dense 1, sigmoid with binary cross-entropy."""
    g = net_mod.build(layers.parse(f"dense {hidden}, relu, dense 2"), Shape.units(noise),
                      output_layer("identity", "mse"), 2, accuracy=False)
    d = net_mod.build(layers.parse(f"dense {d_hidden}, relu, dense 1"), Shape.units(2),
                      BINARY_CROSS_ENTROPY, 1, accuracy=False, input_error=True)
    return Gan(g, d, d_steps)


def split(params: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
    """{"G": G's parameters by its net's names (``W2`` …), "D": D's}."""
    return {who: {k[2:]: v for k, v in params.items() if k.startswith(f"{who}_")}
            for who in PLAYERS}


def init(gan: Gan, seed: int, scheme: str = "uniform") -> dict[str, np.ndarray]:
    """Both players' parameters, drawn by ``scheme`` (torch's nn.Linear by default), G's from
    ``seed``, D's after them from the same generator's next draws."""
    out: dict[str, np.ndarray] = {}
    for j, who in enumerate(PLAYERS):
        drawn = net_mod.init(gan.player(who), scheme, seed * len(PLAYERS) + j)
        out.update({f"{who}_{k}": v for k, v in drawn.items()})
    return out


def noise(gan: Gan, n: int, iterations: int, seed: int, d_steps: int = 1
          ) -> dict[str, np.ndarray]:
    """Every step's noise, standard normal from ``seed``: "zD" (iterations + 1, d_steps, n,
    noise) for the discriminator's steps, "zG" (iterations + 1, n, noise) for the
    generator's. Drawn iteration by iteration, each iteration's D steps then its G step, so
    the first k iterations' noise is the same however many follow."""
    rng = np.random.default_rng((seed, 23))
    drawn = rng.standard_normal((iterations + 1, d_steps + 1, n, gan.noise))
    return {"zD": drawn[:, :d_steps].copy(), "zG": drawn[:, d_steps].copy()}


Draws = Callable[[int], tuple[np.ndarray, np.ndarray]]  # k -> (zD (d_steps, n, noise), zG)


def given(draws: Mapping[str, np.ndarray]) -> Draws:
    """Each iteration's noise from ``noise``'s arrays (or a workbook's cells)."""
    return lambda k: (draws["zD"][k], draws["zG"][k])


def drawn(gan: Gan, n: int, seed: int) -> Draws:
    """Each iteration's noise drawn as training reaches it, iterations in order: the same
    numbers as ``noise``'s arrays, and a long run keeps only the current iteration's."""
    rng = np.random.default_rng((seed, 23))
    at = [0]

    def draw(k: int) -> tuple[np.ndarray, np.ndarray]:
        assert k == at[0], "the noise is drawn iteration by iteration, in order"
        at[0] += 1
        z = rng.standard_normal((gan.d_steps + 1, n, gan.noise))
        return z[:gan.d_steps], z[gan.d_steps]
    return draw


def judged(net: Net, d: Mapping[str, np.ndarray], x: np.ndarray, target: float,
           detail: bool = False) -> dict[str, np.ndarray]:
    """D's pass over the points x (n, 2), each with the target ``target`` (1: real, 0: made
    by G): its blocks by D's own names (with ``detail``: x, t, z², a², z³, δ³, δ² and each
    point's own gradients ``dC_dW2`` …; always a³ = D(x) and each point's C), ``dx`` =
    ∂C/∂x for each point, and ``sum_<p>``: Σ over the points of ∂C/∂p (each point's C is its
    own binary cross-entropy; a player's cost is a mean of them)."""
    n = x.shape[0]
    t = np.full((n, 1), float(target))
    score, caches, shown = net_mod.forward(net, d, x, show=detail)
    out = net.output.forward(score, t, n)
    delta = net.output.backward(score, out[net.output.a], t, n)
    totals, dx = net_mod.backward_to_input(net, d, caches, delta)
    blocks = {**out, "dx": dx, **{f"sum_{k}": v for k, v in totals.items()}}
    if detail:
        _, errors, own = net_mod.backward(net, d, caches, delta, detail=True)
        blocks.update(shown)
        blocks.update(errors)
        blocks.update({names.grad(k): v for k, v in own.items()})
        blocks.update({"x": x, "t": t, net.output.delta: delta})
    return blocks


def made(gan: Gan, g: Mapping[str, np.ndarray], z: np.ndarray, detail: bool = False
         ) -> tuple[np.ndarray, list[Cache], dict[str, np.ndarray]]:
    """G's forward pass on the noise z (n, noise): (G(z) (n, 2), its caches, its blocks z²,
    a², z³ with ``detail``; G(z) is z³, its output layer the identity)."""
    fake, caches, shown = net_mod.forward(gan.generator, g, z, show=detail)
    return fake, caches, shown


def d_cost(gan: Gan, d: Mapping[str, np.ndarray], g: Mapping[str, np.ndarray],
           x: np.ndarray, z: np.ndarray, detail: bool = False) -> dict[str, np.ndarray]:
    """One discriminator step's blocks: C_D = (Σ C over the real points + Σ C over G's)/n and
    ∂C_D/∂(D's parameters) (``dCD_dD_W2`` …), D(x) and D(G(z)) (``D_real``, ``D_fake``); with
    ``detail`` every point's blocks too: G's pass ``gen_*``, D's on the real points
    ``real_*`` and on G's ``fake_*``, by the nets' own names, and the noise ``z``."""
    n = x.shape[0]
    fake, _, gen = made(gan, g, z, detail)
    net = gan.discriminator
    real, faked = judged(net, d, x, 1.0, detail), judged(net, d, fake, 0.0, detail)
    a = net.output.a
    out = {"D_real": real[a][:, 0], "D_fake": faked[a][:, 0],
           "cost_D": np.asarray((np.sum(real["C"]) + np.sum(faked["C"])) / n),
           **{f"dCD_dD_{k[4:]}": (real[k] + faked[k]) / n for k in real
              if k.startswith("sum_")}}
    if detail:
        out["z"] = z
        out.update({f"gen_{k}": v for k, v in gen.items()})
        for side, blocks in (("real", real), ("fake", faked)):
            out.update({f"{side}_{k}": v for k, v in blocks.items()
                        if k != "dx" and not k.startswith("sum_")})
        del out["fake_x"]  # G's points are gen_z3
    return out


def g_cost(gan: Gan, d: Mapping[str, np.ndarray], g: Mapping[str, np.ndarray],
           z: np.ndarray, detail: bool = False) -> dict[str, np.ndarray]:
    """The generator step's blocks: C_G = Σ C/n over G's points judged real (the
    non-saturating cost −mean log D(G(z))), ∂C/∂G(z) for each point (``dfake``: what D
    sends back, its first layer's ∂C/∂x) and ∂C_G/∂(G's parameters) (``dCG_dG_W2`` …), the
    mean of each point's own; with ``detail`` every point's blocks: G's pass ``gen_*``
    (forward, then its errors and each point's own gradients) and D's ``fake_*``."""
    n = z.shape[0]
    fake, caches, gen = made(gan, g, z, detail)
    net = gan.discriminator
    judge = judged(net, d, fake, 1.0, detail)
    g_net = gan.generator
    totals, errors, own = net_mod.backward(g_net, g, caches, judge["dx"], detail=detail)
    out = {"fake_G": fake, "D_G": judge[net.output.a][:, 0],
           "cost_G": np.asarray(np.sum(judge["C"]) / n), "dfake": judge["dx"],
           **{f"dCG_dG_{k}": v / n for k, v in totals.items()}}
    if detail:
        out["z"] = z
        out.update({f"gen_{k}": v for k, v in {**gen, **errors}.items()})
        out.update({f"gen_{names.grad(k)}": v for k, v in own.items()})
        out.update({f"fake_{k}": v for k, v in judge.items()  # D does not move here
                    if k not in ("dx", "x") and not k.startswith(("sum_", "dC_"))})
    return out


@dataclass(frozen=True)
class Players:
    """Each player's update rule, its hyperparameters (η among them) and its state."""

    rule: UpdateRule
    hyper: Mapping[str, float]

    def start(self, params: Mapping[str, np.ndarray]) -> dict[str, dict[str, np.ndarray]]:
        return {k: self.rule.start(v) for k, v in params.items()}

    def moved(self, params: Mapping[str, np.ndarray], grads: Mapping[str, np.ndarray],
              state: dict[str, dict[str, np.ndarray]], t: int) -> dict[str, np.ndarray]:
        """Each parameter moved by the rule from its gradient (``state`` advanced)."""
        out = {}
        for name, value in params.items():
            delta, state[name] = self.rule.step(value, grads[name], state[name], self.hyper, t)
            out[name] = value + delta
        return out


class Anchor(Protocol):
    """Each iteration's parameters and each player's state after the last one, as a
    recalculated workbook holds them (``descent.Anchor``: verify re-runs each iteration from
    its own cells)."""

    def params(self, k: int) -> dict[str, np.ndarray] | None: ...

    def state(self, k: int) -> dict[str, dict[str, np.ndarray]] | None: ...


COSTS = ("cost_D", "cost_G", "mean_D_real", "mean_D_fake")  # what every iteration keeps


def d_prefix(j: int) -> str:
    """The blocks of discriminator step j (1, 2 …): ``Dstep1_real_z2`` …"""
    return f"Dstep{j}_"


G_PREFIX = "Gstep_"  # the generator step's: ``Gstep_gen_z2`` …


def state_name(kind: str, param: str, j: int | None = None) -> str:
    """A player's state after its step: ``m_D_W2`` after the iteration's last (what the next
    iteration reads), ``Dstep1_m_D_W2`` after an earlier D step j."""
    name = names.state(kind, param)
    return name if j is None else d_prefix(j) + name


def train(gan: Gan, params: Mapping[str, np.ndarray], x: np.ndarray, iterations: int,
          players: Mapping[str, Players], draws: Draws,
          progress: Callable[[int], None] | None = None, detail: bool = False,
          keep: Collection[str] | None = None, anchor: Anchor | None = None) -> Trace:
    """Iterations 0..``iterations`` of the two players' steps (the module's docstring). Each
    iteration keeps the parameters it starts from, both costs, the mean D(x) and D(G(z)) of
    its first D step and the gradients taken; with ``detail`` every block a workbook shows:
    each D step's (``Dstep1_…``: its noise, G's pass, D's on the real points and on G's, each
    point's own gradients, the state and parameters after it) and the G step's (``Gstep_…``).
    ``keep``: the blocks stored beside the costs (None: all). ``draws``: each iteration's
    noise (``given`` or ``drawn``);
    ``players``: "G" and "D"; ``anchor``: each iteration from 1 on starts from its
    parameters and state."""
    x = np.array(x, dtype=float)
    current = {who: {k: np.array(v, dtype=float) for k, v in part.items()}  # the caller's
               for who, part in split(params).items()}  # arrays stay theirs alone
    state = {who: players[who].start(current[who]) for who in PLAYERS}
    steps = gan.d_steps
    run: list[dict[str, np.ndarray]] = []
    for k in range(iterations + 1):
        if anchor is not None and k > 0:
            found, was = anchor.params(k), anchor.state(k - 1)
            if found is not None:
                current = {who: dict(part) for who, part in split(found).items()}
            if was is not None:
                state = {who: {name[2:]: kinds for name, kinds in was.items()
                               if name.startswith(f"{who}_")} for who in PLAYERS}
        with np.errstate(all="ignore"):  # check_finite reports overflow instead
            blocks = _iteration(gan, current, state, x, players, draws(k), k, steps, detail)
            check_finite(blocks, k, players["D"].hyper["eta"], updated=True)
        if keep is not None:
            blocks = {n: v for n, v in blocks.items() if n in keep or n in COSTS}
        run.append(blocks)
        if progress:
            progress(k)
    final = {f"{who}_{name}": v for who in PLAYERS for name, v in current[who].items()}
    return Trace(run, descriptions(gan, steps, players["D"].rule), cost_name="cost_D",
                 also=("cost_G",), final=final, minimised=False,
                 curves=COSTS)


def _iteration(gan: Gan, current: dict[str, dict[str, np.ndarray]],
               state: dict[str, dict[str, dict[str, np.ndarray]]], x: np.ndarray,
               players: Mapping[str, Players], noise: tuple[np.ndarray, np.ndarray], k: int,
               steps: int, detail: bool) -> dict[str, np.ndarray]:
    """Iteration k's blocks; ``current`` and ``state`` move on by its steps."""
    blocks: dict[str, np.ndarray] = {
        f"{who}_{name}": v for who in PLAYERS for name, v in current[who].items()}
    for j, z in enumerate(noise[0], start=1):
        d_step = d_cost(gan, current["D"], current["G"], x, z, detail)
        if k == 0 and j == 1:  # before any update: the inputs' fault, if any
            check_finite(d_step, 0, players["D"].hyper["eta"])
        grads = {name[7:]: v for name, v in d_step.items() if name.startswith("dCD_dD_")}
        current["D"] = players["D"].moved(current["D"], grads, state["D"], k * steps + j - 1)
        if j == 1:  # the iteration's costs are its first D step's
            blocks.update(cost_D=d_step["cost_D"],
                          mean_D_real=np.asarray(np.mean(d_step["D_real"])),
                          mean_D_fake=np.asarray(np.mean(d_step["D_fake"])))
        last = j == steps
        prefix = d_prefix(j)
        if detail:
            blocks.update({prefix + n: v for n, v in d_step.items()
                           if n not in ("D_real", "D_fake") and not (j == 1 and n == "cost_D")})
            for name, value in current["D"].items():
                blocks[f"{prefix}D_{name}"] = value
                blocks.update({state_name(kind, f"D_{name}", None if last else j): v
                               for kind, v in state["D"][name].items()})
    g_step = g_cost(gan, current["D"], current["G"], noise[1], detail)
    grads = {name[7:]: v for name, v in g_step.items() if name.startswith("dCG_dG_")}
    current["G"] = players["G"].moved(current["G"], grads, state["G"], k)
    blocks["cost_G"] = g_step["cost_G"]
    blocks.update({n: v for n, v in g_step.items() if n.startswith("dCG_dG_")})
    if detail:
        blocks.update({G_PREFIX + n: v for n, v in g_step.items()
                       if n not in ("fake_G", "D_G", "cost_G") and not n.startswith("dCG_")})
        for name, value in current["G"].items():
            blocks[f"{G_PREFIX}G_{name}"] = value
            blocks.update({state_name(kind, f"G_{name}"): v
                           for kind, v in state["G"][name].items()})
    else:
        blocks["fake_G"] = g_step["fake_G"]
    return blocks


def descriptions(gan: Gan, steps: int, rule: UpdateRule) -> dict[str, str]:
    """What every block of a run is (the Map's words, ``--json``'s descriptions)."""
    out = dict(DESCRIPTIONS)
    for who in PLAYERS:
        cost = "C_G" if who == "G" else "C_D"
        for p in gan.player(who).params():
            name = f"{who}_{p.name}"
            for j in range(1, (1 if who == "G" else steps) + 1):
                at = "the G step" if who == "G" else (f"D step {j}" if steps > 1 else
                                                      "the D step")
                prefix = G_PREFIX if who == "G" else d_prefix(j)
                grad = f"dCG_dG_{p.name}" if who == "G" else f"{prefix}dCD_dD_{p.name}"
                out[grad] = (f"∂{cost}/∂{who}'s {p.symbol}: {at}'s gradient, the mean of each"
                             " point's own")
                out[prefix + name] = f"{who}'s {p.symbol} after {at}: where the step moved it"
                last = None if who == "G" or j == steps else j
                for kind in rule.state:
                    out[state_name(kind, name, last)] = (
                        f"{rule.describe_state(kind, name)}, after {at}")
    described = {**net_mod.describe(gan.generator), **net_mod.describe(gan.discriminator)}
    for who in PLAYERS:
        net = gan.player(who)
        for p in net.params():
            out[f"{who}_{p.name}"] = f"{who}'s {p.description} (where the iteration starts)"
    for j in range(1, steps + 1):
        at = f"D step {j}" if steps > 1 else "the D step"
        out[f"{d_prefix(j)}z"] = f"{at}: the noise z G turns into points (input cells)"
        for name, what in described.items():
            out[f"{d_prefix(j)}gen_{name}"] = f"{at}, G on its noise: {what}"
            out[f"{d_prefix(j)}real_{name}"] = f"{at}, D on the real points: {what}"
            out[f"{d_prefix(j)}fake_{name}"] = f"{at}, D on G's points: {what}"
    for name, what in described.items():
        out[f"{G_PREFIX}gen_{name}"] = f"the G step, G on its noise: {what}"
        out[f"{G_PREFIX}fake_{name}"] = f"the G step, D (after its step) on G's points: {what}"
    out[f"{G_PREFIX}z"] = "the G step: fresh noise z (input cells)"
    for j in range(2, steps + 1):
        out[f"{d_prefix(j)}cost_D"] = (f"C_D of D step {j}: −mean ln D(x) − mean ln(1 − D(G(z)))"
                                       " with D as that step finds it")
    out[f"{G_PREFIX}dfake"] = ("∂C/∂G(z) = Σⱼ w²ⱼᵢ·δ²ⱼ: D's error at each of G's points,"
                               " sent back to G as its δ³")
    return out
