"""Paths, streams and content (issue 18): file names at and past the file system's limit, a
dangling symlink as --out, output that is not UTF-8 or cannot be written, a Ctrl-C before the
command has started, and content no spreadsheet cell can hold. Each is one line, exit 2, with
nothing written; or, where it can work, it works."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sheetnet.cli import app
from tests.conftest import BOOK_INIT, export, refused, write_csv

runner = CliRunner()


def _sheetnet(*args, env=None, encoding="utf-8"):
    """The real command in a child process: (returncode, stdout, stderr)."""
    proc = subprocess.run([sys.executable, "-m", "sheetnet", *args], capture_output=True,
                          encoding=encoding, timeout=120, env={**os.environ, **(env or {})})
    return proc.returncode, proc.stdout, proc.stderr


# --- file names ------------------------------------------------------------------------------


def test_a_name_longer_than_the_file_system_takes_is_one_line(tmp_path):
    out = tmp_path / ("a" * 300 + ".xlsx")
    line = refused(["export", "--net", "gd", "--out", str(out)], "the file name is 305 bytes",
                    tmp_path)
    assert "allows 255: give a shorter name" in line


@pytest.mark.parametrize("stem", ["b" * 250, "é" * 125])  # 255 bytes with .xlsx: the limit
def test_a_name_at_the_limit_is_written(tmp_path, stem):
    out = export(tmp_path, stem + ".xlsx", "--net", "gd")
    assert os.listdir(tmp_path) == [out.name]  # and no temporary file left beside it


def test_a_dangling_symlink_as_out_is_refused_before_any_work(tmp_path):
    link = tmp_path / "run.xlsx"
    link.symlink_to(tmp_path / "gone" / "run.xlsx")
    line = refused(["export", "--net", "gd", "--out", str(link)], "is a symbolic link to",
                    tmp_path)
    assert "which does not exist; give another name, or add --force" in line
    assert link.is_symlink()
    export(tmp_path, "run.xlsx", "--net", "gd", "--force")  # --force replaces the link itself
    assert not link.is_symlink() and link.is_file()


# --- output streams --------------------------------------------------------------------------


@pytest.mark.parametrize("encoding", ["ascii", pytest.param("latin-1", marks=pytest.mark.slow)])
def test_every_command_works_on_a_terminal_without_unicode(tmp_path, encoding):
    env = {"PYTHONIOENCODING": encoding}
    out = tmp_path / "gd.xlsx"
    for args in (["nets"], ["export", "--help"], ["show", "--net", "mlp"],
                 ["train", "--net", "mlp", "--iterations", "2"],
                 ["export", "--net", "gd", "--out", str(out)], ["verify", str(out)]):
        code, stdout, err = _sheetnet(*args, env=env, encoding=encoding)
        assert code == 0 and "Traceback" not in err and err == "", (args, err)
    assert "ok every cell agrees" in stdout  # ✓ written as its nearest ASCII
    code, _, err = _sheetnet("train", "--eta", "-1", env=env, encoding=encoding)
    assert code == 2 and err.startswith("error: --eta -1.0 must be a positive finite number")


def test_standard_output_on_a_full_device_is_one_line():
    with open("/dev/full", "w") as full:
        proc = subprocess.run([sys.executable, "-m", "sheetnet", "train", "--iterations", "3"],
                              stdout=full, stderr=subprocess.PIPE, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr == ("error: could not write the output (No space left on device); send"
                           " it to a file on a device with room\n")


_CTRL_C_DURING_IMPORT = """
import sys
class CtrlC:  # as if the user pressed Ctrl-C while NumPy was being imported
    def find_spec(self, name, path=None, target=None):
        if name == "numpy":
            raise KeyboardInterrupt
sys.meta_path.insert(0, CtrlC())
sys.argv = ["sheetnet", "nets"]
from sheetnet.launch import main
main()
"""


def test_ctrl_c_while_starting_is_one_line():
    proc = subprocess.run([sys.executable, "-c", _CTRL_C_DURING_IMPORT], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 130 and proc.stderr == "interrupted; nothing written\n"


def test_importing_sheetnet_is_light_until_it_is_used():
    code = ("import sys, sheetnet; assert 'numpy' not in sys.modules;"
            " assert callable(sheetnet.train) and 'numpy' in sys.modules")
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)


# --- content no cell can hold ---------------------------------------------------------------


@pytest.mark.parametrize("label, pixel, message", [
    ("x" * 32_768, "1", "line 2's label is 32,768 characters long; a spreadsheet cell holds at"
                        " most 32,767"),
    ("a", "1e308", "line 2 has a pixel 1e+308, beyond what a spreadsheet cell holds"),
    ("a", "-1e308", "line 2 has a pixel -1e+308, beyond what a spreadsheet cell holds"),
    ("a", "1e-310", "line 2 has a pixel 1e-310, below the smallest number a spreadsheet keeps"),
])
def test_content_no_cell_can_hold_isrefused(tmp_path, label, pixel, message):
    csv = write_csv(tmp_path / "d.csv", f"label,p1,p2\n{label},{pixel},0\nb,0,1\n")
    refused(["export", "--data", str(csv), "--shape", "1x2", "--out",
              str(tmp_path / "d.xlsx")], message, tmp_path)


def test_the_largest_content_a_cell_holds_is_written(tmp_path):
    csv = write_csv(tmp_path / "d.csv", f"label,p1,p2\n{'x' * 32_767},9.99999999999999e307,0\n"
                                        "b,2.2250738585072e-308,1\n")
    out = tmp_path / "d.xlsx"
    result = runner.invoke(app, ["export", "--data", str(csv), "--shape", "1x2", "--out",
                                 str(out), "--iterations", "1", "--layers", "2,1,2"])
    assert result.exit_code == 0, result.output


def test_initial_weights_no_cell_can_hold_arerefused(tmp_path):
    book = json.loads(BOOK_INIT.read_text())
    book["W3"][1][2] = 1e308
    path = tmp_path / "init.json"
    path.write_text(json.dumps(book))
    refused(["train", "--init", str(path)], "W3 at [1, 2] holds 1e+308, beyond what a"
             " spreadsheet cell holds", tmp_path)


def test_a_start_no_cell_can_hold_isrefused(tmp_path):
    refused(["train", "--net", "gd", "--start", "3,1e-320"], "holds 9.99989e-321, below the"
             " smallest number a spreadsheet keeps", tmp_path)
