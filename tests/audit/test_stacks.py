"""Stacks the book's two nets never had, recalculated in real engines: two convolutions (the
error of the first one's maps written out term by term), dense after dense, a convolution
straight into a dense layer, pooling the image itself, hidden dense layers after pooling."""

import numpy as np
import openpyxl
import pytest

from sheetnet import presets
from sheetnet.audit.verify import verify
from tests.audit.test_cnn_options import rgb_csv
from tests.conftest import export, recalculated_cost

TWO_CONVS = "conv 4 3x3, relu, conv 4 3x3, relu, maxpool 2, dense 10"

STACKS = {
    "dense-after-dense": ["--arch", "dense 4, dense 3, tanh, dense 2"],
    "conv-into-dense": ["--arch", "conv 2 2x2, leaky-relu, dense 2"],
    "pooling-the-image": ["--arch", "maxpool 2, dense 3, sigmoid, dense 3", "--data", "{rgb}",
                          "--shape", "4x4", "--net", "cnn"],
    "two-convs-channels": ["--arch", "conv 2 2x2 pad 1, tanh, avgpool 3, conv 3 2x2 pad 1,"
                                     " relu, dense 4, sigmoid, dense 3", "--data", "{rgb3}",
                           "--shape", "5x5x3", "--net", "cnn", "--output-activation", "softmax",
                           "--loss", "cross-entropy", "--eta", "0.05"],
}


@pytest.mark.parametrize("case", list(STACKS))
def test_each_stack_agrees_in_every_engine(all_engines, tmp_path, case):
    rgb = rgb_csv(tmp_path, n=6, shape=(4, 4, 1)).rename(tmp_path / "grey.csv")
    rgb3 = rgb_csv(tmp_path, n=6, shape=(5, 5, 3), seed=2)
    args = [a.format(rgb=rgb, rgb3=rgb3) for a in STACKS[case]]
    out = export(tmp_path, f"{case}.xlsx", "--iterations", "2", *args)
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()


def test_two_convolutions_on_the_digits_agree_in_every_engine(all_engines, tmp_path):
    """The issue's stack: conv, relu, conv, relu, max pooling, softmax over ten digits."""
    out = export(tmp_path, "two.xlsx", "--net", "digits", "--arch", TWO_CONVS,
                 "--iterations", "1")
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert {"F1", "F2", "deltaF1", "deltaF2", "routed", "dC_dF1"} <= set(report.blocks)
    # δᶠ¹ (the first convolution's errors, through the second's filters) is every cell checked
    assert report.blocks["deltaF1"].cells == 2 * 100 * 4 * 6 * 6


def test_an_edited_second_filter_moves_the_first_layers_gradient(tmp_path):
    """Change one weight of the second convolution's filters: the first layer's gradients
    (which flow back through it) change, in the cells and in NumPy alike."""
    out = export(tmp_path, "two.xlsx", "--net", "digits", "--arch", TWO_CONVS,
                 "--iterations", "1")
    wb = openpyxl.load_workbook(out)
    inputs = wb["Inputs"]
    row = next(r for r in range(1, 200) if inputs.cell(r, 1).value == "F2")
    inputs.cell(row, 3).value = 3.0
    edited = tmp_path / "edited.xlsx"
    wb.save(edited)
    report = verify(edited)
    assert report.ok, report.first_differences()
    preset = presets.get("digits")
    run = preset.run(presets.Options(arch=TWO_CONVS, iterations=1))
    params = {k: v.copy() for k, v in run.params.items()}
    params["F2"].flat[0] = 3.0
    from dataclasses import replace

    moved = preset.trace(replace(run, params=params))
    np.testing.assert_allclose(recalculated_cost(edited, tmp_path), moved.cost, rtol=1e-12)
    before = preset.trace(run)
    assert not np.allclose(moved.iterations[0]["dCT_dF1"], before.iterations[0]["dCT_dF1"])
