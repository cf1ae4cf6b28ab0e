"""Windows of a run (issue 21): a checkpoint's parameters and optimizer state as input cells,
a few iterations on a few images, recalculated by the engines. What the cells compute is
compared with the run itself going on (an independent path: the whole data with a batch mask,
not the window's few images), beside verify's own rebuild from the file."""

import zipfile
from xml.etree import ElementTree

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from sheetnet import notation as names
from sheetnet import presets
from sheetnet.audit.verify import _numbers, verify
from sheetnet.cli import app
from sheetnet.core import checkpoint
from sheetnet.presets import resume
from tests.conftest import export, recalculated

runner = CliRunner()


def _checkpoint(tmp_path, *args: str):
    path = tmp_path / "ck.npz"
    result = runner.invoke(app, ["train", *args, "--checkpoint", str(path)])
    assert result.exit_code == 0, result.output
    return path


def test_a_window_computes_in_its_cells_the_steps_the_run_takes(tmp_path):
    ck_path = _checkpoint(tmp_path, "--net", "cnn", "--optimizer", "adam", "--eta", "0.01",
                          "--batch-size", "8", "--eta-decay", "0.98", "--iterations", "9")
    out = export(tmp_path, "w.xlsx", "--from", str(ck_path), "--images", "8", "--iterations",
                 "2")
    report = verify(out)
    assert report.ok, report.first_differences()
    preset = presets.get("cnn")
    ck = checkpoint.load(ck_path)
    window = resume.window(preset, ck, 2, 8, None)
    ahead = preset.trace(resume.continued(preset, ck, 1))  # the run, on the whole data
    at = {(p.name, p.iteration): p for p in preset.workbook(window).places}
    values = recalculated(out, tmp_path)

    def cells(name, k):
        place = at[name, k]
        return _numbers(values[place.sheet], place).reshape(ahead.iterations[k][name].shape)

    for p in ("F", "bF", "WO", "bO"):
        for k in (0, 1):  # the checkpoint's, then after the run's step 10 (Adam's t = 11)
            assert abs(cells(p, k) - ahead.iterations[k][p]).max() < 1e-12, (p, k)
        assert abs(cells(names.state("m", p), 0) - ahead.iterations[0][names.state("m", p)]
                   ).max() < 1e-13
    wb = openpyxl.load_workbook(out, read_only=True)
    assert "iteration 10 of the run's count" in wb["Iter 0"]["A1"].value
    settings = {row[0]: row[2] for row in wb["Inputs"].iter_rows(min_row=4, max_row=24,
                                                                  values_only=True)}
    assert settings["first iteration"] == 10
    assert [wb[name]["A5"].value for name in ("Summary", "Statistics")] == [10, 10]
    with zipfile.ZipFile(out) as archive:  # the charts' x axes span the run's iterations
        charts = [ElementTree.fromstring(archive.read(n)) for n in archive.namelist()
                  if "charts/chart" in n]
    assert len(charts) == 2 and all(_x_span(c) == (10.0, 12.0) for c in charts)


def _x_span(chart) -> tuple[float, float]:
    """A chart's x axis's (min, max) as its XML sets them (its first value axis)."""
    scaling = next(e for e in chart.iter() if e.tag.endswith("}scaling"))
    bound = {e.tag.rpartition("}")[2]: float(e.get("val")) for e in scaling
             if e.tag.endswith(("}min", "}max"))}
    return bound["min"], bound["max"]


def test_an_edited_state_cell_recomputes_and_verify_names_it(tmp_path):
    ck_path = _checkpoint(tmp_path, "--net", "mlp", "--optimizer", "momentum", "--iterations",
                          "5")
    out = export(tmp_path, "w.xlsx", "--from", str(ck_path), "--pick", "1,10,34,51")
    wb = openpyxl.load_workbook(out)
    ws = wb["Inputs"]
    row = next(r for r in range(1, 200) if ws.cell(r, 1).value == "v_W2")
    ws.cell(row, 3).value = float(ws.cell(row, 3).value) + 0.5
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    report = verify(edited)
    assert report.ok, report.first_differences()
    assert "v_W2" in report.changed
    assert report.blocks["W2"].cells > 0


