"""Each pair on its own: NumPy form against its definition, Excel form as text."""

import numpy as np
import pytest

from sheetnet.pairs.activations import RELU, SIGMOID
from sheetnet.pairs.optim import GD, RULES
from sheetnet.pairs.outputs import LOSSES, MSE, compose


def test_sigmoid_does_not_overflow_where_exp_would():
    z = np.array([-2000.0, -710.0, 0.0, 710.0])
    assert np.all(np.isfinite(SIGMOID.value(z)))
    assert SIGMOID.value(np.array([0.0]))[0] == 0.5


def test_relu_derivative_at_zero_is_zero():
    z = np.array([-1.0, 0.0, 2.0])
    np.testing.assert_array_equal(RELU.derivative(z, RELU.value(z)), [0.0, 0.0, 1.0])
    assert RELU.excel_derivative("E5", "E6") == "IF(E5>0,1,0)"


def test_mse_is_the_mean_over_images():
    rng = np.random.default_rng(0)
    a, t = rng.random((5, 1)), rng.random((5, 1))
    assert MSE.value(a, t, 5).sum() == pytest.approx(np.mean((a - t) ** 2))


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_every_rule_moves_a_parameter_by_its_step(rule):
    """p ← p + Δp with Δp = delta(p, g, advance(g, state)): what the loop and the cells
    compute."""
    rng = np.random.default_rng(1)
    p, g = rng.standard_normal((3, 4)), rng.standard_normal((3, 4))
    h = {"eta": 0.1, **{x.name: x.default for x in rule.hypers}}
    new, state = rule.update(p, g, rule.start(p), h, 0)
    np.testing.assert_array_equal(new, p + rule.delta(p, g, state, h, 0))
    assert set(state) == set(rule.state)


@pytest.mark.parametrize("rule", list(RULES.values()), ids=list(RULES))
def test_the_cells_state_each_step_once(rule):
    """The formula of p' is p followed by the rule's one Δp text, and each new state's formula
    is the rule's advance; no second statement of the step exists to drift."""
    cells = {x.name: x.name for x in rule.hypers} | {"eta": "eta"}
    old = {kind: f"old_{kind}" for kind in rule.state}
    new = {kind: f"new_{kind}" for kind in rule.state}
    formula, states = rule.update_xl("C4", "D4", old, new, cells, 2)
    delta = rule.delta_xl("C4", "D4", new, cells, 2)
    assert formula in ("C4" + delta, f"C4+({delta})")
    assert states == rule.advance_xl("D4", old, new, cells, 2)


def test_a_step_of_several_terms_is_added_whole():
    """p − a − b would round as (p − a) − b; NumPy adds Δp = −a − b whole, and so do the
    cells."""
    from sheetnet.pairs.optim import plus_xl

    assert plus_xl("C4", "-eta*D4") == "C4-eta*D4"
    assert plus_xl("C4", "-eta*(D4+mu*E4)") == "C4-eta*(D4+mu*E4)"
    assert plus_xl("C4", "-eta*D4-lam*C4") == "C4+(-eta*D4-lam*C4)"
    assert plus_xl("C4", "eta*D4") == "C4+(eta*D4)"


def test_gradient_descent_is_the_books_step_to_the_last_bit():
    """p + (−η·g) is p − η·g exactly, so the cells can write the book's p − η·g."""
    rng = np.random.default_rng(2)
    p, g = rng.standard_normal(1000), rng.standard_normal(1000) * 1e3
    new, _ = GD.update(p, g, {}, {"eta": 0.37}, 0)
    np.testing.assert_array_equal(new, p - 0.37 * g)
    assert GD.update_xl("C4", "D4", {}, {}, {"eta": "eta"}, 0) == ("C4-eta*D4", {})
    assert GD.delta_xl("B3", "D3", {}, {"eta": "eta"}, 0) == "-eta*D3"


def test_composed_output_writes_its_cells_as_the_book():
    out = compose(SIGMOID, LOSSES["half-sse"])
    z, a, t = ["E72", "E73"], ["E75", "E76"], ["E65", "E66"]
    assert out.forward_xl(z, 0) == "(1+TANH(E72/2))/2"
    assert out.cost_xl(z, a, t, 64) == "SUMXMY2(E75:E76,E65:E66)/2"
    assert out.delta_xl(z, a, t, 0, 64) == "(E75-E65)*E75*(1-E75)"
