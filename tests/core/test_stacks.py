"""Nets as stacks: ``--arch`` parsing, the names a stack gives its blocks, and whole stacks of
every shape (two convolutions, no pooling, pooling the image, dense after dense) against
central differences."""

import numpy as np
import pytest

from sheetnet import layers
from sheetnet.core import net as stack
from sheetnet.errors import SheetnetError
from sheetnet.layers import Shape
from sheetnet.pairs.outputs import output_layer
from tests.conftest import assert_gradients_match

SOFTMAX = output_layer("softmax", "cross-entropy")


def test_arch_parses_every_kind_and_implies_flatten():
    parsed = layers.parse("conv 8 5x5, relu, maxpool 2, conv 16 5×5 pad 1, tanh, avgpool 2,"
                          " dense 32, leaky-relu, dense 10 nobias")
    assert [layer.kind for layer in parsed] == [
        "conv", "activation", "pool", "conv", "activation", "pool", "flatten", "dense",
        "activation", "dense"]
    assert parsed[3].padding == 1 and parsed[5].mode == "average"
    assert parsed[-1].bias is False and parsed[-3].units == 32


@pytest.mark.parametrize("arch, message", [
    ("dense 3,, dense 2", "has an empty layer"),
    ("dense", "'dense' is not a layer; write dense N"),
    ("conv 4 3x2, dense 2", "filters are square"),
    ("softmax, dense 2", "is an output layer's activation"),
    ("relu, dense 2", "relu comes first"),
    ("dense 3, relu, tanh, dense 2", "relu and tanh follow each other"),
    ("dense 3, conv 2 2x2, dense 2", "comes after a dense layer"),
    ("dense 3, relu", "the stack ends with relu"),
    ("dense 5", "the last dense layer has 5 units but the data has 2 classes; end with dense 2"),
    ("conv 2 3x3", "a stack ends with a dense layer"),
    ("conv 2 5x5, dense 2", "a 5×5 filter is larger than its 4×3 input"),
    ("maxpool 3, dense 2", "the 4×3 maps do not divide into 3×3 pooling windows"),
])
def test_stacks_that_cannot_work_are_one_line(arch, message):
    with pytest.raises(SheetnetError, match=message):
        stack.build(layers.parse(arch), Shape.image(4, 3), SOFTMAX, 2)


def test_the_books_nets_keep_the_books_names():
    mlp = stack.fully_connected((12, 3, 2))
    assert list(mlp.param_shapes()) == ["W2", "b2", "W3", "b3"]
    assert [b.name for b in mlp.forward_blocks()] == ["z2", "a2", "z3"]
    assert [b.name for b in mlp.backward_blocks()] == ["delta3", "delta2"]
    cnn = stack.convolutional((6, 6), padding=1)
    assert list(cnn.param_shapes()) == ["F", "bF", "WO", "bO"]
    assert [b.name for b in cnn.forward_blocks()] == ["xpad", "zF", "aF", "zP", "zO"]
    assert [b.name for b in cnn.backward_blocks()] == ["deltaO", "deltaP", "routed", "deltaF"]
    assert cnn.arch == "conv 3 3x3 pad 1, sigmoid, maxpool 2, dense 3"


def test_a_stack_of_several_convolutions_numbers_them():
    net = stack.build(layers.parse("conv 2 3x3 pad 1, relu, conv 3 3x3, relu, maxpool 2,"
                                   " dense 4, tanh, dense 3"), Shape.image(6, 6), SOFTMAX, 3)
    assert list(net.param_shapes()) == ["F1", "bF1", "F2", "bF2", "WH", "bH", "WO", "bO"]
    assert net.param_shapes()["F2"] == (3, 2, 3, 3)  # filters of conv 2 read conv 1's 2 maps
    assert [b.name for b in net.forward_blocks()] == [
        "xpad1", "zF1", "aF1", "zF2", "aF2", "zP", "zH", "aH", "zO"]
    # the error of conv 1's output comes inline into δᶠ¹, as the book's δ² = (Σ w·δ³)σ'(z²)
    assert [b.name for b in net.backward_blocks()] == [
        "deltaO", "deltaH", "deltaP", "routed", "deltaF2", "deltaF1"]


STACKS = [  # (arch, image, classes): every way layers can follow one another
    ("dense 3, sigmoid, dense 2", (4, 3), 2),
    ("dense 4, dense 3, relu, dense 2", (4, 3), 2),  # dense after dense: δ is a block of its own
    ("conv 2 2x2, tanh, dense 2", (4, 3), 2),  # no pooling: the dense layer reads aᶠ
    ("maxpool 2, dense 3", (4, 4), 3),  # pooling the image itself
    ("conv 2 3x3 pad 1, relu, conv 2 2x2, sigmoid, maxpool 2, dense 3", (5, 5), 3),
    ("conv 2 2x2, leaky-relu, avgpool 2, conv 3 2x2 pad 1, tanh, dense 4, sigmoid, dense 2",
     (5, 5), 2),
]


@pytest.mark.parametrize("arch, image, classes", STACKS)
def test_every_stack_matches_central_differences(arch, image, classes):
    rng = np.random.default_rng(8)
    net = stack.build(layers.parse(arch), Shape.image(*image), SOFTMAX, classes)
    params = {k: v * 0.5 for k, v in stack.init(net, "normal", 3).items()}
    x = rng.random((4, image[0] * image[1]))
    t = np.eye(classes)[rng.integers(0, classes, 4)]
    blocks = stack.iteration(net, params, x, t)
    assert_gradients_match(lambda p: stack.cost(net, p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})
    for name in params:  # the batch's gradient is the sum of the images' own
        np.testing.assert_allclose(blocks[f"dCT_d{name}"], blocks[f"dC_d{name}"].sum(axis=0),
                                   rtol=1e-12, atol=1e-14)
    for block in (*net.forward_blocks(), *net.backward_blocks()):  # every block is there
        assert blocks[block.name].shape == (4, *block.shape.array()), block.name


def test_training_in_chunks_gives_the_same_numbers(monkeypatch):
    """Training holds a chunk of images at a time; the chunks' sums are the whole's."""
    rng = np.random.default_rng(1)
    net = stack.convolutional((6, 6), filters=2)
    params = stack.init(net, "normal", 0)
    x, t = rng.random((10, 36)), np.eye(3)[rng.integers(0, 3, 10)]
    whole = stack.iteration(net, params, x, t, detail=False)
    monkeypatch.setattr(stack, "CHUNK_NUMBERS", stack.per_image_numbers(net) * 3)
    assert stack.chunk_size(net) == 3
    chunked = stack.iteration(net, params, x, t, detail=False)
    for name in ("C", "C_T", "dCT_dF", "dCT_dWO"):
        np.testing.assert_allclose(chunked[name], whole[name], rtol=1e-13, atol=1e-15)
