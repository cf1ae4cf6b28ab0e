"""``sheetnet explain`` (issue 28): every computed cell kind of every preset, named as the book
names it, its value as the file stores it, and its plugged-in formula worked out here, apart
from sheetnet, to that value.

A cell kind is one block of a layout (a ``Place``) on the first two iteration sheets and on
every other sheet; one cell of each (a middle element of the second image) is explained.
"""

from __future__ import annotations

import json
import re
import zipfile
from html import unescape
from pathlib import Path

import pytest
from typer.testing import CliRunner

import sheetnet
from sheetnet.audit.explain import Explainer, Explanation, explain
from sheetnet.cli import app
from sheetnet.errors import SheetnetError
from sheetnet.workbook.layout import Place, a1, sheet_prefix
from sheetnet.workbook.ooxml import sheet_parts
from tests.audit.plugged import evaluate
from tests.conftest import export

runner = CliRunner()
TOLERANCE = 1e-9  # verify's: the absolute or the relative difference

# Every preset (exercises too), small; options that add blocks of their own (an update rule's
# state, batch norm, layer norm, dropout, held-out images, batches, penalties, a decaying η).
PRESETS = {
    "gd": ["--net", "gd", "--iterations", "2"],
    "gd-compare": ["--net", "gd", "--iterations", "2", "--compare", "gd,momentum,adam"],
    "regression": ["--net", "regression", "--iterations", "2"],
    "graph": ["--net", "graph"],
    "mlp": ["--net", "mlp", "--iterations", "2"],
    "twolayer": ["--net", "twolayer", "--iterations", "2"],
    "xor": ["--net", "xor", "--iterations", "2"],
    "curve": ["--net", "curve", "--iterations", "2"],
    "cnn": ["--net", "cnn", "--iterations", "1", "--filters", "2"],
    "digits": ["--net", "digits", "--iterations", "1"],
    "rnn": ["--net", "rnn", "--iterations", "1", "--seq-length", "4", "--hidden", "3"],
    "lstm": ["--net", "lstm", "--iterations", "1", "--seq-length", "3", "--hidden", "2"],
    "gru": ["--net", "gru", "--iterations", "1", "--seq-length", "3", "--hidden", "2"],
    "attention": ["--net", "attention", "--iterations", "1", "--seq-length", "3", "--embed", "2",
                  "--mlp", "3", "--layer-norm"],
    "adam": ["--net", "mlp", "--iterations", "2", "--optimizer", "adam"],
    "momentum-batches": ["--net", "mlp", "--iterations", "2", "--optimizer", "momentum",
                         "--batch-size", "16", "--l2", "0.01", "--eta-decay", "0.9",
                         "--validation", "0.25"],
    "norms": ["--net", "mlp", "--iterations", "2", "--arch",
              "dense 4, batchnorm, relu, dropout 0.25, dense 3, layernorm, tanh, dense 2",
              "--output-activation", "softmax", "--loss", "cross-entropy"],
    "conv-stack": ["--net", "cnn", "--iterations", "1", "--arch",
                   "conv 2 3x3 pad 1, batchnorm, relu, avgpool 2, conv 2 2x2, leaky-relu,"
                   " dense 3", "--optimizer", "rmsprop"],
    "text-stack": ["--net", "rnn", "--iterations", "1", "--seq-length", "3", "--arch",
                   "lstm 2, rnn 2, dropout 0.5"],
}
SLOW = {"digits", "conv-stack", "lstm", "gru", "text-stack"}


@pytest.fixture(scope="module")
def workbooks(tmp_path_factory) -> dict[str, Path]:
    """Each preset's workbook, written once (lazily, by name)."""
    folder = tmp_path_factory.mktemp("explain")
    made: dict[str, Path] = {}

    class Lazy(dict):
        def __missing__(self, key: str) -> Path:
            made[key] = export(folder, f"{key}.xlsx", *PRESETS[key])
            self[key] = made[key]
            return made[key]

    return Lazy()


# --- an independent reading of the file ---------------------------------------------------


