"""The character RNN (issue 20): its windows, its gradients against central differences of a
cost written here step by step from the definition, and (when torch is installed) its whole
training run against PyTorch autograd, gradient descent and Adam."""

import numpy as np
import pytest

import sheetnet
from sheetnet.core import rnn
from sheetnet.errors import SheetnetError
from sheetnet.pairs.optim import rule
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
            o = p["Why"] @ h + p["by"]
            log_a = o - o.max() - np.log(np.sum(np.exp(o - o.max())))
            total -= t[w, s] @ log_a
    return total


def test_the_gradients_are_central_differences_of_the_cost_through_time():
    text = rnn.Text("hello, hello world", 5)
    x, t = text.one_hot()
    params = rnn.init(len(text.vocab), 4, seed=2)
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
    params = rnn.init(len(text.vocab), 6, seed=0)
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
    params = {k: last[k] for k in rnn.PARAMS}
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


def test_gd_and_adam_rules_are_the_ones_named():
    assert rule("adam").name == "adam"
