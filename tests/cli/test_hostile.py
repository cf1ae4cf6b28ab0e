"""Hostile input (issue 9): runaway work is refused early, crashes are one line, interrupts
leave nothing behind, and verify is an audit that a tampered workbook cannot pass."""

import json
import os
import re
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from typer.testing import CliRunner

from sheetnet.audit.verify import verify
from sheetnet.cli import app
from tests.conftest import (
    BOOK_INIT,
    edit_settings,
    export,
    no_work,
    recalculated,
    refused,
    write_csv,
)

runner = CliRunner()


def _sheetnet(*args, timeout=60, **kw):
    """The real command in a child process: (returncode, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "sheetnet", *args], capture_output=True,
                          text=True, timeout=timeout, **kw)
    return proc.returncode, proc.stdout, proc.stderr


# --- runaway work ----------------------------------------------------------------------------


@pytest.mark.parametrize("command", ["export", "train", "show"])
def test_hundred_million_iterations_are_refused_at_once(tmp_path, command):
    out = ["--out", str(tmp_path / "a.xlsx")] if command == "export" else []
    line = refused([command, "--net", "mlp", "--iterations", "100000000", *out],
                    "numbers over 100,000,000 iterations", tmp_path)
    assert "the limit is 30,000,000,000" in line and "use fewer --iterations" in line


@pytest.mark.parametrize("args, message", [
    (["--iterations", "20000"], "would write 20,005 sheets"),
    (["--layers", "12,100000000,2"], "numbers per iteration"),
    (["--layers", "12,5000,2"], "formula cells; the limit is 10,000,000"),
    (["--net", "cnn", "--filters", "500"], "formula cells; the limit is 10,000,000"),
    (["--layers", "12,2500,2", "--iterations", "1"],
     "on each iteration sheet; verify recalculates at least one at a time"),
    (["--net", "gd", "--iterations", "1100000"], "rows; Excel allows 1,048,576"),
])
def test_workbooks_beyond_the_budget_are_refused_before_any_work(tmp_path, args, message):
    refused(["export", "--out", str(tmp_path / "a.xlsx"), *args], message, tmp_path)


def test_training_a_huge_layer_is_refused_before_its_weights_exist(tmp_path):
    refused(["train", "--layers", "12,100000000,2"], "1,500,000,002 parameters", tmp_path)


def test_too_many_images_for_a_sheet_are_refused_before_training(tmp_path):
    rows = "\n".join(f"{i % 3}," + ",".join("1" for _ in range(36)) for i in range(20_000))
    csv = write_csv(tmp_path / "big.csv", "label," + ",".join(f"p{i}" for i in range(36))
                    + "\n" + rows + "\n")
    refused(["export", "--net", "cnn", "--data", str(csv), "--shape", "6x6", "--out",
              str(tmp_path / "a.xlsx")], "columns; Excel allows 16,384", tmp_path)


def test_a_huge_csv_is_refused_by_its_size_without_reading_it(tmp_path):
    big = tmp_path / "big.csv"
    with open(big, "wb") as f:
        f.truncate(200 * 2**20)  # sparse: 200 MB that cost nothing to make
    refused(["train", "--data", str(big), "--shape", "2x2"], "sheetnet reads at most 64 MB",
             tmp_path)


# The child's own peak memory (VmHWM starts afresh at exec; a fork's rusage would count the
# test process it was forked from).
_PEAK = """
import atexit, sys
from sheetnet.cli import main
atexit.register(lambda: sys.stderr.write(next(
    line for line in open("/proc/self/status") if line.startswith("VmHWM"))))
