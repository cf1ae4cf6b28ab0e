"""Stacks the book's two nets never had, recalculated in real engines: two convolutions (the
error of the first one's maps written out term by term), dense after dense, a convolution
straight into a dense layer, pooling the image itself, hidden dense layers after pooling."""

import numpy as np
import openpyxl
import pytest

from sheetnet import presets
from sheetnet.audit.verify import verify
from tests.audit.test_cnn_options import rgb_csv
from tests.conftest import edit_cells, export, recalculated_cost

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


@pytest.mark.slow
def test_an_edited_second_filter_moves_the_first_layers_gradient(tmp_path):
    """Change one weight of the second convolution's filters: the first layer's gradients
    (which flow back through it) change, in the cells and in NumPy alike."""
    out = export(tmp_path, "two.xlsx", "--net", "digits", "--arch", TWO_CONVS,
                 "--iterations", "1")
    inputs = openpyxl.load_workbook(out, read_only=True)["Inputs"]
    row = next(r for r in range(1, 200) if inputs.cell(r, 1).value == "F2")
    edited = edit_cells(out, tmp_path / "edited.xlsx", {("Inputs", f"C{row}"): 3.0})
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


CHAOTIC = "conv 3 3x3, sigmoid, maxpool 2, dense 5, sigmoid, dense 3"


@pytest.mark.slow
def test_a_chaotic_run_verifies_because_each_iteration_starts_from_its_cells(tmp_path):
    """With a hidden dense layer at η = 0.2 the book's CNN amplifies rounding: a change of
    1e-15 in one weight moves the parameters by 1e-10 within 15 iterations, so a spreadsheet
    and NumPy, which round differently, drift apart by more than 1e-9 in gradients that
    cancel. verify re-runs each iteration from the engine's own parameters: every cell is
    checked against what its inputs give."""
    from sheetnet.audit import verify as audit
    from sheetnet.audit.engines import ENGINES

    out = export(tmp_path, "chaos.xlsx", "--net", "cnn", "--arch", CHAOTIC, "--iterations", "22")
    report = verify(out)
    assert report.ok, report.first_differences()
    assert max(b.max_err for b in report.blocks.values()) < 1e-12
    # the same engine's numbers against the trajectory NumPy makes on its own: > 1e-9 apart
    preset, config = audit.read_run(out)
    places = audit._placed(preset.workbook(audit._skeleton(preset, config)).places, config)
    run = preset.run(presets.Options(arch=CHAOTIC, iterations=22))
    values = ENGINES["ironcalc"].recalculate(out.resolve(), tmp_path, 300, lambda s: None).values
    free = preset.trace(run)
    place = next(p for p in places if p.name == "dCT_dbO" and p.iteration == 20)
    got = audit._numbers(values[place.sheet], place).ravel()
    want = free.iterations[20]["dCT_dbO"]
    assert np.max(np.abs(got - want) / np.abs(want)) > 1e-9


def test_a_wrong_update_is_caught_where_it_is(tmp_path):
    """Anchoring does not excuse a wrong cell: a weight's update written with + instead of −
    on Iter 3 is the root, and the iterations after it still check against their own
    inputs."""
    import re
    import zipfile

    out = export(tmp_path, "mlp.xlsx", "--iterations", "5")
    broken = tmp_path / "broken.xlsx"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(broken, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet9.xml":  # Iter 3 (Guide, Summary, Inputs,
                found = re.search(rb"<f>'Iter 2'!C(\d+)-eta\*", body)  # w²₁₁'s update
                assert found  # Data, Images, Iter 0, 1, 2 come before it)
                row = int(found.group(1))
                body = body.replace(found.group(0), b"<f>'Iter 2'!C%d+eta*" % row, 1)
            dst.writestr(item, body)
    report = verify(broken)
    assert not report.ok
    assert report.engines[0].roots[0].startswith(f"'Iter 3'!C{row} (W2)")
    assert report.blocks["W2"].bad >= 1
