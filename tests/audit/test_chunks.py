"""Verify in chunks: a workbook's iteration sheets recalculated a few at a time, each chunk
seeded with NumPy's numbers, must audit exactly as one whole recalculation does: every cell
compared, a tampered formula caught and named wherever it is, an edit followed."""

import re

import numpy as np
import openpyxl
import pytest

from sheetnet.audit import cells, chunks
from sheetnet.audit import verify as audit
from sheetnet.audit.chunks import Chunk
from sheetnet.audit.verify import verify
from sheetnet.workbook.layout import Place, a1, sheet_prefix
from tests.conftest import edit_cells, export, rezip

PLAN = [Chunk(0, 1), Chunk(2, 3), Chunk(4, 5)]  # three chunks of a 5-iteration workbook


@pytest.fixture
def in_chunks(monkeypatch):
    """Every engine recalculates in the chunks of ``PLAN``, whatever the workbook's size."""
    monkeypatch.setattr(chunks, "plan", lambda *args: PLAN)


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    return export(tmp_path_factory.mktemp("chunks"), "mlp.xlsx", "--iterations", "5")


def _first_cell(path, name: str, iteration: int | None, sheet: str | None = None) -> Place:
    places = audit.layout(path).places
    return next(p for p in places if p.name == name and p.iteration == iteration
                and (sheet is None or p.sheet == sheet))


def _tampered(path, out, place: Place, formula: str):
    wb = openpyxl.load_workbook(path)
    wb[place.sheet].cell(place.row, place.col).value = formula
    wb.save(out)
    return out


