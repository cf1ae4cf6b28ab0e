"""Each layer kind on its own: forward and backward against loops written from the definitions,
every gradient (∂C/∂x included) against central differences, the batch's gradients against the
images' own, and the shapes each one refuses."""

import numpy as np
import pytest

from sheetnet.errors import SheetnetError
from sheetnet.layers import ActivationLayer, Conv, Dense, Flatten, Pool, Shape
from sheetnet.layers.base import Wiring
from sheetnet.pairs.activations import ACTIVATIONS


def bound(layer, inp: Shape, key: str | None = None):
    """A layer bound as the second of a stack (so its ∂C/∂x is computed)."""
    return layer.bind(Wiring(inp, "a1", "9", "z9", "a", "¹", "delta1", True, key))


def params_of(layer, rng):
    return {p.name: rng.standard_normal(p.shape) for p in layer.params()}


def numeric(f, value, h=1e-6):
    """Central differences of the scalar f at every element of ``value`` (changed in place and
    restored)."""
    out = np.zeros_like(value)
    for idx in np.ndindex(value.shape):
        old = value[idx]
        value[idx] = old + h
        plus = f()
        value[idx] = old - h
        minus = f()
        value[idx] = old
        out[idx] = (plus - minus) / (2 * h)
    return out


def check_gradients(layer, x, p, rng):
    """L = Σ y⊙r for a random r: ∂L/∂y = r, so backward(r) must give ∂L/∂x and ∂L/∂p."""
    y, _ = layer.forward(x, p)
    r = rng.standard_normal(y.shape)

    def loss():
        return float(np.sum(layer.forward(x, p)[0] * r))

    dx, grads = layer.backward(r, layer.forward(x, p)[1], p)
    np.testing.assert_allclose(dx, numeric(loss, x), rtol=1e-6, atol=1e-8)
    for name, value in p.items():
        np.testing.assert_allclose(grads[name], numeric(loss, value), rtol=1e-6, atol=1e-8,
                                   err_msg=name)
    own = layer.per_image(r, layer.forward(x, p)[1], p)
    for name in p:
        np.testing.assert_allclose(own[name].sum(axis=0), grads[name], rtol=1e-12, atol=1e-12)


def test_dense_by_hand_and_by_central_differences():
    layer = bound(Dense(2), Shape.units(3))
    p = {"W9": np.array([[1.0, -2.0, 0.5], [0.0, 3.0, 1.0]]), "b9": np.array([0.25, -1.0])}
    x = np.array([[1.0, 2.0, 4.0]])
    z, _ = layer.forward(x, p)
    np.testing.assert_array_equal(z, [[1 - 4 + 2 + 0.25, 6 + 4 - 1]])
    rng = np.random.default_rng(0)
    check_gradients(layer, rng.standard_normal((4, 3)), params_of(layer, rng), rng)


def test_dense_reads_maps_in_their_shape():
    """After pooling, a dense layer's input is maps, flattened channel by channel, row by
    row: its weights are drawn in that shape and its ∂C/∂x comes back in it."""
    layer = bound(Dense(3), Shape(2, 2, 3))
    rng = np.random.default_rng(1)
    p = params_of(layer, rng)
    x = rng.standard_normal((4, 2, 2, 3))
    z, _ = layer.forward(x, p)
    np.testing.assert_allclose(z, x.reshape(4, -1) @ p["W9"].T + p["b9"])
    assert layer.params()[0].rows == 3 * 2 * 2 and layer.params()[0].tile == 2
    check_gradients(layer, x, p, rng)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activation_backward_is_its_derivative(name):
    layer = bound(ActivationLayer(ACTIVATIONS[name]), Shape(2, 3, 3))
    rng = np.random.default_rng(2)
    x = rng.standard_normal((3, 2, 3, 3)) + 0.01  # away from relu's kink at 0
    check_gradients(layer, x, {}, rng)


