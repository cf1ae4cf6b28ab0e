"""The character RNN and LSTM (issue 20): the windows, the gradients against central
differences of costs written here step by step from the definitions, and (when torch is
installed) whole training runs against PyTorch, gradient descent and Adam."""

import numpy as np
import pytest

import sheetnet
from sheetnet.core import rnn
from sheetnet.errors import SheetnetError
from sheetnet.layers.lstm import LSTM_CELL
from sheetnet.layers.recurrent import ELMAN
from tests.conftest import assert_gradients_match


def test_windows_are_t_plus_one_characters_with_stride_t():
    text = rnn.Text("abcabca", 3)
    assert text.vocab == ("a", "b", "c") and text.windows == 2 and text.used == "abcabca"
    x, t = text.one_hot()
    assert x.shape == t.shape == (2, 3, 3)
    assert "".join("abc"[i] for i in x[1].argmax(axis=1)) == "abc"  # characters 3, 4, 5
    assert "".join("abc"[i] for i in t[1].argmax(axis=1)) == "bca"  # characters 4, 5, 6
    assert rnn.Text("abcab", 3).used == "abca"  # a tail that fills no window is left out


def _cost_by_hand(p, x, t):
    """Σ over windows and steps of −Σ t·ln softmax(W_hy·hₜ + b_y), hₜ = tanh(W_xh·xₜ +
    W_hh·hₜ₋₁ + b_h), h₀ = 0, one window and one step at a time."""
    total = 0.0
    for w in range(x.shape[0]):
        h = np.zeros(p["bh"].shape[0])
        for s in range(x.shape[1]):
            h = np.tanh(p["Wxh"] @ x[w, s] + p["Whh"] @ h + p["bh"])
            total += _step_cost(p, h, t[w, s])
    return total


def _step_cost(p, h, target):
    """Cₜ = −Σ t·ln softmax(W_hy·hₜ + b_y)."""
    o = p["Why"] @ h + p["by"]
    return -(target @ (o - o.max() - np.log(np.sum(np.exp(o - o.max())))))


