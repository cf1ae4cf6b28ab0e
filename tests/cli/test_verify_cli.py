"""verify as a newcomer meets it (issue 18): several workbooks at once, a JSON report, the
inputs a learner changed since the export with where the run now ends, an engine's own failure
named as such while the other engines still report, a folder, -h."""

import dataclasses
import json

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

import sheetnet
from sheetnet.audit import engines
from sheetnet.cli import app
from tests.conftest import export

runner = CliRunner()


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    return export(tmp_path_factory.mktemp("mlp"), "mlp.xlsx", "--iterations", "3")


def _edited(src, out, **cells):
    wb = openpyxl.load_workbook(src)
    for ref, value in cells.items():
        wb["Inputs"][ref] = value
    wb.save(out)
    return out


def _input_cell(path, name: str) -> str:
    """The first cell of an input block, as the workbook's Map sheet gives its range."""
    wb = openpyxl.load_workbook(path)
    for row in wb["Map"].iter_rows(min_row=2, values_only=True):
        if row[0] == name and row[2] == "Inputs":
            return row[3].split('"')[-2].split(":")[0]  # =HYPERLINK("#…","C27:C62")
    raise AssertionError(f"{name} is not on the Map")


def test_an_edited_workbook_names_its_changed_inputs_and_where_the_run_now_ends(mlp, tmp_path):
    eta, w = _input_cell(mlp, "eta"), _input_cell(mlp, "W2")
    edited = _edited(mlp, tmp_path / "edited.xlsx", **{eta: 0.5, w: 1.5})
    report = sheetnet.verify(edited)
    assert report.ok and report.changed == ["eta", "W2"]
    # the run those inputs describe, computed independently from the API
    original = sheetnet.train("mlp", iterations=3)
    params = {k: original.blocks(0)[k].copy() for k in ("W2", "b2", "W3", "b3")}
    params["W2"][0, 0] = 1.5
    expected = sheetnet.train("mlp", iterations=3, eta=0.5, init=params)
    assert report.costs["C_T"] == pytest.approx(expected.cost[-1], rel=1e-9)
    assert report.exported_costs["C_T"] == original.cost[-1]
    result = runner.invoke(app, ["verify", str(edited)])
    assert result.exit_code == 0
    assert (f"inputs changed since the export: eta, W2; the run now ends at C_T"
            f" {expected.cost[-1]:.6f} (the export's: {original.cost[-1]:.6f})") in result.stdout


def test_a_workbook_saved_again_unedited_changed_nothing(mlp, tmp_path):
    again = tmp_path / "again.xlsx"
    openpyxl.load_workbook(mlp).save(again)  # every number written out once more
    report = sheetnet.verify(again)
    assert report.ok and report.changed == []
    assert "inputs changed" not in runner.invoke(app, ["verify", str(again)]).stdout


def test_several_workbooks_at_once_with_a_json_report(mlp, tmp_path):
    eta = _input_cell(mlp, "eta")
    edited = _edited(mlp, tmp_path / "edited.xlsx", **{eta: 0.3})
    broken = _edited(mlp, tmp_path / "broken.xlsx", **{eta: "abc"})
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["verify", str(mlp), str(edited), str(broken),
                                 str(tmp_path / "missing.xlsx"), "--json", str(out)])
    assert result.exit_code == 2  # two could not be checked
    assert f"error: Inputs!{eta} (eta) must hold a number" in result.stderr
    record = json.loads(out.read_text())
    assert record["ok"] is False and len(record["reports"]) == 4
    first, second = record["reports"][:2]
    assert first["ok"] and first["changed_inputs"] == [] and first["engines"][0]["bad"] == 0
    assert second["ok"] and second["changed_inputs"] == ["eta"]
    assert {b["block"] for b in first["engines"][0]["blocks"]} >= {"W2", "delta3", "C_T"}
    assert "no such file" in record["reports"][3]["error"]


def test_an_engine_failure_is_the_engines_and_the_others_still_report(mlp, monkeypatch):
    ironcalc = engines.ENGINES["ironcalc"]

    def broken(*args, **kwargs):
        raise engines.SheetnetError("Gnumeric failed while recalculating (segfault); the"
                                    " workbook passed sheetnet's own checks, so this is the"
                                    " engine's failure: try again, or another --engine")
    stand_in = dataclasses.replace(ironcalc, name="libreoffice", title="Stand-in",
                                   available=lambda: True)
    failing = dataclasses.replace(ironcalc, name="gnumeric", title="Gnumeric",
                                  available=lambda: True, recalculate=broken)
    monkeypatch.setitem(engines.ENGINES, "libreoffice", stand_in)
    monkeypatch.setitem(engines.ENGINES, "gnumeric", failing)
    result = runner.invoke(app, ["verify", str(mlp), "--engine", "all"])
    assert result.exit_code == 1
    assert "engine failed (Gnumeric) Gnumeric failed while recalculating (segfault)" in \
        result.stderr
    assert "is it a valid" not in result.output
    report = sheetnet.verify(mlp, "all")
    assert [e.ok for e in report.engines] == [True, True, False]
    assert report.engines[1].cells == report.engines[0].cells > 10_000


def test_a_folder_says_to_give_its_workbooks(tmp_path):
    result = runner.invoke(app, ["verify", str(tmp_path)])
    assert result.exit_code == 2
    assert f"{tmp_path} is a folder; give the workbooks in it, e.g. sheetnet verify" \
           f" {tmp_path}/*.xlsx" in result.output


@pytest.mark.parametrize("args", [["-h"], ["verify", "-h"], ["export", "-h"], ["train", "-h"]])
def test_minus_h_is_help(args):
    result = runner.invoke(app, args)
    assert result.exit_code == 0 and "Usage:" in result.output


def test_the_progress_bar_reads_elapsed_then_left():
    from sheetnet import cli

    texts = [getattr(c, "text_format", type(c).__name__) for c in cli._progress().columns]
    assert texts[-4:] == ["TimeElapsedColumn", "elapsed,", "TimeRemainingColumn", "left"]


def test_the_stamp_leaves_the_numbers_alone(mlp):
    """The stamp is a document property: no cell, so the numbers are the core's as before."""
    report = sheetnet.verify(mlp)
    assert report.ok and np.isfinite(report.costs["C_T"])
