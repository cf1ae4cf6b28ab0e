"""Render one sheet of a workbook to a PNG for the docs, as LibreOffice prints it.

Usage: python docs/tools/render_sheet.py WORKBOOK SHEET OUT.png [--dpi 80] [--page 1]

The sheet is copied alone into a temporary workbook with its formulas replaced by the values the
file stores (so that LibreOffice has nothing to look up on the sheets left out), its styles and
colour scales kept; LibreOffice prints it to PDF and pdftoppm makes the PNG of one page.
Everything temporary lives in a folder removed on every exit.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import openpyxl


def render(workbook: Path, sheet: str, out: Path, dpi: int, page: int) -> None:
    values = openpyxl.load_workbook(workbook, read_only=True, data_only=True)
    stored = {(r, c): v for r, row in enumerate(values[sheet].iter_rows(values_only=True), 1)
              for c, v in enumerate(row, 1) if v is not None}
    values.close()
    wb = openpyxl.load_workbook(workbook)
    for name in wb.sheetnames:
        if name != sheet:
            del wb[name]
    ws = wb[sheet]
    for row in ws.iter_rows():
        for cell in row:
            if isinstance(cell.value, str) and cell.value.startswith("="):
                cell.value = stored.get((cell.row, cell.column))
    with tempfile.TemporaryDirectory() as tmp:
        alone = Path(tmp) / "sheet.xlsx"
        wb.save(alone)
        subprocess.run(["soffice", "--headless", f"-env:UserInstallation=file://{tmp}/profile",
                        "--convert-to", "pdf", "--outdir", tmp, str(alone)], check=True,
                       capture_output=True, timeout=600)
        subprocess.run(["pdftoppm", "-png", "-r", str(dpi), "-f", str(page), "-l", str(page),
                        "-singlefile", str(Path(tmp) / "sheet.pdf"), str(Path(tmp) / "page")],
                       check=True, timeout=120)
        shutil.copy(Path(tmp) / "page.png", out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("workbook", type=Path)
    parser.add_argument("sheet")
    parser.add_argument("out", type=Path)
    parser.add_argument("--dpi", type=int, default=80)
    parser.add_argument("--page", type=int, default=1)
    args = parser.parse_args()
    render(args.workbook, args.sheet, args.out, args.dpi, args.page)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
