"""A new update rule is one entry in pairs/optim.py: every net then trains with it in NumPy and
in the cells, its state a block beside each parameter. Shown with a rule only this test knows."""

import numpy as np
import pytest

from sheetnet import presets
from sheetnet.audit.verify import verify
from sheetnet.pairs import optim
from sheetnet.pairs.hyper import Hyper
from sheetnet.workbook import xlsx

# momentum as torch.optim.SGD defines it: v ← μv + g, p ← p − ηv
HEAVY_BALL = optim.UpdateRule(
    name="heavy-ball",
    summary="momentum, defined by a test",
    hypers=(Hyper("mu", "μ", 0.9, "the momentum", lambda v: 0 <= v < 1, "in [0, 1)"),),
    state=("v",),
    advance=lambda g, s, h, k: {"v": h["mu"] * s["v"] + g},
    advance_xl=lambda g, old, new, h, k: {"v": f"{h['mu']}*{old['v']}+{g}"},
    delta=lambda p, g, s, h, k: -h["eta"] * s["v"],
    delta_xl=lambda p, g, s, h, k: f"-{h['eta']}*{s['v']}",
)


@pytest.fixture
def heavy_ball(monkeypatch):
    monkeypatch.setitem(optim.RULES, HEAVY_BALL.name, HEAVY_BALL)
    return HEAVY_BALL


@pytest.mark.parametrize("net", ["mlp", "cnn"])
def test_a_rule_with_state_trains_every_net_in_numpy_and_in_the_cells(tmp_path, heavy_ball,
                                                                      net):
    from dataclasses import replace

    preset = presets.get(net)
    run = replace(preset.run(presets.Options(iterations=3)), rule=heavy_ball,
                  hyper={"mu": 0.9})
    trace = preset.trace(run)
    # the rule's definition, by hand, for the first parameter over two steps
    name = next(iter(run.params))
    g0 = trace.iterations[0][f"dCT_d{name}"]
    g1 = trace.iterations[1][f"dCT_d{name}"]
    v1 = 0.9 * g0 + g1
    np.testing.assert_allclose(trace.iterations[1][f"v_{name}"], v1, rtol=1e-15)
    np.testing.assert_allclose(trace.iterations[2][name],
                               run.params[name] - 0.2 * g0 - 0.2 * v1, rtol=1e-12)
    out = tmp_path / f"{net}.xlsx"
    xlsx.write(preset.workbook(run), out)
    report = verify(out)
    assert report.ok, report.first_differences()
    assert report.blocks[f"v_{name}"].cells == 4 * run.params[name].size
