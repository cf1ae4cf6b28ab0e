"""The Python API: train, export and verify as the CLI does, one exception type."""

import numpy as np
import openpyxl
import pytest

import sheetnet
from sheetnet import presets
from tests.conftest import BOOK_INIT


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
    (lambda tmp: sheetnet.train("mlp", eta=-1), "--eta -1.0 must be a positive finite number"),
    (lambda tmp: sheetnet.train("gd", seed=3), "--seed is not used by this net"),
    (lambda tmp: sheetnet.export("mlp", tmp / "a.txt"), "must end in .xlsx"),
    (lambda tmp: sheetnet.train("mlp").blocks(99), "outside 0..50"),
    (lambda tmp: sheetnet.train("mlp", arch=123), "arch=123: give it as text or as a list"),
    (lambda tmp: sheetnet.train("cnn", arch="conv 2 3x3, flatten, relu, dense 3"),
     "relu follows flatten"),
])
def test_every_problem_is_a_sheetnet_error_with_the_clis_message(tmp_path, call, message):
    with pytest.raises(sheetnet.SheetnetError, match=message):
        call(tmp_path)
    assert not list(tmp_path.iterdir())


# --- natural Python values ---------------------------------------------------------------------


@pytest.mark.parametrize("net, natural, text", [
    ("mlp", {"layers": [12, 5, 2]}, {"layers": "12,5,2"}),
    ("mlp", {"layers": (12, 5, 2), "iterations": np.int64(3), "eta": np.float32(0.5)},
     {"layers": "12,5,2", "iterations": 3, "eta": 0.5}),
    ("gd", {"start": (1, 2)}, {"start": "1,2"}),
    ("gd", {"compare": ["gd", "adam"], "iterations": 3.0}, {"compare": "gd,adam",
                                                             "iterations": 3}),
    ("cnn", {"arch": ["conv 2 3x3", "relu", "maxpool 2", "dense 3"], "iterations": 1},
     {"arch": "conv 2 3x3, relu, maxpool 2, dense 3", "iterations": 1}),
    ("mlp", {"optimizer": "momentum", "momentum": np.float64(0.5), "shuffle": np.bool_(True),
             "batch_size": 8}, {"optimizer": "momentum", "momentum": 0.5, "shuffle": True,
                                "batch_size": 8}),
])
def test_natural_values_mean_what_their_text_means(net, natural, text):
    a, b = sheetnet.train(net, **natural), sheetnet.train(net, **text)
    for name in a.costs:
        np.testing.assert_array_equal(a.costs[name], b.costs[name])


def test_data_as_arrays_trains_as_the_same_csv_does(tmp_path):
    rng = np.random.default_rng(1)
    images, labels = rng.random((10, 4, 3)), ["cat", "dog"] * 5
    csv = tmp_path / "d.csv"
    csv.write_text("label," + ",".join(f"p{i}" for i in range(12)) + "\n" + "".join(
        f"{lab}," + ",".join(repr(float(v)) for v in img.ravel()) + "\n"
        for lab, img in zip(labels, images, strict=True)))
    from_file = sheetnet.train("mlp", data=str(csv), shape="4x3", iterations=3)
    for given in ({"data": images, "labels": labels},
                  {"data": (images.reshape(10, 12), np.array(labels)), "shape": (4, 3)}):
        run = sheetnet.train("mlp", iterations=3, **given)
        np.testing.assert_array_equal(run.cost, from_file.cost)
        assert run.run.data.shape == (4, 3) and run.run.data.classes == ("cat", "dog")
    points = sheetnet.train("regression", data=np.array([[1, 2], [2, 3], [3, 5.0]]))
    assert points.run.data.n_images == 3


def test_data_without_a_shape_is_a_row_of_inputs_for_a_fully_connected_net(tmp_path):
    csv = tmp_path / "d.csv"
    csv.write_text("label,a,b,c\nx,0,1,0\ny,1,0,1\n")
    run = sheetnet.train("mlp", data=csv, iterations=2)
    assert run.run.data.shape == (1, 3) and run.run.model.arch.startswith("dense 3")
    with pytest.raises(sheetnet.SheetnetError, match="needs --shape ROWSxCOLS"):
        sheetnet.train("cnn", data=csv, iterations=2)


def test_init_as_a_dict_of_arrays_is_the_json_file():
    import json

    book = json.loads(BOOK_INIT.read_text())
    from_file = sheetnet.train("mlp", init=BOOK_INIT, iterations=3)
    as_arrays = sheetnet.train("mlp", init={k: np.array(v) for k, v in book.items()},
                               iterations=3)
    np.testing.assert_array_equal(from_file.cost, as_arrays.cost)
    assert from_file.cost[0] == pytest.approx(18.347094, abs=5e-7)  # the book's own start


