"""Batch normalisation (issue 19). The core is checked against a forward pass written here from
the paper's definition (μ and the biased variance over the step's batch, ẑ, y = γẑ + β), its
gradients against central differences of that cost (full batch, a mini-batch, a convolution's
maps), its running averages against torch's rule, and (when torch is installed) whole training
runs against torch.nn.BatchNorm1d/2d in training mode."""

import json
from pathlib import Path

import numpy as np
import pytest

import sheetnet
from sheetnet.core import descent
from sheetnet.core import net as net_mod
from sheetnet.errors import SheetnetError
from sheetnet.layers import parse
from sheetnet.layers.base import Shape
from tests.conftest import assert_gradients_match

EPS = 1e-5
BOOK_INIT = Path(__file__).parents[2] / "examples" / "book_3-5_initial_weights.json"


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _fc(arch: str = "dense 3, batchnorm, sigmoid, dense 2"):
    return net_mod.build(parse(arch), Shape.units(12), net_mod.BOOK_OUTPUT, 2)


def _data(n: int = 8, seed: int = 0, pixels: int = 12, classes: int = 2):
    rng = np.random.default_rng(seed)
    return rng.random((n, pixels)), np.eye(classes)[rng.integers(0, classes, n)]


def _normalise(z, axes):
    mu = z.mean(axis=axes, keepdims=True)
    var = ((z - mu) ** 2).mean(axis=axes, keepdims=True)
    return (z - mu) / np.sqrt(var + EPS), mu, var


def _fc_cost_by_hand(p, x, t, rows=None):
    """½Σ(a³ − t)² over the batch ``rows``, z² normalised over those rows alone."""
    x, t = (x, t) if rows is None else (x[rows], t[rows])
    zhat, _, _ = _normalise(x @ p["W2"].T, (0,))
    a2 = _sigmoid(p["bn_gamma2"] * zhat + p["bn_beta2"])
    return 0.5 * np.sum((_sigmoid(a2 @ p["W3"].T + p["b3"]) - t) ** 2)


def _random_gamma_beta(params, seed=7):
    rng = np.random.default_rng(seed)
    out = dict(params)
    for name in params:
        if name.startswith("bn_"):
            out[name] = params[name] + 0.3 * rng.standard_normal(params[name].shape)
    return out


def test_the_layer_has_no_bias_before_it_and_gamma_beta_start_at_1_and_0():
    net = _fc()
    assert list(net.param_shapes()) == ["W2", "bn_gamma2", "bn_beta2", "W3", "b3"]
    params = net_mod.init(net, "he", 1)
    np.testing.assert_array_equal(params["bn_gamma2"], np.ones(3))
    np.testing.assert_array_equal(params["bn_beta2"], np.zeros(3))


