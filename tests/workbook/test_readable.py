"""What makes a workbook readable by a student: a Guide first, labelled areas, number formats
per kind of quantity, print titles, pictures, charts that show their data."""

import re

import openpyxl
import pytest

from sheetnet import presets
from tests.conftest import NETS, export


@pytest.mark.parametrize("net", NETS)
def test_every_workbook_opens_on_a_guide_whose_links_land(small_book, net):
    wb = openpyxl.load_workbook(small_book(net), read_only=True)
    assert wb.sheetnames[0] == "Guide"
    lines = [str(row[0]) for row in wb["Guide"].iter_rows(max_col=1, values_only=True)
             if row and row[0]]
    text = " ".join(lines)
    assert "What this is" in text and "Map" in text and "Things to try" in text
    for line in lines:
        if line.startswith("=HYPERLINK"):
            target = re.match(r'=HYPERLINK\("#(.+?)!', line).group(1).strip("'")
            assert target in wb.sheetnames, line
    # a longer line would make fit-to-width shrink the printed page
    assert max(len(line) for line in lines if not line.startswith("=")) <= 155
    if net in ("gd", "regression"):  # no pixels or labels to edit there
        assert "pixel" not in " ".join(str(row[0]) for row in wb["Inputs"].iter_rows(
            max_col=1, values_only=True) if row and row[0])


@pytest.mark.parametrize("args, rule, said", [
    ([], "gd", "minus η times"), (["--optimizer", "adam"], "adam", "Adam: m, v as running"),
    (["--net", "cnn", "--optimizer", "momentum"], "momentum", "momentum: v ← μv + g")])
def test_the_guide_names_the_update_rule_the_run_uses(tmp_path, args, rule, said):
    out = export(tmp_path, "run.xlsx", "--iterations", "2", *args)
    wb = openpyxl.load_workbook(out, read_only=True)
    text = " ".join(str(row[0]) for row in wb["Guide"].iter_rows(values_only=True) if row[0])
    wb.close()
    assert said in text
    if rule != "gd":  # no plain gradient descent where the run used another rule
        assert "minus η times" not in text and "p ← p − η·g" not in text


def _row_of(ws, column, text):
    return next(c.row for c in ws[column] if c.value == text)


def test_fc_sheet_areas_say_what_they_hold_and_numbers_have_formats(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 1"]
    top = _row_of(ws, "A", "Parameters · gradients")
    assert ws.cell(top, 4).value == "∂C_T/∂(w, b)" and ws.cell(top, 3).value is None
    assert "each image's own gradient ∂C/∂w" in ws.cell(top, 5).value
    assert ws.cell(top + 1, 5).number_format != "General"  # image 1 ∂C/∂w²₁₁: its block's
    accuracy = _row_of(ws, "B", "1 if right")
    assert ws.cell(accuracy, 3).number_format == "0.0%"
    assert ws.print_title_cols == "$A:$B" and ws.print_title_rows == "$1:$2"
    summary = wb["Summary"]
    assert summary["A1"].value.startswith("Summary · mlp")
    header = _row_of(summary, "A", "iteration")
    assert summary.cell(header + 1, 3).number_format == "0.0%"
    images = wb["Images"]  # the 4×3 digits drawn as pictures, linked to Data
    assert images["B3"].value == "1: 0" and images["B4"].value.startswith("=Data!$E$4")


def test_cnn_sheet_areas_are_labelled(tmp_path):
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "1")
    ws = openpyxl.load_workbook(out)["Iter 0"]
    top = _row_of(ws, "A", "Parameters · gradients")
    notes = [c.value for c in ws[top] if c.value]
    assert "∂C_T/∂w, ∂C_T/∂b" in notes
    assert any("each image's own gradient" in str(n) for n in notes)
    assert ws.print_title_rows == "$1:$3"


def test_relative_errors_are_scientific(tmp_path):
    out = export(tmp_path, "t.xlsx", "--net", "twolayer", "--iterations", "1")
    ws = openpyxl.load_workbook(out)["Check"]
    formats = {c.number_format for row in ws.iter_rows() for c in row
               if isinstance(c.value, str) and "ABS(" in c.value}
    assert formats == {"0.0E+00"}


def _chart_xml(path, sheet_index):
    import zipfile
    with zipfile.ZipFile(path) as z:
        return [z.read(n).decode() for n in sorted(z.namelist()) if n.startswith("xl/charts/")]


def test_a_cost_that_falls_far_is_charted_on_a_log_axis(tmp_path):
    xor = export(tmp_path, "xor.xlsx", "--net", "xor")  # 8.30 → 0.0028
    assert any('logBase val="10"' in x for x in _chart_xml(xor, 1))
    cnn = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "3")  # 79.7 → 45
    assert "logBase" not in _chart_xml(cnn, 1)[0]  # the Summary's


def test_regression_chart_is_scaled_to_its_data(tmp_path):
    out = export(tmp_path, "r.xlsx", "--net", "regression")
    ds = presets.get("regression").run(presets.Options()).data
    xml = " ".join(_chart_xml(out, 1))
    lows = sorted(float(v) for v in re.findall(r'<min val="([^"]+)"', xml))
    y, x = min(ds.labels), float(ds.x.min())  # y (weights, ~50) lie below x (heights, ~160)
    spread = max(ds.labels) - y
    assert len(lows) == 2 and y - spread / 2 < lows[0] <= y and x - 10 < lows[1] <= x
