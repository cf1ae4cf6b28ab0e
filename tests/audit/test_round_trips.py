"""Workbooks recalculated by real spreadsheet engines, compared cell by cell with the NumPy core.

Every round trip runs on the embedded engine (IronCalc); the tests parametrized by ``engine``
run on LibreOffice and Gnumeric too, which CI installs.
"""

import json
from dataclasses import replace

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from sheetnet import presets
from sheetnet.audit.verify import verify
from sheetnet.cli import app
from sheetnet.core import data, descent
from sheetnet.core import net as stack
from sheetnet.core.params import validate_params
from sheetnet.pairs.activations import IDENTITY, RELU
from sheetnet.pairs.outputs import MSE, compose
from tests.conftest import BOOK_INIT, ROOT, export, recalculated, recalculated_cost, write_csv

runner = CliRunner()



def test_round_trip_every_cell(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "3")
    report = verify(out)
    assert report.ok, report.first_differences()
    assert report.error_cells == []
    # every block of every iteration was compared: 64 images × (47 + 12 + 2 + 10 + 2 + 5) rows
    assert report.blocks["dC_dW2"].cells == 4 * 64 * 36
    assert report.cells > 4 * 64 * 78
    assert max(b.max_err for b in report.blocks.values()) < 1e-9


def test_verify_command_exit_zero(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    result = runner.invoke(app, ["verify", str(out)])
    assert result.exit_code == 0, result.output
    assert "every cell agrees" in result.output and "delta2" in result.output


def test_edited_eta_and_weight_recompute_and_still_verify(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "4")
    before = recalculated_cost(out, tmp_path)
    wb = openpyxl.load_workbook(out)
    inputs = wb["Inputs"]
    dest = wb.defined_names["eta"].attr_text.split("!")[1].replace("$", "")
    inputs[dest] = 0.7
    w_row = next(r for r in range(1, 60) if inputs.cell(r, 1).value == "W2")
    inputs.cell(w_row, 3).value = 1.5
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    report = verify(edited)
    assert report.ok, report.first_differences()
    after = recalculated_cost(edited, tmp_path)
    assert abs(after[0] - before[0]) > 1e-6  # the weight changed iteration 0
    assert abs(after[-1] - before[-1]) > 1e-3  # η changed the run
    # and the NumPy core, given the same edits, computes the same C_T
    ds = data.builtin("digits01")
    net = stack.fully_connected((12, 3, 2))
    params = stack.init(net, "normal", 0)
    params["W2"][0, 0] = 1.5
    trace = descent.train_net(net, params, ds.x, ds.targets, 0.7, 4)
    np.testing.assert_allclose(after, trace.cost, rtol=1e-12)


def test_book_init_gives_same_cost_in_numpy_and_workbook(tmp_path):
    out = export(tmp_path, "book.xlsx", "--iterations", "2", "--init", str(BOOK_INIT))
    cost = recalculated_cost(out, tmp_path)
    ds = data.builtin("digits01")
    net = stack.fully_connected((12, 3, 2))
    params = validate_params(net.param_shapes(), json.loads(BOOK_INIT.read_text()), "book")
    trace = descent.train_net(net, params, ds.x, ds.targets, 0.2, 2)
    np.testing.assert_allclose(cost, trace.cost, rtol=1e-12)
    assert cost[0] == pytest.approx(18.347, abs=5e-4)


def test_tampered_cell_is_named(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 1"]
    z_row = next(r for r in range(1, 120) if ws.cell(r, 1).value == "z²")
    ws.cell(z_row, 7).value = 0.123  # image 3's z²₁ replaced by a constant
    bad = tmp_path / "bad.xlsx"
    wb.save(bad)
    report = verify(bad)
    assert not report.ok
    assert report.blocks["z2"].bad == 1
    assert f"'Iter 1'!G{z_row} (z2, image 3)" in report.blocks["z2"].first_bad
    # the constant is the one root; a², z³ … of image 3 and all of Iter 2's sums follow from it
    roots = report.engines[0].roots
    assert len(roots) == 1 and roots[0].startswith(f"'Iter 1'!G{z_row} (z2, image 3)")
    assert "a constant, not a formula" in roots[0]
    assert report.engines[0].downstream == report.engines[0].bad - 1 > 0
    result = runner.invoke(app, ["verify", str(bad)])
    assert result.exit_code == 1
    assert "root cause" in result.output and f"'Iter 1'!G{z_row}" in result.output


def test_error_values_are_reported(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 0"]
    ws["E4"] = "=1/0"
    bad = tmp_path / "div0.xlsx"
    wb.save(bad)
    report = verify(bad)
    assert not report.ok
    assert any("#DIV/0!" in e for e in report.error_cells)


def test_user_csv_with_text_labels_verifies(tmp_path):
    csv = write_csv(tmp_path / "d.csv",
                    "label,p11,p12,p21,p22\n=x,1,0,0,1\n+y,0,1,1,0\n=x,1,1,0,1\n@z,0,0,1,1\n")
    out = export(tmp_path, "w.xlsx", "--data", str(csv), "--shape", "2x2", "--iterations", "3")
    report = verify(out)
    assert report.ok, report.first_differences()


def test_cnn_round_trip_every_cell_including_pooling_ties(tmp_path):
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "2")
    report = verify(out)
    assert report.ok, report.first_differences()
    per_iteration = {"zF": 96 * 48, "aF": 96 * 48, "zP": 96 * 12, "routed": 96 * 48,
                     "deltaF": 96 * 48, "dC_dF": 96 * 27, "dC_dWO": 96 * 36, "F": 27}
    for name, cells in per_iteration.items():
        assert report.blocks[name].cells == 3 * cells, name
    # the book's data has windows whose maximum is tied (blank areas): the workbook routed
    # their errors to the same first position as NumPy, or routed and deltaF would differ
    preset = presets.get("cnn")
    af = preset.trace(preset.run(presets.Options(iterations=2))).iterations[2]["aF"]
    windows = af.reshape(96, 3, 2, 2, 2, 2).transpose(0, 1, 2, 4, 3, 5).reshape(-1, 4)
    assert ((windows == windows.max(axis=1, keepdims=True)).sum(axis=1) > 1).sum() > 50


def test_cnn_init_json_gives_same_cost_in_numpy_and_workbook(tmp_path):
    net = stack.convolutional((6, 6))
    rng = np.random.default_rng(7)
    init = {k: (rng.standard_normal(s) * 0.5).tolist() for k, s in net.param_shapes().items()}
    path = tmp_path / "init.json"
    path.write_text(json.dumps(init))
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "3", "--init", str(path))
    cost = recalculated_cost(out, tmp_path)
    ds = data.builtin("digits123")
    params = validate_params(net.param_shapes(), init, "init")
    trace = descent.train_net(net, params, ds.x, ds.targets, 0.2, 3)
    np.testing.assert_allclose(cost, trace.cost, rtol=1e-12)


@pytest.mark.slow
def test_cnn_edited_eta_and_filter_weight_recompute_and_still_verify(tmp_path):
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "2")
    wb = openpyxl.load_workbook(out)
    inputs = wb["Inputs"]
    dest = wb.defined_names["eta"].attr_text.split("!")[1].replace("$", "")
    inputs[dest] = 0.5
    f_row = next(r for r in range(1, 80) if inputs.cell(r, 1).value == "F")
    inputs.cell(f_row + 4, 3).value = 2.0  # filter 1, centre weight
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    report = verify(edited)
    assert report.ok, report.first_differences()
    after = recalculated_cost(edited, tmp_path)
    ds = data.builtin("digits123")
    net = stack.convolutional((6, 6))
    before = descent.train_net(net, stack.init(net, "normal", 0), ds.x, ds.targets, 0.2, 2).cost
    assert abs(after[0] - before[0]) > 1e-6 and abs(after[-1] - before[-1]) > 1e-3
    params = stack.init(net, "normal", 0)
    params["F"][0, 1, 1] = 2.0
    trace = descent.train_net(net, params, ds.x, ds.targets, 0.5, 2)
    np.testing.assert_allclose(after, trace.cost, rtol=1e-12)


