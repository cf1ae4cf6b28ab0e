"""The IronCalc engine as a child process: ``python -m sheetnet.audit.ironcalc_worker``.

IronCalc's calls hold the GIL for seconds, so it runs in its own process: the parent keeps
showing progress, can end it on a timeout or Ctrl-C, and measures its memory separately.

    values SRC OUT [plain]   load SRC (without its colour scales; plain: it has none),
                             evaluate every formula, pickle the values to OUT
    formulas SRC CELLS OUT   load SRC (no evaluation), pickle the formula text of each
                             (sheet, row, col) in the pickled list CELLS to OUT

Each phase is announced as one line on stdout, which the parent shows.
"""

from __future__ import annotations

import itertools
import os
import pickle
import re
import sys
import zipfile

import numpy as np


def _say(phase: str) -> None:
    print(phase, flush=True)


_COLOURS = re.compile(rb"<conditionalFormatting\b.*?</conditionalFormatting>", re.S)


def without_colours(src: str, workdir: str) -> str:
    """A copy of ``src`` in ``workdir`` without its colour scales (conditional formatting),
    stored uncompressed: IronCalc evaluates every rule for every cell it covers, which costs
    a third of a recalculation, and no value depends on a colour. Each sheet is searched only
    after its cells (``</sheetData>``), where a sheet's formatting rules live."""
    out = os.path.join(workdir, "without-colours.xlsx")
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for item in z.infolist():
            body = z.read(item.filename)
            if item.filename.startswith("xl/worksheets/") and item.filename.endswith(".xml"):
                cut = body.rfind(b"</sheetData>")
                if cut >= 0 and b"<conditionalFormatting" in body[cut:]:
                    body = body[:cut] + _COLOURS.sub(b"", body[cut:])
            dst.writestr(item.filename, body)
    return out


def _load(src: str, workdir: str, plain: bool = False):
    """The workbook as an IronCalc model, without its colour scales (``plain``: it has none;
    temporary copies go to ``workdir``)."""
    import ironcalc

    _say("loading")
    if not plain:
        src = without_colours(src, workdir)
    try:
        return ironcalc.load_from_xlsx(src, "en", "UTC")
    except BaseException as e:  # a Rust panic is a BaseException
        if isinstance(e, (KeyboardInterrupt, SystemExit)):
            raise
        # IronCalc cannot read some writers' styles (Gnumeric's, with no <cellStyles>). A
        # cell's value does not depend on its style, so retry once with plain styles.
        styled = _plain_styles(src, workdir)
        if styled is None:
            raise
        _say("loading (plain styles)")
        return ironcalc.load_from_xlsx(styled, "en", "UTC")


_STYLES = """<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<styleSheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">
<fonts count="1"><font><sz val="11"/><name val="Calibri"/></font></fonts>
<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill
 patternType="gray125"/></fill></fills>
<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>
<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>
<cellXfs count="%d">%s</cellXfs>
<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>
<dxfs count="%d">%s</dxfs>
</styleSheet>"""


def _plain_styles(src: str, workdir: str) -> str | None:
    """A copy of ``src`` in ``workdir`` whose styles are plain (as many cell formats and
    differential formats as before, all default); None if it has no styles part."""
    out = os.path.join(workdir, "plain-styles.xlsx")
    with zipfile.ZipFile(src) as z:
        if "xl/styles.xml" not in z.namelist():
            return None
        styles = z.read("xl/styles.xml")
        xfs = re.search(rb'<cellXfs[^>]*count="(\d+)"', styles)
        dxfs = re.search(rb'<dxfs[^>]*count="(\d+)"', styles)
        n = max(int(xfs.group(1)) if xfs else 1, 1)
        d = int(dxfs.group(1)) if dxfs else 0
        plain = _STYLES % (n, '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
                           * n, d, "<dxf/>" * d)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst:
            for item in z.infolist():
                body = (plain.encode() if item.filename == "xl/styles.xml"
                        else z.read(item.filename))
                dst.writestr(item, body)
    return out


def values(src: str, out: str, plain: bool = False) -> None:
    import ironcalc

    model = _load(src, os.path.dirname(out), plain)
    _say("evaluating")
    model.evaluate()
    _say("reading values")
    sheets = [p["name"] for p in model.get_worksheets_properties()]
    cells = model.get_all_cells()
    idx = np.fromiter(itertools.chain.from_iterable(cells), np.int32, 3 * len(cells))
    idx = idx.reshape(-1, 3)
    del cells  # a Python tuple a cell: held no longer than it takes to copy
    get = model.get_cell_value
    found = np.empty(len(idx), dtype=object)
    for start in range(0, len(idx), 65_536):  # a batch of Python ints at a time
        batch = idx[start:start + 65_536].tolist()
        found[start:start + len(batch)] = [get(s, r, c) for s, r, c in batch]
    is_num = np.fromiter((type(v) is float for v in found), bool, len(found))
    nums = found[is_num].astype(float)
    others, errors = [], []
    error_type = ironcalc.CellType.ErrorValue
    for k in np.flatnonzero(~is_num):  # text, booleans, errors: few beside the numbers
        v, (s, r, c) = found[k], idx[k].tolist()
        if v is None or v == "":
            continue
        if type(v) is str and model.get_cell_type(s, r, c) == error_type:
            errors.append((s, r, c, v))
        else:
            others.append((s, r, c, v))
    with open(out, "wb") as f:
        pickle.dump({"sheets": sheets, "idx": idx[is_num], "nums": nums, "others": others,
                     "errors": errors}, f, protocol=pickle.HIGHEST_PROTOCOL)


def formulas(src: str, cells_file: str, out: str) -> None:
    model = _load(src, os.path.dirname(out))
    _say("reading formulas")
    index = {p["name"]: i for i, p in enumerate(model.get_worksheets_properties())}
    with open(cells_file, "rb") as f:
        wanted = pickle.load(f)
    found = {}
    for sheet, r, c in wanted:
        if sheet in index:
            found[sheet, r, c] = model.get_cell_formula(index[sheet], r, c)
    with open(out, "wb") as f:
        pickle.dump(found, f, protocol=pickle.HIGHEST_PROTOCOL)


def main(argv: list[str]) -> int:
    try:
        if argv[:1] == ["values"] and len(argv) in (3, 4):
            values(argv[1], argv[2], argv[3:] == ["plain"])
        elif argv[:1] == ["formulas"] and len(argv) == 4:
            formulas(argv[1], argv[2], argv[3])
        else:
            print("usage: values SRC OUT | formulas SRC CELLS OUT", file=sys.stderr)
            return 2
    except Exception as e:  # the parent turns this line into the user's message
        print(f"{type(e).__name__}: {e}".splitlines()[0][:300], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # skip tearing down a model of a million cells: the parent is waiting
