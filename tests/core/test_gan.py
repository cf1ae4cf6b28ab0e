"""The GAN's core (issue 32): the ring of Gaussians, each player's gradients against central
differences, and (when torch is installed) whole runs of both players against PyTorch in
float64 with the same data and noise."""

import numpy as np
import pytest

from sheetnet.core import gan as gan_mod
from sheetnet.pairs.optim import rule as rule_of


def test_the_ring_has_eight_modes_of_equal_size_on_a_circle_of_radius_2():
    x = gan_mod.ring(400, seed=0)
    assert x.shape == (400, 2)
    angles = np.round(np.arctan2(x[:, 1], x[:, 0]) / (2 * np.pi / 8)) % 8
    np.testing.assert_array_equal(angles, np.arange(400) % 8)
    assert abs(np.linalg.norm(x, axis=1).mean() - 2.0) < 0.02
    assert not np.array_equal(x, gan_mod.ring(400, seed=1))


def _numeric(cost, params, name, h=1e-6):
    out = np.zeros_like(params[name])
    for idx in np.ndindex(out.shape):
        plus, minus = dict(params), dict(params)
        plus[name], minus[name] = params[name].copy(), params[name].copy()
        plus[name][idx] += h
        minus[name][idx] -= h
        out[idx] = (cost(plus) - cost(minus)) / (2 * h)
    return out


def test_each_players_gradients_are_central_differences():
    gan = gan_mod.make(noise=2, hidden=5, d_hidden=4)
    p = gan_mod.split(gan_mod.init(gan, seed=3, scheme="normal"))  # biases not 0: no kinks
    rng = np.random.default_rng(5)
    x, z = gan_mod.ring(16, 0), rng.standard_normal((16, 2))
    d_step = gan_mod.d_cost(gan, p["D"], p["G"], x, z)
    for name in p["D"]:
        numeric = _numeric(lambda d: float(gan_mod.d_cost(gan, d, p["G"], x, z)["cost_D"]),
                           p["D"], name)
        np.testing.assert_allclose(d_step[f"dCD_dD_{name}"], numeric, rtol=1e-6, atol=1e-9)
    g_step = gan_mod.g_cost(gan, p["D"], p["G"], z)
    for name in p["G"]:
        numeric = _numeric(lambda g: float(gan_mod.g_cost(gan, p["D"], g, z)["cost_G"]),
                           p["G"], name)
        np.testing.assert_allclose(g_step[f"dCG_dG_{name}"], numeric, rtol=1e-6, atol=1e-9)
    # the costs by their definitions
    a_real, a_fake = d_step["D_real"], d_step["D_fake"]
    assert abs(d_step["cost_D"] - (-np.mean(np.log(a_real)) - np.mean(np.log(1 - a_fake)))
               ) < 1e-12
    assert abs(g_step["cost_G"] + np.mean(np.log(g_step["D_G"]))) < 1e-12


@pytest.mark.parametrize("d_steps", [1, 2])
def test_both_players_follow_torch(d_steps):
    torch = pytest.importorskip("torch")
    gan = gan_mod.make(d_steps=d_steps)
    params = gan_mod.init(gan, seed=0)
    x = gan_mod.ring(64, 0)
    draws = gan_mod.noise(gan, 64, 30, seed=0, d_steps=d_steps)
    adam = rule_of("adam")
    hyper = {h.name: h.default for h in adam.hypers}
    players = {"G": gan_mod.Players(adam, {**hyper, "eta": 0.01}),
               "D": gan_mod.Players(adam, {**hyper, "eta": 0.02})}
    trace = gan_mod.train(gan, params, x, 30, players, gan_mod.given(draws))

    def linear(w, b):
        layer = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(w))
            layer.bias.copy_(torch.tensor(b))
        return layer

    g = torch.nn.Sequential(linear(params["G_W2"], params["G_b2"]), torch.nn.ReLU(),
                            linear(params["G_W3"], params["G_b3"]))
    d = torch.nn.Sequential(linear(params["D_W2"], params["D_b2"]), torch.nn.ReLU(),
                            linear(params["D_W3"], params["D_b3"]), torch.nn.Sigmoid())
    opt_g = torch.optim.Adam(g.parameters(), lr=0.01, betas=(hyper["beta1"], hyper["beta2"]),
                             eps=hyper["epsilon"])
    opt_d = torch.optim.Adam(d.parameters(), lr=0.02, betas=(hyper["beta1"], hyper["beta2"]),
                             eps=hyper["epsilon"])
    bce = torch.nn.BCELoss()
    real = torch.tensor(x)
    ones, zeros = torch.ones(64, 1, dtype=torch.float64), torch.zeros(64, 1, dtype=torch.float64)
    costs_d, costs_g = [], []
    for k in range(31):
        for j in range(d_steps):
            fake = g(torch.tensor(draws["zD"][k][j])).detach()
            loss_d = bce(d(real), ones) + bce(d(fake), zeros)
            opt_d.zero_grad()
            loss_d.backward()
            opt_d.step()
            if j == 0:
                costs_d.append(loss_d.item())
        loss_g = bce(d(g(torch.tensor(draws["zG"][k]))), ones)
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
        costs_g.append(loss_g.item())
    np.testing.assert_allclose(trace.series("cost_D"), costs_d, rtol=0, atol=1e-9)
    np.testing.assert_allclose(trace.series("cost_G"), costs_g, rtol=0, atol=1e-9)
    np.testing.assert_allclose(trace.final["G_W3"], g[2].weight.detach().numpy(), atol=1e-9)
    np.testing.assert_allclose(trace.final["D_W2"], d[0].weight.detach().numpy(), atol=1e-9)


