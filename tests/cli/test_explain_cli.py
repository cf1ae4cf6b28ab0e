"""``sheetnet explain`` on the command line: the story, a tree with --depth, JSON alone with
--json, and one line with exit code 2 for what cannot be explained."""

import json
import os
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from sheetnet.audit.explain import Explainer
from sheetnet.cli import app
from tests.conftest import export, refused

runner = CliRunner()


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    return export(tmp_path_factory.mktemp("explain-cli"), "mlp.xlsx", "--iterations", "1")


def flat(text: str) -> str:
    """The output with its line wrapping undone (the terminal's width wraps long lines)."""
    return " ".join(text.split())


def test_the_story_of_a_cell(mlp):
    result = runner.invoke(app, ["explain", str(mlp), "'Iter 0'!E34"])
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "'Iter 0'!E34 δ²₁ of image 1, iteration 0" in out
    assert "formula =($C$78*E32+$C$81*E33)*E21*(1-E21)" in out
    assert "book δ²₁ = (w³₁₁·δ³₁ + w³₂₁·δ³₂)·a²₁·(1 − a²₁)" in out
    assert "(as stored in the file)" in out and "reads 5 references" in out
    assert "E32 δ³₁ of image 1, iteration 0 = −0.0" in out
    assert "├──" in result.output and result.output.count("\n") < 20


def test_the_sheet_by_option_or_in_words(mlp):
    first = runner.invoke(app, ["explain", str(mlp), "E34", "--sheet", "Iter 0"])
    second = runner.invoke(app, ["explain", str(mlp), "Iter", "0!e34"])  # unquoted, any case
    assert first.exit_code == second.exit_code == 0, first.output + second.output
    assert first.output == second.output


def test_a_tree_two_levels_deep(mlp):
    result = runner.invoke(app, ["explain", str(mlp), "'Iter 0'!E34", "--depth", "2"])
    assert result.exit_code == 0, result.output
    out = flat(result.output)
    assert "E32 δ³₁ of image 1, iteration 0" in out
    assert "= (a³₁ − t₁)·a³₁·(1 − a³₁)" in out  # δ³₁'s own formula, under it
    assert "│ ├── E26 a³₁ of image 1, iteration 0" in out or "│   ├── E26" in result.output


def test_json_alone(mlp):
    result = runner.invoke(app, ["explain", str(mlp), "'Iter 0'!E34", "--json", "--depth", "2"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    want = Explainer(mlp).explain("'Iter 0'!E34", depth=2).to_json()
    assert data == json.loads(json.dumps(want))
    assert data["element"] == "δ²₁" and data["image"] == 1 and data["window"] is None
    assert [r["ref"] for r in data["reads"]] == ["$C$78", "E32", "$C$81", "E33", "E21"]
    assert data["reads"][1]["explanation"]["what"] == "δ³₁ of image 1, iteration 0"


@pytest.mark.parametrize(("args", "message"), [
    (["'Iter 0'!Q"], "is not a cell reference"),
    (["E34"], "names no sheet"),
    (["'Iter 7'!E34"], "has no sheet 'Iter 7'"),
    (["'Iter 0'!D4"], "is empty"),
    (["'Iter 0'!E34", "--depth", "0"], "1 or more"),
])
def test_what_cannot_be_explained_is_one_line_and_exit_2(mlp, args, message):
    refused(["explain", mlp, *args], message, mlp.parent)


@pytest.mark.parametrize("encoding", ["ascii", "latin-1"])
def test_a_terminal_without_the_books_letters(mlp, encoding):
    """The story in the nearest ASCII (δ as delta), and the JSON exact (\\u escapes)."""
    env = {**os.environ, "PYTHONIOENCODING": encoding}
    args = [sys.executable, "-m", "sheetnet", "explain", str(mlp), "'Iter 0'!E34"]
    story = subprocess.run(args, capture_output=True, encoding=encoding, timeout=120, env=env)
    assert story.returncode == 0 and story.stderr == "", story.stderr
    assert "=($C$78*E32+$C$81*E33)*E21*(1-E21)" in story.stdout
    data = subprocess.run([*args, "--json"], capture_output=True, encoding=encoding,
                          timeout=120, env=env)
    assert data.returncode == 0 and data.stderr == "", data.stderr
    assert json.loads(data.stdout)["book"] == "(w³₁₁·δ³₁ + w³₂₁·δ³₂)·a²₁·(1 − a²₁)"


def test_a_depth_that_is_no_number_is_one_line_and_exit_2(mlp):
    proc = subprocess.run([sys.executable, "-m", "sheetnet", "explain", str(mlp), "E34",
                           "--sheet", "Iter 0", "--depth", "two"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert len(proc.stderr.strip().splitlines()) == 1 and "--depth" in proc.stderr


def test_a_file_that_is_not_a_workbook_is_one_line_and_exit_2(tmp_path):
    refused(["explain", tmp_path / "missing.xlsx", "'Iter 0'!E34"], "no such file", tmp_path)
    notes = tmp_path / "notes.xlsx"
    notes.write_text("a list")
    refused(["explain", notes, "'Iter 0'!E34"], "not an .xlsx workbook", tmp_path)
