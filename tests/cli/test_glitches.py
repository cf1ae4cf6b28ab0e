"""Small things a new user trips over, each fixed once and kept fixed."""

import subprocess
import sys

import openpyxl
from typer.testing import CliRunner

from sheetnet import __version__
from sheetnet.cli import app

runner = CliRunner()


def test_bare_sheetnet_prints_help_and_succeeds():
    done = subprocess.run([sys.executable, "-m", "sheetnet"], capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    assert "Commands" in done.stdout and "export" in done.stdout
    assert "error" not in done.stdout + done.stderr


def test_version():
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and result.output.strip() == f"sheetnet {__version__}"


def test_flags_take_no_value_in_help():
    text = runner.invoke(app, ["export", "--help"], env={"COLUMNS": "120"}).output
    force = next(line for line in text.splitlines() if "--force" in line)
    assert "<bool>" not in force and "Overwrite" in force
    text = runner.invoke(app, ["train", "--help"], env={"COLUMNS": "120"}).output
    assert "<bool>" not in next(line for line in text.splitlines() if "--blocks" in line)
    for args in (["--help"], ["verify", "--help"]):  # the help flag itself too
        text = runner.invoke(app, args, env={"COLUMNS": "120"}).output
        assert "<bool>" not in next(line for line in text.splitlines() if "-h " in line)


def _usage_error(*args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "sheetnet", *args], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 2 and not done.stdout, (done.stdout, done.stderr)
    (line,) = done.stderr.strip().splitlines()
    return line


def test_an_option_of_another_command_names_that_command():
    """Click's spelling guesses had answered `train --out` with --dropout, --net, --rho."""
    line = _usage_error("train", "--out", "x.xlsx")
    assert "`sheetnet train` has no option --out; `sheetnet export` takes it" in line
    assert "--dropout" not in line
    assert "did you mean --iterations?" in _usage_error("export", "--iter", "3", "--out", "x.xlsx")
    line = _usage_error("train", "--colour")
    assert "no such option: --colour" in line and "mean" not in line


def test_net_names_ignore_case():
    result = runner.invoke(app, ["train", "--net", "CNN", "--iterations", "1"])
    assert result.exit_code == 0, result.output


def test_regression_nets_report_no_accuracy(tmp_path):
    result = runner.invoke(app, ["train", "--net", "curve", "--iterations", "2"])
    assert result.exit_code == 0 and "accuracy" not in result.output
    out = tmp_path / "curve.xlsx"
    result = runner.invoke(app, ["export", "--net", "curve", "--iterations", "1", "--out",
                                 str(out)])
    assert result.exit_code == 0 and "accuracy" not in result.output
    summary = openpyxl.load_workbook(out)["Summary"]
    assert "accuracy" not in [c.value for c in summary[1]]
    # xor's 0/1 targets are classes in all but name: its accuracy stays
    result = runner.invoke(app, ["train", "--net", "xor", "--iterations", "2"])
    assert "accuracy" in result.output


def test_seed_is_refused_where_nothing_is_random(tmp_path):
    out = tmp_path / "gd.xlsx"
    result = runner.invoke(app, ["export", "--net", "gd", "--seed", "3", "--out", str(out)])
    assert result.exit_code == 2 and "--seed is not used by this net" in result.output
    assert not out.exists()


def test_show_with_iterations_shows_the_last_one():
    result = runner.invoke(app, ["show", "--net", "mlp", "--iterations", "5", "--image", "40"])
    assert result.exit_code == 0, result.output
    assert "iteration 5:" in result.output
    result = runner.invoke(app, ["show", "--net", "mlp", "--iterations", "5", "--iteration", "2"])
    assert "iteration 2:" in result.output


def test_show_names_each_output_units_class():
    result = runner.invoke(app, ["show", "--net", "digits", "--iterations", "1", "--image", "7"],
                           env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    rows = [line for line in result.output.splitlines() if line.startswith("│")
            and line.count("│") == 7]
    assert [r.split("│")[2].strip() for r in rows[-10:]] == [str(c) for c in range(10)]


def test_show_reads_a_checkpoint(tmp_path):
    """show --from shows the checkpoint's window (the run's next images, here the first 8 of
    the full batch), numbered as the run goes on: its iteration 0 is the run's iteration 4."""
    import sheetnet

    ck = sheetnet.train("cnn", iterations=3).save(tmp_path / "ck.npz")
    result = runner.invoke(app, ["show", "--from", str(ck), "--iteration", "0", "--image", "3"],
                           env={"COLUMNS": "100"})
    assert result.exit_code == 0, result.output
    longer = sheetnet.train("cnn", iterations=4)  # the same run, one iteration more
    c = float(longer.blocks(4)["C"][2])
    assert f"iteration 0 of the window (the run's 4): C = {c:.6f}" in result.output
