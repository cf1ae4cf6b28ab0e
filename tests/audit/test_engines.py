"""Each spreadsheet engine on its own: it really recalculates, it names the cell that breaks a
workbook, it reports error values, and ``--engine all`` passes only when every engine agrees."""

import os
import subprocess
import sys

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from sheetnet import presets
from sheetnet.audit import causes
from sheetnet.audit.engines import ENGINES
from sheetnet.audit.verify import verify
from sheetnet.cli import app
from sheetnet.core import data, descent
from sheetnet.core import net as stack
from tests.conftest import export, recalculated, recalculated_cost, stale_copy

runner = CliRunner()



def test_every_engine_agrees_with_numpy_on_every_cell(engine, tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    report = verify(out, [engine])
    assert report.ok, report.first_differences()
    assert report.engines[0].engine == engine
    assert report.blocks["dC_dW2"].cells == 3 * 64 * 36
    assert max(b.max_err for b in report.blocks.values()) < 1e-9


def test_every_engine_routes_pooling_ties_like_numpy(engine, tmp_path):
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "1")
    report = verify(out, [engine])
    assert report.ok, report.first_differences()
    assert report.blocks["routed"].cells == 2 * 96 * 48


def test_every_engine_really_recalculates(engine, tmp_path):
    """Cached values that are all wrong, and an edited η and weight: the engine must compute
    every formula afresh, as NumPy does from the same edits."""
    out = export(tmp_path, "mlp.xlsx", "--iterations", "3")
    wb = openpyxl.load_workbook(out)
    inputs = wb["Inputs"]
    inputs[wb.defined_names["eta"].attr_text.split("!")[1].replace("$", "")] = 0.7
    w_row = next(r for r in range(1, 60) if inputs.cell(r, 1).value == "W2")
    inputs.cell(w_row, 3).value = 1.5
    wb.save(tmp_path / "edited.xlsx")
    stale = stale_copy(tmp_path / "edited.xlsx", tmp_path / "stale.xlsx")
    cost = recalculated_cost(stale, tmp_path, engine)
    net = stack.fully_connected((12, 3, 2))
    params = stack.init(net, "normal", 0)
    params["W2"][0, 0] = 1.5
    ds = data.builtin("digits01")
    expected = descent.train_net(net, params, ds.x, ds.targets, 0.7, 3).cost
    np.testing.assert_allclose(cost, expected, rtol=1e-12)
    unedited = descent.train_net(net, stack.init(net, "normal", 0), ds.x, ds.targets, 0.2, 3).cost
    assert np.abs(cost - unedited).min() > 1e-6
    assert verify(stale, [engine]).ok


def test_every_engine_names_the_broken_formula_first(engine, tmp_path):
    """δ³₁ of image 1 on Iter 1 loses its σ' factor: that cell is the root, and everything
    after it (Iter 1's sums, Iter 2, the Summary) is counted as downstream."""
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 1"]
    row = next(r for r in range(1, 120) if ws.cell(r, 1).value == "δ³")
    assert ws.cell(row, 5).value == f"=(E{row - 6}-E{row - 16})*E{row - 6}*(1-E{row - 6})"
    ws.cell(row, 5).value = f"=(E{row - 6}-E{row - 16})*E{row - 6}"
    broken = tmp_path / "broken.xlsx"
    wb.save(broken)
    report = verify(broken, [engine])
    e = report.engines[0]
    assert not report.ok and len(e.roots) == 1
    assert e.roots[0].startswith(f"'Iter 1'!E{row} (delta3, image 1)")
    assert f"=(E{row - 6}-E{row - 16})*E{row - 6}" in e.roots[0]
    assert e.downstream == e.bad - 1 > 100
    result = runner.invoke(app, ["verify", str(broken), "--engine", engine])
    assert result.exit_code == 1
    first = next(line for line in result.output.splitlines() if "root cause" in line
                 or "differs" in line)
    assert f"'Iter 1'!E{row}" in first


