"""Fully connected stacks (the book's 3-5 net and its kin): gradients against central
differences, a net checked by hand, the vectorized code against naive loops, and no mutation of
the caller's arrays."""

import json
import math

import numpy as np
import pytest

from sheetnet.core import data, descent
from sheetnet.core import net as fc
from sheetnet.core.params import validate_params
from sheetnet.errors import SheetnetError
from sheetnet.pairs.activations import ACTIVATIONS, SIGMOID
from sheetnet.pairs.outputs import output_layer
from tests.conftest import BOOK_INIT, assert_gradients_match


def _problem(sizes, n=7, seed=1):
    rng = np.random.default_rng(seed)
    net = fc.fully_connected(sizes)
    x = rng.random((n, sizes[0]))
    t = np.eye(sizes[-1])[rng.integers(0, sizes[-1], n)]
    return net, fc.init(net, "normal", seed), x, t


@pytest.mark.parametrize("sizes", [(4, 3, 2), (5, 4, 3, 2), (12, 3, 2)])
def test_gradients_match_central_differences(sizes):
    net, params, x, t = _problem(sizes)
    blocks = fc.iteration(net, params, x, t)
    assert_gradients_match(lambda p: fc.cost(net, p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


def test_tiny_net_by_hand():
    """A 2-1-1 net, one image, worked out with the textbook formulas in plain math."""
    net = fc.fully_connected((2, 1, 1))
    params = {"W2": np.array([[0.5, -1.0]]), "b2": np.array([0.25]),
              "W3": np.array([[2.0]]), "b3": np.array([-0.5])}
    x, t = np.array([[1.0, 0.5]]), np.array([[1.0]])
    b = fc.iteration(net, params, x, t)

    def sigma(z):
        return 1 / (1 + math.exp(-z))

    z2 = 0.5 * 1.0 - 1.0 * 0.5 + 0.25  # 0.25
    a2 = sigma(z2)
    z3 = 2.0 * a2 - 0.5
    a3 = sigma(z3)
    cost = 0.5 * (a3 - 1.0) ** 2
    d3 = (a3 - 1.0) * a3 * (1 - a3)
    d2 = 2.0 * d3 * a2 * (1 - a2)
    assert b["z2"][0, 0] == pytest.approx(z2, abs=1e-15)
    assert b["a2"][0, 0] == pytest.approx(a2, rel=1e-14)
    assert b["a3"][0, 0] == pytest.approx(a3, rel=1e-14)
    assert b["C"][0] == pytest.approx(cost, rel=1e-13)
    assert b["delta3"][0, 0] == pytest.approx(d3, rel=1e-13)
    assert b["delta2"][0, 0] == pytest.approx(d2, rel=1e-13)
    assert b["dC_dW2"][0] == pytest.approx(np.array([[d2 * 1.0, d2 * 0.5]]), rel=1e-13)
    assert b["dC_dW3"][0, 0, 0] == pytest.approx(d3 * a2, rel=1e-13)
    trace = descent.train_net(net, params, x, t, eta=0.5, iterations=1)
    assert trace.iterations[1]["W3"][0, 0] == pytest.approx(2.0 - 0.5 * d3 * a2, rel=1e-14)
    assert trace.iterations[1]["b2"][0] == pytest.approx(0.25 - 0.5 * d2, rel=1e-14)


def _naive(net, params, x, t):
    """Loops over images and units: the reference for the vectorized core."""
    sig = SIGMOID.value
    out = {f"dCT_d{k}": np.zeros_like(v) for k, v in params.items()}
    total = 0.0
    L = len(net.weights) + 1
    for img in range(len(x)):
        a = {1: list(x[img])}
        z = {}
        for l in range(2, L + 1):
            W, b = params[f"W{l}"], params[f"b{l}"]
            z[l] = [sum(W[j][i] * a[l - 1][i] for i in range(len(a[l - 1]))) + b[j]
                    for j in range(len(b))]
            a[l] = [float(sig(np.float64(v))) for v in z[l]]
        total += 0.5 * sum((a[L][j] - t[img][j]) ** 2 for j in range(len(a[L])))
        d = {L: [(a[L][j] - t[img][j]) * a[L][j] * (1 - a[L][j]) for j in range(len(a[L]))]}
        for l in range(L - 1, 1, -1):
            W = params[f"W{l + 1}"]
            d[l] = [sum(W[j][i] * d[l + 1][j] for j in range(len(d[l + 1])))
                    * a[l][i] * (1 - a[l][i]) for i in range(len(a[l]))]
        for l in range(2, L + 1):
            for j in range(len(d[l])):
                out[f"dCT_db{l}"][j] += d[l][j]
                for i in range(len(a[l - 1])):
                    out[f"dCT_dW{l}"][j, i] += d[l][j] * a[l - 1][i]
    return total, out


def test_vectorized_core_matches_naive_loops():
    net, params, x, t = _problem((6, 4, 3, 2), n=9, seed=3)
    blocks = fc.iteration(net, params, x, t)
    total, grads = _naive(net, params, x, t)
    assert float(blocks["C_T"]) == pytest.approx(total, rel=1e-12)
    for name, g in grads.items():
        np.testing.assert_allclose(blocks[name], g, rtol=1e-11, atol=1e-15)


def test_train_never_mutates_inputs():
    net, params, x, t = _problem((4, 3, 2))
    before = {k: v.copy() for k, v in params.items()}
    x0, t0 = x.copy(), t.copy()
    trace = descent.train_net(net, params, x, t, 0.2, 5)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    np.testing.assert_array_equal(x, x0)
    np.testing.assert_array_equal(t, t0)
    assert trace.cost[-1] < trace.cost[0]


def test_book_initial_weights_load_and_train():
    ds = data.builtin("digits01")
    net = fc.fully_connected((12, 3, 2))
    params = validate_params(net.param_shapes(), json.loads(BOOK_INIT.read_text()), "book")
    trace = descent.train_net(net, params, ds.x, ds.targets, 0.2, 50)
    assert trace.cost[-1] < trace.cost[0] / 10
    assert trace.accuracy[-1] == 1.0


@pytest.mark.parametrize("obj, message", [
    ({"W2": [[0.0] * 12] * 3, "b2": [0, 0, 0], "W3": [[0, 0, 0]] * 2}, "missing b3"),
    ({"W2": [[0.0] * 11] * 3, "b2": [0, 0, 0], "W3": [[0, 0, 0]] * 2, "b3": [0, 0]},
     "W2 has shape 3×11, this net needs 3×12"),
    ({"W2": [[0.0] * 12] * 3, "b2": [0, 0, 0], "W3": [[0, 0, 0]] * 2, "b3": [0, 0], "W4": 1},
     "unknown key W4"),
    ({"W2": [[0.0] * 12] * 3, "b2": [0, "x", 0], "W3": [[0, 0, 0]] * 2, "b3": [0, 0]},
     "b2 must be"),
    ([1, 2], "expected a JSON object"),
])
def test_bad_init_objects(obj, message):
    with pytest.raises(SheetnetError, match=message):
        validate_params(fc.fully_connected((12, 3, 2)).param_shapes(), obj, "init.json")


def test_overflowing_run_is_refused():
    net, params, x, t = _problem((4, 3, 2))
    params["W2"] = np.full((3, 4), 2.0)  # z² = Σ 2·1e308 overflows, as it would in a cell
    with pytest.raises(SheetnetError, match="overflows at iteration 0"):
        descent.train_net(net, params, np.full_like(x, 1e308), t, 0.2, 3)


@pytest.mark.parametrize("eta, iterations", [(float("nan"), 5), (float("inf"), 5), (0.2, 0)])
def test_bad_eta_and_iterations(eta, iterations):
    net, params, x, t = _problem((4, 3, 2))
    with pytest.raises(SheetnetError):
        descent.train_net(net, params, x, t, eta, iterations)


@pytest.mark.parametrize("eta", [0.0, -0.5])
def test_the_core_follows_a_workbooks_own_eta_of_any_sign(eta):
    """Options refuse η ≤ 0, but a learner may type one into a workbook: verify traces it."""
    net, params, x, t = _problem((4, 3, 2))
    trace = descent.train_net(net, params, x, t, eta, 3)
    first, second = trace.iterations[0], trace.iterations[1]
    np.testing.assert_allclose(second["W2"], first["W2"] - eta * first["dCT_dW2"], atol=1e-15)


@pytest.mark.parametrize("act, out, loss, biases", [
    ("tanh", "sigmoid", "half-sse", True),
    ("relu", "identity", "mse", True),
    ("sigmoid", "identity", "mse", False),
    ("relu", "tanh", "half-sse", False),
])
def test_other_activations_losses_and_no_biases_match_central_differences(act, out, loss,
                                                                            biases):
    rng = np.random.default_rng(4)
    net = fc.fully_connected((3, 5, 4, 2), ACTIVATIONS[act], output_layer(out, loss), biases)
    assert net.arch == f"dense 5{'' if biases else ' nobias'}, {act}, dense 4" \
        f"{'' if biases else ' nobias'}, {act}, dense 2{'' if biases else ' nobias'}"
    params = fc.init(net, "normal", 4)
    x, t = rng.standard_normal((6, 3)), rng.random((6, 2))
    blocks = fc.iteration(net, params, x, t)
    assert ("b2" in blocks) is biases
    assert_gradients_match(lambda p: fc.cost(net, p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


def test_xor_and_curve_defaults_converge():
    from sheetnet import presets

    xor = presets.get("xor")
    trace = xor.trace(xor.run(presets.Options()), keep=())
    assert trace.cost[-1] < 0.01 and trace.accuracy[-1] == 1.0
    curve = presets.get("curve")
    run = curve.run(presets.Options())
    assert run.model.arch == "dense 10, relu, dense 10, relu, dense 1"
    assert run.data.x.shape == (100, 1)
    trace = curve.trace(run, keep=())
    assert trace.cost[-1] < 0.01 < trace.cost[0]


def test_gradient_check_moves_one_weight_exactly_like_a_full_recomputation():
    """The Check sheet's shortcut (only the scores change) against re-running the whole net."""
    from sheetnet import presets
    from sheetnet.core import gradcheck

    preset = presets.get("twolayer")
    run = preset.run(presets.Options(iterations=1))
    net, params, x, t = run.model, run.params, run.data.x, run.data.targets
    assert net.arch == "dense 3 nobias, relu, dense 2 nobias"
    blocks = fc.iteration(net, params, x, t)
    checked = gradcheck.check(net, blocks)
    for k, (name, r, c) in enumerate(gradcheck.parameters(net)):
        for sign, key in ((1, "CT_plus"), (-1, "CT_minus")):
            moved = {n: v.copy() for n, v in params.items()}
            moved[name][r, c] += sign * gradcheck.H
            assert checked[key][k] == pytest.approx(fc.cost(net, moved, x, t), rel=1e-13)
    assert checked["rel_error"].max() < 1e-6
    np.testing.assert_allclose(checked["numeric"], checked["backprop"], rtol=1e-6, atol=1e-9)


def test_update_is_gradient_descent_step():
    net, params, x, t = _problem((4, 3, 2))
    trace = descent.train_net(net, params, x, t, 0.3, 2)
    for k in params:
        expected = trace.iterations[0][k] - 0.3 * trace.iterations[0][f"dCT_d{k}"]
        np.testing.assert_allclose(trace.iterations[1][k], expected, rtol=0, atol=0)
