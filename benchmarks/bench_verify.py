"""Benchmark `sheetnet verify` per engine against the export of the same workbook, and the
ways of reading recalculated values.

Not a test: machines are shared and noisy, so every figure comes from one run of this script
and is reported as a ratio to the export measured in that run. For each net and engine:
seconds of the whole verify and its ratio to the export's, cells compared a second, the peak
memory of the engine's processes (those running at once, when it works in chunks) and ours.
``--whole`` adds each engine recalculating the file in one process (no chunks), to show what
the chunks give.

Usage: python benchmarks/bench_verify.py [--nets cnn,rnn] [--iterations N] [--repeat 1]
       [--whole] [--no-readers]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from sheetnet.audit import values as vals
from sheetnet.audit.engines import ENGINES

# verify in a fresh process, so its peak memory is its own (the engine runs in a child)
_ONE = """
import json, resource, sys, time
from sheetnet.audit import chunks
from sheetnet.audit.verify import verify
if sys.argv[3:] == ["whole"]:
    whole = chunks.plan
    chunks.plan = lambda places, *a: whole(places, 1 << 62, 1 << 62, 1)
t = time.perf_counter()
r = verify(sys.argv[1], [sys.argv[2]])
e = r.engines[0]
print(json.dumps({"ok": r.ok, "cells": e.cells, "total": time.perf_counter() - t,
                  "engine": e.recalc_seconds, "read": e.read_seconds, "compare": e.compare_seconds,
                  "engine_mb": e.peak_bytes / 2**20, "chunks": e.chunks,
                  "ours_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def verify_once(path: Path, engine: str, whole: bool = False) -> dict:
    out = subprocess.run([sys.executable, "-c", _ONE, str(path), engine,
                          *(["whole"] if whole else [])], check=True, capture_output=True,
                         text=True)
    return json.loads(out.stdout)


def export_once(net: str, out: Path, iterations: int | None) -> float:
    """Seconds of ``sheetnet export`` as a user runs it (a process of its own)."""
    extra = [] if iterations is None else ["--iterations", str(iterations)]
    t = time.perf_counter()
    subprocess.run([sys.executable, "-m", "sheetnet", "export", "--net", net, "--out", str(out),
                    "--force", *extra], check=True, capture_output=True)
    return time.perf_counter() - t


def readers(path: Path, tmp: Path) -> list[tuple[str, float]]:
    """Seconds to read every value of a LibreOffice-recalculated copy, several ways."""
    import ironcalc
    from openpyxl import load_workbook

    out = tmp / "lo-out"
    profile = (tmp / "lo-profile").as_uri()
    subprocess.run(["soffice", f"-env:UserInstallation={profile}", "--headless", "--convert-to",
                    "xlsx", "--outdir", str(out), str(path)], check=True, capture_output=True)
    copy = out / path.name
    timings = []
    t = time.perf_counter()
    vals.read_xlsx(copy)
    timings.append(("sheetnet's own reader of the sheet XML (audit/cells.py), every cell",
                    time.perf_counter() - t))
    try:
        from python_calamine import CalamineWorkbook
    except ImportError:
        pass  # not a dependency; measured when installed
    else:
        t = time.perf_counter()
        book = CalamineWorkbook.from_path(str(copy))
        for name in book.sheet_names:
            book.get_sheet_by_name(name).to_python()
        timings.append(("python-calamine (error cells read as empty)", time.perf_counter() - t))
    t = time.perf_counter()
    wb = load_workbook(copy, read_only=True, data_only=True)
    for ws in wb:
        for _ in ws.iter_rows(values_only=True):
            pass
    wb.close()
    timings.append(("openpyxl read-only, data_only", time.perf_counter() - t))
    t = time.perf_counter()
    model = ironcalc.load_from_xlsx(str(copy), "en", "UTC")
    for s, r, c in model.get_all_cells():
        model.get_cell_value(s, r, c)
    timings.append(("IronCalc: load the saved file, read its cached values",
                    time.perf_counter() - t))
    return timings


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--nets", default="cnn,rnn")
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--engines", default=",".join(n for n, e in ENGINES.items() if e.available()))
    ap.add_argument("--whole", action="store_true", help="also each engine in one process")
    ap.add_argument("--no-readers", action="store_true", help="skip the readers' table")
    args = ap.parse_args()
    names = args.engines.split(",")
    print("| workbook | engine | cells | export | verify | verify ÷ export | cells/s |"
          " chunks | engine peak (at once) | our peak |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    timings: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for net in args.nets.split(","):
            book = folder / f"{net}.xlsx"
            exported = min(export_once(net, book, args.iterations) for _ in range(args.repeat))
            variants = [(n, False) for n in names] + ([(n, True) for n in names]
                                                      if args.whole else [])
            runs: dict[tuple[str, bool], list[dict]] = {v: [] for v in variants}
            for _ in range(args.repeat):  # interleaved: every variant sees the same load
                for name, whole in variants:
                    runs[name, whole].append(verify_once(book, name, whole))
            for (name, whole), found in runs.items():
                b = min(found, key=lambda x: x["total"])
                assert b["ok"], (net, name)
                how = " (one process)" if whole else ""
                print(f"| {net} | {ENGINES[name].title}{how} | {b['cells']:,} | {exported:.1f} s"
                      f" | {b['total']:.1f} s | {b['total'] / exported:.2f} |"
                      f" {b['cells'] / b['total']:,.0f} | {b['chunks']} |"
                      f" {b['engine_mb']:,.0f} MB | {b['ours_mb']:,.0f} MB |")
            if not args.no_readers and "libreoffice" in names and not timings:
                timings = readers(book, folder)
    if timings:
        print("\n| reading every value of a recalculated .xlsx | seconds |\n|---|---|")
        for what, seconds in timings:
            print(f"| {what} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
