"""Dropout in the cells (issue 19): the masks are typed-in cells of each iteration sheet and P a
named cell; every engine recalculates the run as NumPy computes it, and an edited mask bit or P
moves the run as the core says it should."""

import numpy as np
import openpyxl
import pytest

import sheetnet
from sheetnet.audit.verify import verify
from sheetnet.core import descent
from tests.conftest import export, recalculated_cost

CASES = {
    "mlp-dropout-batches": ["--dropout", "0.5", "--batch-size", "16", "--shuffle",
                            "--iterations", "3"],
    "cnn-dropout-after-pooling": ["--net", "cnn", "--arch", "conv 3 3x3, relu, maxpool 2,"
                                  " dropout 0.25, dense 3", "--iterations", "2",
                                  "--init-scheme", "he"],
    "dropout-before-an-activation": ["--arch", "dense 4, dropout 0.3, tanh, dense 3, relu,"
                                     " dropout 0.2, dense 2", "--iterations", "2",
                                     "--optimizer", "adam", "--eta", "0.05"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_dropout_agrees_in_every_engine(all_engines, tmp_path, case):
    out = export(tmp_path, f"{case}.xlsx", *CASES[case])
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert any(name.startswith("drop") for name in report.blocks)


def _cell(path, sheet: str, symbol: str, image: int = 0) -> str:
    """The first cell of the row labelled ``symbol`` in column A, for image ``image``."""
    ws = openpyxl.load_workbook(path)[sheet]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == symbol)
    return f"{openpyxl.utils.get_column_letter(5 + image)}{row}"


def test_an_edited_mask_bit_and_rate_move_the_run_as_the_core_says(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--dropout", "0.5", "--iterations", "3")
    exported = sheetnet.train("mlp", dropout=0.5, iterations=3)
    run = exported.run
    masks = {"mask2": np.array([run.draws(k)["mask2"] for k in range(4)])}
    image, unit = 0, 0
    masks["mask2"][1, image, unit] = 1 - masks["mask2"][1, image, unit]  # one bit on Iter 1
    wb = openpyxl.load_workbook(out)
    cell = _cell(out, "Iter 1", "m²", image)
    wb["Iter 1"][cell] = float(masks["mask2"][1, image, unit])
    rate = next(r for r in range(1, 60) if wb["Inputs"].cell(r, 1).value == "P (dropout2)")
    wb["Inputs"].cell(rate, 3).value = 0.25
    wb.save(tmp_path / "edited.xlsx")
    # the run those cells describe, from the core with the edited mask and P
    net = run.model.layers
    edited_net = type(run.model)(tuple(layer.tune({"dropout2": 0.25}) for layer in net),
                                 run.model.output, run.model.input)
    want = descent.train_net(edited_net, run.params, run.data.x, run.data.targets, run.eta, 3,
                         keep=["C_T"], inputs=lambda k: {"mask2": masks["mask2"][k]})
    got = recalculated_cost(tmp_path / "edited.xlsx", tmp_path)
    np.testing.assert_allclose(got, want.cost, rtol=1e-12)
    assert not np.allclose(got, exported.cost)
    report = verify(tmp_path / "edited.xlsx")
    assert report.ok and report.changed == ["dropout2", "mask2"]


# --- batch normalisation --------------------------------------------------------------------

BN_CASES = {
    "mlp-batch-norm": ["--batch-norm", "--iterations", "3"],
    "cnn-batch-norm-batches": ["--net", "cnn", "--batch-norm", "--batch-size", "24",
                               "--iterations", "1"],  # Iter 1 carries Iter 0's averages
    "arch-everything": ["--net", "cnn", "--arch", "conv 2 3x3, batchnorm, relu, maxpool 2,"
                        " dense 6, batchnorm, relu, dropout 0.3, dense 3", "--init-scheme", "he",
                        "--batch-size", "12", "--shuffle", "--optimizer", "adam", "--eta",
                        "0.01", "--iterations", "1"],
}


@pytest.mark.parametrize("case", list(BN_CASES))
def test_batch_norm_agrees_in_every_engine(all_engines, tmp_path, case):
    out = export(tmp_path, f"{case}.xlsx", *BN_CASES[case])
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert {name for name in report.blocks if name.startswith(("mu", "dC_dvar", "rvar"))}


def test_an_edited_gamma_moves_the_run_as_the_core_says(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--batch-norm", "--batch-size", "16", "--iterations", "3")
    exported = sheetnet.train("mlp", batch_norm=True, batch_size=16, iterations=3)
    run = exported.run
    wb = openpyxl.load_workbook(out)
    ws = wb["Inputs"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "γ²₂")
    ws.cell(row, 3).value = 2.5
    wb.save(tmp_path / "edited.xlsx")
    params = {**run.params, "bn_gamma2": np.array([1.0, 2.5, 1.0])}
    want = descent.train_net(run.model, params, run.data.x, run.data.targets, run.eta, 3,
                         keep=["C_T"], batches=run.batches)
    got = recalculated_cost(tmp_path / "edited.xlsx", tmp_path)
    np.testing.assert_allclose(got, want.cost, rtol=1e-12)
    assert not np.allclose(got, exported.cost)
    report = verify(tmp_path / "edited.xlsx")
    assert report.ok and report.changed == ["bn_gamma2"]


# --- validation ---------------------------------------------------------------------------

VALIDATION_CASES = {
    "mlp-validation-everything": ["--validation", "0.25", "--batch-norm", "--dropout", "0.3",
                                  "--batch-size", "16", "--iterations", "3", "--optimizer",
                                  "adam", "--eta", "0.05", "--init-scheme", "he"],
    "cnn-validation-batch-norm": ["--net", "cnn", "--validation", "0.2", "--batch-norm",
                                  "--iterations", "1"],
}


@pytest.mark.parametrize("case", list(VALIDATION_CASES))
def test_validation_agrees_in_every_engine(all_engines, tmp_path, case):
    out = export(tmp_path, f"{case}.xlsx", *VALIDATION_CASES[case])
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert {"held", "validation_cost", "best_iteration (Summary)"} <= set(report.blocks)


@pytest.mark.slow
def test_patience_cuts_the_workbook_where_training_stops(tmp_path):
    args = ["--net", "digits", "--arch", "dense 16, relu, dense 10", "--validation", "0.8",
            "--optimizer", "adam", "--eta", "0.05", "--init-scheme", "he",
            "--iterations", "40", "--patience", "2"]
    out = export(tmp_path, "stopped.xlsx", *args)
    stopped = sheetnet.train("digits", arch="dense 16, relu, dense 10", validation=0.8,
                             optimizer="adam", eta=0.05, init_scheme="he", iterations=40,
                             patience=2)
    assert stopped.run.iterations < 40
    sheets = openpyxl.load_workbook(out, read_only=True).sheetnames
    assert f"Iter {stopped.run.iterations}" in sheets
    assert f"Iter {stopped.run.iterations + 1}" not in sheets
    assert verify(out).ok


def test_an_image_moved_into_the_validation_share_recomputes(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--validation", "0.25", "--iterations", "3")
    run = sheetnet.train("mlp", validation=0.25, iterations=3).run
    image = int(np.flatnonzero(run.held == 0)[0])
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 0"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "held out")
    ws.cell(row, 5 + image).value = 1.0
    wb.save(tmp_path / "edited.xlsx")
    kept = run.held == 0
    kept[image] = False
    want = descent.train_net(run.model, run.params, run.data.x[kept], run.data.targets[kept],
                         run.eta, 3, keep=["C_T"])
    got = recalculated_cost(tmp_path / "edited.xlsx", tmp_path)
    np.testing.assert_allclose(got, want.cost, rtol=1e-12)
    report = verify(tmp_path / "edited.xlsx")
    assert report.ok and report.changed == ["held"]


def test_a_dropout_rate_keeps_every_digit_in_the_workbook(tmp_path):
    """0.9999999 had been written as "dropout 1" in the settings, which verify then called
    damaged; the token keeps every digit."""
    out = export(tmp_path, "d.xlsx", "--net", "mlp", "--dropout", "0.9999999", "--iterations",
                 "1")
    report = verify(out)
    assert report.ok, report.first_differences()
