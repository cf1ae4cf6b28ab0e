"""``--net gan`` from the command line (issue 32): its --json curves, its own points, and every
bad option refused in one line before any work."""

import json

import numpy as np
import pytest
from typer.testing import CliRunner

from sheetnet import api
from sheetnet.cli import app
from tests.conftest import export, refused, write_csv

runner = CliRunner()


def test_train_json_carries_both_costs_for_every_iteration(tmp_path):
    out = tmp_path / "gan.json"
    result = runner.invoke(app, ["train", "--net", "gan", "--iterations", "12", "--points", "8",
                                 "--d-steps", "2", "--json", str(out)])
    assert result.exit_code == 0, result.output
    assert "cost_D" in result.output and "cost_G" in result.output
    assert "warning" not in result.output  # a game's costs need not fall
    record = json.loads(out.read_text())
    assert len(record["cost_D"]) == len(record["cost_G"]) == 13
    assert record["cost"] == record["cost_D"]
    assert all(0 < v < 1 for v in record["mean_D_real"] + record["mean_D_fake"])
    # the same run from Python: the same numbers (1e-12)
    training = api.train(net="gan", iterations=12, points=8, d_steps=2)
    np.testing.assert_allclose(training.trace.series("cost_G"), record["cost_G"], rtol=1e-12)


def test_points_from_a_file_are_learnt(tmp_path):
    points = write_csv(tmp_path / "line.csv",
                       "x,y\n" + "".join(f"{v},{2 * v}\n" for v in np.linspace(-1, 1, 6)))
    out = export(tmp_path, "line.xlsx", "--net", "gan", "--data", str(points),
                 "--iterations", "2")
    from sheetnet.audit import verify

    report = verify.verify(out)
    assert report.ok, report.first_differences()
    found = verify.layout(out)
    assert found.skeleton.n_images == 6 and "--data line.csv" in str(found.config["data"])


@pytest.mark.parametrize(("args", "message"), [
    (["--noise", "0"], "--noise 0 must be a whole number from 1 to 64"),
    (["--d-steps", "11"], "--d-steps 11 must be a whole number from 1 to 10"),
    (["--points", "1"], "--points 1 must be a whole number from 2"),
    (["--hidden", "0"], "--hidden 0 must be a whole number from 1"),
    (["--filters", "3"], "--filters is not used by this net, --net gan"),
    (["--eta", "-1"], "--eta -1.0 must be a positive finite number"),
    (["--iterations", "3000", "--points", "64"], "use --iterations"),
])
def test_bad_gan_options_are_refused(tmp_path, args, message):
    refused(["export", "--net", "gan", "--out", tmp_path / "g.xlsx", *args], message, tmp_path)


def test_points_and_data_and_checkpoints_are_refused(tmp_path):
    data = write_csv(tmp_path / "p.csv", "x,y\n0,1\n1,0\n")
    refused(["train", "--net", "gan", "--points", "8", "--data", data],
            "give --points (a ring of that many) or --data, not both", tmp_path)
    refused(["train", "--net", "gan", "--checkpoint", tmp_path / "c.npz"],
            "--net gan trains two", tmp_path)
    refused(["train", "--net", "gan", "--data", write_csv(tmp_path / "one.csv", "x,y\n0,1\n")],
            "give at least 2 points", tmp_path)


def test_each_adam_takes_the_gans_beta1_and_an_overflow_names_eta(tmp_path):
    from sheetnet import presets

    for rule in ("adam", "adamw"):
        run = presets.get("gan").run(presets.Options(optimizer=rule, iterations=1))
        assert run.hyper["beta1"] == 0.5, rule
    run = presets.get("gan").run(presets.Options(hyper={"beta1": 0.9}, iterations=1))
    assert run.hyper["beta1"] == 0.9
    line = refused(["train", "--net", "gan", "--iterations", "5", "--eta", "1e308"],
                   "the run overflows at iteration 0", tmp_path)
    assert "smaller η than 1e+308" in line  # D's step came first: η, not the inputs