def test_a_plan_covers_every_iteration_once_in_order():
    places = [Place("W", f"Iter {k}", 4, 3, rows=10, cols=10, iteration=k) for k in range(11)]
    places.append(Place("C_T", "Summary", 4, 2, rows=11))
    assert chunks.plan(places, 10_000, 5_000, 2) == [Chunk(0, 10)]  # small: one, as the file
    # one process alone holds it: whole, though two at once could not (LibreOffice's 3 GB)
    assert chunks.plan(places, 300, 5_000, 2, 2_000) == [Chunk(0, 10)]
    assert len(chunks.plan(places, 300, 5_000, 2, 1_000)) >= 4  # it holds less: chunks
    for most, workers in ((300, 2), (100, 2), (1_000, 4), (550, 1)):
        plan = chunks.plan(places, most, 0, workers)
        assert [k for c in plan for k in range(c.first, c.last + 1)] == list(range(11))
        assert len(plan) >= max(workers, -(-1_100 // most))
        assert all((c.last - c.first + 1) * 100 <= max(most, 100) for c in plan)


def test_references_follow_each_cell_of_a_shared_formula():
    xml = (b'<sheetData><row r="5"><c r="B5"><f t="shared" ref="B5:D5" si="0">'
           b"&apos;Iter 1&apos;!C4+Data!$A$1</f><v>1</v></c>"
           b'<c r="C5"><f t="shared" si="0"/><v>2</v></c><c r="D5" s="3"/>'
           b'<c r="E5"><f>SUM(Summary!B2:B9)</f></c></row></sheetData>')
    found = chunks.references(xml)
    assert sorted(found["Iter 1"]) == [(4, 3, 4, 3), (4, 4, 4, 4)]
    assert found["Data"] == [(1, 1, 1, 1)] * 2
    assert found["Summary"] == [(2, 2, 9, 2)]


def test_a_seed_holds_numpy_numbers_where_the_file_has_formulas():
    xml = (b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>label</t></is></c>'
           b'<c r="B1"><v>7</v></c><c r="C1"><f>B1*2</f><v>999</v></c></row></sheetData>')
    scan = cells.scan(xml, 1, 3, [], "test")
    computed = np.array([[np.nan, np.nan, 14.0]])
    seeded = cells.scan(chunks.seed(scan, scan.formulas, computed), 1, 3, [], "seed")
    assert seeded.value(1, 1) == "label" and seeded.value(1, 2) == 7.0
    assert seeded.value(1, 3) == 14.0 and not seeded.formulas.any()


def test_a_workbook_in_chunks_verifies_as_a_whole_one(mlp, in_chunks):
    report = verify(mlp)
    assert report.ok, report.first_differences()
    assert report.engines[0].peak_bytes > 0
    with pytest.MonkeyPatch.context() as m:
        m.setattr(chunks, "plan", lambda *args: [Chunk(0, 5)])
        whole = verify(mlp)
    whole_blocks = {b.name: b.cells for b in whole.blocks.values()}
    assert {b.name: b.cells for b in report.blocks.values()} == whole_blocks
    assert report.cells == whole.cells > 20_000
    assert max(b.max_err for b in report.blocks.values()) < 1e-12


@pytest.mark.parametrize("where", ["first sheet of a chunk", "last iteration", "Summary"])
def test_a_tampered_formula_is_caught_and_named_in_any_chunk(mlp, in_chunks, tmp_path, where):
    place = {"first sheet of a chunk": lambda: _first_cell(mlp, "z2", 2),
             "last iteration": lambda: _first_cell(mlp, "W2", 5),
             "Summary": lambda: _first_cell(mlp, "C_T", None, "Summary")}[where]()
    broken = _tampered(mlp, tmp_path / "broken.xlsx", place, "=0.5")
    report = verify(broken)
    assert not report.ok
    assert report.roots[0].startswith(f"{sheet_prefix(place.sheet)}{a1(place.row, place.col)} ")
    assert report.roots[0].endswith("it holds =0.5")
    assert len(report.roots) == 1, report.roots  # the chunks after it start from NumPy


def test_an_edited_eta_is_followed_in_every_chunk(mlp, in_chunks, tmp_path):
    eta = _first_cell(mlp, "eta", None)
    edited = edit_cells(mlp, tmp_path / "eta.xlsx", {("Inputs", a1(eta.row, eta.col)): 0.9})
    report = verify(edited)
    assert report.ok, report.first_differences()
    assert report.changed == ["eta"]
    assert report.costs["C_T"] != pytest.approx(report.exported_costs["C_T"], rel=1e-6)


def test_a_seed_never_takes_the_files_stored_numbers(mlp, in_chunks, tmp_path):
    """Iter 1 seeds the chunk from iteration 2: its stored values made wrong change nothing,
    as its formulas (recalculated in the first chunk) and NumPy's numbers are what count."""
    part = audit.layout(mlp).archive.parts["Iter 1"]

    def stale(name, body):
        if name == part:
            body = re.sub(rb"(<f[^>]*(?:/>|>[^<]*</f>))<v>[^<]*</v>", rb"\1<v>12345</v>", body)
        return [(name, body)]

    report = verify(rezip(mlp, tmp_path / "stale.xlsx", stale))
    assert report.ok, report.first_differences()


@pytest.mark.slow
def test_every_engine_verifies_in_chunks(mlp, in_chunks):
    report = verify(mlp, ["all"])
    assert report.ok, report.first_differences()
    assert len(report.engines) == 3


def test_a_failing_chunk_is_the_engines_own_failure(mlp, in_chunks, monkeypatch, tmp_path):
    """A chunk that fails ends its engine's other chunks at once and is reported as that
    engine's failure (the workbook passed verify's own checks)."""
    from sheetnet.errors import SheetnetError

    real = chunks._run

    def run(engine, job, whole, given, own, folder, *rest):
        if folder.name == "chunk-2":
            raise SheetnetError("IronCalc failed while recalculating (a test's failure)")
        return real(engine, job, whole, given, own, folder, *rest)

    monkeypatch.setattr(chunks, "_run", run)
    with pytest.raises(SheetnetError, match="a test's failure"):
        verify(mlp)