def test_the_gradients_are_central_differences_of_the_cost_through_time():
    text = rnn.Text("hello, hello world", 5)
    x, t = text.one_hot()
    params = rnn.init(ELMAN, len(text.vocab), 4, seed=2)
    params = {k: v + 0.1 * np.random.default_rng(1).standard_normal(v.shape)
              for k, v in params.items()}  # biases not 0 either
    blocks = rnn.iteration(params, x, t)
    assert blocks["C_T"] == pytest.approx(_cost_by_hand(params, x, t), rel=1e-13)
    assert_gradients_match(lambda p: _cost_by_hand(p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    # each window's own gradients add up to the total, and ∂C/∂hₜ adds what t + 1 sends back
    np.testing.assert_allclose(blocks["dC_dWhh"].sum(axis=0), blocks["dCT_dWhh"], atol=1e-14)
    np.testing.assert_allclose(blocks["dh"][:, :-1], blocks["dh_out"][:, :-1]
                               + blocks["dhprev"][:, 1:], atol=1e-15)
    np.testing.assert_array_equal(blocks["dh"][:, -1], blocks["dh_out"][:, -1])


def test_a_batch_of_windows_sums_its_own_gradients():
    text = rnn.Text(rnn.DEFAULT_TEXT, 10)
    x, t = text.one_hot()
    params = rnn.init(ELMAN, len(text.vocab), 6, seed=0)
    mask = np.zeros(text.windows)
    mask[[1, 4, 7]] = 1
    blocks = rnn.iteration(params, x, t, mask)
    assert_gradients_match(lambda p: _cost_by_hand(p, x[[1, 4, 7]], t[[1, 4, 7]]), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


@pytest.mark.parametrize("optimizer, eta", [("gd", 0.02), ("adam", 0.03)])
def test_the_rnn_follows_torch_autograd(optimizer, eta):
    torch = pytest.importorskip("torch")
    result = sheetnet.train("rnn", optimizer=optimizer, eta=eta, iterations=30, hidden=8)
    run = result.run
    x, t = (torch.tensor(a) for a in run.model.one_hot())
    p = {k: torch.tensor(v, requires_grad=True) for k, v in run.params.items()}
    step = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(list(p.values()),
                                                                         lr=eta)
    costs = []
    for _ in range(31):
        h = torch.zeros(x.shape[0], 8, dtype=torch.float64)
        cost = 0
        for s in range(x.shape[1]):
            h = torch.tanh(x[:, s] @ p["Wxh"].T + h @ p["Whh"].T + p["bh"])
            cost = cost - (t[:, s] * torch.log_softmax(h @ p["Why"].T + p["by"], 1)).sum()
        step.zero_grad()
        cost.backward()
        step.step()
        costs.append(cost.item())
    np.testing.assert_allclose(result.trace.cost, costs, rtol=0, atol=1e-9)


def test_it_learns_its_text():
    result = sheetnet.train("rnn", optimizer="adam", eta=0.05, iterations=150)
    last = result.trace.iterations[-1]
    assert result.trace.cost[-1] < result.trace.cost[0] / 10
    assert float(last["accuracy"]) > 0.9
    params = {k: last[k] for k in rnn.params_of(ELMAN)}
    # the text goes on ", " both times it says "twinkle"
    assert rnn.sample(params, result.run.model, "twinkle", 2) == "twinkle, "


def test_init_takes_the_keys_torch_names_and_shapes(tmp_path):
    run = sheetnet.train("rnn", iterations=1).run
    given = {k: v.tolist() for k, v in run.params.items()}
    again = sheetnet.train("rnn", init=given, iterations=1).run
    for k in run.params:
        np.testing.assert_array_equal(again.params[k], run.params[k])
    with pytest.raises(SheetnetError, match="missing Whh"):
        sheetnet.train("rnn", init={k: v for k, v in given.items() if k != "Whh"})


@pytest.mark.parametrize("options, message", [
    ({"seq_length": 0}, "at least 1"),
    ({"seq_length": 500}, "needs 501"),
    ({"hidden": 0}, "at least 1"),
])
def test_sizes_that_make_no_window_are_one_line(options, message):
    with pytest.raises(SheetnetError, match=message):
        sheetnet.train("rnn", iterations=1, **options)


def test_a_text_of_one_character_is_refused(tmp_path):
    path = tmp_path / "a.txt"
    path.write_text("aaaaaaaaaaaaaaaaaaaa")
    with pytest.raises(SheetnetError, match="2 different characters"):
        sheetnet.train("rnn", text=path, iterations=1)


# --- the LSTM -------------------------------------------------------------------------------


def _sigmoid(z):
    return 1 / (1 + np.exp(-z))


def _lstm_cost_by_hand(p, x, t):
    """The same cost through an LSTM: gates i, f, g, o from W·xₜ + U·hₜ₋₁ + b in that order,
    cₜ = f·cₜ₋₁ + i·g, hₜ = o·tanh cₜ."""
    total = 0.0
    hidden = p["b"].shape[0] // 4
    for w in range(x.shape[0]):
        h = np.zeros(hidden)
        c = np.zeros(hidden)
        for s in range(x.shape[1]):
            z = p["W"] @ x[w, s] + p["U"] @ h + p["b"]
            i, f = _sigmoid(z[:hidden]), _sigmoid(z[hidden:2 * hidden])
            g, o = np.tanh(z[2 * hidden:3 * hidden]), _sigmoid(z[3 * hidden:])
            c = f * c + i * g
            h = o * np.tanh(c)
            total += _step_cost(p, h, t[w, s])
    return total


def test_the_lstm_gradients_are_central_differences_of_its_cost():
    text = rnn.Text("hello, hello world", 5)
    x, t = text.one_hot()
    params = rnn.init(LSTM_CELL, len(text.vocab), 3, seed=4)
    assert params["W"].shape == (12, len(text.vocab)) and params["U"].shape == (12, 3)
    params = {k: v + 0.2 * np.random.default_rng(3).standard_normal(v.shape)
              for k, v in params.items()}
    blocks = rnn.iteration(params, x, t, kind=LSTM_CELL)
    assert blocks["C_T"] == pytest.approx(_lstm_cost_by_hand(params, x, t), rel=1e-13)
    assert_gradients_match(lambda p: _lstm_cost_by_hand(p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


def test_the_lstm_follows_torch_nn_lstm():
    torch = pytest.importorskip("torch")
    result = sheetnet.train("lstm", optimizer="adam", eta=0.05, iterations=30, hidden=6)
    run = result.run
    x, t = (torch.tensor(a) for a in run.model.one_hot())
    lstm = torch.nn.LSTM(x.shape[2], 6, batch_first=True, dtype=torch.float64)
    why = torch.tensor(run.params["Why"], requires_grad=True)
    by = torch.tensor(run.params["by"], requires_grad=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(run.params["W"]))
        lstm.weight_hh_l0.copy_(torch.tensor(run.params["U"]))
        lstm.bias_ih_l0.copy_(torch.tensor(run.params["b"]))
        lstm.bias_hh_l0.zero_()
    params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, why, by]
    step = torch.optim.Adam(params, lr=0.05)
    costs = []
    for _ in range(31):
        h, _ = lstm(x)
        cost = -(t * torch.log_softmax(h @ why.T + by, 2)).sum()
        step.zero_grad()
        cost.backward()
        step.step()
        costs.append(cost.item())
    np.testing.assert_allclose(result.trace.cost, costs, rtol=0, atol=1e-9)


def test_the_last_steps_error_alone_is_sent_back_through_w_hh():
    """‖∂C_last/∂hₜ‖: the last step's ∂C/∂h, carried back by hand: ∂/∂hₜ = W_hhᵀ(∂/∂hₜ₊₁ ⊙
    (1 − hₜ₊₁²))."""
    text = rnn.Text(rnn.DEFAULT_TEXT, 12)
    x, t = text.one_hot()
    params = rnn.init(ELMAN, len(text.vocab), 5, seed=1)
    blocks = rnn.iteration(params, x, t)
    carried = blocks["dh_out"][:, -1]
    for step in reversed(range(12)):
        np.testing.assert_allclose(blocks["last_dh"][:, step], carried, atol=1e-15)
        carried = (carried * (1 - blocks["h"][:, step] ** 2)) @ params["Whh"]
    norms = np.sqrt(np.sum(blocks["last_dh"] ** 2, axis=2)).mean(axis=0)
    np.testing.assert_allclose(blocks["last_norm_mean"], norms, rtol=1e-14)
    assert norms[0] < norms[-1] / 100  # small initial weights: it fades going back
