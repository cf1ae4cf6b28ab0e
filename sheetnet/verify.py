"""``sheetnet verify``: recalculate a workbook in LibreOffice and check every cell against NumPy.

The inputs (data, classes, initial parameters, η) are read back from the workbook, so a user's
edits count; the core re-runs on them and every cell of every block is compared.
"""

from __future__ import annotations

import tempfile
import time
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from openpyxl import load_workbook

from sheetnet import presets, recalc
from sheetnet.errors import SheetnetError
from sheetnet.layout import FORMAT_MARK, Place, a1, sheet_prefix
from sheetnet.run import Run
from sheetnet.sheets import CONFIG_ROW, INPUTS, read_config

TOLERANCE = 1e-9
ERROR_VALUES = {"#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A"}


@dataclass
class BlockReport:
    """One block name over every iteration: its largest errors and its first differing cell."""

    name: str
    cells: int = 0
    max_abs: float = 0.0
    max_err: float = 0.0  # largest min(|Δ|, |Δ|/|expected|): what the 1e-9 test checks
    bad: int = 0
    first_bad: str | None = None


@dataclass
class Report:
    path: Path
    net: str = ""
    blocks: dict[str, BlockReport] = field(default_factory=dict)
    error_cells: list[str] = field(default_factory=list)
    inputs_read: int = 0
    recalc_seconds: float = 0.0
    total_seconds: float = 0.0

    @property
    def cells(self) -> int:
        return sum(b.cells for b in self.blocks.values())

    @property
    def ok(self) -> bool:
        return not self.error_cells and all(b.bad == 0 for b in self.blocks.values())

    def first_differences(self, limit: int = 5) -> list[str]:
        return [b.first_bad for b in self.blocks.values() if b.first_bad][:limit]


def _sheet_array(ws) -> np.ndarray:
    rows = list(ws.iter_rows(values_only=True))
    width = max((len(r) for r in rows), default=0)
    out = np.empty((len(rows), width), dtype=object)
    for i, r in enumerate(rows):
        out[i, :len(r)] = r
    return out


def _raw(values: np.ndarray, p: Place) -> np.ndarray:
    """The cells of a place as an object array (images or 1, rows, cols)."""
    n = max(p.images, 1)
    cols = p.col - 1 + np.arange(n)[:, None] * p.stride + np.arange(p.cols)[None, :]
    rows = p.sheet_rows() - 1
    need_r, need_c = int(rows.max()) + 1, int(cols.max()) + 1
    if values.shape[0] < need_r or values.shape[1] < need_c:
        padded = np.empty((max(need_r, values.shape[0]), max(need_c, values.shape[1])), object)
        padded[:values.shape[0], :values.shape[1]] = values
        values = padded
    block = values[rows][:, cols]  # (rows, n, cols)
    return block.transpose(1, 0, 2)


def _is_number(v: object) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


_numeric = np.frompyfunc(_is_number, 1, 1)


def _numbers(values: np.ndarray, p: Place) -> np.ndarray:
    raw = _raw(values, p)
    mask = _numeric(raw).astype(bool)
    out = np.full(raw.shape, np.nan)
    out[mask] = raw[mask].astype(float)
    return out


def _input_numbers(values: np.ndarray, p: Place) -> np.ndarray:
    out = _numbers(values, p)
    if np.isnan(out).any():
        i, r, c = (int(v) for v in np.argwhere(np.isnan(out))[0])
        cell = a1(p.sheet_row(r), p.col + c + i * p.stride)
        raise SheetnetError(f"{p.sheet}!{cell} ({p.name}) must hold a number; put a number there")
    return out


def _labels(values: np.ndarray, p: Place) -> tuple[object, ...]:
    raw = _raw(values, p).ravel()
    out: list[object] = []
    for i, v in enumerate(raw):
        if v is None or v == "":
            cell = a1(p.row + (i if not p.images else 0), p.col + (i * p.stride if p.images else 0))
            raise SheetnetError(f"{p.sheet}!{cell} ({p.name}) is empty; give it a label")
        out.append(float(v) if _is_number(v) else str(v))
    return tuple(out)


def _open(path: Path):
    if not path.is_file():
        raise SheetnetError(f"{path}: no such file; give the path of a workbook made by"
                            " `sheetnet export`")
    if not zipfile.is_zipfile(path):
        raise SheetnetError(f"{path}: not an .xlsx workbook (not a zip file); give a workbook"
                            " made by `sheetnet export`")
    try:
        return load_workbook(path, read_only=True, data_only=True)
    except Exception as e:  # openpyxl raises many types for damaged files
        raise SheetnetError(f"{path}: not a readable .xlsx workbook ({type(e).__name__});"
                            " give a workbook made by `sheetnet export`") from None


def read_run(path: Path) -> tuple[presets.Preset, dict[str, object]]:
    """The preset and config of a sheetnet workbook (before recalculation)."""
    wb = _open(path)
    try:
        if INPUTS not in wb.sheetnames:
            raise SheetnetError(f"{path}: not a sheetnet workbook (no {INPUTS} sheet); make one"
                                " with `sheetnet export`")
        config = read_config(list(wb[INPUTS].iter_rows(max_col=3, values_only=True)))
    finally:
        wb.close()
    if config.get("workbook") != FORMAT_MARK or "net" not in config:
        raise SheetnetError(f"{path}: not a sheetnet workbook (its {INPUTS} sheet lacks the"
                            f" {FORMAT_MARK!r} mark); make one with `sheetnet export`")
    return presets.get(str(config["net"])), config