def stored(path: Path, sheet: str, cell: str) -> object:
    """A cell's stored value, read straight from its sheet's XML here (not through sheetnet's
    reader): a number, text, a boolean, or None."""
    with zipfile.ZipFile(path) as z:
        parts = sheet_parts(z)
        xml = z.read(parts[sheet]).decode()
        strings = re.findall(r"<si>(.*?)</si>", z.read("xl/sharedStrings.xml").decode(), re.S) \
            if "xl/sharedStrings.xml" in z.namelist() else []
    m = re.search(rf'<c r="{cell}"([^>]*?)(?:/>|>(.*?)</c>)', xml, re.S)
    if m is None or m.group(2) is None:
        return None
    kind = re.search(r'\bt="(\w+)"', m.group(1))
    v = re.search(r"<v>(.*?)</v>", m.group(2), re.S)
    t = kind.group(1) if kind else "n"
    if t == "inlineStr":
        return unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", m.group(2), re.S)))
    if v is None or v.group(1) == "":  # a formula stored without its value (a character)
        return None
    if t == "n":
        return float(v.group(1))
    if t == "s":
        return unescape("".join(re.findall(r"<t[^>]*>(.*?)</t>", strings[int(v.group(1))],
                                           re.S)))
    if t == "b":
        return v.group(1) == "1"
    return unescape(v.group(1))


def close(got: object, want: object) -> bool:
    if isinstance(want, float) and isinstance(got, (int, float)):
        diff = abs(float(got) - want)
        return diff <= TOLERANCE or diff <= TOLERANCE * abs(want)
    return got == want


def cell_kinds(explainer: Explainer) -> list[tuple[Place, int, int, int, int, int]]:
    """One cell of every block of the layout: a middle element of the second image (or the
    only one), on the first two iteration sheets and every other sheet."""
    out, seen = [], set()
    for p in explainer.book.layout.places:
        if re.fullmatch(r"Iter \d+", p.sheet) and p.sheet not in ("Iter 0", "Iter 1"):
            continue
        key = (p.sheet, p.name, p.col)
        if key in seen:
            continue
        seen.add(key)
        i, r, c = min(1, max(p.images, 1) - 1), p.rows // 2, p.cols // 2
        out.append((p, i, r, c, p.sheet_row(r), p.col + c + i * p.stride))
    return out


def check(path: Path, e: Explanation, p: Place, i: int, r: int, c: int) -> None:
    """An explanation of a cell of block ``p`` tells its block, image, step and iteration,
    its value as stored, a plugged-in formula that computes that value, and names every cell
    it reads."""
    where = f"{e.cell} ({p.name})"
    assert e.block == p.name, where
    assert e.element and not re.fullmatch(r"('.*'|\w+)?!?\$?[A-Z]+\$?\d+", e.element), where
    item = e.window if e.window is not None else e.image
    assert item == (i + 1 if p.images else None), where
    assert e.step == (c + 1 if p.transpose else None), where
    if p.iteration is not None:
        assert e.iteration == p.iteration, where
    else:  # Summary's and Statistics' rows are the iterations; a descent's are its steps
        assert e.iteration in (None, r), where
    sheet, ref = e.cell.rsplit("!", 1)
    want = stored(path, sheet.strip("'"), ref)
    assert close(e.value, want), (where, e.value, want)
    for read in e.reads:
        assert read.named, (where, read.ref, read.what)
    if p.kind == "text":  # a character read off the vocabulary: its formula, no number
        assert e.formula is not None and e.book, where
        return
    if p.kind != "formula":  # an input, or a constant (the gradient check's h)
        assert e.formula is None and e.reads == [], where
        return
    assert e.formula is not None and e.book and e.plugged, where
    got = evaluate(e.plugged)
    assert close(got, want), (where, e.formula, e.plugged[:500], got, want)


def explain_every_kind(path: Path) -> int:
    explainer = Explainer(path)
    kinds = cell_kinds(explainer)
    for p, i, r, c, row, col in kinds:
        e = explainer.explain(f"{sheet_prefix(p.sheet)}{a1(row, col)}")
        check(path, e, p, i, r, c)
    return len(kinds)


@pytest.mark.parametrize("preset", [pytest.param(name, marks=pytest.mark.slow) if name in SLOW
                                    else name for name in PRESETS])
