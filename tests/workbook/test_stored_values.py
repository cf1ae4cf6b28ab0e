"""Every formula cell stores the number NumPy computed, so readers that do not recalculate show
it; the engines still recalculate (verify ignores what is stored)."""

import re
import zipfile

import numpy as np
import openpyxl
import pytest

from sheetnet import presets
from sheetnet.workbook.ooxml import sheet_parts
from tests.conftest import NETS, SMALL, export, formula_cells, stale_copy


@pytest.mark.parametrize("net", NETS)
def test_every_formula_cell_stores_a_value(small_book, net):
    # a new preset is added here too; mnist's workbook is to be a window of a run (issue 21's
    # checkpoints), its 8,000 digits whole are refused before any work
    assert set(SMALL) | {"mnist"} == set(presets.PRESETS)
    cells = [(sheet, ref, value) for sheet, ref, _, value, _ in formula_cells(small_book(net))]
    missing = [(sheet, ref) for sheet, ref, value in cells if value is None]
    assert cells and not missing, missing[:5]


def test_stored_values_are_numpys_numbers_exactly(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "3")
    preset = presets.get("mlp")
    trace = preset.trace(preset.run(presets.Options(iterations=3)))
    wb = openpyxl.load_workbook(out, data_only=True)
    summary = [row for row in wb["Summary"].iter_rows(min_row=2, max_col=3, values_only=True)
               if isinstance(row[0], int)]
    np.testing.assert_array_equal([r[1] for r in summary], trace.cost)  # repr reads back exact
    np.testing.assert_array_equal([r[2] for r in summary], trace.accuracy)
    z3 = trace.iterations[2]["z3"]  # image 1's z³₁ on Iter 2, found by its row label
    ws = wb["Iter 2"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 2).value == "z³₁")
    first = next(c for c in range(3, ws.max_column + 1) if wb["Iter 2"].cell(2, c).value == 1)
    assert ws.cell(row, first).value == z3[0, 0]


def _rewrite_sheet(path, out, sheet, edit):
    """Copy the archive with one sheet's XML passed through ``edit``."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        part = sheet_parts(src)[sheet]
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == part:
                data = edit(data.decode("utf-8")).encode("utf-8")
            dst.writestr(item, data)
    return out


def test_engines_recalculate_rather_than_read_stored_values(engine, tmp_path):
    """Wrong stored values in every formula cell: every engine recomputes them, so verify
    passes; a changed formula that keeps its (right) stored value is caught."""
    from sheetnet.audit.verify import verify

    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    report = verify(stale_copy(out, tmp_path / "stale.xlsx", "12345"), [engine])
    assert report.ok, report.first_differences()

    def change_one_formula(xml):  # ∂C/∂w²₁₁'s shared formula (δ²₁ times x₁) reads x₂
        new, count = re.subn(r'(<c r="E39"[^>]*><f[^>]*>)E34\*E4(</f>)', r"\1E34*E5\2", xml)
        assert count == 1
        return new
    changed = _rewrite_sheet(out, tmp_path / "changed.xlsx", "Iter 1", change_one_formula)
    report = verify(changed, [engine])
    assert not report.ok
    assert any(line.startswith("'Iter 1'!") and "(dC_dW2, image" in line
               for line in report.first_differences(50))