@pytest.mark.parametrize("call, message", [
    (lambda: sheetnet.train("mlp", iterations=2.5), "iterations=2.5: give a whole number"),
    (lambda: sheetnet.train("mlp", seed=-1), "seed=-1: give 0 or more"),
    (lambda: sheetnet.train("mlp", batch_size=2.5), "batch_size=2.5: give a whole number"),
    (lambda: sheetnet.train("mlp", optimizer="momentum", momentum="abc"),
     "momentum='abc': give a number"),
    (lambda: sheetnet.train("mlp", iterations=True), "iterations=True: give a whole number"),
    (lambda: sheetnet.train("mlp", shuffle="no"), "shuffle='no': give True or False"),
    (lambda: sheetnet.train("mlp", init=3), "init=3: give a JSON file's path or a dict"),
    (lambda: sheetnet.train(None), "net=None: name a net as text"),
    (lambda: sheetnet.train("mlp", data=np.zeros((4, 12))), "needs labels="),
    (lambda: sheetnet.train("mlp", data=np.zeros((4, 12)), labels=[0, 1]),
     "2 labels for 4 images"),
    (lambda: sheetnet.train("mlp", data=[[1, "a"]], labels=[0]), "an array of numbers"),
    (lambda: sheetnet.verify("x.xlsx", engine=[]), "engine=\\[\\]: name an engine"),
    (lambda: sheetnet.verify("x.xlsx", engine=3), "engine=3: name an engine"),
    (lambda: sheetnet.export("mlp", "a.xlsx", force="no"), "force='no': give True or False"),
    (lambda: sheetnet.export(42, "a.xlsx"), "give a net's name or what sheetnet.train"),
    (lambda: sheetnet.export(sheetnet.train("xor", iterations=1).run, "a.xlsx"),
     "^export\\(a Run, …\\): .*its .run is not: give the training itself\\)$"),
    (lambda: sheetnet.train("mnist", classes=[3, 3], blocks=False), "names a class twice"),
    (lambda: sheetnet.train("mlp", iterations=2).blocks(1.5), "blocks\\(1.5\\): give an"),
    # issue 26: huge numbers, windows' keywords, a batch of nothing, a timeout that is no time
    (lambda: sheetnet.train("mlp", iterations=10**400), "about 401 digits is far too large"),
    (lambda: sheetnet.train("mlp", eta=10**400), "about 401 digits is too large for a float"),
    (lambda: sheetnet.train("mlp", seed=10**400), "seed: a number of about 401 digits"),
    (lambda: sheetnet.train("mlp", data=[[10**400] * 12] * 2, labels=[0, 1]),
     "an array of numbers"),
    (lambda: sheetnet.train("mlp", data=np.zeros((2, 12)), labels=[10**400, 1]),
     "label 0 is too large for a float"),
    (lambda: sheetnet.window("ck.npz", "w.xlsx", images=2.5), "images=2.5: give a whole"),
    (lambda: sheetnet.window("ck.npz", "w.xlsx", images=10**400), "images: a number of about"),
    (lambda: sheetnet.window("ck.npz", "w.xlsx", pick="0,1"), "give a list of image numbers"),
    (lambda: sheetnet.train("mlp", batch_size=0), "batch-size 0 must be at least 1"),
    (lambda: sheetnet.verify("x.xlsx", timeout=float("nan")), "timeout nan must be a positive"),
    (lambda: sheetnet.verify("x.xlsx", timeout=10**400), "timeout: a number of about"),
    (lambda: sheetnet.train("mlp", every=0, blocks=False), "every=0: give 1 or more"),
])
def test_wrong_types_are_a_sheetnet_error_naming_the_keyword(tmp_path, monkeypatch, call,
                                                             message):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(sheetnet.SheetnetError, match=message):
        call()
    assert not list(tmp_path.iterdir())


# --- a run and a report in a notebook ---------------------------------------------------------


def test_a_run_reads_well_in_a_notebook():
    run = sheetnet.train("mlp", iterations=50)
    text = repr(run)
    assert len(text) < 200, text
    assert text.startswith("Training(net='mlp', iterations=50, eta=0.2, C_T 22.0966 → ")
    table = run.history(as_frame=False)
    assert list(table) == ["iteration", "C_T", "accuracy"]
    np.testing.assert_array_equal(table["C_T"], run.cost)
    np.testing.assert_array_equal(table["iteration"], np.arange(51))
    np.testing.assert_array_equal(run.blocks(-1)["W2"], run.blocks(50)["W2"])
    compare = sheetnet.train("gd", compare="gd,adam", iterations=5)
    assert list(compare.costs) == ["gd", "adam"]
    np.testing.assert_array_equal(compare.costs["adam"],
                                  [compare.blocks(k)["adam.z"] for k in range(6)])
    assert not np.array_equal(compare.costs["adam"], compare.costs["gd"])