def test_every_engine_reports_error_values(engine, tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    wb = openpyxl.load_workbook(out)
    wb["Map"]["G3"] = "=1/0"  # a label's cell, in no block: only the scan for error values sees it
    wb.save(tmp_path / "map.xlsx")
    ws = wb["Iter 0"]
    w = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "w²₁₁")
    ws[f"E{w}"] = "=SQRT(-1)"  # image 1's ∂C/∂w²₁₁: the error flows into every later sheet
    wb.save(tmp_path / "both.xlsx")
    report = verify(tmp_path / "map.xlsx", [engine])
    assert not report.ok and report.error_cells == ["Map!G3: #DIV/0!"]
    assert report.engines[0].bad == 0
    report = verify(tmp_path / "both.xlsx", [engine])
    # engines differ in which error a formula passes on (#NUM! or #VALUE!), not in where
    assert [e.split(": #")[0] for e in report.error_cells[:2]] == ["Summary!B6", "Summary!C6"]
    assert report.engines[0].error_count > 100
    roots = report.engines[0].roots
    assert len(roots) == 1 and roots[0].startswith(f"'Iter 0'!E{w} (dC_dW2, image 1): workbook"
                                                   " no number")


@pytest.mark.parametrize("net", [n for n in presets.PRESETS if n != "mnist"])  # no workbook yet
def test_verify_engine_all_passes_on_every_preset(all_engines, small_book, net):
    # each preset's small workbook (tests/audit/test_rnn_workbook.py verifies the recurrent
    # nets at more sizes)
    result = runner.invoke(app, ["verify", str(small_book(net)), "--engine", "all"])
    assert result.exit_code == 0, result.output
    assert "(IronCalc and LibreOffice and Gnumeric)" in result.output