@pytest.mark.slow
def test_the_mnist_window_verifies_in_every_engine(all_engines, tmp_path):
    """Issue 21's done-when: 200 iterations of --net mnist, then a window of 8 digits and 2
    iterations from its checkpoint, checked in IronCalc; a window of 1 digit and 1 iteration
    checked in LibreOffice and Gnumeric too (the same formulas, an eighth as many cells: their
    time goes with the cells)."""
    ck_path = _checkpoint(tmp_path, "--net", "mnist", "--iterations", "200", "--every", "200")
    out = export(tmp_path, "window.xlsx", "--net", "mnist", "--from", str(ck_path),
                 "--images", "8", "--iterations", "2")
    report = verify(out)
    assert report.ok, report.first_differences()
    assert report.cells > 800_000 and {"m_F2", "v_WO"} <= set(report.blocks)
    small = export(tmp_path, "small.xlsx", "--net", "mnist", "--from", str(ck_path),
                   "--images", "1", "--iterations", "1")
    report = verify(small, ["all"])
    assert report.ok, report.first_differences()
    assert {"m_F2", "v_WO"} <= set(report.blocks)


def test_a_recurrent_window_goes_on_with_the_whole_text_and_verifies(tmp_path):
    ck_path = _checkpoint(tmp_path, "--net", "rnn", "--optimizer", "rmsprop", "--batch-size",
                          "6", "--iterations", "4")
    out = export(tmp_path, "w.xlsx", "--from", str(ck_path), "--iterations", "1")
    report = verify(out)
    assert report.ok, report.first_differences()
    assert "s_Wxh" in report.blocks
    wb = openpyxl.load_workbook(out, read_only=True)
    assert "iteration 5 of the run's count" in wb["Iter 0"]["A1"].value
    result = runner.invoke(app, ["export", "--from", str(ck_path), "--images", "3", "--out",
                                 str(tmp_path / "x.xlsx")])
    assert result.exit_code == 2 and "trains on its whole text" in result.output


def test_a_batch_norm_window_reads_its_running_averages_from_inputs(tmp_path):
    ck_path = _checkpoint(tmp_path, "--net", "cnn", "--batch-norm", "--optimizer", "adam",
                          "--batch-size", "12", "--iterations", "5")
    out = export(tmp_path, "w.xlsx", "--from", str(ck_path), "--images", "12")
    report = verify(out)
    assert report.ok, report.first_differences()
    preset = presets.get("cnn")
    ck = checkpoint.load(ck_path)
    window = resume.window(preset, ck, 2, 12, None)
    ahead = preset.trace(resume.continued(preset, ck, 1))
    at = {(p.name, p.iteration): p for p in preset.workbook(window).places}
    values = recalculated(out, tmp_path)
    for name in ("rmeanF", "rvarF"):  # after iteration 0: the checkpoint's, moved by its μ, var
        place = at[name, 0]
        got = _numbers(values[place.sheet], place).ravel()
        assert abs(got - ahead.iterations[0][name].ravel()).max() < 1e-12, name


def test_a_window_late_in_an_adam_run_verifies_in_every_engine(all_engines, tmp_path):
    """Step 8,000's bias correction 1 − 0.9⁸⁰⁰¹: LibreOffice's ^ gives #NUM! where a power
    underflows (0.9⁸⁰⁰¹ ≈ 1e-366), so past k = 64 the cells write it EXP(k·LN(β))."""
    ck_path = _checkpoint(tmp_path, "--net", "mlp", "--optimizer", "adam", "--iterations", "3")
    with np.load(ck_path) as f:
        arrays = {k: f[k] for k in f.files}
    arrays["step"] = np.array(8000)
    late = tmp_path / "late.npz"
    np.savez(late, **arrays)
    out = export(tmp_path, "w.xlsx", "--from", str(late), "--images", "4", "--iterations", "2")
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert _has_formula(out, "EXP(8001*LN(beta1))")


def _has_formula(path, text: str) -> bool:
    with zipfile.ZipFile(path) as archive:
        return any(text.encode() in archive.read(n) for n in archive.namelist()
                   if n.startswith("xl/worksheets/"))
