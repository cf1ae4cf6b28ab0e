"""Formulas read as written: a shared formula's cells get the first cell's formula moved to
them, as a spreadsheet (and openpyxl) reads them; references move as a fill moves them."""

import re

import openpyxl

from sheetnet.audit.archive import Archive, Formulas, formula_text
from sheetnet.audit.tokens import parse_ref, shift, tokens
from tests.conftest import export


def test_every_formula_reads_as_openpyxl_reads_it(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--net", "mlp", "--iterations", "1")
    archive = Archive.open(out, "Inputs")
    formulas = Formulas(out, archive.parts)
    shared = 0
    wb = openpyxl.load_workbook(out)
    for sheet in ("Iter 0", "Summary"):
        ws = wb[sheet]
        for row in ws.iter_rows(max_col=12):
            for cell in row:
                want = cell.value if isinstance(cell.value, str) and cell.value.startswith(
                    "=") else None
                assert formulas.formula(sheet, cell.row, cell.column) == want, cell.coordinate
        xml = formulas.xml(sheet)
        shared += xml.count(b'<f t="shared" si=')
    assert shared > 100  # the cells of shared formulas were among those read
    child = re.search(rb'<c r="([A-Z]+[0-9]+)"[^>]*><f t="shared" si="[0-9]+"/>',
                      formulas.xml("Iter 0")).group(1).decode()
    assert formula_text(out, archive.parts["Iter 0"], child) == wb["Iter 0"][child].value
    assert formula_text(out, archive.parts["Iter 0"], "A1") == ""


def test_a_formula_moves_as_a_fill_moves_it():
    text = "=SUMPRODUCT($C$4:$C$15,E53:E64)+'Iter 0'!C$40*eta-LOG10(A1)&\"B2\""
    assert shift(text, 1, 2) == \
        "=SUMPRODUCT($C$4:$C$15,G54:G65)+'Iter 0'!E$40*eta-LOG10(C2)&\"B2\""
    kinds = [t.kind for t in tokens(text) if t.kind != "op"]
    assert kinds == ["func", "ref", "ref", "ref", "name", "func", "ref", "str"]
    r = parse_ref("'Iter 0'!$C$15:$C$4")
    assert (r.sheet, r.row, r.col, r.last_row, r.last_col, r.cells) == ("Iter 0", 4, 3, 15, 3,
                                                                          12)