@pytest.mark.parametrize("args", [
    ["--filters", "2", "--filter-size", "2", "--pool-size", "5"],  # 5×5 maps pooled to 1×1
    ["--data", "{csv}", "--shape", "7x5", "--filter-size", "2"],  # 6×4 maps, 3×2 pooled
    ["--data", "{csv}", "--shape", "7x5", "--filter-size", "4", "--pool-size", "1",
     "--filters", "4"],
])
def test_cnn_other_architectures_verify(tmp_path, args):
    rng = np.random.default_rng(5)
    rows = [f"{['cat', 'dog', '=x'][i % 3]}," + ",".join(str(v) for v in rng.integers(0, 2, 35))
            for i in range(12)]
    csv = write_csv(tmp_path / "d.csv", "label," + ",".join(f"p{i}" for i in range(35)) + "\n"
                    + "\n".join(rows) + "\n")
    out = export(tmp_path, "v.xlsx", "--net", "cnn", "--iterations", "2",
                  *[a.format(csv=csv) for a in args])
    report = verify(out)
    assert report.ok, report.first_differences()
    assert report.blocks["routed"].cells > 0


@pytest.mark.parametrize("net", ["xor", "curve"])
def test_regression_presets_verify_with_a_fit_sheet(tmp_path, net):
    out = export(tmp_path, f"{net}.xlsx", "--net", net, "--iterations", "3")
    report = verify(out)
    assert report.ok, report.first_differences()
    wb = openpyxl.load_workbook(out, read_only=True)
    assert "Fit" in wb.sheetnames
    wb.close()


