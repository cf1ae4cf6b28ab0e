"""verify trusts nothing in a file (issue 18): each hostile workbook is built here from a fresh
export. Geometry and settings that hide content are findings (exit 1); a damaged container or
settings that describe no workbook are one line on stderr, exit 2, before any engine starts."""

import os
import signal
import struct
import subprocess
import sys
import time
import tracemalloc
import warnings
import zipfile
from pathlib import Path

import pytest
from typer.testing import CliRunner

from sheetnet.audit import engines
from sheetnet.audit.verify import verify
from sheetnet.cli import app
from sheetnet.workbook.layout import col_letter
from sheetnet.workbook.ooxml import sheet_parts
from tests.conftest import edit_settings, export, need_engine, refused, rezip

runner = CliRunner()


@pytest.fixture(scope="module")
def mlp(tmp_path_factory) -> Path:
    """A small workbook to damage: the book's 0/1 net, one iteration."""
    return export(tmp_path_factory.mktemp("mlp"), "mlp.xlsx", "--iterations", "1")


def _part(path: Path, sheet: str) -> str:
    with zipfile.ZipFile(path) as z:
        return sheet_parts(z)[sheet]


def _with_cell(path: Path, out: Path, sheet: str, cell: str, body: str = "<v>7</v>") -> Path:
    """A copy with one more cell (any reference) at the end of a sheet's data."""
    part, row = _part(path, sheet), "".join(ch for ch in cell if ch.isdigit())
    extra = f'<row r="{row}"><c r="{cell}">{body}</c></row></sheetData>'.encode()

    def edit(name, data):
        return [(name, data.replace(b"</sheetData>", extra) if name == part else data)]
    return rezip(path, out, edit)


def _refused(path: Path, message: str) -> str:
    """verify says one line on stderr, exit 2, before any engine starts, writing nothing."""
    return refused(["verify", path], message, path.parent)


# --- geometry: only the layout's cells are read ----------------------------------------------


def _peak(path: Path) -> tuple[int, int, object]:
    """verify's peak Python memory (NumPy's arrays included), its engine's peak, its report."""
    tracemalloc.start()
    try:
        report = verify(path)
        return tracemalloc.get_traced_memory()[1], report.engines[0].peak_bytes, report
    finally:
        tracemalloc.stop()


@pytest.mark.parametrize("sheet, cell", [("Data", "XFD1048576"), ("Iter 1", "A1048576"),
                                         ("Map", "XFD1"), ("Inputs", "D1048576")])
def test_a_stray_cell_far_away_is_a_finding_in_bounded_memory(mlp, tmp_path, sheet, cell):
    clean_peak, clean_engine, _ = _peak(mlp)
    stray = _with_cell(mlp, tmp_path / "stray.xlsx", sheet, cell)
    peak, engine_peak, report = _peak(stray)
    # a grid to that cell would take gigabytes; the layout's own take what the clean file does
    assert peak < 1.5 * clean_peak + 5 * 2**20, (peak, clean_peak)
    assert engine_peak < 1.5 * clean_engine + 50 * 2**20, (engine_peak, clean_engine)
    prefix = f"'{sheet}'!" if " " in sheet else f"{sheet}!"
    assert report.findings == [f"{prefix}{cell} holds content outside the cells this workbook's"
                               " layout writes; remove it (verify reads only the layout's"
                               " cells)"]
    assert report.engines[0].bad == 0 and not report.ok
    result = runner.invoke(app, ["verify", str(stray)])
    assert result.exit_code == 1 and f"finding {prefix}{cell} holds content" in result.output


def test_a_whole_row_of_stray_cells_is_counted_not_listed(mlp, tmp_path):
    part = _part(mlp, "Data")
    row = "".join(f'<c r="{col_letter(c)}1048576"><v>{c}</v></c>' for c in range(1, 16385))

    def edit(name, data):
        extra = f'<row r="1048576">{row}</row></sheetData>'.encode()
        return [(name, data.replace(b"</sheetData>", extra) if name == part else data)]
    report = verify(rezip(mlp, tmp_path / "row.xlsx", edit))
    assert report.findings == ["Data!A1048576, Data!B1048576, Data!C1048576 and 16,381 more hold"
                               " content outside the cells this workbook's layout writes;"
                               " remove it (verify reads only the layout's cells)"]


def test_every_engine_reads_only_the_layouts_cells(engine, mlp, tmp_path):
    stray = _with_cell(mlp, tmp_path / "stray.xlsx", "Data", "XFD1048576")
    report = verify(stray, [engine])
    assert report.findings and "Data!XFD1048576" in report.findings[0]
    assert report.engines[0].bad == 0 and not report.engines[0].error_cells


# --- settings that would hide content --------------------------------------------------------


