import contextlib
import os

if os.environ.get("PYTEST_XDIST_WORKER"):  # a worker per core: BLAS threads would oversubscribe
    for _var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ.setdefault(_var, "1")
import re
import tempfile
import zipfile
from pathlib import Path

import numpy as np
import pytest

from sheetnet.audit.engines import ENGINES
from sheetnet.audit.values import Values

ROOT = Path(__file__).resolve().parent.parent
BOOK_INIT = ROOT / "examples" / "book_3-5_initial_weights.json"


SLOW_FIXTURES = {"all_engines", "engine"}  # LibreOffice and Gnumeric take seconds a workbook


def pytest_collection_modifyitems(items):
    """Tests that start LibreOffice or Gnumeric are slow: `pytest -m "not slow"` leaves them
    (and those marked slow by hand) out of a quick loop; CI runs everything."""
    for item in items:
        if SLOW_FIXTURES & set(getattr(item, "fixturenames", ())):
            item.add_marker(pytest.mark.slow)


@contextlib.contextmanager
def no_work():
    """Inside it, training, writing a workbook or starting an engine fails the test: what is
    refused "before any work" is refused before any of them begins (a condition, not a clock)."""
    from unittest import mock

    def began(what):
        def fail(*args, **kwargs):
            raise AssertionError(f"{what} began before the refusal")
        return fail

    with mock.patch("sheetnet.core.descent.descend", began("training")), \
            mock.patch("sheetnet.workbook.xlsx._write_archive", began("writing")), \
            mock.patch("sheetnet.audit.engines.run_child", began("an engine")):
        yield


def refused(args: list[str], message: str, folder: Path) -> str:
    """The command says one line naming the problem (containing ``message``), exit 2, before
    any work, and ``folder`` is as it was; that line."""
    from typer.testing import CliRunner

    from sheetnet.cli import app

    before = set(os.listdir(folder))
    with no_work():
        result = CliRunner().invoke(app, [str(a) for a in args])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.output
    assert set(os.listdir(folder)) == before
    return lines[0]


def need_engine(name: str) -> str:
    """Every engine is required in CI; locally a missing second opinion skips with a reason
    (IronCalc installs with sheetnet, so its tests never skip)."""
    engine = ENGINES[name]
    if not engine.available():
        if os.environ.get("CI") or name == "ironcalc":
            pytest.fail(f"{engine.title} is missing: {engine.install}")
        pytest.skip(f"{engine.title} is not installed ({engine.install}); its recalculation"
                    " is untested here")
    return name


@pytest.fixture(params=list(ENGINES))
def engine(request) -> str:
    """Each engine in turn, by name."""
    return need_engine(request.param)


@pytest.fixture
def all_engines() -> list[str]:
    """Every engine, each installed (``verify --engine all``)."""
    return [need_engine(name) for name in ENGINES]


def recalculated(path: Path, tmp_path: Path, engine: str = "ironcalc") -> Values:
    """A workbook's values as an engine recalculates them."""
    work = Path(tempfile.mkdtemp(prefix=f"recalc-{engine}-", dir=tmp_path))
    return ENGINES[engine].recalculate(Path(path).resolve(), work, 300, lambda text: None).values


def recalculated_cost(path: Path, tmp_path: Path, engine: str = "ironcalc") -> np.ndarray:
    """C_T per iteration as an engine computes it (the Summary sheet's column B)."""
    grid = recalculated(path, tmp_path, engine)["Summary"].numbers
    return grid[1:, 1][~np.isnan(grid[1:, 1])]


def stale_copy(path: Path, out: Path, value: str = "999") -> Path:
    """A copy whose every formula carries a wrong stored value, as if saved long ago (empty
    ``<v/>`` as openpyxl saves them, or the values sheetnet stores)."""
    changed = 0
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            body = src.read(item.filename)
            if item.filename.startswith("xl/worksheets/"):
                body, n = re.subn(rb"</f><v\s*/>|</f><v>[^<]*</v>",
                                  b"</f><v>" + value.encode() + b"</v>", body)
                changed += n
            dst.writestr(item, body)
    assert changed, "no formula cell found to make stale"
    return out


