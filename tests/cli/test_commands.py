"""The command line: outputs, one-line errors with exit code 2, and nothing written on error."""

import json
import os
import stat
import subprocess
import sys

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from sheetnet.cli import app
from tests.conftest import BOOK_INIT, export, write_csv

runner = CliRunner()


def test_export_writes_a_formula_workbook(tmp_path):
    out = tmp_path / "mlp.xlsx"
    result = runner.invoke(app, ["export", "--net", "mlp", "--out", str(out), "--iterations", "2"])
    assert result.exit_code == 0, result.output
    assert "formula cells" in result.output
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["Guide", "Summary", "Inputs", "Data", "Images", "Iter 0", "Iter 1",
                             "Iter 2", "Statistics", "Map"]
    assert "eta" in wb.defined_names
    it1 = wb["Iter 1"]
    w = next(r for r in range(1, it1.max_row + 1) if it1.cell(r, 2).value == "w²₁₁")
    assert it1[f"C{w}"].value.startswith(f"='Iter 0'!C{w}-eta*'Iter 0'!D{w}")
    assert it1[f"E{w}"].value.startswith("=")
    assert wb["Map"]["A1"].value == "block"


def test_existing_output_is_kept_without_force(tmp_path):
    out = tmp_path / "mlp.xlsx"
    out.write_bytes(b"precious")
    result = runner.invoke(app, ["export", "--out", str(out), "--iterations", "1"])
    assert result.exit_code == 2
    assert "add --force" in result.output
    assert out.read_bytes() == b"precious"
    result = runner.invoke(app, ["export", "--out", str(out), "--iterations", "1", "--force"])
    assert result.exit_code == 0
    assert out.read_bytes()[:2] == b"PK"


