"""Output layers and activations against their definitions, and their Excel forms evaluated by a
real engine (IronCalc, in process) against their NumPy forms, extreme inputs included."""

import itertools
import math

import ironcalc
import numpy as np
import pytest

from sheetnet.errors import SheetnetError
from sheetnet.pairs.activations import ACTIVATIONS, leaky_relu
from sheetnet.pairs.outputs import FUSED, LOSSES, huber, output_layer

LAYERS = {f"{a}+{lo}": output_layer(a, lo) for a, lo in
          [*itertools.product(ACTIVATIONS, LOSSES), *FUSED]}
NAMED = {"huber_delta": 0.7, "leaky_slope": 0.05}  # the named cells' values in these tests


def _targets(layer, rng, n, k):
    if layer.targets == "classes":
        return np.eye(k)[rng.integers(0, k, n)]
    return rng.random((n, k))


@pytest.mark.parametrize("name", list(LAYERS))
def test_output_error_is_the_derivative_of_the_cost(name):
    """δᴸ = ∂C/∂zᴸ, against central differences of the layer's own cost."""
    layer = LAYERS[name].tune(NAMED)
    rng = np.random.default_rng(3)
    z = rng.standard_normal((4, 3)) * 2 + 0.3
    t, n, h = _targets(layer, rng, 4, 3), 4, 1e-6
    numeric = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        numeric[idx] = (layer.cost(zp, layer.forward(zp), t, n)[idx[0]]
                        - layer.cost(zm, layer.forward(zm), t, n)[idx[0]]) / (2 * h)
    np.testing.assert_allclose(layer.delta(z, layer.forward(z), t, n), numeric, rtol=1e-5,
                               atol=1e-7)


def test_softmax_cross_entropy_is_its_definition():
    z = np.array([[1.0, -2.0, 0.5], [3.0, 3.0, -1.0]])
    t = np.array([[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]])
    layer = FUSED["softmax", "cross-entropy"]
    a = np.exp(z) / np.exp(z).sum(axis=1, keepdims=True)  # the textbook's, unguarded
    np.testing.assert_allclose(layer.forward(z), a, rtol=1e-15)
    np.testing.assert_allclose(layer.cost(z, a, t, 2), -(t * np.log(a)).sum(axis=1),
                               rtol=1e-14)
    # a score of 1000 overflows e^z, not the max-subtracted form
    big = np.array([[1000.0, 0.0, -1000.0]])
    assert np.all(np.isfinite(layer.forward(big)))
    assert layer.cost(big, layer.forward(big), np.array([[0.0, 1.0, 0.0]]), 1)[0] == 1000.0


def test_binary_cross_entropy_is_its_definition():
    layer = FUSED["sigmoid", "binary-cross-entropy"]
    z, t = np.array([[0.3, -1.2, 2.0]]), np.array([[1.0, 0.0, 0.4]])
    a = 1 / (1 + np.exp(-z))
    want = -(t * np.log(a) + (1 - t) * np.log(1 - a)).sum()
    assert layer.cost(z, a, t, 1)[0] == pytest.approx(want, rel=1e-14)
    assert np.isfinite(layer.cost(np.array([[800.0, -800.0]]), None, np.array([[0.0, 1.0]]), 1))


def test_hinge_is_the_multiclass_svm_loss():
    layer = FUSED["identity", "hinge"]
    s = np.array([[3.2, 5.1, -1.7], [1.3, 4.9, 2.0], [2.2, 2.5, -3.1]])  # cs231n's example
    y = [0, 1, 2]
    t = np.eye(3)[y]
    want = [sum(max(0.0, s[i, j] - s[i, y[i]] + 1) for j in range(3) if j != y[i])
            for i in range(3)]
    np.testing.assert_allclose(layer.cost(s, s, t, 3), want, rtol=1e-15)
    np.testing.assert_allclose(want, [2.9, 0.0, 12.9], rtol=1e-12)