def _naive_conv(x, w, b, pad):
    """zᵏᵢⱼ = Σcᵤᵥ wᵏcᵤᵥ·x̃c₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎ + bᵏ, one number at a time."""
    n, c, h, wd = x.shape
    k, f = w.shape[0], w.shape[-1]
    w = w.reshape(k, c, f, f)
    xp = np.zeros((n, c, h + 2 * pad, wd + 2 * pad))
    xp[:, :, pad:pad + h, pad:pad + wd] = x
    oh, ow = h + 2 * pad - f + 1, wd + 2 * pad - f + 1
    z = np.zeros((n, k, oh, ow))
    for m in range(n):
        for q in range(k):
            for i in range(oh):
                for j in range(ow):
                    z[m, q, i, j] = b[q] + sum(w[q, ch, u, v] * xp[m, ch, i + u, j + v]
                                               for ch in range(c) for u in range(f)
                                               for v in range(f))
    return z


@pytest.mark.parametrize("channels, filters, size, pad", [(1, 2, 3, 0), (2, 3, 2, 1),
                                                           (3, 1, 3, 2)])
def test_convolution_against_loops_and_its_input_error(channels, filters, size, pad):
    """The input's error (a second convolution layer needs it) is Σ over the windows that saw
    each cell of w·δ: checked by central differences, padding's frame dropped."""
    layer = bound(Conv(filters, size, pad), Shape(channels, 5, 4))
    rng = np.random.default_rng(3)
    p = params_of(layer, rng)
    x = rng.standard_normal((2, channels, 5, 4))
    z, _ = layer.forward(x, p)
    np.testing.assert_allclose(z, _naive_conv(x, p["9"], p["b9"], pad), rtol=1e-12, atol=1e-12)
    check_gradients(layer, x, p, rng)


@pytest.mark.parametrize("mode", ["max", "average"])
def test_pooling_routes_the_error(mode):
    layer = bound(Pool(2, mode), Shape(2, 4, 6))
    rng = np.random.default_rng(4)
    x = rng.standard_normal((3, 2, 4, 6))  # no ties: every window has one maximum
    check_gradients(layer, x, {}, rng)


def test_max_pooling_finds_the_maximum_on_its_key():
    """After an activation the position comes from z (its key), the value from a."""
    layer = bound(Pool(2), Shape(1, 2, 2), key="z9")
    a = np.array([[[[1.0, 1.0], [0.5, 1.0]]]])  # saturated: three equal outputs
    z = np.array([[[[19.0, 25.0], [0.7, 21.0]]]])
    y, cache = layer.forward(a, {}, key=z)
    assert y[0, 0, 0, 0] == 1.0
    routed, _ = layer.backward(np.array([[[[5.0]]]]), cache, {})
    np.testing.assert_array_equal(routed[0, 0], [[0, 5], [0, 0]])


def test_flatten_is_a_reshape_both_ways():
    layer = bound(Flatten(), Shape(2, 2, 2))
    x = np.arange(16.0).reshape(2, 2, 2, 2)
    y, cache = layer.forward(x, {})
    np.testing.assert_array_equal(y, x.reshape(2, 8))
    np.testing.assert_array_equal(layer.backward(y, cache, {})[0], x)


@pytest.mark.parametrize("layer, inp, message", [
    (Conv(2, 5), Shape(1, 4, 4), "a 5×5 filter is larger than its 4×4 input"),
    (Conv(2, 3, 3), Shape(1, 6, 6), "the padding must be 0 to 2"),
    (Conv(2, 3), Shape.units(9), "needs maps"),
    (Pool(4), Shape(1, 6, 6), "6×6 maps do not divide into 4×4 pooling windows"),
    (Pool(2), Shape.units(4), "needs maps"),
])
def test_shapes_that_cannot_work_are_one_line(layer, inp, message):
    with pytest.raises(SheetnetError, match=message):
        layer.output_shape(inp)