@pytest.mark.parametrize("args, message", [
    (["--net", "nope"], "unknown net 'nope'"),
    (["--eta", "0"], "--eta 0.0 must be a positive"),
    (["--eta", "-1"], "must be a positive"),
    (["--eta", "nan"], "must be a positive"),
    (["--iterations", "0"], "--iterations 0 must be at least 1"),
    (["--init", "missing.json"], "no such file"),
    (["--data", "missing.csv", "--shape", "1x2"], "no such file"),
    (["--net", "cnn", "--data", "{csv}"], "needs --shape"),
    (["--shape", "4x3"], "--shape goes with --data"),
    (["--data", "{csv}", "--shape", "3x3"], "do not fit --shape 3x3"),
    (["--data", "{one}", "--shape", "1x2"], "only one class"),
    (["--init", "{badinit}"], "missing b3"),
    (["--init", "{notjson}"], "not valid JSON"),
])
def test_bad_export_input(tmp_path, args, message):
    csv = write_csv(tmp_path / "d.csv", "label,p11,p12\na,1,0\nb,0,1\n")
    one = write_csv(tmp_path / "one.csv", "label,p11,p12\na,1,0\na,0,1\n")
    badinit = tmp_path / "bad.json"
    badinit.write_text(json.dumps({"W2": [[0] * 12] * 3, "b2": [0] * 3, "W3": [[0] * 3] * 2}))
    notjson = tmp_path / "not.json"
    notjson.write_text("{W2:")
    args = [a.format(csv=csv, one=one, badinit=badinit, notjson=notjson) for a in args]
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["export", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output
    assert not out.exists()
    assert not list(tmp_path.glob(".out.xlsx*"))


@pytest.mark.parametrize("args, message", [
    (["--filter-size", "7"], "a 7×7 filter is larger than the 6×6 image; use --filter-size 6"),
    (["--pool-size", "3"], "the 4×4 feature maps do not divide into 3×3 pooling windows; use"
                           " --pool-size 1 or 2 or 4"),
    (["--pool", "3"], "--pool is max or average; the window's size is --pool-size 3"),
    (["--pool", "min"], "--pool 'min' is not one of: max, average"),
    (["--padding", "3"], "--padding 3 must be 0 to 2"),
    (["--padding", "1", "--pool-size", "4"], "6×6 feature maps do not divide into 4×4 pooling"
                                             " windows; use --pool-size 1 or 2 or 3 or 6"),
    (["--data", "{csv5}", "--shape", "5x5"], "3×3 feature maps do not divide into 2×2"),
    (["--data", "{csv5}", "--shape", "6x6"], "do not fit --shape 6x6"),
    (["--data", "{csv5}", "--shape", "5x5x2"], "25 pixel columns do not fit --shape 5x5x2"),
    (["--data", "{csv5}", "--shape", "5x5x2x1"], "is not ROWSxCOLS or ROWSxCOLSxCHANNELS"),
    (["--init", "{badinit}"], "WO has shape 3×9, this net needs 3×12"),
    (["--init", "{mlpinit}"], "missing F, bF, WO, bO"),
    (["--filters", "0"], "must be at least 1"),
])
def test_bad_cnn_input(tmp_path, args, message):
    pixels = ",".join(f"p{i}" for i in range(25))
    csv5 = write_csv(tmp_path / "d5.csv", f"label,{pixels}\n1,{','.join(['0'] * 25)}\n"
                                          f"2,{','.join(['1'] * 25)}\n")
    badinit = tmp_path / "bad.json"
    badinit.write_text(json.dumps({"F": [[[0] * 3] * 3] * 3, "bF": [0] * 3,
                                   "WO": [[0] * 9] * 3, "bO": [0] * 3}))
    args = [a.format(csv5=csv5, badinit=badinit, mlpinit=BOOK_INIT) for a in args]
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["export", "--net", "cnn", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()
    assert not list(tmp_path.glob(".out.xlsx*"))


@pytest.mark.parametrize("args, message", [
    (["--net", "xor", "--layers", "3,4,1"], "starts with 3 inputs but the data has 2 per row"),
    (["--net", "xor", "--layers", "2,4,2"], "ends with 2 outputs but the data has one target"),
    (["--net", "mlp", "--layers", "12,x,2"], "not a list of sizes"),
    (["--net", "mlp", "--layers", "12"], "at least an input and an output layer"),
    (["--net", "mlp", "--activation", "soft"], "'soft' is not one of: sigmoid, relu"),
    (["--net", "mlp", "--loss", "l1"], "--loss 'l1' is not one of: half-sse, mse"),
    (["--net", "cnn", "--layers", "36,3"], "--layers is for fully connected nets"),
    (["--net", "curve", "--data", "{text}", "--shape", "1x1"], "label 'big' is not a number"),
])
def test_bad_fully_connected_options(tmp_path, args, message):
    text = write_csv(tmp_path / "t.csv", "label,x\nbig,1\n2,3\n")
    out = tmp_path / "out.xlsx"
    result = runner.invoke(app, ["export", "--out", str(out),
                                 *[a.format(text=text) for a in args]])
    assert result.exit_code == 2, result.output
    assert message in " ".join(result.output.split())
    assert not out.exists()


def test_cnn_export_lays_maps_out_in_their_own_shape(tmp_path):
    from openpyxl.utils import get_column_letter as letter

    out = tmp_path / "cnn.xlsx"
    result = runner.invoke(app, ["export", "--net", "cnn", "--out", str(out), "--iterations",
                                 "1"])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 0"]
    labels = {ws.cell(r, 1).value: r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value}
    zf, x = labels["zᶠ"], labels["x"]
    wf, bf = labels["wᶠ"], labels["bᶠ"]  # the parameters, below the passes they serve
    assert zf < wf and bf > wf
    header = {ws.cell(2, c).value: c for c in range(1, ws.max_column + 1)}
    first, value = header[1], header["value"] if header["value"] > header[1] else None
    assert first == 6 and value is not None  # image 1 right after the totals, values after
    v = [letter(value + c) for c in range(3)]  # wᶠ¹'s 3×3 tile
    filt = f"${v[0]}${wf}:${v[2]}${wf + 2}"
    # image 1's band starts at F: its z¹₁₁ is the 3×3 window at the image's top left
    assert ws.cell(zf, first).value == f"=SUMPRODUCT(F{x}:H{x + 2},{filt})+${v[0]}${bf}"
    # image 2's band starts 7 columns later (6 pixel columns and a blank one)
    assert ws.cell(zf, first + 7).value == f"=SUMPRODUCT(M{x}:O{x + 2},{filt})+${v[0]}${bf}"
    # three 4×4 maps, each followed by a blank row
    assert [ws.cell(zf + r, first).value is None for r in range(10)] == [False] * 4 + [True] + \
        [False] * 4 + [True]
    assert ws.cell(zf, first + 4).value is None  # the blank column after each 4-wide map
    routed = labels["δᴾ routed"]
    cell = ws.cell(routed + 1, first + 1).value
    assert "MAX(" in cell and "AND(" in cell
    assert wb["Data"].cell(4, 5).value in (0, 1)  # Data keeps each image 6×6 as well


def test_show_cnn_prints_maps():
    result = runner.invoke(app, ["show", "--net", "cnn", "--image", "40", "--iteration", "2"])
    assert result.exit_code == 0, result.output
    assert "image 40 (label 2)" in result.output
    assert "zᴾ" in result.output and "δᴼ" in result.output and "C_T" in result.output


def test_errors_are_one_line_without_traceback(tmp_path):
    for args in (["export", "--out", str(tmp_path / "a.xlsx"), "--eta", "abc"],
                 ["export", "--out", str(tmp_path / "a.xlsx"), "--eta", "-2"],
                 ["verify", str(tmp_path / "none.xlsx")]):
        proc = subprocess.run([sys.executable, "-m", "sheetnet", *args], capture_output=True,
                              text=True, env={"COLUMNS": "60", "PATH": ""})
        assert proc.returncode == 2, proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1, proc.stderr
        assert proc.stderr.startswith("error:")
        assert "Traceback" not in proc.stderr
    assert not (tmp_path / "a.xlsx").exists()


def test_verify_rejects_files_that_are_not_sheetnet_workbooks(tmp_path):
    text = tmp_path / "notes.xlsx"
    text.write_text("hello")
    result = runner.invoke(app, ["verify", str(text)])
    assert result.exit_code == 2 and "not an .xlsx workbook" in result.output
    other = tmp_path / "other.xlsx"
    wb = openpyxl.Workbook()
    wb.active["A1"] = 1
    wb.save(other)
    result = runner.invoke(app, ["verify", str(other)])
    assert result.exit_code == 2 and "not a sheetnet workbook" in result.output


def test_csv_labels_are_text_never_formulas(tmp_path):
    csv = write_csv(tmp_path / "d.csv", "label,p11,p12\n=1+1,1,0\n@x,0,1\n-3,1,1\n")
    out = tmp_path / "w.xlsx"
    result = runner.invoke(app, ["export", "--out", str(out), "--data", str(csv), "--shape",
                                 "1x2", "--iterations", "1"])
    assert result.exit_code == 0, result.output
    wb = openpyxl.load_workbook(out)
    cells = [wb["Data"].cell(3, 5 + i) for i in range(3)]
    assert [c.value for c in cells] == ["=1+1", "@x", "-3"]
    assert all(c.data_type == "s" for c in cells)


def test_train_prints_table_and_writes_json(tmp_path):
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["train", "--iterations", "3", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "C_T" in result.output and "22.096" in result.output
    dump = json.loads(out.read_text())
    assert len(dump["cost"]) == 4 and len(dump["accuracy"]) == 4
    assert set(dump["blocks"]) == {"C_T", "accuracy"}  # only what train shows, unless asked
    result = runner.invoke(app, ["train", "--iterations", "3", "--json", str(out), "--blocks",
                                 "--force"])
    assert result.exit_code == 0, result.output
    dump = json.loads(out.read_text())
    assert {"z2", "a2", "delta3", "dC_dW2", "dCT_dW2", "W2"} <= set(dump["blocks"])
    assert len(dump["blocks"]["z2"]) == 4 and len(dump["blocks"]["z2"][0]) == 64
    result = runner.invoke(app, ["train", "--iterations", "3", "--json", str(out)])
    assert result.exit_code == 2 and "add --force" in result.output


def test_train_cnn_json_uses_the_workbooks_block_names(tmp_path):
    out = tmp_path / "cnn.json"
    result = runner.invoke(app, ["train", "--net", "cnn", "--iterations", "2", "--json", str(out),
                                 "--blocks"])
    assert result.exit_code == 0, result.output
    blocks = json.loads(out.read_text())["blocks"]
    assert {"F", "zF", "aF", "zP", "deltaP", "routed", "deltaF", "dC_dF", "dCT_dWO"} <= set(blocks)
    assert np.array(blocks["zF"]).shape == (3, 96, 3, 4, 4)
    assert np.array(blocks["x"]).shape == (3, 96, 6, 6)


def test_train_with_book_init(tmp_path):
    result = runner.invoke(app, ["train", "--iterations", "1", "--init", str(BOOK_INIT)])
    assert result.exit_code == 0, result.output
    assert "18.347" in result.output


def test_show_prints_image_and_blocks():
    result = runner.invoke(app, ["show", "--iteration", "2", "--image", "40"])
    assert result.exit_code == 0, result.output
    assert "image 40 (label 1)" in result.output
    assert "layer 2" in result.output and "layer 3" in result.output and "δ" in result.output
    result = runner.invoke(app, ["show", "--iteration", "99"])
    assert result.exit_code == 2 and "outside 0..50" in result.output
    result = runner.invoke(app, ["show", "--image", "65"])
    assert result.exit_code == 2 and "outside 1..64" in result.output


def test_nets_lists_every_preset_on_one_line():
    result = runner.invoke(app, ["nets"], env={"COLUMNS": "80"})
    assert result.exit_code == 0
    lines = {line.split()[0]: line for line in result.output.splitlines()[2:] if line.strip()}
    for name in ("gd", "regression", "mlp", "cnn", "graph", "xor", "curve", "twolayer", "digits"):
        assert name in lines, name
        assert "…" not in lines[name], lines[name]  # nothing cut at 80 columns
    assert "book 2-11" in lines["gd"] and "book 5-4, 5-6" in lines["cnn"]


@pytest.mark.parametrize("command", ["export", "verify", "train", "show", "nets"])
def test_every_command_has_help_with_example(command):
    result = runner.invoke(app, [command, "--help"])
    assert result.exit_code == 0
    assert "Example" in result.output


def test_interrupted_export_keeps_the_old_file_and_leaves_no_temp(tmp_path, monkeypatch):
    out = tmp_path / "mlp.xlsx"
    out.write_bytes(b"old workbook")

    def disk_full(grid, styles, write, values=None, formula_style=None, looks=None):
        write("<sheetData><row r=\"1\">")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sheetnet.workbook.xlsx._sheet_data", disk_full)
    result = runner.invoke(app, ["export", "--out", str(out), "--iterations", "1", "--force"])
    assert result.exit_code == 2
    assert "could not write" in result.output and "No space left" in result.output
    assert out.read_bytes() == b"old workbook"
    assert [p.name for p in tmp_path.iterdir()] == ["mlp.xlsx"]


def test_written_files_get_the_usual_permissions(tmp_path):
    """Atomic writes go through a private temporary file; the result must not stay 0600."""
    out = tmp_path / "mlp.xlsx"
    old = os.umask(0o022)
    try:
        result = runner.invoke(app, ["export", "--out", str(out), "--iterations", "1"])
        json_out = tmp_path / "run.json"
        runner.invoke(app, ["train", "--iterations", "1", "--json", str(json_out)])
    finally:
        os.umask(old)
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(out.stat().st_mode) == 0o644
    assert stat.S_IMODE(json_out.stat().st_mode) == 0o644


def test_train_compare_prints_every_rules_z():
    result = runner.invoke(app, ["train", "--net", "gd", "--function", "elongated", "--compare",
                                 "gd,momentum,adam", "--every", "30"])
    assert result.exit_code == 0, result.output
    assert all(f"{r}.z" in result.output for r in ("gd", "momentum", "adam"))
    # plain descent on x² + 10y² with η = 0.09 multiplies x by 0.82 and y by −0.8 a step
    z30 = (3 * 0.82**30) ** 2 + 10 * (2 * 0.8**30) ** 2
    last = next(line for line in result.output.splitlines() if line.strip("│ ").startswith("30"))
    assert f"{z30:.6f}" in last


def test_show_prints_the_rules_state():
    result = runner.invoke(app, ["show", "--optimizer", "adam", "--iteration", "2"])
    assert result.exit_code == 0, result.output
    assert "update rule adam at iteration 2" in result.output
    assert all(h in result.output for h in ("m_hat", "v_hat", "∂C_T/∂p"))


def test_a_fully_connected_net_takes_data_without_a_shape(tmp_path):
    """Its inputs are a row of numbers: the header names them (a CNN's images need --shape)."""
    csv = write_csv(tmp_path / "d.csv", "label,a,b,c\nx,1,0,1\ny,0,1,0\n")
    out = tmp_path / "fc.xlsx"
    result = runner.invoke(app, ["export", "--data", str(csv), "--out", str(out),
                                 "--iterations", "2"])
    assert result.exit_code == 0, result.output
    assert runner.invoke(app, ["verify", str(out)]).exit_code == 0


def test_show_gd_heads_its_columns_as_the_sheet_does(tmp_path):
    import openpyxl

    out = export(tmp_path, "gd.xlsx", "--net", "gd", "--iterations", "3")
    wb = openpyxl.load_workbook(out)
    sheet = next(ws for ws in wb if ws.title not in ("Guide", "Inputs", "Map", "Summary"))
    heads = [c.value for c in sheet[2] if c.value is not None]
    result = runner.invoke(app, ["show", "--net", "gd", "--steps", "3"])
    header = next(line for line in result.output.splitlines() if "∂z/∂x" in line)
    assert [h.strip() for h in header.strip("┃ ").split("┃")] == ["i", *heads[1:]]


def test_train_json_blocks_keeps_blocks_of_the_first_iteration_alone(tmp_path):
    """The gradient check (twolayer) and the closed form (regression) live on iteration 0."""
    for net, block in (("twolayer", "CT_plus"), ("regression", "C_star")):
        out = tmp_path / f"{net}.json"
        result = runner.invoke(app, ["train", "--net", net, "--iterations", "3", "--json",
                                     str(out), "--blocks"])
        assert result.exit_code == 0, result.output
        assert len(json.loads(out.read_text())["blocks"][block]) == 1
