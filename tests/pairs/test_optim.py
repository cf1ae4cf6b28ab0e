"""Each update rule against its definition, worked by hand for two steps (torch.optim's
definitions and defaults), and the penalties and schedule against theirs."""

import math

import numpy as np
import pytest

from sheetnet.pairs import optim, penalties

P = np.array([[0.5, -1.0], [2.0, 0.0]])
G1 = np.array([[0.1, -0.2], [0.3, 0.0]])  # the gradient at step 0 …
G2 = np.array([[-0.05, 0.4], [0.1, 0.2]])  # … and at step 1


def _two_steps(rule, h):
    p1, s = rule.update(P, G1, rule.start(P), h, 0)
    p2, s = rule.update(p1, G2, s, h, 1)
    return p1, p2, s


def test_momentum_by_hand():
    h = {"eta": 0.1, "momentum": 0.9}
    p1, p2, s = _two_steps(optim.MOMENTUM_RULE, h)
    v1 = G1  # v ← 0.9·0 + g
    v2 = 0.9 * v1 + G2
    np.testing.assert_allclose(p1, P - 0.1 * v1, rtol=1e-15)
    np.testing.assert_allclose(p2, P - 0.1 * v1 - 0.1 * v2, rtol=1e-15)
    np.testing.assert_allclose(s["v"], v2, rtol=1e-15)


def test_nesterov_by_hand():
    h = {"eta": 0.1, "momentum": 0.9}
    p1, p2, _ = _two_steps(optim.NESTEROV, h)
    v1, v2 = G1, 0.9 * G1 + G2
    np.testing.assert_allclose(p1, P - 0.1 * (G1 + 0.9 * v1), rtol=1e-15)
    np.testing.assert_allclose(p2, p1 - 0.1 * (G2 + 0.9 * v2), rtol=1e-15)


def test_adagrad_by_hand():
    h = {"eta": 0.5, "epsilon": 1e-10}
    p1, p2, s = _two_steps(optim.ADAGRAD, h)
    s1, s2 = G1**2, G1**2 + G2**2
    np.testing.assert_allclose(p1, P - 0.5 * G1 / (np.sqrt(s1) + 1e-10), rtol=1e-14)
    np.testing.assert_allclose(p2, p1 - 0.5 * G2 / (np.sqrt(s2) + 1e-10), rtol=1e-14)
    np.testing.assert_allclose(s["s"], s2, rtol=1e-15)


def test_rmsprop_by_hand():
    h = {"eta": 0.01, "rho": 0.99, "epsilon": 1e-8}
    p1, p2, _ = _two_steps(optim.RMSPROP, h)
    s1 = 0.01 * G1**2
    s2 = 0.99 * s1 + 0.01 * G2**2
    np.testing.assert_allclose(p1, P - 0.01 * G1 / (np.sqrt(s1) + 1e-8), rtol=1e-14)
    np.testing.assert_allclose(p2, p1 - 0.01 * G2 / (np.sqrt(s2) + 1e-8), rtol=1e-14)


def test_adam_by_hand_with_bias_correction():
    h = {"eta": 0.001, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8}
    p1, p2, s = _two_steps(optim.ADAM, h)
    m1, v1 = 0.1 * G1, 0.001 * G1**2
    m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2**2
    mh1, vh1 = m1 / (1 - 0.9), v1 / (1 - 0.999)
    mh2, vh2 = m2 / (1 - 0.9**2), v2 / (1 - 0.999**2)
    np.testing.assert_allclose(p1, P - 0.001 * mh1 / (np.sqrt(vh1) + 1e-8), rtol=1e-13)
    np.testing.assert_allclose(p2, p1 - 0.001 * mh2 / (np.sqrt(vh2) + 1e-8), rtol=1e-13)
    np.testing.assert_allclose(s["m_hat"], mh2, rtol=1e-14)
    # Adam's first step moves every weight with a gradient by about η, whatever its size
    moved = np.abs(p1 - P)[G1 != 0]
    np.testing.assert_allclose(moved, 0.001, rtol=1e-6)