def edit_settings(path: Path, out: Path, settings: dict[str, object]) -> Path:
    """A copy whose Inputs sheet's settings say otherwise (``{"images": 60}``, as text or
    numbers)."""
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb["Inputs"]
    for r in range(4, 30):
        key = ws.cell(r, 1).value
        if key in settings:
            ws.cell(r, 3).value = settings[key]
    wb.save(out)
    return out


def rezip(path: Path, out: Path, edit) -> Path:
    """A copy of an .xlsx archive whose members pass through ``edit(name, body)``, which gives
    a list of (ZipInfo or name, body) to write in their place (``[]`` drops the member)."""
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            for info, body in edit(item.filename, src.read(item.filename)):
                dst.writestr(info, body)
    return out


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def assert_gradients_match(cost, params, analytic, h=1e-5):
    """Every parameter's ∂C_T/∂p against central differences (C(p+h) − C(p−h)) / 2h.

    cost(params) -> C_T; analytic: name -> gradient. h = 1e-5 is near the optimum eps^(1/3).
    """
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            numeric[idx] = (cost(plus) - cost(minus)) / (2 * h)
        grad = analytic[name]
        # norm-wise relative error of the whole block (elementwise it is dominated by the
        # ~1e-11 rounding floor of the differences wherever a gradient is near zero)
        rel = np.linalg.norm(grad - numeric) / (np.linalg.norm(grad) + np.linalg.norm(numeric))
        assert rel < 1e-7, (name, rel)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)


def export(tmp_path: Path, name: str, *args: str) -> Path:
    """``sheetnet export --out tmp_path/name ARGS``, which must succeed; the workbook's path."""
    from typer.testing import CliRunner

    from sheetnet.cli import app

    out = tmp_path / name
    result = CliRunner().invoke(app, ["export", "--out", str(out), *args])
    assert result.exit_code == 0, result.output
    return out


# every preset's small workbook (the options that keep it small), read by the tests of what
# every workbook shows; the largest (digits: 2.5 million cells a sheet's worth) marked slow, left
# to the full suite (the quick loop keeps the small ones)
SMALL = {"gd": [], "regression": [], "graph": [], "mlp": ["--iterations", "3"],
         "cnn": ["--iterations", "2"], "xor": ["--iterations", "3"],
         "curve": ["--iterations", "2"], "twolayer": ["--iterations", "2"],
         "digits": ["--iterations", "1"], "rnn": ["--iterations", "1"],
         "lstm": ["--iterations", "1"],
         # the newest nets small: every test of a preset's workbook runs on them
         "gru": ["--iterations", "1", "--hidden", "3", "--seq-length", "4"],
         "attention": ["--iterations", "1", "--layer-norm", "--seq-length", "4", "--embed", "4",
                       "--mlp", "4"],
         "gan": ["--iterations", "2", "--points", "4", "--hidden", "3"]}
HEAVY = ("digits", "cnn", "rnn", "lstm", "gru")
NETS = [pytest.param(net, marks=pytest.mark.slow) if net in HEAVY else net for net in SMALL]


@pytest.fixture(scope="session")
def small_book(tmp_path_factory):
    """net -> its small workbook (``SMALL``'s options), exported once a session by each worker
    that asks: to read, never to write (copy it to edit it)."""
    made: dict[str, Path] = {}

    def get(net: str) -> Path:
        if net not in made:
            made[net] = export(tmp_path_factory.mktemp(net), f"{net}.xlsx", "--net", net,
                               *SMALL[net])
        return made[net]

    return get


