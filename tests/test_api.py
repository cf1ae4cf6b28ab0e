"""The Python API: train, export and verify as the CLI does, one exception type."""

import numpy as np
import openpyxl
import pytest

import sheetnet
from sheetnet import presets


def test_train_export_verify_round_trip(tmp_path):
    run = sheetnet.train("mlp", eta=0.5, iterations=4)
    preset = presets.get("mlp")
    reference = preset.trace(preset.run(presets.Options(eta=0.5, iterations=4)))
    np.testing.assert_array_equal(run.cost, reference.cost)
    assert run.accuracy is not None and run.accuracy.shape == (5,)
    assert run.blocks(2)["z2"].shape == (64, 3)
    out = sheetnet.export(run, tmp_path / "mlp.xlsx")
    assert out.exists()
    summary = openpyxl.load_workbook(out, data_only=True)["Summary"]
    stored = [r[1] for r in summary.iter_rows(values_only=True) if isinstance(r[0], int)]
    np.testing.assert_array_equal(stored, run.cost)
    report = sheetnet.verify(out)
    assert report.ok


def test_options_and_hyperparameters_are_the_clis(tmp_path, all_engines):
    run = sheetnet.train("cnn", iterations=1, filters=2, pool="average",
                         optimizer="momentum", momentum=0.5)
    assert run.run.model.arch == "conv 2 3x3, sigmoid, avgpool 2, dense 3"
    assert run.run.hyper["momentum"] == 0.5
    assert sheetnet.train("curve", iterations=1).accuracy is None
    out = sheetnet.export("gd", tmp_path / "gd.xlsx", iterations=3)
    assert sheetnet.verify(out, "all").ok


@pytest.mark.parametrize("call, message", [
    (lambda tmp: sheetnet.train("mlp", etaa=1), "unknown option 'etaa'"),
    (lambda tmp: sheetnet.train("nope"), "unknown net 'nope'"),
    (lambda tmp: sheetnet.train("mlp", eta=-1), "--eta -1 must be a positive finite number"),
    (lambda tmp: sheetnet.train("gd", seed=3), "--seed is not used by this net"),
    (lambda tmp: sheetnet.export("mlp", tmp / "a.txt"), "must end in .xlsx"),
    (lambda tmp: sheetnet.train("mlp").blocks(99), "outside 0..50"),
    (lambda tmp: sheetnet.train("mlp", arch=123), "arch=123: give it as text"),
    (lambda tmp: sheetnet.train("cnn", arch="conv 2 3x3, flatten, relu, dense 3"),
     "relu follows flatten"),
])
def test_every_problem_is_a_sheetnet_error_with_the_clis_message(tmp_path, call, message):
    with pytest.raises(sheetnet.SheetnetError, match=message):
        call(tmp_path)
    assert not list(tmp_path.iterdir())