def test_history_is_a_dataframe_when_pandas_is_there(monkeypatch):
    """pandas is no dependency: a stand-in module shows history() hands it the table."""
    import sys
    import types

    class Frame:
        def __init__(self, table):
            self.table = table

    monkeypatch.setitem(sys.modules, "pandas", types.SimpleNamespace(DataFrame=Frame))
    run = sheetnet.train("mlp", iterations=3)
    frame = run.history()
    assert isinstance(frame, Frame) and list(frame.table)[0] == "iteration"  # a column
    np.testing.assert_array_equal(frame.table["C_T"], run.cost)
    assert isinstance(run.history(as_frame=False), dict)
    monkeypatch.setitem(sys.modules, "pandas", None)  # not installed
    assert isinstance(run.history(), dict)
    with pytest.raises(sheetnet.SheetnetError, match="needs pandas"):
        run.history(as_frame=True)


def test_a_report_reads_well_in_a_notebook(tmp_path):
    out = sheetnet.export("mlp", tmp_path / "mlp.xlsx", iterations=1)
    report = sheetnet.verify(out)
    assert repr(report).startswith("Report('mlp.xlsx', net 'mlp', ok=True: every cell agrees;")
    table = report.table()
    assert table["block"][:3] == ["C_T (Summary)", "accuracy (Summary)", "x"]
    assert "W2" in table["block"]
    assert sum(table["cells"]) == report.cells and set(table["bad"]) == {0}
    assert report.roots == []
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 1"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "w²₁₂")
    ws.cell(row, 3).value = f"=C{row - 1}+1"  # a weight's update made wrong
    wb.save(tmp_path / "broken.xlsx")
    broken = sheetnet.verify(tmp_path / "broken.xlsx")
    assert "ok=False" in repr(broken)
    assert broken.roots and broken.roots[0].startswith(f"'Iter 1'!C{row}")


def test_the_torch_example_without_torch_says_how_to_get_it():
    import subprocess
    import sys

    from tests.conftest import ROOT

    code = ("import runpy, sys; sys.modules['torch'] = None; sys.argv = ['x'];"
            f" runpy.run_path({str(ROOT / 'examples' / 'compare_with_torch.py')!r},"
            " run_name='__main__')")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert "pip install torch" in proc.stdout + proc.stderr
    assert "Traceback" not in proc.stderr


def test_a_run_and_a_report_show_themselves_in_a_notebook(tmp_path):
    """_repr_html_: a table of the run and its cost curve as well-formed inline SVG, one point
    an iteration, on a log scale when C_T spans more than a factor of 20."""
    import xml.etree.ElementTree as ET

    run = sheetnet.train("mlp", iterations=20)
    page = run._repr_html_()
    svg = ET.fromstring(page[page.index("<svg"):page.index("</svg>") + 6])
    (line,) = [e for e in svg.iter() if e.tag.endswith("polyline")]
    points = [tuple(map(float, p.split(","))) for p in line.get("points").split()]
    assert len(points) == 21
    ys = np.array([y for _, y in points])
    expected = np.log10(run.cost)  # screen y falls as log C_T rises, linearly
    slope = np.polyfit(expected, ys, 1)[0]
    np.testing.assert_allclose(ys, np.polyval(np.polyfit(expected, ys, 1), expected), atol=0.06)
    assert slope < 0 and "log scale" in page
    assert f"{run.cost[0]:.6g} → {run.cost[-1]:.6g}" in page
    path = sheetnet.export(run, tmp_path / "m.xlsx")
    report = sheetnet.verify(path)._repr_html_()
    assert "every cell agrees" in report and report.count("<tr>") == 1 + len(
        sheetnet.verify(path).table()["block"])


def test_api_messages_say_force_true(tmp_path):
    run = sheetnet.train("mlp", iterations=1)
    path = sheetnet.export(run, tmp_path / "m.xlsx")
    with pytest.raises(sheetnet.SheetnetError, match=r"exists; give force=True to overwrite"):
        sheetnet.export(run, path)
    (tmp_path / "ck.npz").write_bytes(b"")
    with pytest.raises(sheetnet.SheetnetError, match=r"give force=True"):
        run.save(tmp_path / "ck.npz")


def test_a_progress_bar_when_asked_and_in_a_notebook_only(capsys):
    sheetnet.train("mlp", iterations=50, progress=True)
    shown = capsys.readouterr().out
    assert shown.startswith("\r[") and shown.endswith("\n")
    assert "51/51 iterations" in shown.rsplit("\r", 1)[-1]
    sheetnet.train("mlp", iterations=5)  # a script, not a notebook: nothing printed
    assert capsys.readouterr().out == ""
