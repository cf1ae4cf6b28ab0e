"""The character RNN and LSTM (issue 20) and GRU (issue 31), recurrent layers of a stack since
issue 27: the windows, the gradients against central differences of costs written here step by
step from the definitions, and (when torch is installed) whole training runs against PyTorch,
gradient descent and Adam."""

import numpy as np
import pytest

import sheetnet
from sheetnet import layers
from sheetnet.core import net as net_mod
from sheetnet.core.text import DEFAULT_TEXT, Text, TextData, sample
from sheetnet.errors import SheetnetError
from sheetnet.pairs.outputs import output_layer
from tests.conftest import assert_gradients_match


class rnn:  # noqa: N801 - the old module's names, over the stack
    Text = Text
    DEFAULT_TEXT = DEFAULT_TEXT


def _net(text, arch):
    ds = TextData.of(text)
    stack = layers.stack.ended(layers.parse(arch), ds.outputs)
    return ds, net_mod.build(stack, ds.input_shape(), output_layer("softmax", "cross-entropy"),
                             ds.outputs)


def _iteration(text, arch, params, mask=None):
    ds, net = _net(text, arch)
    return net_mod.iteration(net, params, ds.x, ds.targets, mask)


def _init(text, arch, seed):
    return net_mod.init(_net(text, arch)[1], "uniform", seed)


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
    params = _init(text, "rnn 4", seed=2)
    params = {k: v + 0.1 * np.random.default_rng(1).standard_normal(v.shape)
              for k, v in params.items()}  # biases not 0 either
    blocks = _iteration(text, "rnn 4", params)
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
    params = _init(text, "rnn 6", seed=0)
    mask = np.zeros(text.windows)
    mask[[1, 4, 7]] = 1
    blocks = _iteration(text, "rnn 6", params, mask)
    assert_gradients_match(lambda p: _cost_by_hand(p, x[[1, 4, 7]], t[[1, 4, 7]]), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


@pytest.mark.parametrize("optimizer, eta", [("gd", 0.02), ("adam", 0.03)])
def test_the_rnn_follows_torch_autograd(optimizer, eta):
    torch = pytest.importorskip("torch")
    result = sheetnet.train("rnn", optimizer=optimizer, eta=eta, iterations=30, hidden=8)
    run = result.run
    x, t = (torch.tensor(a) for a in run.data.text.one_hot())
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
    params = {k: last[k] for k in result.run.params}
    # the text goes on ", " both times it says "twinkle"
    assert sample(result.run.model.layers, params, result.run.data.text, "twinkle",
                  2) == "twinkle, "


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
    params = _init(text, "lstm 3", seed=4)
    assert params["W"].shape == (12, len(text.vocab)) and params["U"].shape == (12, 3)
    params = {k: v + 0.2 * np.random.default_rng(3).standard_normal(v.shape)
              for k, v in params.items()}
    blocks = _iteration(text, "lstm 3", params)
    assert blocks["C_T"] == pytest.approx(_lstm_cost_by_hand(params, x, t), rel=1e-13)
    assert_gradients_match(lambda p: _lstm_cost_by_hand(p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


def test_the_lstm_follows_torch_nn_lstm():
    torch = pytest.importorskip("torch")
    result = sheetnet.train("lstm", optimizer="adam", eta=0.05, iterations=30, hidden=6)
    run = result.run
    x, t = (torch.tensor(a) for a in run.data.text.one_hot())
    lstm = torch.nn.LSTM(x.shape[2], 6, batch_first=True, dtype=torch.float64)
    why = torch.tensor(run.params["Why"], requires_grad=True)
    by = torch.tensor(run.params["by"], requires_grad=True)
    with torch.no_grad():
        lstm.weight_ih_l0.copy_(torch.tensor(run.params["W"]))
        lstm.weight_hh_l0.copy_(torch.tensor(run.params["U"]))
        lstm.bias_ih_l0.copy_(torch.tensor(run.params["b"]))
        lstm.bias_hh_l0.zero_()
    params = [lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, why, by]
    costs = _torch_costs(torch, lstm, x, t, why, by, torch.optim.Adam(params, lr=0.05))
    np.testing.assert_allclose(result.trace.cost, costs, rtol=0, atol=1e-9)


def _torch_costs(torch, cell, x, t, why, by, step, iterations=30):
    """A torch recurrent module under a softmax layer, trained by ``step``: C_T before each
    step and after the last."""
    costs = []
    for _ in range(iterations + 1):
        h, _ = cell(x)
        cost = -(t * torch.log_softmax(h @ why.T + by, 2)).sum()
        step.zero_grad()
        cost.backward()
        step.step()
        costs.append(cost.item())
    return costs


# --- the GRU (issue 31) -----------------------------------------------------------------------


def _gru_by_hand(p, seq):
    """torch.nn.GRU's definition, one step at a time: r = σ(W_r x + b_r + U_r h + bU_r), z
    likewise, n = tanh(W_n x + b_n + r·(U_n h + bU_n)), h' = (1 − z)·n + z·h."""
    hidden = p["b"].shape[0] // 3
    h, out = np.zeros(hidden), []
    for xs in seq:
        gx, gh = p["W"] @ xs + p["b"], p["U"] @ h + p["bU"]
        r = _sigmoid(gx[:hidden] + gh[:hidden])
        z = _sigmoid(gx[hidden:2 * hidden] + gh[hidden:2 * hidden])
        n = np.tanh(gx[2 * hidden:] + r * gh[2 * hidden:])
        h = (1 - z) * n + z * h
        out.append(h)
    return out


def test_the_gru_gradients_are_central_differences_of_its_cost():
    text = rnn.Text("hello, hello world", 5)
    x, t = text.one_hot()
    params = _init(text, "gru 3", seed=4)
    assert params["W"].shape == (9, len(text.vocab)) and params["U"].shape == (9, 3)
    assert list(params) == ["W", "U", "b", "bU", "Why", "by"]
    params = {k: v + 0.3 * np.random.default_rng(3).standard_normal(v.shape)
              for k, v in params.items()}  # biases on both sides, not 0
    blocks = _iteration(text, "gru 3", params)
    cells = [("gru", "")]
    assert blocks["C_T"] == pytest.approx(_stack_cost_by_hand(params, x, t, cells), rel=1e-13)
    assert_gradients_match(lambda p: _stack_cost_by_hand(p, x, t, cells), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    # the state's error goes back through U and, directly, through the update gate z
    z = blocks["gates"][:, :, 3:6]
    through_u = blocks["dzh"] @ params["U"]
    np.testing.assert_allclose(blocks["dhprev"], through_u + blocks["dh"] * z, atol=1e-15)


@pytest.mark.parametrize("optimizer, eta", [("gd", 0.02), ("adam", 0.02)])
def test_the_gru_follows_torch_nn_gru(optimizer, eta):
    """torch.nn.GRU itself, from the same parameters: its states at the start, then 30 steps
    of training, every cost within 1e-9."""
    torch = pytest.importorskip("torch")
    init = sheetnet.train("gru", iterations=1, hidden=5).run.params  # its initial ones
    init = {k: v + (0.1 * np.random.default_rng(8).standard_normal(v.shape) if k == "bU" else 0)
            for k, v in init.items()}  # bias_hh not 0, as torch draws it
    result = sheetnet.train("gru", optimizer=optimizer, eta=eta, iterations=30, hidden=5,
                            init={k: v.tolist() for k, v in init.items()})
    run = result.run
    x, t = (torch.tensor(a) for a in run.data.text.one_hot())
    gru = torch.nn.GRU(x.shape[2], 5, batch_first=True, dtype=torch.float64)
    why = torch.tensor(init["Why"], requires_grad=True)
    by = torch.tensor(init["by"], requires_grad=True)
    with torch.no_grad():
        for name, key in (("weight_ih_l0", "W"), ("weight_hh_l0", "U"), ("bias_ih_l0", "b"),
                          ("bias_hh_l0", "bU")):
            getattr(gru, name).copy_(torch.tensor(init[key]))
        np.testing.assert_allclose(gru(x)[0].numpy(), result.trace.iterations[0]["h"],
                                   rtol=0, atol=1e-14)
    params = [gru.weight_ih_l0, gru.weight_hh_l0, gru.bias_ih_l0, gru.bias_hh_l0, why, by]
    step = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(params, lr=eta)
    costs = _torch_costs(torch, gru, x, t, why, by, step)
    np.testing.assert_allclose(result.trace.cost, costs, rtol=0, atol=1e-9)
    assert costs[-1] < 0.8 * costs[0]  # it learns: not a comparison of two stuck runs


def test_the_last_steps_error_alone_is_sent_back_through_w_hh():
    """‖∂C_last/∂hₜ‖: the last step's ∂C/∂h, carried back by hand: ∂/∂hₜ = W_hhᵀ(∂/∂hₜ₊₁ ⊙
    (1 − hₜ₊₁²))."""
    text = rnn.Text(rnn.DEFAULT_TEXT, 12)
    x, t = text.one_hot()
    params = _init(text, "rnn 5", seed=1)
    blocks = _iteration(text, "rnn 5", params)
    carried = blocks["dh_out"][:, -1]
    for step in reversed(range(12)):
        np.testing.assert_allclose(blocks["last_dh"][:, step], carried, atol=1e-15)
        carried = (carried * (1 - blocks["h"][:, step] ** 2)) @ params["Whh"]
    norms = np.sqrt(np.sum(blocks["last_dh"] ** 2, axis=2)).mean(axis=0)
    np.testing.assert_allclose(blocks["last_norm_mean"], norms, rtol=1e-14)
    assert norms[0] < norms[-1] / 100  # small initial weights: it fades going back


# --- recurrent layers in a stack (issue 27) ---------------------------------------------------


def _elman_by_hand(p, seq):
    h, out = np.zeros(p["bh"].shape[0]), []
    for xs in seq:
        h = np.tanh(p["Wxh"] @ xs + p["Whh"] @ h + p["bh"])
        out.append(h)
    return out


def _lstm_by_hand(p, seq):
    hidden = p["b"].shape[0] // 4
    h, c, out = np.zeros(hidden), np.zeros(hidden), []
    for xs in seq:
        z = p["W"] @ xs + p["U"] @ h + p["b"]
        i, f = _sigmoid(z[:hidden]), _sigmoid(z[hidden:2 * hidden])
        g, o = np.tanh(z[2 * hidden:3 * hidden]), _sigmoid(z[3 * hidden:])
        c = f * c + i * g
        h = o * np.tanh(c)
        out.append(h)
    return out


def _stack_cost_by_hand(p, x, t, cells):
    """Each window through the recurrent layers in turn (``cells``: each layer's kind and tag),
    then each step's softmax cost."""
    total = 0.0
    for w in range(x.shape[0]):
        seq = list(x[w])
        for kind, tag in cells:
            own = {k[:len(k) - len(tag)]: v for k, v in p.items() if k.endswith(tag)
                   and k[:len(k) - len(tag)] in ("Wxh", "Whh", "bh", "W", "U", "b", "bU")}
            seq = {"rnn": _elman_by_hand, "lstm": _lstm_by_hand, "gru": _gru_by_hand}[kind](
                own, seq)
        total += sum(_step_cost(p, h, target) for h, target in zip(seq, t[w], strict=True))
    return total


@pytest.mark.parametrize("arch, cells", [
    ("lstm 3, lstm 2", [("lstm", "1"), ("lstm", "2")]),
    ("rnn 4, lstm 2", [("rnn", "1"), ("lstm", "2")]),
    ("gru 3, lstm 2", [("gru", "1"), ("lstm", "2")]),
])
def test_stacked_recurrent_layers_are_central_differences_of_their_cost(arch, cells):
    text = Text("hello, hello world", 4)
    x, t = text.one_hot()
    params = _init(text, arch, seed=5)
    params = {k: v + 0.2 * np.random.default_rng(6).standard_normal(v.shape)
              for k, v in params.items()}
    blocks = _iteration(text, arch, params)
    assert blocks["C_T"] == pytest.approx(_stack_cost_by_hand(params, x, t, cells), rel=1e-13)
    assert_gradients_match(lambda p: _stack_cost_by_hand(p, x, t, cells), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    # the upper layer's ∂C/∂x is the lower one's error from above, at every step
    first = int(arch.split(",")[0].split()[1])
    assert blocks["dh_out1"].shape == blocks["h1"].shape == (text.windows, 4, first)


def test_the_only_recurrent_layer_keeps_the_character_rnns_names():
    _, net = _net(Text(DEFAULT_TEXT, 10), "rnn 8, dropout 0.2")
    assert list(net.param_shapes()) == ["Wxh", "Whh", "bh", "Why", "by"]
    assert net.arch == "rnn 8, dropout 0.2, dense 24"
    assert {"h", "drop", "mask", "o", "a", "dC_do", "dh_out"} <= {
        b.name for b in (*net.forward_blocks(), *net.output.blocks(), *net.backward_blocks())}
    _, net = _net(Text(DEFAULT_TEXT, 10), "rnn 8, tanh")  # its a would be the output's
    assert list(net.param_shapes())[:3] == ["Wxh1", "Whh1", "bh1"]


@pytest.mark.parametrize("arch, message", [
    ("conv 2 3x3, rnn 4", "does not read a sequence"),
    ("rnn 4, batchnorm", "does not read a sequence"),
    ("rnn", "needs its units"),
    ("lstm 0", "at least 1 unit"),
])
def test_a_stack_that_cannot_read_a_text_is_one_line(arch, message):
    with pytest.raises(SheetnetError, match=message):
        sheetnet.train("rnn", arch=arch, iterations=1)


def test_a_recurrent_layer_needs_a_sequence():
    with pytest.raises(SheetnetError, match="reads a sequence"):
        sheetnet.train("mlp", arch="rnn 4, dense 2", iterations=1)
