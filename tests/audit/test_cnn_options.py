"""The CNN's options beyond the book (average pooling, padding, several channels, other
activations) and the digits preset, recalculated in every engine; edits to a channel's pixel
recompute and verify follows."""

import numpy as np
import openpyxl
import pytest

from sheetnet import presets
from sheetnet.audit.verify import verify
from sheetnet.core import data
from tests.conftest import export, recalculated_cost, write_csv


def rgb_csv(tmp_path, n=9, shape=(5, 5, 3), seed=0):
    """n random images of ``shape`` (rows, cols, channels) in three classes."""
    rng = np.random.default_rng(seed)
    pixels = int(np.prod(shape))
    lines = ["label," + ",".join(f"p{i}" for i in range(pixels))]
    lines += [f"{'rgb'[i % 3]}," + ",".join(f"{v:.4f}" for v in rng.random(pixels))
              for i in range(n)]
    return write_csv(tmp_path / "rgb.csv", "\n".join(lines) + "\n")


CASES = {
    "average": ["--pool", "average"],
    "padding": ["--padding", "1", "--activation", "relu"],
    "average-padding-tanh": ["--pool", "average", "--padding", "2", "--pool-size", "4",
                             "--activation", "tanh"],
    "channels": ["--data", "{rgb}", "--shape", "5x5x3", "--padding", "1", "--pool-size", "5",
                 "--output-activation", "softmax", "--loss", "cross-entropy"],
    "channels-leaky": ["--data", "{rgb}", "--shape", "5x5x3", "--filter-size", "2",
                       "--activation", "leaky-relu"],
}


@pytest.mark.parametrize("case", list(CASES))
def test_each_option_agrees_in_every_engine(all_engines, tmp_path, case):
    rgb = rgb_csv(tmp_path)
    args = [a.format(rgb=rgb) for a in CASES[case]]
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "2", *args)
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()
    assert not report.findings


def test_digits_agrees_in_every_engine(all_engines, tmp_path):
    out = export(tmp_path, "digits.xlsx", "--net", "digits", "--iterations", "1")
    report = verify(out, ["all"])
    assert report.ok, report.first_differences()


def test_digits_preset_learns_its_subset():
    ds = data.builtin("digits")
    assert ds.x.shape == (100, 64) and ds.classes == tuple(float(c) for c in range(10))
    assert [ds.labels.count(c) for c in ds.classes] == [10] * 10
    assert ds.x.min() == 0 and ds.x.max() == 1  # pixels 0–16 scaled
    full = data._shipped(data.DIGITS_FILE, (8, 8), "digits")
    assert full.x.shape == (1797, 64) and full.x.max() == 16
    np.testing.assert_array_equal(ds.x[0] * 16, full.x[0])  # the file's first image, a 0
    preset = presets.get("digits")
    run = preset.run(presets.Options())
    trace = preset.trace(run, keep=())
    assert trace.accuracy[0] <= 0.2 and trace.accuracy[-1] >= 0.7
    assert trace.cost[-1] < trace.cost[0] / 4


def test_a_pixel_of_the_second_channel_is_an_input(tmp_path):
    """Editing channel 2 of image 1 on the Data sheet changes the run, and verify follows."""
    rgb = rgb_csv(tmp_path, shape=(4, 4, 2))
    out = export(tmp_path, "c.xlsx", "--net", "cnn", "--data", str(rgb), "--shape", "4x4x2",
                 "--iterations", "2", "--pool-size", "1", "--filter-size", "3")
    before = recalculated_cost(out, tmp_path)
    wb = openpyxl.load_workbook(out)
    data_sheet = wb["Data"]
    # channel 2 of image 1 starts after channel 1's 4 rows and a blank row: row 4 + 5
    assert data_sheet.cell(9, 2).value == "ch 2 row 1"
    column = next(c for c in range(1, 20) if data_sheet.cell(2, c).value == 1)
    data_sheet.cell(9, column).value = 5.0
    wb.save(tmp_path / "edited.xlsx")
    report = verify(tmp_path / "edited.xlsx")
    assert report.ok, report.first_differences()
    assert np.abs(recalculated_cost(tmp_path / "edited.xlsx", tmp_path) - before).max() > 1e-6
