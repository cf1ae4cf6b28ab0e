"""Regenerate the ready-made workbooks in ``workbooks/``, or check that they are what the code
writes today.

Usage: python docs/tools/workbooks.py [--check]

Each workbook is exported by the ``sheetnet`` command with the options below. ``--check``
exports each into a temporary folder and compares it with the committed file part by part (all
but ``docProps/core.xml``, which holds the time of writing): every byte the same, but for the
numbers NumPy computed (stored values, the inputs' prints), which must agree within 1e-12
relative, since another machine's BLAS may sum in another order. It exits 1 naming every file
that differs; then ``python docs/tools/workbooks.py`` brings them up to date.
"""

from __future__ import annotations

import math
import re
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
WORKBOOKS: dict[str, list[str]] = {
    "cnn.xlsx": ["--net", "cnn"],
    "mlp.xlsx": ["--net", "mlp"],
    "mlp_book_init.xlsx": ["--net", "mlp", "--init", "examples/book_3-5_initial_weights.json"],
    "gd.xlsx": ["--net", "gd"],
    "regression.xlsx": ["--net", "regression"],
    "graph.xlsx": ["--net", "graph"],
    "xor.xlsx": ["--net", "xor"],
    "twolayer.xlsx": ["--net", "twolayer"],
    "gan.xlsx": ["--net", "gan", "--iterations", "20"],
}
_WHEN = "docProps/core.xml"  # the time of writing: the one part that differs from run to run
_FLOAT = re.compile(rb"(-?\d+\.\d+(?:[eE][-+]?\d+)?|-?\d+[eE][-+]?\d+)")


def same(a: bytes, b: bytes) -> bool:
    """Two parts alike: every byte, but decimal numbers within 1e-12 relative."""
    if a == b:
        return True
    x, y = _FLOAT.split(a), _FLOAT.split(b)
    return len(x) == len(y) and all(
        p == q if i % 2 == 0 else math.isclose(float(p), float(q), rel_tol=1e-12, abs_tol=1e-300)
        for i, (p, q) in enumerate(zip(x, y, strict=True)))


def export(name: str, folder: Path) -> Path:
    out = folder / name
    subprocess.run([sys.executable, "-m", "sheetnet", "export", *WORKBOOKS[name], "--out",
                    str(out), "--force"], cwd=ROOT, check=True, capture_output=True)
    return out


def differs(a: Path, b: Path) -> list[str]:
    """The parts of two workbooks that differ (the time of writing aside)."""
    with zipfile.ZipFile(a) as x, zipfile.ZipFile(b) as y:
        names = set(x.namelist()) | set(y.namelist())
        return sorted(n for n in names - {_WHEN} if n not in x.namelist()
                      or n not in y.namelist() or not same(x.read(n), y.read(n)))


def main() -> int:
    check = "--check" in sys.argv[1:]
    stale = []
    with tempfile.TemporaryDirectory() as tmp:
        for name in WORKBOOKS:
            if not check:
                export(name, ROOT / "workbooks")
                print(f"wrote workbooks/{name}")
                continue
            parts = differs(export(name, Path(tmp)), ROOT / "workbooks" / name)
            print(f"{'✗' if parts else '✓'} workbooks/{name}"
                  + (f": {len(parts)} parts differ ({', '.join(parts[:3])} …)" if parts else ""))
            stale += [name] if parts else []
    if stale:
        print("run `python docs/tools/workbooks.py` to write them as the code does today")
    return 1 if stale else 0


if __name__ == "__main__":
    sys.exit(main())
