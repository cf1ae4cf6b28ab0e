"""The pure layout: templates, places, shared formulas and Excel's limits."""

import zipfile

import numpy as np
import openpyxl
import pytest

from sheetnet.core import data, descent
from sheetnet.core import net as stack
from sheetnet.core.run import Run
from sheetnet.errors import SheetnetError
from sheetnet.workbook import stack_layout
from sheetnet.workbook.layout import Place, RowSpec, Shared, Template, render_rows, token
from sheetnet.workbook.size import MAX_COLS
from tests.conftest import export


def test_template_renders_image_columns():
    p = Place("z2", "Iter 0", 10, 5, 3, images=30)
    t = Template(p.ref(0) + "*" + p.ref(1, absolute=True, image=0) + "+" + p.ref(2, sheet="S"))
    assert t.render(0) == "E10*$E$11+'Iter 0'!E12"
    assert t.render(29) == "AH10*$E$11+'Iter 0'!AH12"
    assert p.extent == "E10:AH12"
    assert p.all_images_row(1) == "E11:AH11"


def _run(n_images, sizes=(4, 3, 2)):
    rng = np.random.default_rng(0)
    x = rng.random((n_images, sizes[0]))
    labels = tuple(float(i % sizes[-1]) for i in range(n_images))
    ds = data.Dataset("t", x, labels, tuple(float(i) for i in range(sizes[-1])), (1, sizes[0]))
    net = stack.fully_connected(sizes)
    return Run("mlp", net, ds, stack.init(net, "normal", 0), 0.2, 2)


def test_layout_refuses_too_many_columns():
    spec = stack_layout.workbook(_run(MAX_COLS))
    with pytest.raises(SheetnetError, match="columns, Excel allows 16,384"):
        spec.check_limits()


def test_layout_refuses_too_long_formulas():
    spec = stack_layout.workbook(_run(3, sizes=(2, 2, 700)))
    with pytest.raises(SheetnetError, match="characters long, Excel allows 8,192"):
        spec.check_limits()


def test_layout_places_cover_every_trace_block():
    run = _run(5)
    spec = stack_layout.workbook(run)
    trace = descent.train_net(run.model, run.params, run.data.x, run.data.targets, run.eta,
                          run.iterations)
    names = {p.name for p in spec.places if p.iteration == 1}
    assert names == set(trace.iterations[1])
    for p in spec.places:
        if p.iteration is not None:
            assert p.grid(trace.iterations[p.iteration][p.name]).size == p.size


def test_a_row_of_shifted_formulas_becomes_one_shared_formula():
    t = Template(f"SUMPRODUCT($C$4:$C$15,{token(5)}53:{token(5)}64)+$C$40")
    grid = render_rows([RowSpec(67, {}, [(5, t)])], 64, {})
    first, rest = grid[67][5], [grid[67][c] for c in range(6, 69)]
    assert first == Shared(0, "=SUMPRODUCT($C$4:$C$15,E53:E64)+$C$40", "E67:BP67")
    assert all(cell == Shared(0) for cell in rest)


def test_a_relative_reference_outside_the_image_columns_keeps_formulas_whole():
    t = Template(f"{token(5)}3+C17")  # C17 would move with a shared formula: not shiftable
    assert not t.shiftable
    grid = render_rows([RowSpec(4, {}, [(5, t)])], 3, {})
    assert [grid[4][c] for c in (5, 6, 7)] == ["=E3+C17", "=F3+C17", "=G3+C17"]


def test_adjacent_band_columns_share_one_formula_across_every_image():
    """Bands of 7 columns: a map's 4 columns in both images are one shared formula, its range
    holding the cells between the bands too (they do not name its si)."""
    ts = [(10 + c, Template(f"MAX({token(10 + c)}8:{token(10 + c)}9)", stride=7))
          for c in range(4)]
    grid = render_rows([RowSpec(20, {}, ts)], 2, {})
    assert grid[20][10] == Shared(0, "=MAX(J8:J9)", "J20:T20")
    assert [grid[20][c] for c in (11, 12, 13, 17, 18, 19, 20)] == [Shared(0)] * 7
    assert set(grid[20]) == {10, 11, 12, 13, 17, 18, 19, 20}


def test_one_template_a_band_shares_across_images():
    t = Template(f"IF(Data!{token(5)}3=Inputs!$C$24,1,0)", stride=9)
    grid = render_rows([RowSpec(12, {}, [(6, t)])], 3, {})
    assert grid[12] == {6: Shared(0, "=IF(Data!E3=Inputs!$C$24,1,0)", "F12:X12"),
                        15: Shared(0), 24: Shared(0)}


@pytest.mark.parametrize("args", [["--net", "mlp", "--iterations", "1"],
                                  pytest.param(["--net", "cnn", "--iterations", "1"],
                                               marks=pytest.mark.slow),
                                  ["--net", "twolayer", "--iterations", "1"]])
def test_shared_formulas_read_back_as_every_cell_written_in_full(tmp_path, monkeypatch, args):
    """openpyxl expands each shared formula itself: every cell must read as the formula the
    layout renders for it when nothing is shared."""
    from sheetnet.workbook import layout

    shared = export(tmp_path, "shared.xlsx", *args)
    monkeypatch.setattr(layout, "SHARED_FORMULAS", False)
    whole = export(tmp_path, "whole.xlsx", *args)
    a, b = openpyxl.load_workbook(shared), openpyxl.load_workbook(whole)
    assert a.sheetnames == b.sheetnames
    for name in a.sheetnames:
        got = {c.coordinate: c.value for row in a[name].iter_rows() for c in row}
        want = {c.coordinate: c.value for row in b[name].iter_rows() for c in row}
        assert got == want, name
    with zipfile.ZipFile(shared) as z:
        sheets = [n for n in z.namelist() if n.startswith("xl/worksheets/sheet")]
        assert sum(b't="shared"' in z.read(n) for n in sheets) >= 2  # the iteration sheets