def test_every_cell_kind_is_named_and_its_numbers_give_its_value(workbooks, preset):
    assert explain_every_kind(workbooks[preset]) >= 3


@pytest.mark.slow
def test_every_cell_kind_of_a_mnist_window(tmp_path):
    ck = tmp_path / "ck.npz"
    result = runner.invoke(app, ["train", "--net", "mnist", "--iterations", "1",
                                 "--checkpoint", str(ck)])
    assert result.exit_code == 0, result.output
    out = export(tmp_path, "window.xlsx", "--from", str(ck), "--images", "1",
                 "--iterations", "1")
    assert explain_every_kind(out) >= 20


def test_a_window_of_a_checkpoint_names_its_state(tmp_path):
    ck = tmp_path / "ck.npz"
    result = runner.invoke(app, ["train", "--net", "mlp", "--iterations", "3", "--optimizer",
                                 "momentum", "--checkpoint", str(ck)])
    assert result.exit_code == 0, result.output
    out = export(tmp_path, "window.xlsx", "--from", str(ck), "--images", "4")
    assert explain_every_kind(out) >= 20


# --- cells checked by hand -----------------------------------------------------------------


def place(explainer: Explainer, name: str, sheet: str = "Iter 0") -> Place:
    return next(p for p in explainer.book.layout.places if p.name == name and p.sheet == sheet)


def address(p: Place, r: int = 0, c: int = 0, i: int = 0) -> str:
    return f"{sheet_prefix(p.sheet)}{a1(p.sheet_row(r), p.col + c + i * p.stride)}"


def test_the_issue_example_delta_2_1_of_image_1(workbooks):
    path = workbooks["mlp"]
    ex = Explainer(path)
    delta2, w3, delta3, a2 = (place(ex, n) for n in ("delta2", "W3", "delta3", "a2"))
    e = sheetnet.explain(path, address(delta2))
    assert e.what == "δ²₁ of image 1, iteration 0"
    assert (e.block, e.symbol, e.element, e.image, e.window, e.step, e.iteration) == (
        "delta2", "δ²", "δ²₁", 1, None, None, 0)
    assert e.book == "(w³₁₁·δ³₁ + w³₂₁·δ³₂)·a²₁·(1 − a²₁)"
    assert [r.what for r in e.reads] == [
        "w³₁₁, iteration 0", "δ³₁ of image 1, iteration 0", "w³₂₁, iteration 0",
        "δ³₂ of image 1, iteration 0", "a²₁ of image 1, iteration 0"]
    # w³ is drawn a row per weight: w³₁₁, w³₁₂, w³₁₃, then w³₂₁
    assert [r.cell for r in e.reads] == [address(w3, 0), address(delta3, 0), address(w3, 3),
                                         address(delta3, 1), address(a2, 0)]
    w11, d1, w21, d2, a = (r.value for r in e.reads)
    for v in (w11, d1, w21, d2, a):  # the five numbers, in full
        assert repr(v).replace("-", "−") in e.plugged
    assert close((w11 * d1 + w21 * d2) * a * (1 - a), e.value)
    assert close(evaluate(e.plugged), stored(path, "Iter 0", address(delta2).split("!")[1]))