sys.argv = ["sheetnet", *sys.argv[1:]]
main()
"""


def _peak_mb(iterations: int) -> float:
    proc = subprocess.run([sys.executable, "-c", _PEAK, "train", "--net", "mlp", "--iterations",
                           str(iterations)], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0 and f"{iterations}" in proc.stdout, proc.stderr
    return int(proc.stderr.split()[-2]) / 1024


@pytest.mark.slow
def test_train_memory_stays_flat_however_many_iterations():
    """Thirty times the iterations: the peak grows by what each iteration keeps (its costs,
    about 300 bytes), never by a block (a kilobyte an iteration would add 28 MB)."""
    short, long = _peak_mb(1_000), _peak_mb(30_000)
    assert long < 250 and (long - short) * 2**20 / 29_000 < 1024, (short, long)


# --- one line instead of a traceback ------------------------------------------------------


@pytest.mark.parametrize("content, message", [
    ("label,p11,p12\na\x00b,1,0\nc,0,1\n", "holds a control character"),
    ('label,p11,p12\n"' + "x" * 200_000 + '",1,0\nc,0,1\n', "field larger than field limit"),
])
def test_unreadable_csv_content_is_one_line(tmp_path, content, message):
    csv = write_csv(tmp_path / "d.csv", content)
    refused(["train", "--data", str(csv), "--shape", "1x2"], message, tmp_path)


@pytest.mark.parametrize("kind", ["fifo", "device", "folder"])
def test_data_that_is_not_a_regular_file_says_so(tmp_path, kind):
    path = tmp_path / "d.csv"
    if kind == "fifo":
        os.mkfifo(path)
    elif kind == "folder":
        path.mkdir()
    else:
        path = "/dev/zero"
    message = "is a folder" if kind == "folder" else "is not a regular file"
    refused(["train", "--data", str(path), "--shape", "1x2"], message, tmp_path)


@pytest.mark.parametrize("text, message", [
    ('{"W2": ' + "1" * 5000 + "}", "a number has thousands of digits"),
    ("[" * 100_000 + "]" * 100_000, "nested too deeply"),
    ("{book}", None),
])
def test_init_files_that_break_json_readers_are_one_line(tmp_path, text, message):
    book = json.loads(BOOK_INIT.read_text())
    if message is None:  # a key given twice
        text = '{"b2": [0, 0, 0], ' + json.dumps(book)[1:]
        message = "the key 'b2' is given twice"
    path = tmp_path / "init.json"
    path.write_text(text)
    refused(["train", "--init", str(path)], message, tmp_path)


@pytest.mark.parametrize("value", ["1.5", True, None])
def test_init_numbers_must_be_numbers(tmp_path, value):
    book = json.loads(BOOK_INIT.read_text())
    book["b3"][0] = value
    path = tmp_path / "init.json"
    path.write_text(json.dumps(book))
    refused(["train", "--init", str(path)], "b3 must be 2 numbers", tmp_path)


def test_a_negative_seed_is_one_line():
    code, out, err = _sheetnet("train", "--seed", "-1")
    assert code == 2 and err == "error: --seed -1 must be 0 or more, e.g. --seed 0\n", err


@pytest.mark.parametrize("args, message", [
    (["verify", "x.xlsx", "--timeout", "nan"], "--timeout nan must be a positive number"),
    (["verify", "x.xlsx", "--timeout", "inf"], "--timeout inf must be a positive number"),
    (["export", "--out", "/proc/sheetnet.xlsx"], "could not write /proc/sheetnet.xlsx"),
    (["export", "--out", "/sys/sheetnet.xlsx"], "could not write /sys/sheetnet.xlsx"),
    (["train", "--iterations", "1", "--json", "/proc/run.json"], "could not write /proc/run"),
])
def test_bad_values_and_unwritable_places_are_one_line(tmp_path, args, message):
    refused(args, message, tmp_path)


def test_a_full_disk_while_writing_json_is_one_line(tmp_path, monkeypatch):
    def full(obj, f, **kwargs):
        f.write("{")
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("sheetnet.cli.json.dump", full)
    result = runner.invoke(app, ["train", "--iterations", "1", "--json",
                                 str(tmp_path / "run.json")])
    assert result.exit_code == 2  # the table was shown; the file is refused in one line
    assert result.stderr.count("\n") == 1 and "No space left on device" in result.stderr
    assert not list(tmp_path.iterdir())


def test_an_overflowing_eta_is_one_line_without_warnings(tmp_path):
    code, out, err = _sheetnet("export", "--eta", "1e308", "--out",
                                     str(tmp_path / "a.xlsx"))
    assert code == 2 and err.count("\n") == 1 and "overflows at iteration" in err, err
    assert "Warning" not in err and not list(tmp_path.iterdir())


# --- interrupts and leftovers -----------------------------------------------------------------


@pytest.mark.parametrize("handler, code", [("_ctrl_c", 130), ("_stop", 143)])
def test_a_signal_a_library_turns_into_its_own_error_is_still_an_interruption(
        tmp_path, monkeypatch, capsys, handler, code):
    """openpyxl's type checks catch every exception and raise TypeError: a signal arriving
    inside one must still end in one line and the signal's code, with nothing written."""
    from sheetnet import cli

    def write(*args, **kwargs):
        try:
            getattr(cli, handler)(code - 128, None)  # as if the signal arrived here
        except BaseException:
            raise TypeError("expected <class 'float'>") from None

    monkeypatch.setattr("sheetnet.runs.xlsx.write", write)
    monkeypatch.setattr(cli, "_SIGNALLED", [])
    monkeypatch.setattr(cli.signal, "signal", lambda *args: None)  # pytest keeps its handlers
    monkeypatch.setattr(sys, "argv", ["sheetnet", "export", "--net", "mlp", "--iterations", "1",
                                      "--out", str(tmp_path / "m.xlsx")])
    with pytest.raises(SystemExit) as exit_:
        cli.main()
    assert exit_.value.code == code
    assert capsys.readouterr().err.strip() == "interrupted; nothing written"
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("sig, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                       (signal.SIGQUIT, 131), (signal.SIGHUP, 129)])
def test_an_interrupted_export_says_so_and_leaves_nothing(tmp_path, sig, code):
    out = tmp_path / "cnn.xlsx"
    out.write_bytes(b"old workbook")
    proc = subprocess.Popen([sys.executable, "-m", "sheetnet", "export", "--net", "cnn", "--out",
                             str(out), "--force"], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60  # until it is writing: its temporary file is there
    while not list(tmp_path.glob(".cnn.xlsx.*.tmp")) and time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        time.sleep(0.01)
    assert list(tmp_path.glob(".cnn.xlsx.*.tmp")), "the export never began writing"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == code, err
    assert err.strip() == "interrupted; nothing written", err
    assert out.read_bytes() == b"old workbook"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["cnn.xlsx"]


def test_a_file_that_appears_during_an_export_is_not_replaced(tmp_path, monkeypatch):
    from sheetnet.workbook import xlsx

    out = tmp_path / "mlp.xlsx"
    real = xlsx._write_archive

    def racing(*args):
        cells = real(*args)
        out.write_bytes(b"someone else's")  # another export finished first
        return cells

    monkeypatch.setattr(xlsx, "_write_archive", racing)
    result = runner.invoke(app, ["export", "--out", str(out), "--iterations", "1"])
    assert result.exit_code == 2 and "appeared while sheetnet was writing it" in result.output
    assert out.read_bytes() == b"someone else's"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mlp.xlsx"]


# --- verify is an audit --------------------------------------------------------------------


@pytest.mark.parametrize("settings", [
    {"iterations": 100_000_000}, {"classes": 100_000_000},
    {"architecture": "dense 100000000, sigmoid, dense 2"},
    {"images": 1_000_000_000}, {"image shape": "100000x100000"},
])
def test_verify_refuses_tampered_settings_before_rebuilding_the_run(tmp_path, settings):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    bad = edit_settings(out, tmp_path / "bad.xlsx", settings)
    with no_work():
        result = runner.invoke(app, ["verify", str(bad)])
    assert result.exit_code == 2 and "settings are damaged" in result.output, result.output
    assert len(result.output.strip().splitlines()) == 1


def test_a_decompression_bomb_is_refused_before_any_engine_sees_it(tmp_path):
    out = export(tmp_path, "gd.xlsx", "--net", "gd")
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(out) as src, zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as dst:
        for item in src.infolist():
            if item.filename != "xl/worksheets/sheet1.xml":
                dst.writestr(item, src.read(item.filename))
                continue
            head, tail = src.read(item.filename).split(b"<sheetData>", 1)
            with dst.open(item.filename, "w") as f:
                f.write(head + b"<sheetData>")
                for _ in range(200):  # 200 MB of spaces, about 200 KB compressed
                    f.write(b" " * 2**20)
                f.write(tail)
    assert bomb.stat().st_size < 2 * 2**20
    with no_work():
        result = runner.invoke(app, ["verify", str(bomb)])
    assert result.exit_code == 2 and "decompression bomb" in result.output, result.output


def test_a_formula_replaced_by_its_own_value_is_a_finding(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    wb = openpyxl.load_workbook(out)
    ws = wb["Iter 1"]
    row = next(r for r in range(1, ws.max_row + 1) if ws.cell(r, 1).value == "x") + 1
    value = recalculated(out, tmp_path)["Iter 1"].value(row, 7)
    assert ws[f"G{row}"].value.startswith("=")
    ws[f"G{row}"] = value  # the right number, but no longer computed
    wb.save(tmp_path / "frozen.xlsx")
    report = verify(tmp_path / "frozen.xlsx")
    assert report.engines[0].bad == 0  # every value agrees …
    assert not report.ok  # … yet the workbook is not live there
    assert report.findings == [f"'Iter 1'!G{row} (x, image 3) holds a constant where the layout"
                               " has a formula: the workbook no longer computes it"]
    result = runner.invoke(app, ["verify", str(tmp_path / "frozen.xlsx")])
    assert result.exit_code == 1 and f"'Iter 1'!G{row}" in result.output


@pytest.mark.parametrize("formula", ['=INDIRECT("Inputs!C99")+0.2', "=[1]Sheet1!$A$1"])
def test_an_input_that_is_a_formula_is_named(tmp_path, formula):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    wb = openpyxl.load_workbook(out)
    cell = wb.defined_names["eta"].attr_text.split("!")[1].replace("$", "")
    wb["Inputs"][cell] = formula
    wb.save(tmp_path / "eta.xlsx")
    report = verify(tmp_path / "eta.xlsx")
    assert not report.ok and len(report.findings) == 1
    assert report.findings[0].startswith(f"Inputs!{cell} (eta) holds a formula (")
    assert "an input must be a plain value" in report.findings[0]
    result = runner.invoke(app, ["verify", str(tmp_path / "eta.xlsx")])
    assert result.exit_code == 1 and f"Inputs!{cell} (eta)" in result.output


def test_a_renamed_iteration_sheet_is_a_finding_not_a_silent_skip(tmp_path):
    out = export(tmp_path, "mlp.xlsx", "--iterations", "2")
    wb = openpyxl.load_workbook(out)
    wb["Iter 1"].title = "Iter one"
    wb.save(tmp_path / "renamed.xlsx")
    report = verify(tmp_path / "renamed.xlsx")
    assert not report.ok
    assert any(re.match(r"the sheet 'Iter 1' is missing .*: its \d+ blocks, [\d,]+ cells", f)
               for f in report.findings), report.findings


def test_a_workbook_resaved_by_gnumeric_verifies_quietly(tmp_path):
    from tests.conftest import need_engine

    need_engine("gnumeric")
    out = export(tmp_path, "mlp.xlsx", "--iterations", "1")
    saved = tmp_path / "gnumeric.xlsx"
    subprocess.run(["ssconvert", str(out), str(saved)], check=True, capture_output=True,
                   env={**os.environ, "HOME": str(tmp_path)})
    code, stdout, err = _sheetnet("verify", str(saved))
    assert code == 0 and err == "", err
    assert "every cell agrees" in stdout


# --- the two defects found in review ---------------------------------------------------------


@pytest.mark.parametrize("args, message", [
    (["--activation", "sigmoid"], "--activation sigmoid: the twolayer check is written for"),
    (["--layers", "12,4,3,2"], "--layers 12,4,3,2: the twolayer check is written for"),
    (["--loss", "mse"], "--loss mse"),
])
def test_twolayer_refuses_options_its_check_cannot_honour(tmp_path, args, message):
    refused(["export", "--net", "twolayer", "--out", str(tmp_path / "a.xlsx"), *args],
             message, tmp_path)


def test_twolayer_numpy_check_is_a_real_forward_pass_so_a_wrong_cell_fails(tmp_path):
    """The Check sheet's C(w + h) cells take a shortcut; NumPy recomputes the net. A cell
    that moves the wrong way must fail verify."""
    from sheetnet import presets

    out = export(tmp_path, "tl.xlsx", "--net", "twolayer", "--iterations", "1")
    preset = presets.get("twolayer")
    a2 = preset.trace(preset.run(presets.Options(iterations=1))).iterations[0]["a2"]
    i, j = (int(v) for v in np.argwhere(a2 > 0)[0])  # image i activates hidden unit j, so
    row, col = 5 + 36 + j, 9 + i  # moving w³₁ⱼ moves its score (rows: W₁'s 36, then W₂'s)
    wb = openpyxl.load_workbook(out)
    ws = wb["Check"]
    formula = ws.cell(row, col).value
    assert "+$B$3*" in formula
    ws.cell(row, col).value = formula.replace("+$B$3*", "-$B$3*", 1)
    wb.save(tmp_path / "wrong.xlsx")
    report = verify(tmp_path / "wrong.xlsx")
    assert not report.ok and report.blocks["C_plus"].bad == 1


def test_cnn_map_names_the_loss_it_uses(tmp_path):
    out = export(tmp_path, "cnn.xlsx", "--net", "cnn", "--iterations", "1", "--loss", "mse")
    wb = openpyxl.load_workbook(out, read_only=True)
    texts = [row[6] for row in wb["Map"].iter_rows(min_row=2, values_only=True) if row[0] == "C"]
    wb.close()
    assert texts and all("Σ(aᴼ − t)²/N" in t and "½" not in t for t in texts)


def test_a_sheet_too_wide_for_one_image_does_not_suggest_fewer_images(tmp_path):
    csv = write_csv(tmp_path / "wide.csv", "label," + ",".join(f"p{i}" for i in range(17000))
                    + "\n" + "".join(f"{k},{','.join(['0.5'] * 17000)}\n" for k in (0, 1)))
    line = refused(["export", "--net", "cnn", "--data", csv, "--shape", "1x17000", "--arch",
                    "conv 2 1x1, sigmoid, dense 2", "--out", tmp_path / "w.xlsx"],
                   "columns; Excel allows 16,384: even one image needs", tmp_path)
    assert "use smaller images or fewer filters" in line and "fewer images" not in line


def test_a_sheet_too_wide_for_its_images_says_how_many_fit(tmp_path):
    csv = write_csv(tmp_path / "d.csv", "label," + ",".join(f"p{i}" for i in range(1000))
                    + "\n" + "".join(f"{k % 2},{','.join(['0.5'] * 1000)}\n" for k in range(40)))
    args = ["export", "--net", "cnn", "--data", csv, "--shape", "1x1000", "--arch",
            "conv 1 1x1, sigmoid, dense 2", "--iterations", "1", "--out", tmp_path / "w.xlsx"]
    line = refused(args, "columns; Excel allows 16,384: use 14 images or fewer (each takes 1,001"
                   " columns)", tmp_path)
    # labels, totals and a blank (5), 40 bands of 1,001, the weights' value and Σ areas
    # (1,001 each) after them
    assert f"{5 + 40 * 1001 + 2 * 1001:,} columns" in line
    # and 14 images do fit, as it says
    rows = (tmp_path / "d.csv").read_text().splitlines()
    (tmp_path / "d.csv").write_text("\n".join(rows[:15]) + "\n")
    assert runner.invoke(app, [str(a) for a in args]).exit_code == 0


@pytest.mark.parametrize("when", ["created", "written"])
def test_an_interrupt_the_moment_a_temporary_file_is_made_leaves_nothing(tmp_path, monkeypatch,
                                                                         when):
    """The window a signal can hit between creating the temporary file and knowing its name:
    the name is chosen first, so the file is removed whenever the interrupt lands."""
    import types

    from sheetnet import files

    real = files.os

    def close(fd):
        real.close(fd)
        raise KeyboardInterrupt  # as if Ctrl-C arrived right after the file was made

    fake = types.SimpleNamespace(**{k: getattr(real, k) for k in dir(real)
                                    if not k.startswith("__")})
    fake.close = close
    if when == "created":
        monkeypatch.setattr(files, "os", fake)
        write = lambda tmp: None  # noqa: E731
    else:
        def write(tmp):
            Path(tmp).write_bytes(b"half")
            raise KeyboardInterrupt
    with pytest.raises(KeyboardInterrupt):
        files.write_atomically(tmp_path / "out.json", write)
    assert list(tmp_path.iterdir()) == []
    monkeypatch.setattr(files, "os", fake)
    with pytest.raises(KeyboardInterrupt):
        files.check_writable(tmp_path / "out.json")
    assert list(tmp_path.iterdir()) == []


# --- issue 26: round 4 ----------------------------------------------------------------------


def _run_sheetnet(args, **kwargs):
    return subprocess.run([sys.executable, "-m", "sheetnet", *map(str, args)], text=True,
                          timeout=300, **kwargs)


def test_files_asked_for_are_written_whatever_happens_to_stdout(tmp_path):
    """A reader that stops early (`| head -1`) or no stdout at all (`>&-`): the command goes
    on, writes every file it was asked for and exits with its own code, saying nothing
    false."""
    ck, record = tmp_path / "c.npz", tmp_path / "r.json"
    proc = subprocess.Popen([sys.executable, "-m", "sheetnet", "train", "--iterations", "200",
                             "--every", "1", "--checkpoint", str(ck), "--json", str(record)],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert ck.exists() and json.loads(record.read_text())["cost"]
    workbook = tmp_path / "m.xlsx"
    result = _run_sheetnet(["export", "--net", "mlp", "--iterations", "2", "--out", workbook],
                           stdout=subprocess.DEVNULL)
    assert result.returncode == 0
    closed = subprocess.run([sys.executable, "-m", "sheetnet", "verify", str(workbook),
                             "--json", str(tmp_path / "v.json")], stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True, timeout=300,
                            preexec_fn=lambda: os.close(1))  # `>&-`
    assert closed.returncode == 0 and closed.stderr == "", closed.stderr
    assert json.loads((tmp_path / "v.json").read_text())["ok"]
    both = subprocess.run([sys.executable, "-m", "sheetnet", "train", "--eta", "-1"],
                          capture_output=True, timeout=300,
                          preexec_fn=lambda: (os.close(1), os.close(2)))
    assert both.returncode == 2  # the refusal's code, with nowhere to say it


@pytest.mark.parametrize("make", [
    lambda tmp: tmp.joinpath(*["d" * 200] * 25) / "x",  # longer than PATH_MAX
    lambda tmp: tmp / ("f" * 300) / "x",  # a folder name longer than NAME_MAX
])
@pytest.mark.parametrize("args", [
    lambda p: ["export", "--net", "mlp", "--out", f"{p}.xlsx"],
    lambda p: ["verify", f"{p}.xlsx"],
    lambda p: ["train", "--from", f"{p}.npz"],
    lambda p: ["train", "--iterations", "1", "--json", f"{p}.json"],
    lambda p: ["train", "--data", f"{p}.csv"],
    lambda p: ["train", "--init", f"{p}.json"],
])
def test_paths_the_system_refuses_are_one_line(tmp_path, make, args):
    refused(args(make(tmp_path)), "", tmp_path)


def test_a_name_longer_than_the_file_system_takes_is_one_line(tmp_path):
    refused(["verify", tmp_path / ("v" * 300 + ".xlsx")], "File name too long", tmp_path)


def test_user_text_is_printed_as_written_never_as_markup_or_emoji(tmp_path):
    odd = tmp_path / "my:x:data.csv"
    line = refused(["train", "--data", odd], "my:x:data.csv", tmp_path)
    assert "❌" not in line and "✖" not in line
    line = refused(["train", "--arch", "x" * 120_000], "is not a layer", tmp_path)
    assert len(line) < 1200  # the junk is shortened, the fix is said in full
    assert line.endswith("separated by commas")


@pytest.mark.parametrize("args", [["--l2", "1e308"], ["--l1", "1e308"]])
def test_an_overflow_before_any_update_does_not_blame_eta(tmp_path, args):
    result = runner.invoke(app, ["train", *args, "--iterations", "2"])
    assert result.exit_code == 2 and "iteration 0, before any update" in result.output
    assert "smaller η" not in result.output and "penalty" in result.output
