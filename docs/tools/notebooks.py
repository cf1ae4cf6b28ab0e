"""Build and run the example notebooks.

Usage: python docs/tools/notebooks.py [--write]

The notebooks in ``examples/`` are written from the cells below (``--write``: executed, with
their outputs stored, so that GitHub shows the tables and the cost curves), and checked (the
default; CI runs it): each notebook's cells are these cells, and they run top to bottom in a
fresh Jupyter kernel in a temporary folder; a cell that raises fails the check.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import nbformat
from nbclient import NotebookClient

ROOT = Path(__file__).resolve().parents[2]
TOUR: list[tuple[str, str]] = [
    ("markdown", """# A tour of sheetnet in a notebook

Train the book's 0/1 network (3-5), look at its costs, write it as a workbook of live formulas,
check every cell in a real spreadsheet engine, and ask one cell where it came from."""),
    ("code", """import sheetnet

run = sheetnet.train("mlp", iterations=50)   # the CLI's options, as keywords
run                                          # a table and the cost curve"""),
    ("markdown", """Every block of every iteration is kept, named as on the workbook's Map sheet:
`z2`, `a2`, `delta3`, `dC_dW2`, ..."""),
    ("code", """blocks = run.blocks(0)
print(sorted(blocks)[:8])
blocks["delta2"][:3]       # δ² of the first three images, iteration 0"""),
    ("code", """history = run.history()   # a DataFrame with pandas, a dict of columns without
history["C_T"][-1] if isinstance(history, dict) else history.tail()"""),
    ("markdown", """Write the workbook: every number above becomes a formula cell. Then verify
recalculates it in IronCalc (embedded) and compares each cell with NumPy."""),
    ("code", """path = sheetnet.export(run, "mlp.xlsx", force=True)
report = sheetnet.verify(path)
report"""),
    ("code", """assert report.ok
print(sheetnet.explain(path, "'Iter 0'!E34"))   # δ²₁ of image 1, and why"""),
    ("markdown", """Any net and option of the command line works the same way, for example a
small convolutional network with Adam:"""),
    ("code", """cnn = sheetnet.train("cnn", arch="conv 2 3x3, relu, maxpool 2, dense 3",
                     optimizer="adam", eta=0.05, iterations=30)
cnn"""),
]
NOTEBOOKS = {"tour.ipynb": TOUR}


def notebook(cells: list[tuple[str, str]]) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(text) if kind == "markdown"
                else nbformat.v4.new_code_cell(text) for kind, text in cells]
    for i, cell in enumerate(nb.cells):
        cell.id = f"cell-{i + 1}"  # fixed, so that the file is the same each time it is written
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}
    return nb


def run(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Execute a notebook in a fresh kernel, in a temporary folder of its own."""
    folder = Path(tempfile.mkdtemp(prefix="sheetnet-notebook-"))
    try:
        NotebookClient(nb, timeout=600, kernel_name="python3",
                       resources={"metadata": {"path": str(folder)}}).execute()
        return nb
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def main() -> int:
    for name, cells in NOTEBOOKS.items():
        path = ROOT / "examples" / name
        if "--write" in sys.argv[1:]:
            nbformat.write(run(notebook(cells)), path)
            print(f"wrote examples/{name}, run")
            continue
        stored = nbformat.read(path, as_version=4)
        if [(c.cell_type, c.source) for c in stored.cells] != [
                (c.cell_type, c.source) for c in notebook(cells).cells]:
            print(f"✗ examples/{name} is not what docs/tools/notebooks.py writes: run it with"
                  " --write")
            return 1
        run(notebook(cells))
        print(f"✓ examples/{name}: every cell ran")
    return 0


if __name__ == "__main__":
    sys.exit(main())
