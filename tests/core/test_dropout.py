"""Dropout (issue 19): inverted dropout with masks that are the run's inputs. The core is checked
against a forward pass written here from the definition, its gradients against central
differences of that masked cost, and (when torch is installed) against PyTorch given the same
masks; the masks are drawn from the seed, per step, image and unit, whatever the chunking."""

import numpy as np
import pytest

import sheetnet
from sheetnet.core import descent
from sheetnet.core import net as net_mod
from sheetnet.layers import parse
from sheetnet.layers.base import Shape
from sheetnet.pairs import ops
from tests.conftest import assert_gradients_match, assert_same_run

RATE = 0.4


def _book_net(arch: str = f"dense 3, sigmoid, dropout {RATE}, dense 2"):
    return net_mod.build(parse(arch), Shape.units(12), net_mod.BOOK_OUTPUT, 2)


def _data(n: int = 6, seed: int = 0):
    rng = np.random.default_rng(seed)
    x = rng.random((n, 12))
    t = np.eye(2)[rng.integers(0, 2, n)]
    return x, t


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _cost_by_hand(p, x, t, m):
    """½Σ(a³ − t)² of the book's net, its hidden outputs kept by m and scaled by 1/(1 − P)."""
    a2 = _sigmoid(x @ p["W2"].T + p["b2"])
    kept = a2 * m / (1 - RATE)
    a3 = _sigmoid(kept @ p["W3"].T + p["b3"])
    return 0.5 * np.sum((a3 - t) ** 2)


def test_one_step_is_the_definition_and_its_gradient_central_differences():
    net = _book_net()
    x, t = _data()
    params = net_mod.init(net, "normal", 3)
    m = ops.draw_mask(RATE, (6, 3), seed=5, k=0, layer=0)
    assert 0 < m.sum() < m.size  # some kept, some dropped
    blocks = net_mod.iteration(net, params, x, t, inputs={"mask2": m})
    assert blocks["C_T"] == pytest.approx(_cost_by_hand(params, x, t, m), rel=1e-14)
    np.testing.assert_array_equal(blocks["mask2"], m)
    np.testing.assert_allclose(blocks["drop2"], blocks["a2"] * m / (1 - RATE), rtol=1e-15)
    assert_gradients_match(lambda p: _cost_by_hand(p, x, t, m), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    # a dropped unit passes no error back: its column of ∂C/∂W3 is 0 for that image
    dropped = np.argwhere(m == 0)[0]
    assert np.all(blocks["dC_dW3"][dropped[0], :, dropped[1]] == 0)


def test_the_masks_are_the_seeds_per_step_image_and_unit():
    run = sheetnet.train("mlp", dropout=0.5, iterations=3, seed=4).run
    first, second = run.draws(0)["mask2"], run.draws(1)["mask2"]
    assert first.shape == (64, 3) and set(np.unique(first)) == {0.0, 1.0}
    assert not np.array_equal(first, second)  # a new mask each step
    np.testing.assert_array_equal(first, ops.draw_mask(0.5, (64, 3), 4, 0, 0))
    again = sheetnet.train("mlp", dropout=0.5, iterations=3, seed=4).run
    np.testing.assert_array_equal(again.draws(2)["mask2"], run.draws(2)["mask2"])
    share = np.mean([run.draws(k)["mask2"].mean() for k in range(4)])
    assert 0.4 < share < 0.6


def test_training_in_chunks_gives_the_detailed_run():
    run = sheetnet.train("mlp", dropout=0.3, iterations=5, batch_size=16, shuffle=True)
    net, r = run.run.model, run.run
    lean = descent.train_net(net, r.params, r.data.x, r.data.targets, r.eta, r.iterations,
                         keep=["C_T"], batches=r.batches, inputs=r.draws)
    np.testing.assert_allclose(lean.cost, run.cost, rtol=1e-13)


def test_a_rate_of_zero_is_no_dropout():
    plain = sheetnet.train("mlp", iterations=5)
    zero = sheetnet.train("mlp", iterations=5, dropout=0.0)
    assert_same_run(zero.cost, plain.cost)


def test_the_same_net_in_pytorch_given_the_same_masks():
    torch = pytest.importorskip("torch")
    run = sheetnet.train("mlp", dropout=RATE, iterations=6, eta=0.5)
    r = run.run
    p = {k: torch.tensor(v, requires_grad=True) for k, v in r.params.items()}
    x = torch.tensor(r.data.x)
    t = torch.tensor(r.data.targets)
    for k in range(r.iterations + 1):
        for name in p:
            np.testing.assert_allclose(p[name].detach().numpy(), run.blocks(k)[name],
                                       rtol=1e-12, atol=1e-14, err_msg=f"{name} at {k}")
        m = torch.tensor(r.draws(k)["mask2"])
        a2 = torch.sigmoid(x @ p["W2"].T + p["b2"])
        a3 = torch.sigmoid((a2 * m / (1 - RATE)) @ p["W3"].T + p["b3"])
        cost = 0.5 * ((a3 - t) ** 2).sum()
        assert cost.item() == pytest.approx(run.cost[k], rel=1e-13)
        cost.backward()
        with torch.no_grad():
            for v in p.values():
                v -= 0.5 * v.grad
                v.grad = None


@pytest.mark.parametrize("args, message", [
    ({"dropout": 1.0}, "--dropout 1 is the share of units dropped"),
    ({"dropout": -0.1}, "--dropout -0.1 is the share"),
    ({"arch": "dense 3, relu, dropout 1, dense 2"}, "dropout 1: the dropout rate P"),
    ({"arch": "dense 3, relu, dropout, dense 2"}, "dropout needs its rate P"),
    ({"arch": "dense 3, relu, dropout 0.2, dropout 0.1, dense 2"}, "follows dropout 0.2"),
])
def test_rates_and_places_that_cannot_work_are_one_line(args, message):
    with pytest.raises(sheetnet.SheetnetError, match=message):
        sheetnet.train("mlp", **args)
    with pytest.raises(sheetnet.SheetnetError, match="--dropout is for fully connected nets"):
        sheetnet.train("cnn", dropout=0.5)