def formula_cells(path: Path):
    """(sheet, coordinate, formula, stored value, number format) of every formula cell, read
    as two streams side by side (openpyxl's read-only mode: far faster than a whole load)."""
    import openpyxl

    formulas = openpyxl.load_workbook(path, read_only=True)
    values = openpyxl.load_workbook(path, read_only=True, data_only=True)
    try:
        for ws in formulas:
            for row, stored in zip(ws.iter_rows(), values[ws.title].iter_rows(), strict=True):
                for cell, value in zip(row, stored, strict=True):
                    if isinstance(cell.value, str) and cell.value.startswith("="):
                        yield ws.title, cell.coordinate, cell.value, value.value, \
                            cell.number_format
    finally:
        formulas.close()
        values.close()


def column_widths(path: Path) -> dict[str, dict[int, float]]:
    """Each sheet's column widths set in its XML (sheet -> column number -> width)."""
    from sheetnet.workbook.ooxml import sheet_parts

    out: dict[str, dict[int, float]] = {}
    with zipfile.ZipFile(path) as z:
        for sheet, part in sheet_parts(z).items():
            xml = z.read(part).decode("utf-8")
            cols = re.search(r"<cols>(.*?)</cols>", xml, re.S)
            widths: dict[int, float] = {}
            for col in re.finditer(r"<col ([^>]*)/>", cols.group(1) if cols else ""):
                attrs = dict(re.findall(r'(\w+)="([^"]*)"', col.group(1)))
                if "width" in attrs:
                    for c in range(int(attrs["min"]), int(attrs["max"]) + 1):
                        widths[c] = float(attrs["width"])
            out[sheet] = widths
    return out


SAME_RUN = 1e-12  # "the same run": two code paths (or a run and its continuation) agree to this


def assert_same_run(actual, desired, err_msg: str = "") -> None:
    """Two computations of one run's numbers agree within ``SAME_RUN`` relative (of the
    block's largest magnitude): other summation orders, on other BLAS kernels, differ by
    an ulp or so, never by more."""
    actual, desired = np.asarray(actual, dtype=float), np.asarray(desired, dtype=float)
    scale = float(np.nanmax(np.abs(desired))) if desired.size and not np.all(
        np.isnan(desired)) else 0.0
    np.testing.assert_allclose(actual, desired, rtol=SAME_RUN, atol=SAME_RUN * scale,
                               err_msg=err_msg)


def edit_cells(path: Path, out: Path, values: dict[tuple[str, str], object]) -> Path:
    """A copy of a workbook with cells changed as a user's edit changes them (``{("Inputs",
    "C12"): 3.0, ("Data", "B5"): "k"}``: numbers, or text): each cell's XML replaced in place,
    every other byte as it was. Far faster than openpyxl's load and save of a large workbook
    (whose save would also drop every formula's stored value)."""
    import html

    from sheetnet.workbook.ooxml import sheet_parts

    with zipfile.ZipFile(path) as z:
        parts = sheet_parts(z)
    by_part: dict[str, dict[str, object]] = {}
    for (sheet, ref), value in values.items():
        by_part.setdefault(parts[sheet], {})[ref] = value

    def cell_xml(ref: str, style: str, value: object) -> bytes:
        if isinstance(value, str):
            body = f'<c r="{ref}"{style} t="inlineStr"><is><t xml:space="preserve">' \
                   f'{html.escape(value, quote=False)}</t></is></c>'
        else:
            body = f'<c r="{ref}"{style} t="n"><v>{float(value)!r}</v></c>'
        return body.encode()

    def edit(name: str, body: bytes):
        for ref, value in by_part.get(name, {}).items():
            pattern = rb'<c r="' + ref.encode() + rb'"( s="\d+")?[^>]*?(/>|>.*?</c>)'
            found = re.search(pattern, body, re.S)
            assert found, f"no cell {ref} in {name}"
            style = (found.group(1) or b"").decode()
            body = body[:found.start()] + cell_xml(ref, style, value) + body[found.end():]
        return [(name, body)]

    return rezip(path, out, edit)
