"""The layer contract (issue 27), for every registered layer kind: its NumPy passes against
central differences (∂C/∂x and every parameter's gradient, each image's own adding up to the
batch's), and its Excel forms, in a small stack's workbook recalculated by IronCalc, against
NumPy. A kind added to ``layers.KINDS`` without a case here fails the first test."""

import numpy as np
import pytest

import sheetnet
from sheetnet import layers, presets
from sheetnet.audit.verify import verify
from sheetnet.layers import Shape
from sheetnet.layers.attention import SelfAttention
from sheetnet.layers.base import BATCH, Wiring
from sheetnet.layers.cells import ELMAN
from sheetnet.layers.embedding import Embedding
from sheetnet.layers.feedforward import FeedForward
from sheetnet.layers.gru import GRU_CELL
from sheetnet.layers.layernorm import LayerNorm
from sheetnet.layers.lstm import LSTM_CELL
from sheetnet.layers.recurrent import Recurrent
from sheetnet.pairs.activations import ACTIVATIONS
from tests.layers.test_layers import numeric

# (layer, the shape it reads) for the NumPy check: every kind, each shape it reads
PASSES = {
    "dense units": (layers.Dense(3), Shape.units(4)),
    "dense maps": (layers.Dense(2), Shape(2, 2, 3)),
    "dense sequence": (layers.Dense(3), Shape.sequence(4, 3)),
    "conv": (layers.Conv(2, 2, 1), Shape(2, 4, 4)),
    "maxpool": (layers.Pool(2, "max"), Shape(2, 4, 4)),
    "avgpool": (layers.Pool(2, "average"), Shape(2, 4, 4)),
    "flatten": (layers.Flatten(), Shape(2, 2, 2)),
    "dropout": (layers.Dropout(0.5), Shape.units(5)),
    "dropout sequence": (layers.Dropout(0.3), Shape.sequence(3, 4)),
    "batchnorm": (layers.BatchNorm(), Shape.units(3)),
    "batchnorm maps": (layers.BatchNorm(), Shape(2, 3, 3)),
    "layernorm units": (LayerNorm(), Shape.units(4)),
    "layernorm maps": (LayerNorm(), Shape(2, 3, 3)),
    "layernorm sequence": (LayerNorm(), Shape.sequence(4, 3)),
    "rnn": (Recurrent(3, ELMAN), Shape.sequence(4, 5)),
    "lstm": (Recurrent(2, LSTM_CELL), Shape.sequence(3, 4)),
    "gru": (Recurrent(3, GRU_CELL), Shape.sequence(2, 4)),
    "embed": (Embedding(3), Shape.sequence(5, 4)),
    "attention": (SelfAttention(), Shape.sequence(4, 5)),
    "attention ln": (SelfAttention(layer_norm=True), Shape.sequence(4, 5)),
    "mlp": (FeedForward(3), Shape.sequence(4, 3)),
    "mlp ln": (FeedForward(3, layer_norm=True), Shape.sequence(4, 3)),
    **{f"activation {name}": (layers.ActivationLayer(act), Shape.units(5))
       for name, act in ACTIVATIONS.items()},
}


def test_every_registered_kind_has_a_case():
    kinds = {kind.kind for kind in layers.KINDS}
    assert kinds == {layer.kind for layer, _ in PASSES.values()}
    assert kinds == {layer.kind for arch, _ in STACKS.values() for layer in layers.parse(arch)}


def _bound(layer, inp):
    """The layer as the second of a stack, so that its ∂C/∂x is computed."""
    return layer.bind(Wiring(inp, "a1", "9", "z9", "a", "¹", "delta1", True))


def _inputs(layer, n, rng):
    """What a training step gives the layer beside its parameters: a dropout mask, batch
    norm's batch weights and running averages."""
    out = {s.name: s.draw(n, 3, 0, 0) for s in layer.step_inputs()}
    out.update({c.name: c.start for c in layer.carried()})
    if layer.couples_batch:
        out[BATCH] = np.ones(n)
    return out


