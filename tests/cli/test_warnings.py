"""Telling the user when learning goes wrong (issue 18): a cost that rises sharply, ends above
its start or stops moving far from a minimum is a warning on stderr and in --json; a healthy
run warns about nothing; huge numbers print in scientific notation."""

import json
import re

import numpy as np
import pytest
from typer.testing import CliRunner

import sheetnet
from sheetnet import presets
from sheetnet.cli import app
from sheetnet.core import health

runner = CliRunner()


@pytest.mark.parametrize("curve, expected", [
    ([10, 8, 30, 5, 4], ["rises sharply at iteration 2 (8.000000 → 30.000000)"]),
    ([10, 9, 11], ["ends above where it started (10.000000 → 11.000000)"]),
    ([10] + [9] * 10, ["stops moving at iteration 1 (9.000000), far from a minimum"]),
    ([10, 5, 2, 1, 0.5, 0.4, 0.4, 0.4, 0.4, 0.4, 0.4], []),  # still, but near its minimum
    ([13.0, 0.05, 1.2, 0.3, 0.1], []),  # a wobble near 0, small beside the start
    ([10, 8, 6, 4, 2, 1], []),
    ([1, 2, float("inf")], ["not a finite number from iteration 2"]),
])
def test_each_kind_of_trouble_is_named_with_its_iteration(curve, expected):
    found = health.warnings({"C_T": np.array(curve, dtype=float)}, eta=0.5)
    assert len(found) == len(expected), found
    for line, text in zip(found, expected, strict=True):
        assert line.startswith("C_T ") and text in line and "--eta 0.05" in line, line


def test_every_preset_by_default_warns_about_nothing():
    for net in presets.PRESETS:
        if net not in ("graph", "mnist"):  # one pass, no descent; mnist: tests/core/test_mnist
            run = sheetnet.train(net)
            assert run.warnings == [], (net, run.warnings)


def test_a_diverging_run_warns_in_the_terminal_and_in_json(tmp_path):
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["train", "--output-activation", "softmax", "--loss",
                                 "cross-entropy", "--iterations", "5", "--json", str(out)])
    assert result.exit_code == 0
    lines = [line for line in result.stderr.splitlines() if line.startswith("warning:")]
    assert lines == [
        "warning: C_T rises sharply at iteration 1 (59.705290 → 357.409036): the steps"
        " overshoot; try a smaller η (--eta 0.02)",
        "warning: C_T ends above where it started (59.705290 → 143.772098); try a smaller η"
        " (--eta 0.02)"]
    record = json.loads(out.read_text())
    assert record["warnings"] == [line.removeprefix("warning: ") for line in lines]
    assert record["net"] == "mlp" and record["options"] == {
        "iterations": 5, "output_activation": "softmax", "loss": "cross-entropy"}


def test_a_healthy_run_records_no_warnings(tmp_path):
    out = tmp_path / "run.json"
    result = runner.invoke(app, ["train", "--iterations", "5", "--json", str(out)])
    assert result.exit_code == 0 and "warning" not in result.output
    assert json.loads(out.read_text())["warnings"] == []


def test_a_saturating_export_warns_after_writing(tmp_path):
    out = tmp_path / "mlp.xlsx"
    result = runner.invoke(app, ["export", "--eta", "50", "--iterations", "10", "--out",
                                 str(out)])
    assert result.exit_code == 0 and out.exists()
    assert "warning: C_T ends above where it started (22.096556 → 32.000000)" in result.stderr
    assert "warning: C_T stops moving at iteration 1 (32.000000)" in result.stderr


def test_huge_numbers_print_in_scientific_notation():
    result = runner.invoke(app, ["train", "--net", "curve", "--eta", "5", "--every", "50"])
    assert result.exit_code == 0
    assert "5.192615e+213" in result.stdout
    numbers = re.findall(r"[-+]?\d[\d.e+-]*", result.stdout)
    assert numbers and max(len(n) for n in numbers) < 20, numbers