def test_huber_is_square_inside_and_line_outside():
    loss = huber(1.5)
    a, t = np.array([[0.5, 4.0, -3.0]]), np.zeros((1, 3))
    assert loss.value(a, t, 1)[0] == pytest.approx(0.125 + 1.5 * (4 - 0.75) + 1.5 * (3 - 0.75))
    np.testing.assert_array_equal(loss.gradient(a, t, 1), [[0.5, 1.5, -1.5]])


def test_leaky_relu_and_its_slope():
    act = leaky_relu(0.1)
    z = np.array([-2.0, 0.0, 3.0])
    np.testing.assert_array_equal(act.value(z), [-0.2, 0.0, 3.0])
    np.testing.assert_array_equal(act.derivative(z, act.value(z)), [0.1, 0.1, 1.0])
    assert ACTIVATIONS["leaky-relu"].tune({"leaky_slope": 0.1}).value(z)[0] == -0.2


# --- the Excel forms, recalculated ----------------------------------------------------------


def _engine_values(z, t, layer, n):
    """Put one image's z, a (from the a formulas) and t in column A, B, C; return what
    IronCalc computes for a, C and δ."""
    k = len(z)
    m = ironcalc.create("forms", "en", "UTC")
    for i, (name, value) in enumerate(NAMED.items()):  # named cells J1, K1
        m.set_user_input(0, 1, 10 + i, repr(value))
        m.new_defined_name(name, None, f"Sheet1!${'JK'[i]}$1")
    zc = [f"A{r + 1}" for r in range(k)]
    ac = [f"B{r + 1}" for r in range(k)]
    tc = [f"C{r + 1}" for r in range(k)]
    for r in range(k):
        m.set_user_input(0, r + 1, 1, repr(float(z[r])))
        m.set_user_input(0, r + 1, 3, repr(float(t[r])))
        m.set_user_input(0, r + 1, 2, "=" + layer.forward_xl(zc, r))
        m.set_user_input(0, r + 1, 5, "=" + layer.delta_xl(zc, ac, tc, r, n))
    m.set_user_input(0, 1, 4, "=" + layer.cost_xl(zc, ac, tc, n))
    m.evaluate()

    def num(row, col):
        value = m.get_cell_value_by_ref(f"Sheet1!{'ABCDE'[col - 1]}{row}")
        assert isinstance(value, float), (row, col, value)  # an error value is text
        return value

    a = [num(r + 1, 2) for r in range(k)]
    d = [num(r + 1, 5) for r in range(k)]
    return np.array(a), num(1, 4), np.array(d)


@pytest.mark.parametrize("name", list(LAYERS))
@pytest.mark.parametrize("scale", [1.0, 800.0])
def test_excel_forms_compute_what_numpy_computes(name, scale):
    """Every output layer's cells, in a real engine, against NumPy; scores of ±800 give no
    error value (where the activation itself keeps them finite)."""
    layer = LAYERS[name].tune(NAMED)
    rng = np.random.default_rng(7)
    k = 4
    z = rng.standard_normal(k) * scale
    if scale > 1 and layer.activation in ("identity", "relu", "leaky-relu") and \
            layer.loss in ("half-sse", "mse"):
        z = z / 100  # a square of 10⁵ is fine; this keeps the comparison about the forms
    t = _targets(layer, rng, 1, k)[0]
    a, c, d = _engine_values(z, t, layer, 5)
    want_a = layer.forward(z[None])[0]
    np.testing.assert_allclose(a, want_a, rtol=1e-12, atol=1e-300)
    want_c = layer.cost(z[None], want_a[None], t[None], 5)[0]
    assert math.isclose(c, want_c, rel_tol=1e-12, abs_tol=1e-12)
    np.testing.assert_allclose(d, layer.delta(z[None], want_a[None], t[None], 5)[0],
                               rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("activation, loss, hint", [
    ("softmax", "half-sse", "add --loss cross-entropy"),
    ("sigmoid", "cross-entropy", "add --output-activation softmax"),
    ("relu", "binary-cross-entropy", "add --output-activation sigmoid"),
    ("sigmoid", "hinge", "add --output-activation identity"),
])
def test_pairs_that_make_no_sense_are_refused_with_what_works(activation, loss, hint):
    with pytest.raises(SheetnetError, match=hint):
        output_layer(activation, loss)