def test_a_map_a_step_a_table_row_and_a_hyperparameter_are_named_as_the_sheets_name_them(
        workbooks):
    cnn = Explainer(workbooks["cnn"])
    z = place(cnn, "zF")
    e = cnn.explain(address(z, z.tile + 1, 2, i=1))  # filter 2, row 2, column 3, image 2
    assert (e.element, e.image, e.what) == ("zᶠ²₂₃", 2, "zᶠ²₂₃ of image 2, iteration 0")
    assert e.book.startswith("SUMPRODUCT(x₂₃…x₄₅, wᶠ²₁₁…wᶠ²₃₃) + bᶠ²")

    rnn = Explainer(workbooks["rnn"])
    h = place(rnn, "h")
    e = rnn.explain(address(h, 1, 2, i=1))  # unit 2 at step 3 of window 2
    assert (e.window, e.image, e.step) == (2, None, 3)
    assert e.what == "hₜ (unit 2) at step 3 of window 2, iteration 0"
    assert e.book == "TANH(zₜ (unit 2))"  # the same step and window: left out
    hprev = place(rnn, "hprev")
    assert rnn.explain(address(hprev, 0, 1)).book == "hₜ (unit 1) at step 1"

    mlp = Explainer(workbooks["mlp"])
    e = mlp.explain("Summary!B6")
    assert (e.what, e.iteration, e.block) == ("C_T, iteration 1", 1, "C_T")
    assert e.reads[0].cell == address(place(mlp, "C_T", "Iter 1"))
    e = mlp.explain(address(place(mlp, "W2", "Iter 1")))
    assert e.book == "w²₁₁ (iteration 0) − η·∂C_T/∂w²₁₁ (iteration 0)"
    assert [r.what for r in e.reads][1] == "η"
    assert mlp.explain(address(place(mlp, "eta", "Inputs"))).formula is None

    gd = Explainer(workbooks["gd"])
    e = gd.explain("Descent!B4")
    assert (e.what, e.book) == ("x at i = 1", "x (i = 0) + Δx (i = 0)")

    batches = Explainer(workbooks["momentum-batches"])
    e = batches.explain(address(place(batches, "dCT_dW2")))
    assert e.book == ("SUMIFS(∂C/∂w²₁₁ of images 1…64, in batch of images 1…64, \"<>0\","
                      " held out of images 1…64, 0) + λ₂·w²₁₁")


@pytest.mark.slow
def test_an_lstm_names_its_gates_and_errors_as_its_sheet_does(workbooks):
    lstm = Explainer(workbooks["lstm"])
    e = lstm.explain(address(place(lstm, "dc"), 1, 0, i=2))
    assert e.what == "∂C/∂cₜ (unit 2) at step 1 of window 3, iteration 0"
    assert e.book.startswith("∂C/∂hₜ (unit 2)·gatesₜ (i f g o) (o, unit 2)·(1 − TANH(cₜ (unit"
                             " 2))^2) + ∂C/∂cₜ₋₁ (unit 2) at step 2")


@pytest.mark.slow
def test_a_gru_names_its_gates_and_what_the_state_sends_back(workbooks):
    gru = Explainer(workbooks["gru"])
    e = gru.explain(address(place(gru, "gates"), 4, 1, i=0))  # n of unit 1, step 2
    assert e.what == "gatesₜ (r z n) (n, unit 1) at step 2 of window 1, iteration 0"
    assert e.book == ("TANH(zˣₜ (r z n) (n, unit 1) + gatesₜ (r z n) (r, unit 1)·zʰₜ (r z n)"
                      " (n, unit 1))")
    e = gru.explain(address(place(gru, "dhprev"), 0, 2, i=1))
    assert e.book.endswith("+ ∂C/∂hₜ (unit 1)·gatesₜ (r z n) (z, unit 1)")
    assert len(e.reads) == 3 * 2 * 2 + 2  # U's six weights on unit 1, six errors, ∂C/∂h and z


def test_attention_names_its_positions_and_the_softmaxs_jacobian(workbooks):
    att = Explainer(workbooks["attention"])
    scores = place(att, "s")
    e = att.explain(address(place(att, "att"), 1, 1, i=0))  # α of step 2 on position 2
    assert e.what == "αₜᵤ (u = 2) at step 2 of window 1, iteration 0"
    # the scores of u ≤ 2 at step 2 and nothing of a later position u = 3
    assert {r.cell for r in e.reads} >= {address(scores, u, 1) for u in (0, 1)}
    assert address(scores, 2, 1) not in "".join(r.cell for r in e.reads)
    e = att.explain(address(place(att, "ds"), 0, 1, i=0))
    assert e.book == "αₜᵤ (u = 1)·(∂C/∂αₜᵤ (u = 1) − ᾱₜ)"
    assert e.value == pytest.approx(e.reads[0].value * (e.reads[1].value - e.reads[2].value),
                                    rel=1e-12)
    e = att.explain(address(place(att, "dC_de"), 1, 0, i=0))
    assert e.book == "∂C/∂yₜ (unit 2) + ∂C/∂eₜ through ln¹₂"