def _skeleton(preset: presets.Preset, config: dict[str, object]) -> Run:
    try:
        return preset.skeleton(config)
    except (KeyError, ValueError, TypeError, SheetnetError) as e:
        raise SheetnetError(f"the {INPUTS} sheet's settings are damaged ({e}); export the"
                            " workbook again") from None


def verify(path: Path, timeout: float = 600,
           progress: Callable[[str], None] | None = None) -> Report:
    """Recalculate ``path`` in LibreOffice and compare every block with the NumPy core."""
    started = time.perf_counter()
    path = Path(path)
    preset, config = read_run(path)
    if recalc.soffice() is None:
        raise SheetnetError(recalc.INSTALL_HINT)
    report = Report(path, net=preset.name)
    skeleton = _skeleton(preset, config)
    with tempfile.TemporaryDirectory(prefix="sheetnet-verify-") as tmp:
        if progress:
            progress("recalculating in LibreOffice")
        t0 = time.perf_counter()
        done = recalc.recalculate(path.resolve(), Path(tmp), timeout)
        report.recalc_seconds = time.perf_counter() - t0
        wb = load_workbook(done, read_only=True, data_only=True)
        try:
            run, inputs_read = _read_inputs(wb, preset, skeleton, config)
            report.inputs_read = inputs_read
            if progress:
                progress("re-running the NumPy core")
            trace = preset.trace(run)
            spec = preset.workbook(run)
            by_sheet: dict[str, list[Place]] = {}
            for p in spec.places:
                by_sheet.setdefault(p.sheet, []).append(p)
            for sheet in wb.sheetnames:
                if progress:
                    progress(f"comparing {sheet}")
                values = _sheet_array(wb[sheet])
                _scan_errors(values, sheet, report)
                for p in by_sheet.get(sheet, []):
                    if p.kind != "input":
                        _compare(p, _numbers(values, p), _expected(p, trace), report)
        finally:
            wb.close()
    report.total_seconds = time.perf_counter() - started
    return report


def _read_inputs(wb, preset: presets.Preset, skeleton: Run,
                 config: dict[str, object]) -> tuple[Run, int]:
    """Every input cell (data, classes, initial values, η) read back; the run they describe."""
    inputs = [p for p in preset.workbook(skeleton).places if p.kind == "input"]
    # The Inputs sheet lists the settings first, so a workbook from a version that wrote more or
    # fewer settings has every input row shifted by the same amount: follow its own η row.
    eta = next((p for p in inputs if p.name == "eta"), None)
    shift = CONFIG_ROW + len(config) - eta.row if eta is not None else 0
    inputs = [replace(p, row=p.row + shift) if p.sheet == INPUTS else p for p in inputs]
    text = preset.text_inputs(skeleton)
    sheets: dict[str, np.ndarray] = {}
    found: dict[str, object] = {}
    for p in inputs:
        if p.sheet not in sheets:
            if p.sheet not in wb.sheetnames:
                raise SheetnetError(f"the workbook has no {p.sheet} sheet; export it again")
            sheets[p.sheet] = _sheet_array(wb[p.sheet])
        values = sheets[p.sheet]
        found[p.name] = _labels(values, p) if p.name in text else _input_numbers(values, p)
    return preset.rebuild(skeleton, found), sum(p.size for p in inputs)


def _expected(p: Place, trace) -> np.ndarray:
    if p.iteration is None:  # a block over all iterations, e.g. the Summary's C_T column
        return p.grid(trace.series(p.name))
    return p.grid(trace.iterations[p.iteration][p.name])


def _compare(p: Place, actual: np.ndarray, expected: np.ndarray, report: Report) -> None:
    key = p.name if p.iteration is not None else f"{p.name} ({p.sheet})"
    b = report.blocks.setdefault(key, BlockReport(key))
    diff = np.abs(actual - expected)
    rel = diff / np.maximum(np.abs(expected), np.finfo(float).tiny)
    good = (diff <= TOLERANCE) | (rel <= TOLERANCE)  # nan (no number) is never good
    b.cells += actual.size
    finite = np.isfinite(diff)
    if finite.any():
        b.max_abs = max(b.max_abs, float(diff[finite].max()))
        b.max_err = max(b.max_err, float(np.minimum(rel[finite], diff[finite]).max()))
    bad = np.argwhere(~good)
    b.bad += len(bad)
    if len(bad) and b.first_bad is None:
        i, r, c = (int(v) for v in bad[0])
        cell = a1(p.sheet_row(r), p.col + c + i * p.stride)
        img = f", image {i + 1}" if p.images else ""
        got = actual[i, r, c]
        shown = "no number" if np.isnan(got) else f"{got:.15g}"
        b.first_bad = (f"{sheet_prefix(p.sheet)}{cell} ({p.name}{img}): workbook {shown},"
                       f" NumPy {expected[i, r, c]:.15g}")


def _scan_errors(values: np.ndarray, sheet: str, report: Report) -> None:
    for r, c in zip(*np.nonzero(np.isin(values, list(ERROR_VALUES))), strict=True):
        if len(report.error_cells) < 20:
            report.error_cells.append(f"{sheet_prefix(sheet)}{a1(int(r) + 1, int(c) + 1)}:"
                                      f" {values[r, c]}")
