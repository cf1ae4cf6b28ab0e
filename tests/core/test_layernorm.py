"""Layer normalisation (issue 27): a layer kind that came in as one module and its registration.
Its statistics from the definition, its gradients against central differences of a whole net's
cost (units, maps and a sequence's steps), the order it may take in a stack, and (when torch is
installed) whole training runs against torch.nn.LayerNorm in float64."""

import numpy as np
import pytest

import sheetnet
from sheetnet import presets
from sheetnet.core import net as net_mod
from sheetnet.errors import SheetnetError
from tests.conftest import assert_gradients_match


def _run(net, arch, **options):
    return presets.get(net).run(presets.Options(arch=arch, iterations=1, **options))


def test_each_image_is_normalised_over_its_units():
    run = _run("mlp", "dense 5, layernorm, relu, dense 2")
    blocks = net_mod.iteration(run.model, run.params, run.data.x, run.data.targets)
    z, hat = blocks["z2"], blocks["ln_hat2"]
    mu = z.mean(axis=1, keepdims=True)
    var = ((z - mu) ** 2).mean(axis=1, keepdims=True)  # biased, as torch's
    np.testing.assert_allclose(hat, (z - mu) / np.sqrt(var + 1e-5), rtol=1e-13)
    np.testing.assert_allclose(blocks["ln2"], hat * run.params["ln_gamma2"]
                               + run.params["ln_beta2"], rtol=1e-13)
    np.testing.assert_array_equal(run.params["ln_gamma2"], np.ones(5))  # torch's start
    np.testing.assert_array_equal(run.params["ln_beta2"], np.zeros(5))


@pytest.mark.parametrize("net, arch, options", [
    ("mlp", "dense 4, layernorm, tanh, dense 2", {}),
    ("cnn", "conv 2 3x3, layernorm, relu, maxpool 2, dense 3", {}),
    ("rnn", "rnn 3, layernorm", {"seq_length": 5}),
])
def test_the_gradients_are_central_differences_of_the_cost(net, arch, options):
    run = _run(net, arch, **options)
    x, t = run.data.x[:6], run.data.targets[:6]
    rng = np.random.default_rng(2)
    params = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in run.params.items()}
    blocks = net_mod.iteration(run.model, params, x, t)
    assert_gradients_match(lambda p: net_mod.cost(run.model, p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


@pytest.mark.parametrize("arch, message", [
    ("layernorm, dense 2", "layernorm comes first"),
    ("dense 4, relu, layernorm, dense 2", "layernorm follows relu"),
])
def test_it_follows_a_layer_whose_outputs_it_normalises(arch, message):
    with pytest.raises(SheetnetError, match=message):
        sheetnet.train("mlp", arch=arch, iterations=1)


def test_a_text_nets_layernorm_normalises_each_step():
    run = _run("rnn", "rnn 4, layernorm", seq_length=5)
    blocks = net_mod.iteration(run.model, run.params, run.data.x, run.data.targets)
    h = blocks["h"]  # (windows, steps, units)
    assert blocks["ln_mu"].shape == h.shape[:2]
    np.testing.assert_allclose(blocks["ln_mu"], h.mean(axis=2), rtol=1e-13, atol=1e-15)


def test_it_follows_torch_nn_layernorm():
    torch = pytest.importorskip("torch")
    result = sheetnet.train("mlp", arch="dense 4, layernorm, relu, dense 2", optimizer="adam",
                            eta=0.05, iterations=30)
    run = result.run
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in run.params.items()}
    norm = torch.nn.LayerNorm(4, eps=1e-5, dtype=torch.float64)
    params = [p["W2"], p["b2"], norm.weight, norm.bias, p["W3"], p["b3"]]
    opt = torch.optim.Adam(params, lr=0.05)
    x, t = torch.tensor(run.data.x), torch.tensor(run.data.targets)
    costs, gains = [], []
    for _ in range(31):
        a3 = torch.sigmoid(torch.relu(norm(x @ p["W2"].T + p["b2"])) @ p["W3"].T + p["b3"])
        cost = 0.5 * ((a3 - t) ** 2).sum()
        costs.append(cost.item())
        gains.append(norm.weight.detach().numpy().copy())  # γ of this iteration's pass
        opt.zero_grad()
        cost.backward()
        opt.step()
    np.testing.assert_allclose(result.trace.cost, costs, rtol=1e-10)
    np.testing.assert_allclose(result.trace.iterations[-1]["ln_gamma2"], gains[-1], rtol=1e-9)


def test_a_sequence_follows_torch_nn_layernorm_at_every_step():
    torch = pytest.importorskip("torch")
    result = sheetnet.train("lstm", arch="lstm 5, layernorm", optimizer="adam", eta=0.05,
                            iterations=20)
    run = result.run
    x, t = (torch.tensor(a) for a in run.data.text.one_hot())
    lstm = torch.nn.LSTM(x.shape[2], 5, batch_first=True, dtype=torch.float64)
    norm = torch.nn.LayerNorm(5, eps=1e-5, dtype=torch.float64)
    why = torch.tensor(run.params["Why"], requires_grad=True)
    by = torch.tensor(run.params["by"], requires_grad=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(run.params["W"]))
        lstm.weight_hh_l0.copy_(torch.tensor(run.params["U"]))
        lstm.bias_ih_l0.copy_(torch.tensor(run.params["b"]))
        lstm.bias_hh_l0.zero_()
    params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, norm.weight, norm.bias,
              why, by]
    opt = torch.optim.Adam(params, lr=0.05)
    costs = []
    for _ in range(21):
        h, _ = lstm(x)
        cost = -(t * torch.log_softmax(norm(h) @ why.T + by, 2)).sum()
        costs.append(cost.item())
        opt.zero_grad()
        cost.backward()
        opt.step()
    np.testing.assert_allclose(result.trace.cost, costs, rtol=1e-10)