def _players(eta=0.01):
    adam = rule_of("adam")
    hyper = {**{h.name: h.default for h in adam.hypers}, "eta": eta}
    return {who: gan_mod.Players(adam, hyper) for who in gan_mod.PLAYERS}


def test_each_points_own_gradients_are_central_differences_of_its_own_cost():
    """A workbook's per-point blocks: each point's ∂C/∂w is the derivative of that point's C
    alone (D's on a real point and on one of G's, G's through D), and a step's gradient is
    their mean."""
    gan = gan_mod.make(noise=2, hidden=4, d_hidden=3)
    p = gan_mod.split(gan_mod.init(gan, seed=2, scheme="normal"))
    rng = np.random.default_rng(7)
    x, z = gan_mod.ring(6, 1), rng.standard_normal((6, 2))
    d_step = gan_mod.d_cost(gan, p["D"], p["G"], x, z, detail=True)
    d = gan.discriminator
    for side, points, target in (("real", x, 1.0),
                                 ("fake", d_step["gen_z3"], 0.0)):
        for name in p["D"]:
            for i in (0, 4):
                numeric = _numeric(lambda q, i=i, points=points, target=target: float(
                    gan_mod.judged(d, q, points, target)["C"][i]), p["D"], name)
                np.testing.assert_allclose(d_step[f"{side}_dC_d{name}"][i], numeric,
                                           rtol=1e-6, atol=1e-9)
        np.testing.assert_allclose(
            (d_step[f"real_dC_d{name}"].sum(0) + d_step[f"fake_dC_d{name}"].sum(0)) / 6,
            d_step[f"dCD_dD_{name}"], rtol=1e-12, atol=1e-15)
    g_step = gan_mod.g_cost(gan, p["D"], p["G"], z, detail=True)
    for name in p["G"]:
        for i in (1, 5):
            numeric = _numeric(lambda q, i=i: float(gan_mod.g_cost(
                gan, p["D"], q, z, detail=True)["fake_C"][i]), p["G"], name)
            np.testing.assert_allclose(g_step[f"gen_dC_d{name}"][i], numeric, rtol=1e-6,
                                       atol=1e-9)
        np.testing.assert_allclose(g_step[f"gen_dC_d{name}"].mean(0), g_step[f"dCG_dG_{name}"],
                                   rtol=1e-12, atol=1e-15)


def test_a_run_with_every_block_is_the_same_run(d_steps=2):
    """The blocks a workbook shows change nothing, and noise drawn as training goes is the
    noise drawn at once: costs and final parameters within 1e-12."""
    gan = gan_mod.make(d_steps=d_steps)
    params, x = gan_mod.init(gan, seed=1), gan_mod.ring(16, 1)
    draws = gan_mod.noise(gan, 16, 20, seed=1, d_steps=d_steps)
    lean = gan_mod.train(gan, params, x, 20, _players(), gan_mod.drawn(gan, 16, seed=1))
    full = gan_mod.train(gan, params, x, 20, _players(), gan_mod.given(draws), detail=True)
    for name in gan_mod.COSTS:
        np.testing.assert_allclose(full.series(name), lean.series(name), rtol=1e-12)
    for name, value in lean.final.items():
        np.testing.assert_allclose(full.final[name], value, rtol=1e-12, atol=1e-15)
    last = full.iterations[-1]
    assert {"Dstep2_real_dC_dW2", "Dstep1_m_D_W2", "m_D_W2", "Gstep_dfake"} <= set(last)
    np.testing.assert_allclose(last["Dstep2_D_W2"], full.final["D_W2"], rtol=1e-12)
    assert full.iterations[0]["D_W2"] is not params["D_W2"]  # the caller's arrays untouched
    np.testing.assert_array_equal(params["D_W2"], gan_mod.init(gan, seed=1)["D_W2"])


def test_the_noise_of_the_first_iterations_does_not_depend_on_how_many_follow():
    gan = gan_mod.make()
    short, long = (gan_mod.noise(gan, 8, k, seed=4, d_steps=2) for k in (3, 50))
    for name in ("zD", "zG"):
        np.testing.assert_array_equal(long[name][:4], short[name])
    assert not np.allclose(short["zD"][1, 0], short["zD"][1, 1])
