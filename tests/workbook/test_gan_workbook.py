"""The GAN's workbook (issue 32): every cell in every engine, an edited workbook against a run
computed apart from it, a hand-worked D(x), a tampered cell, its sheets as a student meets them."""

import numpy as np
import openpyxl

from sheetnet import presets
from sheetnet.audit import verify
from sheetnet.core import gan as gan_mod
from sheetnet.pairs.optim import rule as rule_of
from sheetnet.workbook.layout import a1
from tests.conftest import edit_cells, export, recalculated


def _place(path, name, iteration=None):
    found = verify.layout(path).places
    return next(p for p in found if p.name == name and p.iteration == iteration)


def test_two_d_steps_agree_in_every_engine(tmp_path, all_engines):
    out = export(tmp_path, "gan.xlsx", "--net", "gan", "--iterations", "2", "--points", "4",
                 "--hidden", "3", "--d-steps", "2", "--noise", "3")
    report = verify.verify(out, all_engines)
    assert report.ok, report.first_differences()
    blocks = report.engines[0].blocks
    for name in ("Dstep2_real_dC_dW2", "Dstep2_cost_D", "Dstep1_m_D_W2", "m_D_W2",
                 "Gstep_dfake", "Gstep_gen_dC_dW2", "view_table", "cost_D"):
        assert blocks[name].cells > 0 and blocks[name].bad == 0, name


def _hand_d(params, x):
    """D(x) for each point by loops over its units (relu, then sigmoid), from the definition."""
    out = []
    for point in x:
        hidden = [max(0.0, sum(params["D_W2"][j][i] * point[i] for i in range(2))
                      + params["D_b2"][j]) for j in range(len(params["D_b2"]))]
        z = sum(params["D_W3"][0][j] * hidden[j] for j in range(len(hidden))) + params["D_b3"][0]
        out.append(1 / (1 + np.exp(-z)))
    return np.array(out)


def test_an_edited_workbook_recalculates_to_a_run_computed_apart(small_book, tmp_path):
    """η, a real point and a noise cell edited as a user would: the engine's C_D and C_G
    equal a run of the core made from those numbers (not from the workbook's own places), and
    its mean D(x) at iteration 0 equals D worked out point by point by hand."""
    path = small_book("gan")
    preset = presets.get("gan")
    run = preset.run(presets.Options(iterations=2, points=4, hidden=3), workbook=True)
    eta, point, noise = (_place(path, "eta"), _place(path, "points"),
                         _place(path, "Dstep1_z", 1))
    edited = edit_cells(path, tmp_path / "edited.xlsx", {
        ("Inputs", a1(eta.row, eta.col)): 0.05,
        ("Data", a1(point.row + 2, point.col + 1)): 2.5,  # point 3's x₂
        ("Iter 1", a1(noise.row, noise.col + 1)): -1.25})  # point 2's z₁ in D step 1
    x = run.data.x.copy()
    x[2, 1] = 2.5
    draws = {k: v.copy() for k, v in run.drawn.items()}
    draws["zD"][1, 0, 1, 0] = -1.25
    adam = rule_of("adam")
    hyper = {**{h.name: h.default for h in adam.hypers}, "beta1": 0.5, "eta": 0.05}
    players = {who: gan_mod.Players(adam, hyper) for who in gan_mod.PLAYERS}
    trace = gan_mod.train(run.model, run.params, x, 2, players, gan_mod.given(draws))
    summary = recalculated(edited, tmp_path)["Summary"].numbers
    np.testing.assert_allclose(summary[3:6, 1], trace.series("cost_D"), rtol=1e-9)
    np.testing.assert_allclose(summary[3:6, 2], trace.series("cost_G"), rtol=1e-9)
    np.testing.assert_allclose(summary[3, 3], _hand_d(run.params, x).mean(), rtol=1e-9)
    assert abs(summary[5, 1] - preset.trace(run).series("cost_D")[2]) > 1e-6  # it moved


def test_a_tampered_cell_is_named(small_book, tmp_path):
    path = small_book("gan")
    dfake = _place(path, "Gstep_dfake", 1)
    cell = a1(dfake.row, dfake.col)
    tampered = edit_cells(path, tmp_path / "tampered.xlsx", {("Iter 1", cell): 0.5})
    report = verify.verify(tampered)
    assert not report.ok
    assert any(f"'Iter 1'!{cell}" in f and "constant" in f for f in report.findings), \
        report.findings


def test_its_sheets_read_as_the_iteration_runs(small_book):
    wb = openpyxl.load_workbook(small_book("gan"))
    assert wb.sheetnames[:4] == ["Guide", "Summary", "Points", "D view"]
    assert {"D grid", "Inputs", "Data", "Map", "Iter 0", "Iter 2"} <= set(wb.sheetnames)
    iteration = wb["Iter 1"]
    column_a = [c.value for c in iteration["A"] if c.value]
    order = ["G's parameters", "D's parameters",
             "D step · G turns the noise z into points G(z) = z³",
             "D step · D on the real points x (target t = 1)",
             "D step · D on G's points (target t = 0)",
             "G step · G turns fresh noise z into points G(z) = z³",
             "G step · backpropagation through D to G: D's errors, ∂C/∂G(z), G's errors and"
             " each point's own ∂C/∂w"]
    assert [column_a.index(t) for t in order] == sorted(column_a.index(t) for t in order)
    # the noise is typed in, the points' targets are numbers, every pass is formulas
    z = _place(small_book("gan"), "Gstep_z", 1)
    assert isinstance(iteration.cell(z.row, z.col).value, float)
    made = _place(small_book("gan"), "Gstep_gen_z3", 1)
    assert str(iteration.cell(made.row, made.col).value).startswith("=SUMPRODUCT(")
    table = wb["D view"]
    assert table.conditional_formatting, "D's verdicts are colour-scaled"


def test_explain_names_each_players_blocks(small_book):
    from sheetnet.audit.explain import explain

    path = small_book("gan")
    grad = _place(path, "dCG_dG_W3", 1)
    told = explain(path, f"'Iter 1'!{a1(grad.row + 1, grad.col)}")
    assert told.element.startswith("∂C_G/∂G's w³ (G: w³"), told.element
    after = _place(path, "Dstep1_D_W2", 1)
    told = explain(path, f"'Iter 1'!{a1(after.row, after.col)}")
    assert told.element.startswith("D's w² after the D step (D: w²₁₁)"), told.element
    fake = _place(path, "Dstep1_fake_C", 1)
    told = explain(path, f"'Iter 1'!{a1(fake.row, fake.col)}")
    assert "D on G(z)" in told.element and "point 1" in told.what, told.what
