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

from collections.abc import Callable, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet import layers
from sheetnet.core import net as net_mod
from sheetnet.core.net import Net
from sheetnet.core.trace import Trace, check_finite
from sheetnet.layers.base import Shape
from sheetnet.pairs.optim import UpdateRule
from sheetnet.pairs.outputs import BINARY_CROSS_ENTROPY, output_layer

MODES, RADIUS, SPREAD = 8, 2.0, 0.1  # the ring: 8 Gaussians of σ 0.1 on a circle of radius 2
PLAYERS = ("G", "D")
DESCRIPTIONS = {
    "x": "the real points, one a row",
    "zD": "the noise G turns into points for each discriminator step: (steps, N, noise)",
    "zG": "the fresh noise of the generator's step",
    "fake_D": "G(z): the generator's points the discriminator steps see",
    "D_real": "D(x): the discriminator's chance that each real point is real",
    "D_fake": "D(G(z)): its chance that each of G's points is real (the last D step's)",
    "cost_D": "C_D = −mean log D(x) − mean log(1 − D(G(z))): the discriminator's cost",
    "fake_G": "G(z) on the generator step's noise",
    "D_G": "D(G(z)) on the generator step's noise, with D after its step",
    "cost_G": "C_G = −mean log D(G(z)): the generator's (non-saturating) cost",
    "dCG_dfake": "∂C_G/∂G(z): what D sends back to each of G's points",
    "mean_D_real": "the mean of D(x)",
    "mean_D_fake": "the mean of D(G(z)) on the generator step's noise",
}


def ring(n: int, seed: int) -> np.ndarray:
    """n points (n, 2) of ``MODES`` Gaussians on a ring, the same number round each (point i
    near mode i mod 8), drawn from ``seed``."""
    rng = np.random.default_rng((seed, 17))
    angle = 2 * np.pi * (np.arange(n) % MODES) / MODES
    centres = RADIUS * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return centres + SPREAD * rng.standard_normal((n, 2))


@dataclass(frozen=True)
class Gan:
    """The two nets: G from ``noise`` numbers to a point (no cost of its own: D scores it) and
    D from a point to one sigmoid unit, built to send ∂C/∂x back to G."""

    generator: Net
    discriminator: Net

    @property
    def noise(self) -> int:
        return self.generator.input.size

    def player(self, name: str) -> Net:
        return self.generator if name == "G" else self.discriminator


def make(noise: int = 2, hidden: int = 8, d_hidden: int = 8) -> Gan:
    """G: noise → dense ``hidden``, relu → dense 2 (identity); D: a point → dense ``d_hidden``,
    relu → dense 1, sigmoid with binary cross-entropy."""
    g = net_mod.build(layers.parse(f"dense {hidden}, relu, dense 2"), Shape.units(noise),
                      output_layer("identity", "mse"), 2, accuracy=False)
    d = net_mod.build(layers.parse(f"dense {d_hidden}, relu, dense 1"), Shape.units(2),
                      BINARY_CROSS_ENTROPY, 1, accuracy=False, input_error=True)
    return Gan(g, d)


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
    generator's."""
    rng = np.random.default_rng((seed, 23))
    k = iterations + 1
    return {"zD": rng.standard_normal((k, d_steps, n, gan.noise)),
            "zG": rng.standard_normal((k, n, gan.noise))}


def d_cost(gan: Gan, d: Mapping[str, np.ndarray], g: Mapping[str, np.ndarray],
           x: np.ndarray, z: np.ndarray) -> dict[str, np.ndarray]:
    """One discriminator step's blocks: G(z), D(x), D(G(z)), C_D and ∂C_D/∂(D's parameters)
    (a mean over the n real points, and the n of G's)."""
    n = x.shape[0]
    fake = net_mod.forward(gan.generator, g, z, show=False)[0]
    both = np.concatenate([x, fake])
    t = np.concatenate([np.ones((n, 1)), np.zeros((n, 1))])
    net = gan.discriminator
    score, caches, _ = net_mod.forward(net, d, both, show=False)
    out = net.output.forward(score, t, 2 * n)
    delta = net.output.backward(score, out[net.output.a], t, 2 * n) / n
    grads = net_mod.backward_to_input(net, d, caches, delta)[0]
    a = out[net.output.a][:, 0]
    return {"fake_D": fake, "D_real": a[:n], "D_fake": a[n:],
            "cost_D": np.asarray(np.sum(out["C"]) / n),
            **{f"dCD_dD_{k}": v for k, v in grads.items()}}