def test_a_tree_explains_the_cells_read_to_the_depth_asked(workbooks):
    path = workbooks["mlp"]
    ex = Explainer(path)
    cell = address(place(ex, "W2", "Iter 1"))
    e = ex.explain(cell, depth=3)
    levels = {0: [e]}
    for k in (1, 2):
        levels[k] = [r.explanation for x in levels[k - 1] for r in x.reads
                     if r.explanation is not None]
    # w²₁₁ − η·∂C_T/∂w²₁₁ of iteration 0: those three, then the initial w²₁₁ (the Σ's range
    # of 64 cells is named, not opened)
    assert [len(levels[k]) for k in (0, 1, 2)] == [1, 3, 1]
    for x in e.walk():
        for r in x.reads:
            if r.explanation is not None:
                assert r.explanation.value == r.value and r.explanation.cell == r.cell
            elif x not in levels[2]:
                assert r.cells > 1
    assert all(r.explanation is None for x in levels[2] for r in x.reads)
    assert ex.explain(cell).reads[0].explanation is None  # depth 1: named, not opened


def test_the_cell_is_given_as_the_sheet_shows_it(workbooks):
    path = workbooks["mlp"]
    want = Explainer(path).explain("'Iter 0'!E34").to_json()
    for cell, sheet in (("Iter 0!E34", None), ("iter 0!e34", None), ("E34", "Iter 0"),
                        ("$E$34", "ITER 0"), (" 'Iter 0'!$E$34 ", "Iter 0")):
        assert explain(path, cell, sheet=sheet).to_json() == want, cell


def test_json_str_and_html_say_the_same_story(workbooks):
    e = explain(workbooks["mlp"], "'Iter 0'!E34", depth=2)
    data = json.loads(json.dumps(e.to_json(), ensure_ascii=False))
    assert data["what"] == e.what and data["plugged"] == e.plugged
    assert data["value"] == e.value and data["value_source"] == "stored"
    assert data["reads"][1]["explanation"]["book"] == "(a³₁ − t₁)·a³₁·(1 − a³₁)"
    text = str(e)
    assert "δ²₁ = (w³₁₁·δ³₁ + w³₂₁·δ³₂)·a²₁·(1 − a²₁)" in text and "value as stored" in text
    assert "!E34</b>: δ²₁ of image 1" in e._repr_html_()


@pytest.mark.parametrize(("cell", "sheet", "message"), [
    ("E", None, "is not a cell reference"),
    ("Iter 0!E0", None, "is not a cell reference"),
    ("E34", None, "names no sheet"),
    ("Iter 9!E34", None, "has no sheet 'Iter 9'"),
    ("'Iter 0'!E34", "Iter 1", "but --sheet says"),
    ("'Iter 0'!ZZ9999", None, "lies outside the cells"),
    ("'Iter 0'!D4", None, "is empty"),
])
def test_a_cell_that_cannot_be_explained_is_one_line_saying_why(workbooks, cell, sheet,
                                                                 message):
    with pytest.raises(SheetnetError, match=re.escape(message)) as info:
        explain(workbooks["mlp"], cell, sheet=sheet)
    assert "\n" not in str(info.value)


def test_a_file_that_is_no_sheetnet_workbook_is_one_line_saying_why(tmp_path):
    import openpyxl

    plain = tmp_path / "plain.xlsx"
    openpyxl.Workbook().save(plain)
    text = tmp_path / "notes.xlsx"
    text.write_text("not a workbook")
    for path, message in ((tmp_path / "missing.xlsx", "no such file"),
                          (text, "not an .xlsx workbook"),
                          (plain, "not a sheetnet workbook")):
        with pytest.raises(SheetnetError, match=re.escape(message)):
            explain(path, "A1", sheet="Sheet")
    with pytest.raises(SheetnetError, match="1 or more"):
        explain(plain, "A1", depth=0)


def test_python_takes_the_cell_as_text(workbooks):
    assert "explain" in sheetnet.__all__ and "explain" in dir(sheetnet)
    for bad in ({"cell": 83}, {"cell": "E34", "sheet": 0}, {"cell": "E34", "depth": 1.5}):
        args = {"sheet": "Iter 0", **bad}
        with pytest.raises(SheetnetError, match="cell=|sheet=|depth="):
            sheetnet.explain(workbooks["mlp"], **args)
