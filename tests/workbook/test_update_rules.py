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


def test_adams_bias_corrected_state_reads_as_the_book_writes_it(tmp_path):
    """m̂ and v̂ are headed m̂ and v̂ (not m, v or m_hat), on gd's sheet and a net's, and say
    what they are."""
    import openpyxl

    import sheetnet
    from tests.conftest import export

    out = export(tmp_path, "gd.xlsx", "--net", "gd", "--compare", "gd,adam", "--iterations", "2")
    headers = [c.value for c in openpyxl.load_workbook(out)["adam"][2]]
    assert headers[5:13] == ["m (x)", "m (y)", "v (x)", "v (y)", "m̂ (x)", "m̂ (y)", "v̂ (x)",
                             "v̂ (y)"]
    run = sheetnet.train("gd", compare="gd,adam", iterations=2)
    assert run.descriptions["adam.m_hat_x"] == (
        "adam: m̂: m without its bias towards its start at 0, m/(1 − β₁ᵗ) (adam's state for x)")
    assert run.descriptions["adam.dx"].startswith("adam: Δx: adam's step (")
    out = export(tmp_path, "mlp.xlsx", "--optimizer", "adam", "--iterations", "1")
    row = [c.value for c in openpyxl.load_workbook(out)["Iter 0"][2]]
    assert {"m", "v", "m̂", "v̂"} <= set(row)