def test_verify_engine_all_follows_an_edited_eta(all_engines, tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    wb = openpyxl.load_workbook(out)
    wb["Inputs"][wb.defined_names["eta"].attr_text.split("!")[1].replace("$", "")] = 0.9
    wb.save(tmp_path / "edited.xlsx")
    report = verify(tmp_path / "edited.xlsx", ["all"])
    assert report.ok and [e.engine for e in report.engines] == list(ENGINES)
    ds = data.builtin("digits01")
    net = stack.fully_connected((12, 3, 2))
    edited = descent.train_net(net, stack.init(net, "normal", 0), ds.x, ds.targets, 0.9, 2).cost
    # verify's NumPy side ran with η = 0.9 read from the workbook, and every engine matched it
    np.testing.assert_allclose(recalculated_cost(tmp_path / "edited.xlsx", tmp_path), edited,
                               rtol=1e-12)


def test_a_missing_engine_is_one_line_naming_how_to_install_it(tmp_path, monkeypatch):
    out = export(tmp_path, "gd.xlsx", "--net", "gd")
    (tmp_path / "bin").mkdir()
    monkeypatch.setenv("PATH", str(tmp_path / "bin"))  # neither soffice nor ssconvert
    for choice, hint in [("libreoffice", "apt-get install -y libreoffice-calc-nogui"),
                         ("gnumeric", "apt-get install -y gnumeric"),
                         ("all", "apt-get install -y libreoffice-calc-nogui")]:
        result = runner.invoke(app, ["verify", str(out), "--engine", choice])
        assert result.exit_code == 2, result.output
        assert hint in result.output and len(result.output.strip().splitlines()) == 1


def test_unknown_engine_is_refused(tmp_path):
    out = export(tmp_path, "gd.xlsx", "--net", "gd")
    result = runner.invoke(app, ["verify", str(out), "--engine", "excel"])
    assert result.exit_code == 2 and "ironcalc, libreoffice, gnumeric, all" in result.output


def test_default_engine_needs_neither_libreoffice_nor_gnumeric(tmp_path):
    """The README's main command on a machine without soffice or ssconvert on PATH."""
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    bare = tmp_path / "bin"
    bare.mkdir()
    env = {**os.environ, "PATH": str(bare)}
    proc = subprocess.run([sys.executable, "-m", "sheetnet", "verify", str(out)], env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert "every cell agrees" in proc.stdout


def test_an_engine_past_its_timeout_is_ended_with_everything_it_started(tmp_path):
    name = "libreoffice" if ENGINES["libreoffice"].available() else "ironcalc"
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "3")
    result = runner.invoke(app, ["verify", str(out), "--engine", name, "--timeout", "0.3"])
    assert result.exit_code == 2 and "did not finish within 0.3 s" in result.output
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert "sheetnet-verify-" not in ps  # no engine process still runs on our files


@pytest.mark.parametrize("formula, refs", [
    ("=(E75-E65)*E75*(1-E75)", [("S", 75, 5, 75, 5), ("S", 65, 5, 65, 5), ("S", 75, 5, 75, 5),
                                ("S", 75, 5, 75, 5)]),
    ("='Iter 0'!C4-eta*'Iter 0'!D4", [("Iter 0", 4, 3, 4, 3), ("Iter 0", 4, 4, 4, 4)]),
    ("=SUMPRODUCT($C$5:$E$7,K53:M55)+Data!$C$17", [("S", 5, 3, 7, 5), ("S", 53, 11, 55, 13),
                                                  ("Data", 17, 3, 17, 3)]),
    ("=LOG10(A1)+ATAN2(B2,C3)", [("S", 1, 1, 1, 1), ("S", 2, 2, 2, 2), ("S", 3, 3, 3, 3)]),
    ('=HYPERLINK("#Data!A1","E5:E7")', []),
    ("='It''s'!B2:A1", [("It's", 1, 1, 2, 2)]),
])
def test_references_are_read_from_formulas(formula, refs):
    assert causes.references(formula, "S") == refs


def test_every_engine_computes_spreads_squares_and_powers_in_full(engine, tmp_path):
    """The Statistics sheet's standard deviation is written two-pass (``ops.spread_xl``):
    values of 1 − 1e-6·u have a spread of 3e-7 that a one-pass STDEVP loses digits of
    (IronCalc's 4%); blank cells (the rows between tiles) are left out, as AVERAGE does."""
    from sheetnet.pairs import ops

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "S"
    values = 1 - 1e-6 * np.random.default_rng(0).random((4, 300))
    for i in (0, 1, 3):  # row 3 left blank
        for j in range(300):
            ws.cell(1 + i, 1 + j, float(values[i, j]))
    ws["A7"] = f"={ops.mean_xl('A1:KN4')}"
    ws["A8"] = f"={ops.spread_xl('A1:KN4', 'A7')}"
    # squares and powers that underflow: LibreOffice's ^ gives #NUM! there, these forms 0
    ws["B10"], ws["B11"] = 1e-160, f"={ops.square_xl('B10')}"
    ws["B12"], ws["B13"] = 0.9, f"=1-{ops.power_xl('B12', 8001)}"
    ws["B14"] = f"={ops.power_xl('B12', 3)}"
    wb.save(tmp_path / "s.xlsx")
    got = recalculated(tmp_path / "s.xlsx", tmp_path, engine)["S"]
    want = float(ops.spread(values[[0, 1, 3]]))
    assert abs(got.numbers[7, 0] - want) <= 1e-9 * want, (got.numbers[7, 0], want)
    assert not got.errors, got.errors
    np.testing.assert_allclose(got.numbers[[10, 12, 13], 1], [1e-320, 1.0, 0.9**3],
                               rtol=1e-12, atol=1e-300)


def test_saturated_outputs_verify_in_the_default_engine(tmp_path):
    """Issue 26's case: STDEVP of saturated tanh-fed outputs was off by 1.6e-9 in IronCalc."""
    out = export(tmp_path, "s.xlsx", "--net", "cnn", "--arch", "conv 2 3x3 pad 2, tanh, avgpool"
                 " 2, dense 3", "--init-scheme", "xavier", "--iterations", "2")
    report = verify(out)
    assert report.ok and "std_aO (Statistics)" in report.blocks, report.first_differences()
