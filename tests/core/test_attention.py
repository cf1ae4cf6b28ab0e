"""The one-block causal transformer (issue 31): its gradients against central differences of a
cost written here from the definitions, one window and one position at a time, and (when torch
is installed) whole training runs against PyTorch's autograd in float64, gradient descent and
Adam, with and without layer norm."""

import numpy as np
import pytest

import sheetnet
from sheetnet import layers
from sheetnet.core import net as net_mod
from sheetnet.core.text import Text, TextData
from sheetnet.errors import SheetnetError
from sheetnet.pairs.outputs import output_layer
from tests.conftest import assert_gradients_match

TEXT = Text("hello, hello world", 5)


def _net(arch):
    ds = TextData.of(TEXT)
    stack = layers.stack.ended(layers.parse(arch), ds.outputs)
    return ds, net_mod.build(stack, ds.input_shape(), output_layer("softmax", "cross-entropy"),
                             ds.outputs)


def _layer_norm(x, g, b):
    mu = x.mean()
    var = ((x - mu) ** 2).mean()
    return g * (x - mu) / np.sqrt(var + 1e-5) + b


def _cost_by_hand(p, x, t, ln):
    """xₜ = E[cₜ] + Pos[t]; one head of causal attention over positions u ≤ t, a residual sum;
    an MLP with relu and a residual sum; softmax with cross-entropy at every position."""
    total = 0.0
    d = p["Wq"].shape[0]
    for w in range(x.shape[0]):
        chars = [int(np.argmax(x[w, s])) for s in range(x.shape[1])]
        e = [p["E"][c] + p["Pos"][s] for s, c in enumerate(chars)]
        read = [_layer_norm(v, p["ln1_g"], p["ln1_b"]) if ln else v for v in e]
        q, k, v = ([p[m] @ r for r in read] for m in ("Wq", "Wk", "Wv"))
        for s in range(len(e)):
            scores = np.array([q[s] @ k[u] / np.sqrt(d) for u in range(s + 1)])
            weights = np.exp(scores - scores.max())
            weights /= weights.sum()
            y = e[s] + p["Wo"] @ sum(a * v[u] for u, a in enumerate(weights))
            inner = _layer_norm(y, p["ln2_g"], p["ln2_b"]) if ln else y
            out = y + p["W2"] @ np.maximum(0, p["W1"] @ inner + p["b1"]) + p["b2"]
            o = p["Why"] @ out + p["by"]
            total -= t[w, s] @ (o - o.max() - np.log(np.sum(np.exp(o - o.max()))))
    return total


@pytest.mark.parametrize("ln", [False, True])
def test_the_gradients_are_central_differences_of_the_cost(ln):
    arch = f"embed 4, attention{' ln' if ln else ''}, mlp 5{' ln' if ln else ''}"
    ds, net = _net(arch)
    x, t = TEXT.one_hot()
    params = net_mod.init(net, "uniform", 3)
    keys = ["E", "Pos", "Wq", "Wk", "Wv", "Wo", *(["ln1_g", "ln1_b"] if ln else []),
            "W1", "b1", "W2", "b2", *(["ln2_g", "ln2_b"] if ln else []), "Why", "by"]
    assert list(params) == keys
    rng = np.random.default_rng(4)
    params = {k: v + 0.3 * rng.standard_normal(v.shape) for k, v in params.items()}
    blocks = net_mod.iteration(net, params, ds.x, ds.targets)
    assert blocks["C_T"] == pytest.approx(_cost_by_hand(params, x, t, ln), rel=1e-13)
    assert_gradients_match(lambda p: _cost_by_hand(p, x, t, ln), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    # the mask: nothing of a later position, every column of α a distribution
    att = blocks["att"]
    assert np.all(np.triu(np.ones((5, 5)), 1)[None] * att == 0)
    np.testing.assert_allclose(att.sum(axis=-1), 1, rtol=1e-14)
    # the softmax's Jacobian: ∂C/∂s sums to 0 over each row of scores
    np.testing.assert_allclose(blocks["ds"].sum(axis=-1), 0, atol=1e-15)


def _torch_run(torch, run, optimizer, eta, ln, iterations):
    """The same net in torch, float64, from the run's initial parameters; its costs."""
    x, t = (torch.tensor(a) for a in run.data.text.one_hot())
    p = {k: torch.tensor(v, requires_grad=True) for k, v in run.params.items()}
    steps, d = x.shape[1], p["Wq"].shape[0]
    masked = torch.triu(torch.ones(steps, steps, dtype=torch.bool), 1)

    def norm(v, n):
        if not ln:
            return v
        return torch.nn.functional.layer_norm(v, (d,), p[f"ln{n}_g"], p[f"ln{n}_b"], 1e-5)

    def cost():
        e = x @ p["E"] + p["Pos"]
        read = norm(e, 1)
        q, k, v = (read @ p[m].T for m in ("Wq", "Wk", "Wv"))
        s = (q @ k.transpose(1, 2) / d ** 0.5).masked_fill(masked, float("-inf"))
        y = e + torch.softmax(s, -1) @ v @ p["Wo"].T
        hidden = torch.relu(norm(y, 2) @ p["W1"].T + p["b1"])
        out = y + hidden @ p["W2"].T + p["b2"]
        return -(t * torch.log_softmax(out @ p["Why"].T + p["by"], -1)).sum()

    step = (torch.optim.Adam if optimizer == "adam" else torch.optim.SGD)(list(p.values()),
                                                                         lr=eta)
    costs = []
    for _ in range(iterations + 1):
        c = cost()
        step.zero_grad()
        c.backward()
        step.step()
        costs.append(c.item())
    return costs


@pytest.mark.parametrize("optimizer, eta, ln", [("gd", 0.02, False), ("gd", 0.02, True),
                                                ("adam", 0.01, False), ("adam", 0.01, True)])
def test_training_follows_torch_autograd(optimizer, eta, ln):
    torch = pytest.importorskip("torch")
    result = sheetnet.train("attention", optimizer=optimizer, eta=eta, iterations=25,
                            layer_norm=ln or None)
    costs = _torch_run(torch, result.run, optimizer, eta, ln, 25)
    np.testing.assert_allclose(result.trace.cost, costs, rtol=0, atol=1e-9)
    assert costs[-1] < 0.8 * costs[0]  # it learns: not two stuck runs agreeing


def test_it_learns_its_text():
    result = sheetnet.train("attention", optimizer="adam", eta=0.01, iterations=150)
    assert result.trace.cost[-1] < result.trace.cost[0] / 10


@pytest.mark.parametrize("options, message", [
    (dict(embed=0), "--embed 0 must be at least 1"),
    (dict(arch="embed 4, attention", embed=4), "give --arch or --embed"),
    (dict(hidden=4), "--hidden is not used"),
    (dict(arch="attention, mlp 4"), "attention comes first"),
    (dict(arch="embed 4, mlp 4"), "mlp 4 follows embed 4"),
    (dict(arch="embed 4, attention, attention"), "attention comes twice"),
    (dict(arch="embed 4, attention, embed 4"), "put it first"),
])
def test_a_stack_it_cannot_build_is_one_line(options, message):
    with pytest.raises(SheetnetError, match=message):
        sheetnet.train("attention", iterations=1, **options)