def test_one_step_is_the_definition_and_its_gradients_central_differences():
    net = _fc()
    x, t = _data()
    params = _random_gamma_beta(net_mod.init(net, "normal", 3))
    blocks = net_mod.iteration(net, params, x, t)
    assert blocks["C_T"] == pytest.approx(_fc_cost_by_hand(params, x, t), rel=1e-13)
    zhat, mu, var = _normalise(x @ params["W2"].T, (0,))
    np.testing.assert_allclose(blocks["mu2"], mu.ravel(), rtol=1e-13)
    np.testing.assert_allclose(blocks["var2"], var.ravel(), rtol=1e-13)
    np.testing.assert_allclose(blocks["zhat2"], zhat, rtol=1e-12, atol=1e-14)
    assert_gradients_match(lambda p: _fc_cost_by_hand(p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    # the errors written out: δ² = ∂C/∂ẑ/√(var + ε) + ∂C/∂var·2(z − μ)/m + ∂C/∂μ/m
    m = len(x)
    root = np.sqrt(blocks["var2"] + EPS)
    np.testing.assert_allclose(blocks["dC_dzhat2"], blocks["dC_dy2"] * params["bn_gamma2"])
    want = (blocks["dC_dzhat2"] / root + blocks["dC_dvar2"] * 2 * blocks["zc2"] / m
            + blocks["dC_dmu2"] / m)
    np.testing.assert_allclose(blocks["delta2"], want, rtol=1e-12, atol=1e-16)
    # the batch's errors sum to 0 over the images: why a bias before batch norm learns nothing
    np.testing.assert_allclose(blocks["delta2"].sum(axis=0), 0, atol=1e-15)


def test_a_mini_batch_normalises_over_its_own_images():
    net = _fc()
    x, t = _data(10)
    params = _random_gamma_beta(net_mod.init(net, "normal", 4))
    mask = np.zeros(10)
    rows = [1, 2, 5, 7, 8]
    mask[rows] = 1
    blocks = net_mod.iteration(net, params, x, t, mask)
    np.testing.assert_allclose(blocks["mu2"], (x[rows] @ params["W2"].T).mean(axis=0),
                               rtol=1e-13)
    assert_gradients_match(lambda p: _fc_cost_by_hand(p, x, t, rows), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    trained = net_mod.iteration(net, params, x, t, mask, detail=False)  # training's path
    for name in params:
        np.testing.assert_allclose(trained[f"dCT_d{name}"], blocks[f"dCT_d{name}"], rtol=1e-12,
                                   atol=1e-15)


def _cnn_cost_by_hand(p, x, t):
    """The book's CNN with batch norm on its 3 feature maps (per filter over images and
    positions), sigmoid, 2×2 max pooling, sigmoid outputs, ½Σ(a − t)²."""
    img = x.reshape(-1, 6, 6)
    z = np.zeros((len(x), 3, 4, 4))
    for k in range(3):
        for i in range(4):
            for j in range(4):
                z[:, k, i, j] = np.sum(img[:, i:i + 3, j:j + 3] * p["F"][k], axis=(1, 2))
    zhat, _, _ = _normalise(z, (0, 2, 3))
    a = _sigmoid(p["bn_gammaF"][:, None, None] * zhat + p["bn_betaF"][:, None, None])
    pooled = a.reshape(len(x), 3, 2, 2, 2, 2).max(axis=(3, 5))
    out = _sigmoid(pooled.reshape(len(x), -1) @ p["WO"].reshape(3, -1).T + p["bO"])
    return 0.5 * np.sum((out - t) ** 2)


def test_a_convolution_normalises_each_filter_over_images_and_positions():
    net = net_mod.build(parse("conv 3 3x3, batchnorm, sigmoid, maxpool 2, dense 3"),
                        Shape.image(6, 6), net_mod.BOOK_OUTPUT, 3)
    assert "bF" not in net.param_shapes()
    x, t = _data(5, pixels=36, classes=3)
    params = _random_gamma_beta(net_mod.init(net, "normal", 2))
    blocks = net_mod.iteration(net, params, x, t)
    assert blocks["C_T"] == pytest.approx(_cnn_cost_by_hand(params, x, t), rel=1e-13)
    assert blocks["muF"].shape == (3,) and blocks["zhatF"].shape == (5, 3, 4, 4)
    assert_gradients_match(lambda p: _cnn_cost_by_hand(p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


def test_the_running_averages_follow_torchs_rule_and_evaluation_uses_them():
    net = _fc()
    x, t = _data()
    params = net_mod.init(net, "normal", 3)
    trace = descent.train_net(net, params, x, t, 0.5, 2)
    mean, var = np.zeros(3), np.ones(3)
    for k in range(3):
        blocks = trace.iterations[k]
        mean = 0.9 * mean + 0.1 * blocks["mu2"]
        var = 0.9 * var + 0.1 * blocks["var2"] * 8 / 7  # unbiased over the batch of 8
        np.testing.assert_allclose(blocks["rmean2"], mean, rtol=1e-14)
        np.testing.assert_allclose(blocks["rvar2"], var, rtol=1e-14)
    last = trace.iterations[-1]
    p = {name: last[name] for name in params}
    z, _, _ = net_mod.forward(net, {**p, "rmean2": mean, "rvar2": var}, x, show=False)
    zhat = (x @ p["W2"].T - mean) / np.sqrt(var + EPS)
    a2 = _sigmoid(p["bn_gamma2"] * zhat + p["bn_beta2"])
    np.testing.assert_allclose(z, a2 @ p["W3"].T + p["b3"], rtol=1e-13)


def test_init_may_leave_gamma_and_beta_out_but_not_give_the_bias_batch_norm_removes(tmp_path):
    book = json.loads(BOOK_INIT.read_text())
    with pytest.raises(SheetnetError, match="leave b2 out"):
        sheetnet.train("mlp", batch_norm=True, init=book, iterations=1)
    del book["b2"]
    run = sheetnet.train("mlp", batch_norm=True, init=book, iterations=1).run
    np.testing.assert_array_equal(run.params["bn_gamma2"], np.ones(3))
    given = {**book, "bn_gamma2": [2.0, 1.0, 0.5]}
    run = sheetnet.train("mlp", batch_norm=True, init=given, iterations=1).run
    np.testing.assert_array_equal(run.params["bn_gamma2"], [2.0, 1.0, 0.5])


@pytest.mark.parametrize("arch, why", [
    ("batchnorm, dense 2", "comes first"),
    ("dense 3, sigmoid, batchnorm, dense 2", "follows sigmoid"),
])
def test_a_misplaced_batchnorm_is_one_line(arch, why):
    with pytest.raises(SheetnetError, match=why):
        _fc(arch)


def test_a_batch_of_one_image_is_refused():
    with pytest.raises(SheetnetError, match="at least 2 values"):
        sheetnet.train("mlp", batch_norm=True, batch_size=1, iterations=1)
    # 64 = 21·3 + 1: the last batch of each epoch holds one image
    with pytest.raises(SheetnetError, match="leave a last batch of 1 each epoch; use a"
                                            " --batch-size that does not, e.g. 2, 4"):
        sheetnet.train("mlp", batch_norm=True, batch_size=3, iterations=30)


@pytest.mark.parametrize("flag", [{"batch_norm": True}, {"dropout": 0.5}])
def test_a_net_without_hidden_layers_refuses_what_acts_on_them(flag):
    with pytest.raises(SheetnetError, match="has none; add one"):
        sheetnet.train("mlp", layers="12,2", iterations=1, **flag)


# --- against PyTorch ----------------------------------------------------------------------


def test_the_book_net_with_batch_norm_follows_torch_batchnorm1d():
    torch = pytest.importorskip("torch")
    book = json.loads(BOOK_INIT.read_text())
    del book["b2"]
    for batch_size in (None, 16):
        result = sheetnet.train("mlp", batch_norm=True, init=book, iterations=30,
                                batch_size=batch_size, optimizer="adam", eta=0.05)
        run = result.run
        p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
             for k, v in run.params.items()}
        bn = torch.nn.BatchNorm1d(3, dtype=torch.float64)
        with torch.no_grad():
            bn.weight.copy_(p["bn_gamma2"])
            bn.bias.copy_(p["bn_beta2"])
        params = [p["W2"], bn.weight, bn.bias, p["W3"], p["b3"]]
        opt = torch.optim.Adam(params, lr=0.05)
        x = torch.tensor(run.data.x)
        t = torch.tensor(run.data.targets)
        costs = []
        for k in range(31):
            rows = (slice(None) if run.batches is None
                    else torch.tensor(np.flatnonzero(run.batches[k])))
            a3 = torch.sigmoid(torch.sigmoid(bn(x[rows] @ p["W2"].T)) @ p["W3"].T + p["b3"])
            cost = 0.5 * ((a3 - t[rows]) ** 2).sum()
            opt.zero_grad()
            cost.backward()
            opt.step()
            costs.append(cost.item())
        got = result.trace.series("C_batch" if batch_size else "C_T")
        np.testing.assert_allclose(got, costs, rtol=0, atol=1e-9)
        last = result.trace.iterations[-1]
        np.testing.assert_allclose(last["rmean2"], bn.running_mean.numpy(), atol=1e-9)
        np.testing.assert_allclose(last["rvar2"], bn.running_var.numpy(), atol=1e-9)


def test_the_cnn_with_batch_norm_follows_torch_batchnorm2d():
    torch = pytest.importorskip("torch")
    result = sheetnet.train("cnn", batch_norm=True, iterations=20)
    run = result.run
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in run.params.items()}
    bn = torch.nn.BatchNorm2d(3, dtype=torch.float64)
    params = [p["F"], bn.weight, bn.bias, p["WO"], p["bO"]]
    x = torch.tensor(run.data.x).reshape(-1, 1, 6, 6)
    t = torch.tensor(run.data.targets)
    costs = []
    for _ in range(21):
        z = torch.nn.functional.conv2d(x, p["F"].unsqueeze(1))
        pooled = torch.nn.functional.max_pool2d(torch.sigmoid(bn(z)), 2)
        out = torch.sigmoid(pooled.reshape(len(x), -1) @ p["WO"].reshape(3, -1).T + p["bO"])
        cost = 0.5 * ((out - t) ** 2).sum()
        for q in params:
            q.grad = None
        cost.backward()
        with torch.no_grad():
            for q in params:
                q -= run.eta * q.grad
        costs.append(cost.item())
    np.testing.assert_allclose(result.trace.cost, costs, rtol=0, atol=1e-9)
    np.testing.assert_allclose(result.trace.iterations[-1]["rvarF"], bn.running_var.numpy(),
                               atol=1e-9)