def test_adamw_by_hand_as_torch_defines_it():
    """torch.optim.AdamW: p ← p·(1 − ηλ), then Adam's step p ← p − η·m̂/(√v̂ + ε); the decay
    is decoupled from g (it does not enter m or v) and applies to every parameter."""
    h = {"eta": 0.01, "beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8, "weight_decay": 0.1}
    p1, p2, s = _two_steps(optim.ADAMW, h)
    m1, v1 = 0.1 * G1, 0.001 * G1**2
    m2, v2 = 0.9 * m1 + 0.1 * G2, 0.999 * v1 + 0.001 * G2**2
    decayed = P * (1 - 0.01 * 0.1)
    want1 = decayed - 0.01 * (m1 / 0.1) / (np.sqrt(v1 / 0.001) + 1e-8)
    want2 = (p1 * (1 - 0.01 * 0.1)
             - 0.01 * (m2 / (1 - 0.9**2)) / (np.sqrt(v2 / (1 - 0.999**2)) + 1e-8))
    np.testing.assert_allclose(p1, want1, rtol=1e-14)
    np.testing.assert_allclose(p2, want2, rtol=1e-14)
    np.testing.assert_allclose(s["m"], m2, rtol=1e-15)  # g alone made the moments
    # a parameter with no gradient still shrinks: P[1, 1] = 0 stays 0, P[0, 0] decays
    no_grad = optim.ADAMW.update(np.array([2.0]), np.array([0.0]),
                                 optim.ADAMW.start(np.zeros(1)), h, 0)[0]
    np.testing.assert_allclose(no_grad, 2.0 * (1 - 0.001), rtol=1e-15)
    # with λ = 0 it is Adam (η·(m̂/d) rather than (η·m̂)/d: to rounding)
    plain = {**h, "weight_decay": 0.0}
    np.testing.assert_allclose(_two_steps(optim.ADAMW, plain)[1],
                               _two_steps(optim.ADAM, plain)[1], rtol=1e-15)


@pytest.mark.parametrize("rule", list(optim.RULES.values()), ids=list(optim.RULES))
def test_each_rule_has_torch_defaults(rule):
    torch_defaults = {"momentum": {"momentum": 0.9}, "nesterov": {"momentum": 0.9},
                      "adagrad": {"epsilon": 1e-10}, "rmsprop": {"rho": 0.99, "epsilon": 1e-8},
                      "adam": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8},
                      "adamw": {"beta1": 0.9, "beta2": 0.999, "epsilon": 1e-8,
                                "weight_decay": 0.01}, "gd": {}}
    assert {h.name: h.default for h in rule.hypers} == torch_defaults[rule.name]


@pytest.mark.parametrize("name, bad, flag", [
    ("momentum", 1.0, "--momentum"), ("momentum", -0.1, "--momentum"), ("rho", 1.0, "--rho"),
    ("beta1", 1.0, "--beta1"), ("beta2", -0.5, "--beta2"), ("epsilon", 0.0, "--epsilon"),
    ("weight_decay", -0.1, "--weight-decay")])
def test_hyperparameters_refuse_values_outside_their_range(name, bad, flag):
    from sheetnet.errors import SheetnetError

    hyper = next(h for r in optim.RULES.values() for h in r.hypers if h.name == name)
    assert hyper.flag == flag
    with pytest.raises(SheetnetError, match=f"^{flag} "):
        hyper.check(bad)


def test_penalties_by_hand():
    w = [np.array([[0.5, -1.0], [0.0, 2.0]]), np.array([3.0])]
    h = {"lambda_l1": 0.1, "lambda_l2": 0.2}
    assert penalties.penalty(w, h) == pytest.approx(0.1 * 6.5 + 0.1 * (0.25 + 1 + 4 + 9))
    np.testing.assert_array_equal(penalties.penalty_gradient(w[0], h),
                                  0.2 * w[0] + 0.1 * np.array([[1, -1], [0, 1]]))
    assert penalties.penalty_gradient_xl("C4", {"lambda_l1": "lambda_l1"}) == \
        "+lambda_l1*SIGN(C4)"
    assert penalties.penalty_xl(["C4:C5"], {"lambda_l1": "lambda_l1"}) == \
        '+lambda_l1*(SUMIF(C4:C5,">0")-SUMIF(C4:C5,"<0"))'


def test_decay_by_hand():
    assert penalties.eta_at(0.2, {"eta_decay": 0.9}, 3) == pytest.approx(0.2 * 0.9**3)
    assert penalties.eta_at(0.2, {}, 3) == 0.2
    assert math.isclose(penalties.eta_at(0.2, {"eta_decay": 1.0}, 50), 0.2)


@pytest.mark.parametrize("name", list(optim.RULES))
def test_each_rule_declares_exactly_the_state_that_cannot_be_negative(name):
    """What a checkpoint's state is checked against: the kinds declared non-negative (sums
    of squares) stay ≥ 0 under gradients of both signs; every other kind goes below 0."""
    rule = optim.RULES[name]
    h = {"eta": 0.1, **{x.name: x.default for x in rule.hypers}}
    rng = np.random.default_rng(0)
    p, state, lowest = P, rule.start(P), {kind: 0.0 for kind in rule.state}
    for k in range(6):
        p, state = rule.update(p, rng.normal(size=P.shape), state, h, k)
        lowest = {kind: min(lowest[kind], float(state[kind].min())) for kind in rule.state}
    assert {kind for kind, low in lowest.items() if low >= 0} == set(rule.nonnegative)