@pytest.mark.parametrize("case", list(PASSES))
def test_numpy_passes_are_central_differences(case):
    """L = Σ y ⊙ r for a random r: ∂L/∂y = r, so backward(r) must give ∂L/∂x and ∂L/∂p."""
    layer, inp = PASSES[case]
    layer = _bound(layer, inp)
    rng = np.random.default_rng(7)
    n = 4
    x = rng.standard_normal((n, *inp.computed()))
    params = {p.name: rng.standard_normal(p.shape) for p in layer.params()}
    given = {**params, **_inputs(layer, n, rng)}
    y, cache = layer.forward(x, given)
    assert y.shape[0] == n and y.size == n * layer.output_shape(inp).size
    r = rng.standard_normal(y.shape)

    def loss():
        return float(np.sum(layer.forward(x, given)[0] * r))

    dx, grads = layer.backward(r, cache, given)
    np.testing.assert_allclose(dx, numeric(loss, x), rtol=1e-6, atol=1e-8)
    own = layer.per_image(r, cache, given)
    for name in params:
        np.testing.assert_allclose(grads[name], numeric(loss, given[name]), rtol=1e-6,
                                   atol=1e-8, err_msg=name)
        np.testing.assert_allclose(own[name].sum(axis=0), grads[name], rtol=1e-12,
                                   atol=1e-12, err_msg=name)
    shown = layer.errors(r, cache, given)
    assert {b.name for b in layer.error_blocks()} <= set(shown)


@pytest.fixture(scope="module")
def text(tmp_path_factory):
    path = tmp_path_factory.mktemp("text") / "t.txt"
    path.write_text("hello world, hello moon")
    return path


# a small stack per kind (and per shape it reads), exported and recalculated in IronCalc
STACKS = {
    "dense": ("dense 3, sigmoid, dense 2", {"net": "mlp"}),
    "conv, maxpool": ("conv 2 3x3, relu, maxpool 2, flatten, dense 3", {"net": "cnn"}),
    "conv pad, avgpool": ("conv 2 3x3 pad 1, tanh, avgpool 2, dense 3", {"net": "cnn"}),
    "dropout": ("dense 3, relu, dropout 0.5, dense 2", {"net": "mlp"}),
    "batchnorm": ("dense 3, batchnorm, relu, dense 2", {"net": "mlp"}),
    "layernorm": ("dense 3, layernorm, relu, dense 2", {"net": "mlp"}),
    "layernorm maps": ("conv 2 3x3, layernorm, relu, maxpool 2, dense 3", {"net": "cnn"}),
    "rnn, layernorm": ("rnn 3, layernorm", {"net": "rnn", "seq_length": 4}),
    "lstm, dropout": ("lstm 2, dropout 0.3, lstm 2", {"net": "lstm", "seq_length": 4}),
    "gru, layernorm, gru": ("gru 3, layernorm, gru 2", {"net": "gru", "seq_length": 4}),
    "embed, attention, mlp": ("embed 3, attention, mlp 4", {"net": "attention",
                                                            "seq_length": 4}),
    "attention ln, mlp ln": ("embed 3, attention ln, mlp 2 ln", {"net": "attention",
                                                                 "seq_length": 3}),
    "embed, gru": ("embed 3, gru 2", {"net": "gru", "seq_length": 4}),
    **{f"activation {name}": (f"dense 3, {name}, dense 2", {"net": "mlp"})
       for name in ACTIVATIONS},
}


@pytest.mark.parametrize("case", list(STACKS))
def test_every_block_has_a_name_of_its_own(case, text):
    arch, options = STACKS[case]
    options = dict(options)
    net = options.pop("net")
    if net in ("rnn", "lstm", "gru", "attention"):
        options["text"] = text
    model = presets.get(net).run(presets.Options(arch=arch, **options)).model
    named = [*model.param_shapes(), "x", "t", *(b.name for b in (
        *model.forward_blocks(), *model.output.blocks(), *model.backward_blocks()))]
    assert len(named) == len(set(named)), sorted(n for n in named if named.count(n) > 1)


@pytest.mark.parametrize("case", list(STACKS))
def test_excel_forms_recalculate_to_numpy(case, tmp_path, text):
    arch, options = STACKS[case]
    options = dict(options)
    net = options.pop("net")
    if net in ("rnn", "lstm", "gru", "attention"):
        options["text"] = text
    out = tmp_path / "w.xlsx"
    sheetnet.export(net, out=out, arch=arch, iterations=1, **options)
    report = verify(out, ["ironcalc"])
    assert report.ok, report.first_differences()