def test_relu_at_exactly_zero_agrees_with_the_cells(tmp_path):
    """x = 0 and zero biases make z exactly 0: relu'(0) must be 0 in NumPy and in the cell."""
    csv = write_csv(tmp_path / "p.csv", "label,x\n0.5,0\n1.0,1\n0.2,-1\n")
    init = {"W2": [[1.0], [-1.0]], "b2": [0.0, 0.0], "W3": [[0.5, -0.5]], "b3": [0.0]}
    path = tmp_path / "init.json"
    path.write_text(json.dumps(init))
    out = export(tmp_path, "zero.xlsx", "--net", "curve", "--data", str(csv), "--shape", "1x1",
                  "--layers", "1,2,1", "--init", str(path), "--iterations", "2")
    report = verify(out)
    assert report.ok, report.first_differences()
    net = stack.fully_connected((1, 2, 1), RELU, compose(IDENTITY, MSE))
    ds = data.load_csv(csv, (1, 1), values=True)
    params = validate_params(net.param_shapes(), init, "init")
    blocks = stack.iteration(net, params, ds.x, ds.targets)
    assert (blocks["z2"][0] == 0).all() and (blocks["delta2"][0] == 0).all()


@pytest.mark.parametrize("args", [[], ["--function", "elongated", "--start", "2,1", "--eta",
                                       "0.05"],
                                  ["--function", "rosenbrock", "--start", "-1.2,1", "--eta",
                                   "0.001", "--steps", "100"]])
def test_gd_workbook_verifies_and_reproduces_the_book(tmp_path, args):
    out = export(tmp_path, "gd.xlsx", "--net", "gd", *args)
    report = verify(out)
    assert report.ok, report.first_differences()
    if not args:
        wb = recalculated(out, tmp_path)
        z = [wb["Descent"].value(3 + i, 8) for i in range(3)]
        assert z == pytest.approx([13, 8.32, 5.3248], rel=1e-14)


