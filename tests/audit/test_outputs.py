"""Softmax with cross-entropy, the other new losses and leaky ReLU, recalculated in every engine;
their own settings are named cells that verify follows when edited."""

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from sheetnet import presets
from sheetnet.audit.verify import verify
from sheetnet.cli import app
from tests.conftest import export, recalculated_cost

runner = CliRunner()

CASES = {
    "softmax": ["--output-activation", "softmax", "--loss", "cross-entropy"],
    "bce": ["--loss", "binary-cross-entropy"],
    "hinge": ["--output-activation", "identity", "--loss", "hinge"],
    "huber": ["--activation", "tanh", "--output-activation", "identity", "--loss", "huber",
              "--huber-delta", "0.5"],
    "leaky": ["--activation", "leaky-relu", "--leaky-slope", "0.1"],
}


@pytest.mark.parametrize("net", ["mlp", "cnn"])
@pytest.mark.parametrize("case", list(CASES))
def test_each_output_and_activation_agrees_in_every_engine(all_engines, tmp_path, net, case):
    out = export(tmp_path, f"{net}.xlsx", "--net", net, "--iterations", "2", "--eta", "0.05",
                 *CASES[case])
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert not report.findings


@pytest.mark.parametrize("case, name, value", [
    ("huber", "huber_delta", 0.1),
    ("leaky", "leaky_slope", 0.3),
])
def test_an_edited_setting_recomputes_and_verify_follows(tmp_path, case, name, value):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2", "--eta", "0.05", *CASES[case])
    before = recalculated_cost(out, tmp_path)
    wb = openpyxl.load_workbook(out)
    sheet, cell = wb.defined_names[name].attr_text.split("!")
    wb[sheet.strip("'")][cell.replace("$", "")] = value
    wb.save(tmp_path / "edited.xlsx")
    report = verify(tmp_path / "edited.xlsx")
    assert report.ok, report.first_differences()
    after = recalculated_cost(tmp_path / "edited.xlsx", tmp_path)
    assert np.abs(after - before).max() > 1e-6
    flags = CASES[case]
    opts = dict(zip(flags[::2], flags[1::2], strict=True))
    preset = presets.get("mlp")
    run = preset.run(presets.Options(
        iterations=2, eta=0.05, activation=opts.get("--activation"),
        output_activation=opts.get("--output-activation"), loss=opts.get("--loss"),
        **{name: value}))
    np.testing.assert_allclose(after, preset.trace(run).cost, rtol=1e-12)


@pytest.mark.parametrize("args, message", [
    (["--output-activation", "softmax"], "goes with --loss cross-entropy"),
    (["--loss", "cross-entropy"], "add --output-activation softmax"),
    (["--net", "xor", "--output-activation", "softmax", "--loss", "cross-entropy"],
     "needs data of 2 or more classes"),
    (["--net", "curve", "--output-activation", "sigmoid", "--loss", "binary-cross-entropy"],
     "needs targets between 0 and 1"),
    (["--leaky-slope", "0.1"], "--leaky-slope goes with --activation leaky-relu"),
    (["--activation", "leaky-relu", "--leaky-slope", "1"], "--leaky-slope 1 must be in [0, 1)"),
    (["--loss", "huber", "--huber-delta", "0"], "--huber-delta 0 must be a positive number"),
    (["--huber-delta", "2"], "--huber-delta goes with --loss huber"),
    (["--activation", "softmax"], "use --output-activation softmax --loss cross-entropy"),
])
def test_bad_combinations_are_one_line_and_write_nothing(tmp_path, args, message):
    out = tmp_path / "a.xlsx"
    result = runner.invoke(app, ["export", "--out", str(out), *args])
    assert result.exit_code == 2, result.output
    assert message in result.output and len(result.output.strip().splitlines()) == 1
    assert not out.exists()
