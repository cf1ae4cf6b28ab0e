"""Benchmark an export (not a test: machines are shared and noisy; compare the ratios).

- export: layout + writing every sheet (sheetnet's own cell XML, shared formulas where a row
  repeats one, each formula with the value NumPy computed stored beside it) into the archive,
  formula cells per second (the NumPy trace is computed once beforehand);
- raw: openpyxl write-only writing the same cells, every formula in full and prepared in advance,
  in this run (what the export cost before sheetnet wrote its own cell XML);
- peak memory of a whole `sheetnet export` process (max RSS);
- NumPy core time for the run; for the CNN also how it grows with images and image size.

Usage: python benchmarks/bench_export.py [--net cnn] [--iterations 50] [--repeat 3]
                                         [--optimizer adam]
(verify's engines: benchmarks/bench_verify.py)
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from openpyxl import Workbook

from sheetnet import presets
from sheetnet.core import net as stack
from sheetnet.core.data import Dataset
from sheetnet.core.run import Run
from sheetnet.workbook import layout, xlsx
from sheetnet.workbook.layout import Cached, Styled


def export_seconds(spec, out: Path, trace) -> tuple[float, int]:
    t = time.perf_counter()
    cells = xlsx.write(spec, out, force=True, trace=trace)
    return time.perf_counter() - t, cells


def prepared_rows(spec) -> list[list[list[object]]]:
    """Every sheet's rows as plain values (every formula in full), styles dropped: raw's input."""
    sheets = []
    layout.SHARED_FORMULAS = False  # openpyxl cannot write shared formulas
    for s in spec.sheets:
        grid = s.build()
        rows = []
        for r in range(1, max(grid, default=0) + 1):
            cells = grid.get(r, {})
            row: list[object] = [None] * max(cells, default=0)
            for c, v in cells.items():
                v = v.value if isinstance(v, Styled) else v
                row[c - 1] = v.formula if isinstance(v, Cached) else v
            rows.append(row)
        sheets.append(rows)
    layout.SHARED_FORMULAS = True
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


def peak_rss_mb(net: str, iterations: int, optimizer: str, out: Path) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    subprocess.run([sys.executable, "-m", "sheetnet", "export", "--net", net, "--out",
                    str(out), "--iterations", str(iterations), "--optimizer", optimizer,
                    "--force"], check=True,
                   capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return max(after, before) / 1024


def core_seconds(preset, run) -> float:
    t = time.perf_counter()
    preset.trace(run, keep=())
    return time.perf_counter() - t


def cnn_scaling(iterations: int) -> list[tuple[str, int, float]]:
    """The CNN core on random 0/1 images: (shape, images, seconds for the whole run)."""
    preset = presets.get("cnn")
    rng = np.random.default_rng(0)
    out = []
    for (h, w), n in (((6, 6), 96), ((6, 6), 1_000), ((6, 6), 10_000),
                      ((14, 14), 96), ((28, 28), 96), ((28, 28), 1_000)):
        labels = tuple(float(v) for v in np.arange(n) % 3 + 1)
        ds = Dataset("random", rng.integers(0, 2, (n, h * w)).astype(float), labels,
                     (1.0, 2.0, 3.0), (h, w))
        model = stack.convolutional((h, w))
        run = Run("cnn", model, ds, stack.init(model, "normal", 0), 0.2, iterations)
        out.append((f"{h}×{w}", n, core_seconds(preset, run)))
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--net", default="mlp")
    ap.add_argument("--iterations", type=int, default=50)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--optimizer", default="gd", help="update rule (adam writes 4 state blocks"
                    " per parameter block)")
    args = ap.parse_args()
    preset = presets.get(args.net)
    options = presets.Options(optimizer=args.optimizer)
    run = presets.replace_iterations(preset.run(options), args.iterations)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        core = core_seconds(preset, run)
        trace = preset.trace(run)  # every block: the values the cells store
        spec = preset.workbook(run)
        sheets = prepared_rows(spec)
        ours, raw = [], []
        for _ in range(args.repeat):  # interleaved, so both see the same machine load
            seconds, cells = export_seconds(preset.workbook(run), tmp / "ours.xlsx", trace)
            ours.append(seconds)
            raw.append(raw_seconds(sheets, tmp / "raw.xlsx"))
        del sheets
        rss = peak_rss_mb(args.net, args.iterations, args.optimizer, tmp / "proc.xlsx")
    best_ours, best_raw = min(ours), min(raw)
    print(f"| {args.net}, {args.optimizer}, {args.iterations} iterations, {run.n_images} images"
          " | value |")
    print("|---|---|")
    print(f"| formula cells | {cells:,} |")
    print(f"| export (layout + write), best of {args.repeat} | {best_ours:.2f} s,"
          f" {cells / best_ours:,.0f} formula cells/s |")
    print(f"| raw openpyxl write-only, same strings prepared | {best_raw:.2f} s,"
          f" {cells / best_raw:,.0f} cells/s |")
    print(f"| ratio export / raw (target ≥ 0.8) | {best_raw / best_ours:.2f} |")
    print(f"| peak memory, whole `sheetnet export` process | {rss:.0f} MB |")
    print(f"| NumPy core, {args.iterations + 1} iterations | {core * 1e3:.0f} ms |")
    if args.net == "cnn":
        print()
        print(f"| CNN core, {args.iterations + 1} iterations | images | seconds |"
              " per 1,000 images |")
        print("|---|---|---|---|")
        for shape, n, seconds in cnn_scaling(args.iterations):
            print(f"| {shape} | {n:,} | {seconds:.2f} | {seconds / n * 1e3:.2f} |")


if __name__ == "__main__":
    main()