def test_regression_workbook_verifies_and_follows_an_edited_point(tmp_path):
    csv = write_csv(tmp_path / "pts.csv", "x,y\n1,2.1\n2,3.9\n3,6.2\n4,7.8\n5,10.1\n")
    out = export(tmp_path, "reg.xlsx", "--net", "regression", "--data", str(csv))
    report = verify(out)
    assert report.ok, report.first_differences()
    wb = openpyxl.load_workbook(out)
    wb["Data"]["C4"] = 9.0  # the second point's y
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    report = verify(edited)
    assert report.ok, report.first_differences()
    values = recalculated(edited, tmp_path)
    ws = values["Regression"]
    labels = {ws.value(r, 1): ws.value(r, 2) for r in range(1, 30)}
    p, q = np.polyfit([1, 2, 3, 4, 5], [2.1, 9.0, 6.2, 7.8, 10.1], 1)
    assert labels["p"] == pytest.approx(p, rel=1e-12) and labels["q"] == pytest.approx(q, rel=1e-12)


def test_graph_workbook_verifies_and_a_new_price_recomputes_both_passes(tmp_path):
    out = export(tmp_path, "graph.xlsx", "--net", "graph")
    assert verify(out).ok
    wb = openpyxl.load_workbook(out)
    ws = wb["Inputs"]
    row = next(r for r in range(1, 30) if ws.cell(r, 1).value == "coat_price")
    ws.cell(row, 3).value = 500.0
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    report = verify(edited)
    assert report.ok, report.first_differences()
    g = recalculated(edited, tmp_path)["Graph"]
    rows = {g.value(r, 1): r for r in range(4, 13)}
    assert g.value(rows["total"], 4) == pytest.approx(770)  # (500 + 600) × 0.7
    assert g.value(rows["coat_count"], 7) == pytest.approx(350)  # 500 × 0.7


def test_twolayer_check_sheet_verifies_with_relative_errors_below_1e_6(tmp_path):
    out = export(tmp_path, "tl.xlsx", "--net", "twolayer", "--iterations", "2")
    report = verify(out)
    assert report.ok, report.first_differences()
    assert report.blocks["rel_error"].cells == 42 and report.blocks["C_plus"].cells == 42 * 64
    ws = recalculated(out, tmp_path)["Check"]
    errors = [ws.value(r, 5) for r in range(5, 47)]
    assert all(isinstance(e, (int, float)) for e in errors) and max(errors) < 1e-6


def test_workbook_from_a_version_with_fewer_settings_still_verifies(tmp_path,
                                                                    monkeypatch):
    """Older workbooks list fewer settings on Inputs, so every input row sits higher."""
    from sheetnet.workbook import settings, xlsx

    newer = settings.net_settings

    def older(run):  # format 1 named the layers' sizes and one activation, and no more
        found = newer(run)
        for key in ("workbook", "net", "architecture", "loss", "targets", "accuracy"):
            found.pop(key)
        return {"workbook": "sheetnet workbook 1", "net": "mlp", "layers": "12,3,2",
                "activation": "sigmoid", **found}

    preset = presets.get("mlp")
    run = preset.run(presets.Options(iterations=2))
    run = replace(run, origin={**run.origin, "format": "sheetnet workbook 1"})  # its Summary
    monkeypatch.setattr(settings, "net_settings", older)
    out = tmp_path / "old.xlsx"
    xlsx.write(preset.workbook(run), out)
    monkeypatch.undo()
    report = verify(out)
    assert report.ok, report.first_differences()


@pytest.mark.parametrize("name", ["mlp", "mlp_book_init", "gd", "regression", "graph", "xor",
                                  "twolayer"])
def test_shipped_workbooks_verify(name):
    """The ready-made workbooks (workbooks/) verify."""
    report = verify(ROOT / "workbooks" / f"{name}.xlsx")
    assert report.ok, report.first_differences()


@pytest.mark.parametrize("path", sorted((ROOT / "tests" / "legacy").glob("*.xlsx")),
                         ids=lambda p: p.stem)
def test_workbooks_of_earlier_formats_still_verify(path):
    """Workbooks written by earlier versions (format 1: 0.1.0; format 2: before the Guide and
    the Summary's title) keep verifying: users keep their files."""
    report = verify(path)
    assert report.ok, report.first_differences()
