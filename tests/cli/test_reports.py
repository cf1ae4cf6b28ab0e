"""Every number a run reports is the run's (issue 26): validation evaluated every iteration
whatever --every prints, --json strict JSON with every curve named for what it is, and an
evaluation for every net."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

import sheetnet
from sheetnet.cli import app
from sheetnet.core import net as net_mod

runner = CliRunner()


def _strict(path) -> dict:
    """The file as a strict JSON parser reads it (NaN, Infinity refused)."""
    def refuse(token):
        raise ValueError(f"not JSON: {token}")
    return json.loads(path.read_text(), parse_constant=refuse)


def _train(tmp_path, name: str, *args: str) -> dict:
    out = tmp_path / f"{name}.json"
    result = runner.invoke(app, ["train", *args, "--json", str(out)])
    assert result.exit_code == 0, result.output
    return _strict(out)


def test_validation_is_evaluated_every_iteration_whatever_every_prints(tmp_path):
    common = ["--net", "digits", "--validation", "0.5", "--batch-size", "10", "--eta", "0.1",
              "--iterations", "60"]
    runs = {every: _train(tmp_path, f"every{every}", *common, "--every", every)
            for every in ("1", "7", "60")}
    first = runs["1"]
    assert len(first["validation_cost"]) == 61 and None not in first["validation_cost"]
    for record in runs.values():
        assert record["best_iteration"] == first["best_iteration"]
        np.testing.assert_allclose(record["validation_cost"], first["validation_cost"],
                                   rtol=1e-12)
        np.testing.assert_allclose(record["batch_cost"], first["batch_cost"], rtol=1e-12)
    # the best iteration is the lowest validation cost's, found here from the curve itself
    assert first["best_iteration"] == int(np.argmin(first["validation_cost"]))


def test_the_validation_cost_between_printed_rows_is_an_evaluation_of_that_iteration(tmp_path):
    """Checked against an evaluation pass written here: the held-out images through the
    iteration's parameters (no dropout, nothing of the batch), their mean C."""
    run = sheetnet.train("mlp", validation=0.25, batch_size=8, iterations=12, eta=0.5,
                         dropout=0.3)
    held = run.run.held == 1
    x, t = run.run.data.x[held], run.run.data.targets[held]
    lean = _train(tmp_path, "lean", "--net", "mlp", "--validation", "0.25", "--batch-size",
                  "8", "--iterations", "12", "--eta", "0.5", "--dropout", "0.3", "--every",
                  "5")
    for k in (3, 7, 11):  # iterations that print no row
        params = {name: run.blocks(k)[name] for name in run.run.params}
        z = net_mod.predict(run.run.model, params, x)
        mean_c = np.mean(run.run.model.output.forward(z, t, len(x))["C"])
        assert lean["validation_cost"][k] == pytest.approx(mean_c, rel=1e-12)


def test_json_is_strict_and_names_each_curve(tmp_path):
    batched = _train(tmp_path, "b", "--net", "cnn", "--batch-size", "12", "--iterations", "20",
                     "--every", "5")
    assert batched["cost_iterations"] == [0, 5, 10, 15, 20]
    assert len(batched["cost"]) == len(batched["accuracy"]) == 5
    assert len(batched["batch_cost"]) == 21 and min(batched["batch_cost"]) > 0
    full = _train(tmp_path, "f", "--net", "cnn", "--iterations", "20")
    assert full["cost_iterations"] == list(range(21)) and "batch_cost" not in full
    # the whole data's cost where both computed it: the same run
    np.testing.assert_allclose(batched["cost"][0], full["cost"][0], rtol=1e-12)


@pytest.mark.parametrize("args, has_accuracy", [
    (["--net", "mlp"], True),
    (["--net", "curve"], False),
    (["--net", "rnn"], True),
    (["--net", "mlp", "--dropout", "0.2"], True),
])
def test_every_trained_net_reports_its_evaluation(tmp_path, args, has_accuracy):
    record = _train(tmp_path, "r", *args, "--iterations", "4")
    evaluation = record["evaluation"]
    assert evaluation["cost"] > 0 and ("accuracy" in evaluation) == has_accuracy
    if "--dropout" not in args:  # its last training pass is the evaluation
        assert evaluation["cost"] == pytest.approx(record["cost"][-1], rel=1e-12)


def test_an_evaluation_with_dropout_is_a_pass_without_it(tmp_path):
    run = sheetnet.train("mlp", dropout=0.4, iterations=6, eta=0.5)
    record = _train(tmp_path, "d", "--net", "mlp", "--dropout", "0.4", "--iterations", "6",
                    "--eta", "0.5")
    last = run.blocks(-1)
    plain = net_mod.fully_connected((12, 3, 2))  # the same weights, no dropout layer
    z = net_mod.predict(plain, {k: last[k] for k in run.run.params}, run.run.data.x)
    want = np.sum(plain.output.forward(z, run.run.data.targets, 64)["C"])
    assert record["evaluation"]["cost"] == pytest.approx(want, rel=1e-12)
    assert record["evaluation"]["cost"] != pytest.approx(record["cost"][-1], rel=1e-6)


def test_an_exercise_has_no_evaluation_and_says_so(tmp_path):
    assert _train(tmp_path, "gd", "--net", "gd")["evaluation"] is None