def test_lowered_iterations_leave_a_sheet_the_settings_do_not_explain(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    lowered = edit_settings(out, tmp_path / "lowered.xlsx", {"iterations": 1})
    report = verify(lowered)
    assert not report.ok
    assert ("the workbook holds 1 sheet its settings do not explain ('Iter 2'); were its"
            " settings changed (iterations 1)?") in report.findings
    # the Summary's row for iteration 2 lies beyond the layout of one iteration
    assert any(f.startswith("Summary!") and "outside the cells" in f for f in report.findings)
    result = runner.invoke(app, ["verify", str(lowered)])
    assert result.exit_code == 1 and "('Iter 2')" in result.output


def test_lowered_images_leave_pixels_outside_the_layout(mlp, tmp_path):
    lowered = edit_settings(mlp, tmp_path / "lowered.xlsx", {"images": 60})
    report = verify(lowered)
    assert not report.ok
    assert report.findings[0].startswith("Data!BM2, Data!BN2, Data!BO2 and ")
    assert {f.split("!")[0] for f in report.findings} == {"Data", "'Iter 0'", "'Iter 1'"}


@pytest.mark.parametrize("net, args, settings", [
    ("mlp", ["--iterations", "1"], {"images": 0}),
    ("mlp", ["--iterations", "1"], {"iterations": 0}),
    ("mlp", ["--iterations", "1"], {"iterations": -1}),
    ("mlp", ["--iterations", "1"], {"classes": 0}),
    ("mlp", ["--iterations", "1"], {"image shape": "0x3"}),
    ("mlp", ["--iterations", "1"], {"architecture": "dense 0, sigmoid, dense 2"}),
    pytest.param("cnn", ["--iterations", "1"],
                 {"architecture": "conv 0@3x3, sigmoid, maxpool 2x2, dense 2"},
                 marks=pytest.mark.slow),
    pytest.param("cnn", ["--iterations", "1"], {"image shape": "6x0"}, marks=pytest.mark.slow),
    ("curve", ["--iterations", "1"], {"images": 0}),
    ("gd", [], {"iterations": 0}),
    ("regression", [], {"points": 0}),
    ("regression", [], {"iterations": 0}),
    ("graph", [], {"iterations": 5}),
])
def test_settings_that_describe_no_workbook_are_one_line(tmp_path, net, args, settings):
    out = export(tmp_path, f"{net}.xlsx", "--net", net, *args)
    bad = edit_settings(out, tmp_path / "bad.xlsx", settings)
    line = _refused(bad, "the Inputs sheet's settings are damaged (")
    assert line.endswith("export the workbook again")


# --- the container ---------------------------------------------------------------------------


def test_a_part_given_twice_is_refused(mlp, tmp_path):
    part = _part(mlp, "Iter 1")

    def edit(name, data):
        return [(name, data)] + ([(name, data)] if name == part else [])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns of the duplicate it is asked to write
        twice = rezip(mlp, tmp_path / "twice.xlsx", edit)
    _refused(twice, f"twice.xlsx holds the part {part} twice")


def _cut_in_half(mlp: Path, out: Path, part: str) -> Path:
    def edit(name, data):
        return [(name, data[: len(data) // 2] if name == part else data)]
    return rezip(mlp, out, edit)


@pytest.mark.parametrize("which", ["Inputs", "xl/workbook.xml", "xl/styles.xml",
                                   "xl/charts/chart1.xml"])
def test_xml_that_is_not_well_formed_names_its_part(mlp, tmp_path, which):
    part = which if which.startswith("xl/") else _part(mlp, which)
    broken = _cut_in_half(mlp, tmp_path / "broken.xlsx", part)
    line = _refused(broken, f"the part {part} is not well-formed XML")
    assert "at line" in line


def test_an_iteration_sheet_that_is_not_well_formed_is_named_and_every_engine_ended(
        mlp, tmp_path):
    """An iteration sheet is checked as verify reads it, beside the engines (its check, 1.5 s
    of a big workbook's XML, would otherwise hold them back): the same one line, exit 2,
    nothing written, and no engine process left."""
    part = _part(mlp, "Iter 1")
    broken = _cut_in_half(mlp, tmp_path / "broken.xlsx", part)
    before = set(os.listdir(tmp_path))
    result = CliRunner().invoke(app, ["verify", str(broken)])
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and f"the part {part} is not well-formed XML" in lines[0], lines
    assert "at line" in lines[0]
    assert set(os.listdir(tmp_path)) == before
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    assert str(broken) not in ps


def _local_data(path: Path, part: str) -> tuple[int, int]:
    """Where a member's compressed bytes start in the archive, and how many there are."""
    with zipfile.ZipFile(path) as z:
        info = z.getinfo(part)
    with open(path, "rb") as f:
        f.seek(info.header_offset)
        head = f.read(30)
    name_len, extra_len = struct.unpack("<HH", head[26:30])
    return info.header_offset + 30 + name_len + extra_len, info.compress_size


def test_a_corrupt_compressed_stream_names_its_part(mlp, tmp_path):
    part = _part(mlp, "Iter 1")
    broken = tmp_path / "corrupt.xlsx"
    data = bytearray(mlp.read_bytes())
    start, size = _local_data(mlp, part)
    data[start + size // 2: start + size // 2 + 64] = bytes(range(64))
    broken.write_bytes(bytes(data))
    _refused(broken, f"the part {part} is damaged")


def _flag(path: Path, part: str, bit: int) -> None:
    """Set a general-purpose flag bit of a member in its local header and the central
    directory, as an encrypting writer would."""
    data = bytearray(path.read_bytes())
    with zipfile.ZipFile(path) as z:
        local = z.getinfo(part).header_offset
    data[local + 6] |= bit
    name = part.encode()
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack("<H", data[at + 28: at + 30])[0]
        if data[at + 46: at + 46 + name_len] == name:
            data[at + 8] |= bit
        at = data.find(b"PK\x01\x02", at + 4)
    path.write_bytes(bytes(data))


def test_an_encrypted_part_is_refused(mlp, tmp_path):
    part = _part(mlp, "Iter 1")
    locked = rezip(mlp, tmp_path / "locked.xlsx", lambda name, data: [(name, data)])
    _flag(locked, part, 0x1)
    _refused(locked, f"the part {part} is encrypted; save the workbook without a password")


def _member_as(path: Path, out: Path, part: str, info: zipfile.ZipInfo, body: bytes) -> Path:
    """A copy in which ``part`` is written as ``info`` says, holding ``body``."""
    return rezip(path, out, lambda name, data: [(info, body) if name == part else (name, data)])


def test_a_symlink_member_is_refused(mlp, tmp_path):
    part = _part(mlp, "Data")
    info = zipfile.ZipInfo(part)
    info.create_system = 3  # Unix, whose mode bits say "symbolic link"
    info.external_attr = 0o120777 << 16
    linked = _member_as(mlp, tmp_path / "linked.xlsx", part, info, b"/etc/passwd")
    _refused(linked, f"the part {part} is a symbolic link")


def test_an_unusual_compression_is_refused(mlp, tmp_path):
    part = _part(mlp, "Data")
    info = zipfile.ZipInfo(part)
    info.compress_type = zipfile.ZIP_BZIP2
    with zipfile.ZipFile(mlp) as z:
        odd = _member_as(mlp, tmp_path / "bzip2.xlsx", part, info, z.read(part))
    _refused(odd, f"the part {part} is compressed in a way spreadsheets do not use")


@pytest.mark.parametrize("gone", ["Iter 1", "xl/workbook.xml", "xl/_rels/workbook.xml.rels"])
def test_a_missing_part_is_named(mlp, tmp_path, gone):
    part = gone if gone.startswith("xl/") else _part(mlp, gone)
    missing = rezip(mlp, tmp_path / "missing.xlsx",
                    lambda name, data: [] if name == part else [(name, data)])
    message = (f"the sheet 'Iter 1' is listed but its part {part} is missing"
               if gone == "Iter 1" else f"has no {part}")
    _refused(missing, message)


# --- LibreOffice leaves nothing behind -------------------------------------------------------


def _soffice_runs(marker: str) -> bool:
    ps = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return any("soffice" in line and marker in line for line in ps.splitlines())


@pytest.mark.slow
def test_libreoffice_interrupted_mid_run_leaves_nothing(tmp_path):
    """Judged on this run's own things alone: verify's folders in a TMPDIR of the test's, and
    the socket in /tmp whose name follows from this run's LibreOffice profile (another
    LibreOffice on the machine has its own)."""
    need_engine("libreoffice")
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "40")
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    env = {**os.environ, "TMPDIR": str(scratch)}
    proc = subprocess.Popen([sys.executable, "-m", "sheetnet", "verify", str(out), "--engine",
                             "libreoffice"], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, start_new_session=True, env=env)
    pipe = None
    try:
        # wait until LibreOffice holds its socket (a condition, not a clock), then interrupt
        for _ in range(1200):
            profiles = list(scratch.glob("sheetnet-verify-*/**/lo-profile-*"))  # a chunk's too
            if profiles and engines.pipe_of(profiles[0]).exists() or proc.poll() is not None:
                break
            time.sleep(0.05)
        assert proc.poll() is None, "LibreOffice finished before it could be interrupted"
        pipe = engines.pipe_of(profiles[0])
        assert pipe.exists(), "LibreOffice made no socket to leave behind"
        proc.send_signal(signal.SIGINT)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 130, err
    assert not pipe.exists()
    assert list(scratch.iterdir()) == []
    assert not _soffice_runs(str(scratch))


@pytest.mark.parametrize("eta", [0, -0.05])
def test_a_typed_eta_of_zero_or_below_is_audited_not_refused(mlp, tmp_path, eta):
    edited = edit_settings(mlp, tmp_path / "eta.xlsx", {"η (eta)": eta})
    report = verify(edited)
    assert report.ok and report.cells > 9000, report.first_differences()
