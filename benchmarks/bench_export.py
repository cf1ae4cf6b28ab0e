"""Benchmark the mlp export (not a test: machines are shared and noisy; compare the ratios).

- export: layout + openpyxl write-only rendering of every sheet, formula cells per second;
- raw: openpyxl write-only writing the same formula strings, prepared in advance, in this run;
- peak memory of a whole `sheetnet export` process (max RSS);
- NumPy core time per iteration.

Usage: python benchmarks/bench_export.py [--iterations 50] [--repeat 3]
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from openpyxl import Workbook

from sheetnet import presets, xlsx
from sheetnet.layout import Styled


def export_seconds(spec, out: Path) -> tuple[float, int]:
    t = time.perf_counter()
    cells = xlsx.write(spec, out)
    return time.perf_counter() - t, cells


def prepared_rows(spec) -> list[list[list[object]]]:
    """Every sheet's rows as plain values (formula strings), styles dropped: raw's input."""
    sheets = []
    for s in spec.sheets:
        grid = s.build()
        rows = []
        for r in range(1, max(grid, default=0) + 1):
            cells = grid.get(r, {})
            row: list[object] = [None] * max(cells, default=0)
            for c, v in cells.items():
                row[c - 1] = v.value if isinstance(v, Styled) else v
            rows.append(row)
        sheets.append(rows)
    return sheets


def raw_seconds(sheets, out: Path) -> float:
    t = time.perf_counter()
    wb = Workbook(write_only=True)
    for i, rows in enumerate(sheets):
        ws = wb.create_sheet(f"s{i}")
        for row in rows:
            ws.append(row)
    wb.save(out)
    return time.perf_counter() - t


def peak_rss_mb(iterations: int, out: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-m", "sheetnet", "export", "--net", "mlp", "--out",
                    str(out), "--iterations", str(iterations), "--force"], check=True,
                   capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    preset = presets.get("mlp")
    run = presets.replace_iterations(preset.run(presets.Options()), args.iterations)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        t = time.perf_counter()
        preset.trace(run)
        core = (time.perf_counter() - t) / (args.iterations + 1)
        spec = preset.workbook(run)
        sheets = prepared_rows(spec)
        ours, raw = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            seconds, cells = export_seconds(preset.workbook(run), tmp / "ours.xlsx")
            ours.append(seconds)
            raw.append(raw_seconds(sheets, tmp / "raw.xlsx"))
        rss = peak_rss_mb(args.iterations, tmp / "proc.xlsx")
    best_ours, best_raw = min(ours), min(raw)
    print(f"| mlp, {args.iterations} iterations | value |")
    print("|---|---|")
    print(f"| formula cells | {cells:,} |")
    print(f"| export (layout + write), best of {args.repeat} | {best_ours:.2f} s,"
          f" {cells / best_ours:,.0f} formula cells/s |")
    print(f"| raw openpyxl write-only, same strings prepared | {best_raw:.2f} s,"
          f" {cells / best_raw:,.0f} cells/s |")
    print(f"| ratio export / raw (target ≥ 0.8) | {best_raw / best_ours:.2f} |")
    print(f"| peak memory, whole `sheetnet export` process | {rss:.0f} MB |")
    print(f"| NumPy core per iteration (64 images) | {core * 1e3:.2f} ms |")


if __name__ == "__main__":
    main()
