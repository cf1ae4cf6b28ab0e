"""--init-scheme: each scheme's scale as torch.nn.init defines it (xavier_normal_: std
√(2/(fan_in + fan_out)); kaiming_normal_: √(2/fan_in)), fans worked out by hand here."""

import numpy as np
import pytest

import sheetnet
from sheetnet.core import net as net_mod
from sheetnet.layers import parse
from sheetnet.layers.base import Shape


def _net(arch: str, image: Shape, outputs: int):
    from sheetnet.core.net import BOOK_OUTPUT

    return net_mod.build(parse(arch), image, BOOK_OUTPUT, outputs)


# (arch, image, outputs, {parameter: (fan_in, fan_out)}) worked out by hand
CASES = [
    ("dense 5, sigmoid, dense 2", Shape.units(12), 2, {"W2": (12, 5), "W3": (5, 2)}),
    ("conv 4 3x3, relu, maxpool 2, dense 3", Shape.image(6, 6, 2), 3,
     {"F": (2 * 3 * 3, 4 * 3 * 3), "WO": (4 * 2 * 2, 3)}),
]


@pytest.mark.parametrize("arch, image, outputs, fans", CASES)
@pytest.mark.parametrize("scheme", ["normal", "xavier", "he"])
def test_each_scheme_scales_the_same_draws_by_its_definition(arch, image, outputs, fans,
                                                             scheme):
    net = _net(arch, image, outputs)
    got = net_mod.init(net, scheme, seed=7)
    rng = np.random.default_rng(7)  # drawn in the order the net lists its parameters
    for p in net.params():
        drawn = rng.standard_normal(p.shape)
        if scheme == "normal":
            want = drawn
        elif not p.weight:
            want = np.zeros(p.shape)
        else:
            fan_in, fan_out = fans[p.name]
            std = (np.sqrt(2 / (fan_in + fan_out)) if scheme == "xavier"
                   else np.sqrt(2 / fan_in))
            want = drawn * std
        np.testing.assert_array_equal(got[p.name], want, err_msg=p.name)


def test_the_fans_are_torchs():
    torch = pytest.importorskip("torch")
    for arch, image, outputs, _ in CASES:
        net = _net(arch, image, outputs)
        for p in net.params():
            if p.weight:
                tensor = torch.empty(p.shape if len(p.shape) != 3 else (p.shape[0], 1,
                                                                        *p.shape[1:]))
                fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(tensor)
                assert (p.fan_in, p.fan_out) == (fan_in, fan_out), p.name


def test_a_large_layer_has_the_spread_its_scheme_promises():
    net = _net("dense 400, relu, dense 2", Shape.units(300), 2)
    w = net_mod.init(net, "he", 0)["W2"]
    assert w.std() == pytest.approx(np.sqrt(2 / 300), rel=0.01)
    w = net_mod.init(net, "xavier", 0)["W2"]
    assert w.std() == pytest.approx(np.sqrt(2 / 700), rel=0.01)


def test_the_option_reaches_the_run_and_its_origin():
    run = sheetnet.train("mlp", init_scheme="xavier", iterations=1)
    assert run.run.origin["init"].startswith("Xavier (normal × √(2/(fan-in + fan-out)), biases 0)")
    assert not run.blocks(0)["b2"].any()
    with pytest.raises(sheetnet.SheetnetError, match="not one of: normal, xavier, he"):
        sheetnet.train("mlp", init_scheme="lecun")
