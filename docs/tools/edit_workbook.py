"""Edit cells of a workbook as a user would in a spreadsheet, for the docs' transcripts.

Usage: python docs/tools/edit_workbook.py SRC OUT "SHEET!CELL=VALUE" ...

VALUE is a number, or a formula starting with ``=``; SHEET!CELL may be a defined name
(``eta=1``). The copy is saved by openpyxl, which keeps every formula and the document's
properties but no stored values (a spreadsheet recalculates them, and so does verify).
"""

from __future__ import annotations

import sys

from openpyxl import load_workbook


def main() -> int:
    src, out, *edits = sys.argv[1:]
    wb = load_workbook(src)
    for edit in edits:
        where, value = edit.split("=", 1)
        if "!" in where:
            sheet, cell = where.rsplit("!", 1)
            target = wb[sheet.strip("'")][cell]
        else:  # a defined name: its one cell
            ((sheet, cell),) = wb.defined_names[where].destinations
            target = wb[sheet][cell.replace("$", "")]
        target.value = value if value.startswith("=") else float(value)
    wb.save(out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