def g_cost(gan: Gan, d: Mapping[str, np.ndarray], g: Mapping[str, np.ndarray],
           z: np.ndarray) -> dict[str, np.ndarray]:
    """The generator step's blocks: G(z), D(G(z)), C_G = −mean log D(G(z)), ∂C_G/∂G(z)
    (D's error sent back to its input) and ∂C_G/∂(G's parameters)."""
    n = z.shape[0]
    fake, g_caches, _ = net_mod.forward(gan.generator, g, z, show=False)
    net = gan.discriminator
    score, caches, _ = net_mod.forward(net, d, fake, show=False)
    t = np.ones((n, 1))
    out = net.output.forward(score, t, n)
    delta = net.output.backward(score, out[net.output.a], t, n) / n
    dfake = net_mod.backward_to_input(net, d, caches, delta)[1]
    grads = net_mod.backward(gan.generator, g, g_caches, dfake)[0]
    return {"fake_G": fake, "D_G": out[net.output.a][:, 0],
            "cost_G": np.asarray(np.sum(out["C"]) / n), "dCG_dfake": dfake,
            **{f"dCG_dG_{k}": v for k, v in grads.items()}}


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


def train(gan: Gan, params: Mapping[str, np.ndarray], x: np.ndarray, iterations: int,
          players: Mapping[str, Players], draws: Mapping[str, np.ndarray],
          progress: Callable[[int], None] | None = None) -> Trace:
    """Iterations 0..``iterations`` of the two players' steps (the module's docstring); each
    iteration's blocks hold the parameters it starts from, both costs and the gradients
    taken. ``draws``: ``noise``'s; ``players``: "G" and "D"."""
    x = np.array(x, dtype=float)
    current = {who: part for who, part in split(params).items()}
    state = {who: players[who].start(current[who]) for who in PLAYERS}
    run: list[dict[str, np.ndarray]] = []
    for k in range(iterations + 1):
        with np.errstate(all="ignore"):  # check_finite reports overflow instead
            blocks: dict[str, np.ndarray] = {
                f"{who}_{name}": v for who in PLAYERS for name, v in current[who].items()}
            blocks.update(x=x, zD=draws["zD"][k], zG=draws["zG"][k])
            for j, z in enumerate(draws["zD"][k]):
                d_step = d_cost(gan, current["D"], current["G"], x, z)
                if j == 0:  # the first D step's blocks are the iteration's
                    blocks.update(d_step)
                grads = {name[7:]: v for name, v in d_step.items() if name.startswith("dCD_dD_")}
                steps = len(draws["zD"][k])  # D's steps so far count its Adam's t
                current["D"] = players["D"].moved(current["D"], grads, state["D"],
                                                  k * steps + j)
            g_step = g_cost(gan, current["D"], current["G"], draws["zG"][k])
            blocks.update(g_step)
            grads = {name[7:]: v for name, v in g_step.items() if name.startswith("dCG_dG_")}
            current["G"] = players["G"].moved(current["G"], grads, state["G"], k)
            blocks["mean_D_real"] = np.asarray(np.mean(blocks["D_real"]))
            blocks["mean_D_fake"] = np.asarray(np.mean(blocks["D_G"]))
            check_finite(blocks, k, players["D"].hyper["eta"])
        run.append(blocks)
        if progress:
            progress(k)
    final = {f"{who}_{name}": v for who in PLAYERS for name, v in current[who].items()}
    return Trace(run, dict(DESCRIPTIONS), cost_name="cost_D", final=final)
