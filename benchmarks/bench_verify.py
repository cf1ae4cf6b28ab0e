"""Benchmark `sheetnet verify` per engine, and the ways of reading recalculated values.

Not a test: machines are shared and noisy, so every figure comes from one run of this script
and the engines are compared by their ratio. For each engine: seconds of the whole verify, of
the engine's own process, peak memory of our process and of the engine's.

Usage: python benchmarks/bench_verify.py [--net cnn] [--iterations 50] [--repeat 1]
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
from sheetnet.audit.verify import verify
t = time.perf_counter()
r = verify(sys.argv[1], [sys.argv[2]])
e = r.engines[0]
print(json.dumps({"ok": r.ok, "cells": e.cells, "total": time.perf_counter() - t,
                  "engine": e.recalc_seconds, "read": e.read_seconds, "compare": e.compare_seconds,
                  "engine_mb": e.peak_bytes / 2**20,
                  "ours_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def verify_once(path: Path, engine: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _ONE, str(path), engine], check=True,
                         capture_output=True, text=True)
    return json.loads(out.stdout)


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
    ap.add_argument("--net", default="cnn")
    ap.add_argument("--iterations", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=1)
    ap.add_argument("--no-readers", action="store_true", help="skip the readers' table")
    args = ap.parse_args()
    names = [name for name, e in ENGINES.items() if e.available()]
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        book = tmp / f"{args.net}.xlsx"
        extra = [] if args.iterations is None else ["--iterations", str(args.iterations)]
        subprocess.run([sys.executable, "-m", "sheetnet", "export", "--net", args.net,
                        "--out", str(book), *extra], check=True, capture_output=True)
        runs: dict[str, list[dict]] = {n: [] for n in names}
        for _ in range(args.repeat):  # interleaved, so every engine sees the same machine load
            for name in names:
                runs[name].append(verify_once(book, name))
        timings = [] if args.no_readers or "libreoffice" not in names else readers(book, tmp)
    best = {n: min(r, key=lambda x: x["total"]) for n, r in runs.items()}
    cells = best[names[0]]["cells"]
    print(f"| `sheetnet verify`, {args.net} workbook ({cells:,} cells), best of {args.repeat}"
          " | verify total | engine process | reading values | comparing | engine peak"
          " memory | our peak memory |")
    print("|---|---|---|---|---|---|---|")
    for name in names:
        b = best[name]
        assert b["ok"], name
        print(f"| {ENGINES[name].title} | {b['total']:.1f} s | {b['engine']:.1f} s |"
              f" {b['read']:.1f} s | {b['compare']:.1f} s | {b['engine_mb']:,.0f} MB |"
              f" {b['ours_mb']:,.0f} MB |")
    if "libreoffice" in best:
        ratio = best["ironcalc"]["total"] / best["libreoffice"]["total"]
        print(f"\nIronCalc's verify takes {ratio:.2f} of LibreOffice's (target ≤ 0.33).")
    if timings:
        print("\n| reading every value of a recalculated .xlsx | seconds |\n|---|---|")
        for what, seconds in timings:
            print(f"| {what} | {seconds:.1f} |")


if __name__ == "__main__":
    main()
