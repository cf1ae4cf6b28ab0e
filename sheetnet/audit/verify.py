"""``sheetnet verify``: recalculate a workbook in real spreadsheet engines and check every cell.

The inputs (data, classes, initial parameters, η) are read back from the workbook, so a user's
edits count; the NumPy core re-runs on them once, and every cell of every block is compared with
what each engine computed. Where cells differ, the report names the *root* cells first: those
whose referenced cells all agree, so their own formula is what is wrong.
"""

from __future__ import annotations

import functools
import math
import pickle
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from sheetnet import notation as names
from sheetnet import presets
from sheetnet.audit import causes, cells, chunks, engines
from sheetnet.audit import values as vals
from sheetnet.audit.archive import Archive, check_xml, formula_text
from sheetnet.core import health, stamp
from sheetnet.core.run import Run
from sheetnet.errors import SheetnetError
from sheetnet.files import unusable
from sheetnet.workbook import settings
from sheetnet.workbook.layout import Place, WorkbookSpec, a1, sheet_prefix
from sheetnet.workbook.sheets import INPUTS

TOLERANCE = 1e-9
MAX_EXAMINED = 200_000  # differing cells whose formulas are read to find the roots


class Listener:
    """What verify tells its caller while it works (the CLI shows it; the default is silent).

    Engines run at the same time, so each reports under its own ``who`` (``"IronCalc"`` …);
    calls may come from several threads.
    """

    def phase(self, who: str, text: str, total: int | None = None) -> None:
        """``who`` starts a new phase, of ``total`` steps when it has them (see ``advance``)."""

    def advance(self, who: str) -> None:
        """One more step of ``who``'s current phase."""

    def done(self, who: str) -> None:
        """``who`` has finished."""


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
class EngineReport:
    """One engine's recalculation compared with NumPy."""

    engine: str
    title: str
    blocks: dict[str, BlockReport] = field(default_factory=dict)
    error_cells: list[str] = field(default_factory=list)  # the first 20, in sheet order
    error_count: int = 0
    roots: list[str] = field(default_factory=list)  # root cells, earliest iteration first
    downstream: int = 0  # differing cells that are not roots
    examined: int = 0  # differing cells whose formulas were read (at most MAX_EXAMINED)
    recalc_seconds: float = 0.0
    read_seconds: float = 0.0
    compare_seconds: float = 0.0
    peak_bytes: int = 0  # the engine's processes at once
    chunks: int = 1  # processes its workbook was recalculated in (``chunks.py``), and one more
    # for the sheets over all iterations when more than one
    failed: str | None = None  # why the engine gave no values (its own failure)

    @property
    def cells(self) -> int:
        return sum(b.cells for b in self.blocks.values())

    @property
    def bad(self) -> int:
        return sum(b.bad for b in self.blocks.values())

    @property
    def ok(self) -> bool:
        return self.failed is None and not self.error_cells and self.bad == 0

    def to_json(self) -> dict[str, object]:
        return {"engine": self.engine, "ok": self.ok, "failed": self.failed,
                "cells": self.cells, "bad": self.bad, "error_count": self.error_count,
                "error_cells": self.error_cells, "roots": self.roots,
                "downstream": self.downstream, "seconds": round(self.recalc_seconds, 3),
                "peak_bytes": self.peak_bytes, "chunks": self.chunks,
                "blocks": [{"block": b.name, "cells": b.cells, "max_abs": b.max_abs,
                            "max_err": b.max_err, "bad": b.bad, "first_bad": b.first_bad}
                           for b in self.blocks.values()]}

    def first_differences(self, limit: int = 5) -> list[str]:
        return [b.first_bad for b in self.blocks.values() if b.first_bad][:limit]


@dataclass
class Report:
    path: Path
    preset: str = ""
    engines: list[EngineReport] = field(default_factory=list)
    findings: list[str] = field(default_factory=list)  # the workbook's own, whatever engine
    inputs_read: int = 0
    total_seconds: float = 0.0
    changed: list[str] | None = None  # inputs edited since the export (None: not known)
    exported_costs: dict[str, float] = field(default_factory=dict)  # each curve's last value
    costs: dict[str, float] = field(default_factory=dict)  # … as the workbook's inputs give it

    def to_json(self) -> dict[str, object]:
        """The whole report as JSON takes it (``verify --json``)."""
        return {"path": str(self.path), "net": self.preset, "ok": self.ok,
                "findings": self.findings, "changed_inputs": self.changed,
                "exported_costs": self.exported_costs, "costs": self.costs,
                "inputs_read": self.inputs_read, "seconds": round(self.total_seconds, 3),
                "engines": [e.to_json() for e in self.engines]}

    @property
    def ok(self) -> bool:
        return not self.findings and bool(self.engines) and all(e.ok for e in self.engines)

    # the single (or first) engine's figures, for callers that ran one engine
    @property
    def blocks(self) -> dict[str, BlockReport]:
        return self.engines[0].blocks if self.engines else {}

    @property
    def cells(self) -> int:
        return self.engines[0].cells if self.engines else 0

    @property
    def error_cells(self) -> list[str]:
        return [e for r in self.engines for e in r.error_cells]

    def first_differences(self, limit: int = 5) -> list[str]:
        found = self.findings + [d for r in self.engines for d in r.first_differences(limit)]
        return found[:limit]

    @property
    def roots(self) -> list[str]:
        """The root cells of every engine: differing cells whose references all agree, so
        their own formula is what is wrong (named with the engine when several ran)."""
        many = len(self.engines) > 1
        return [f"{root} ({e.title})" if many else root for e in self.engines for root in e.roots]

    def table(self) -> dict[str, list]:
        """The per-block comparison as columns (one row a block and engine): ``block``,
        ``engine``, ``cells``, ``max_abs``, ``max_err``, ``bad``, ``first_bad``; a DataFrame
        is ``pandas.DataFrame(report.table())``."""
        columns: dict[str, list] = {k: [] for k in ("block", "engine", "cells", "max_abs",
                                                    "max_err", "bad", "first_bad")}
        for e in self.engines:
            for b in e.blocks.values():
                for key, value in (("block", b.name), ("engine", e.engine), ("cells", b.cells),
                                   ("max_abs", b.max_abs), ("max_err", b.max_err),
                                   ("bad", b.bad), ("first_bad", b.first_bad)):
                    columns[key].append(value)
        return columns

    def _repr_html_(self) -> str:
        """In a notebook: the verdict and each block's comparison per engine."""
        from sheetnet.notebook import report_html

        return report_html(self)

    def __repr__(self) -> str:
        engines_ran = " and ".join(e.title for e in self.engines) or "no engine"
        verdict = "every cell agrees" if self.ok else (
            f"{sum(e.bad for e in self.engines):,} cells differ, {len(self.findings)}"
            f" finding{'s' * (len(self.findings) != 1)}")
        return (f"Report({self.path.name!r}, net {self.preset!r}, ok={self.ok}: {verdict};"
                f" {self.cells:,} cells compared in {engines_ran})")


def check_file(path: Path) -> None:
    """A workbook to read: a zip file that is there, or one line saying what it is not."""
    try:
        _check_file(path)
    except OSError as e:
        raise unusable(path, e) from None


def _check_file(path: Path) -> None:
    if path.is_dir():
        raise SheetnetError(f"{path} is a folder; give the workbooks in it, e.g. sheetnet"
                            f" verify {path / '*.xlsx'}")
    if not path.is_file():
        raise SheetnetError(f"{path}: no such file; give the path of a workbook made by"
                            " `sheetnet export`")
    if not zipfile.is_zipfile(path):
        raise SheetnetError(f"{path}: not an .xlsx workbook (not a zip file); give a workbook"
                            " made by `sheetnet export`")


SETTINGS_ROWS = 400  # the Inputs sheet's rows read for its settings, before the layout is known


def _config_rows(sheet: vals.SheetValues) -> list[list[object]]:
    """The Inputs sheet's first three columns as rows (whole numbers as ints, as written)."""
    height = sheet.numbers.shape[0]
    rows = []
    for r in range(1, height + 1):
        row = []
        for c in (1, 2, 3):
            v = sheet.value(r, c)
            row.append(int(v) if isinstance(v, float) and v.is_integer() else v)
        rows.append(row)
    return rows


def read_run(path: Path, archive: Archive | None = None
             ) -> tuple[presets.Preset, dict[str, object]]:
    """The preset and settings of a sheetnet workbook (as written, before recalculation), read
    from the Inputs sheet's first rows and columns only."""
    archive = archive or Archive.open(path, INPUTS)
    if INPUTS not in archive.parts:
        raise SheetnetError(f"{path}: not a sheetnet workbook (no {INPUTS} sheet); make one"
                            " with `sheetnet export`")
    found = cells.read(path, archive.parts, {INPUTS: (SETTINGS_ROWS, 3)})
    config = settings.read(_config_rows(found[INPUTS]))
    return presets.get(settings.check_format(config, str(path))), config


def _skeleton(preset: presets.Preset, config: dict[str, object]) -> Run:
    try:
        run = preset.skeleton(config)
        return replace(run, origin={**run.origin, "format": str(config.get("workbook"))})
    except (KeyError, ValueError, TypeError, SheetnetError) as e:
        raise SheetnetError(f"the {INPUTS} sheet's settings are damaged ({e}); export the"
                            " workbook again") from None


@dataclass(frozen=True)
class Layout:
    """A workbook's layout rebuilt from its settings alone: its archive (checked), preset,
    settings, the run of its shapes, the layout and where every block is, and the rows and
    columns of each sheet the layout writes."""

    archive: Archive
    preset: presets.Preset
    config: dict[str, object]
    skeleton: Run
    spec: WorkbookSpec
    places: list[Place]
    bounds: cells.Bounds


def layout(path: Path, well_formed: bool = True) -> Layout:
    """The layout of the workbook at ``path`` as its Inputs sheet's settings describe it,
    after the archive is checked against the size they imply (and each sheet to be
    well-formed XML, unless ``well_formed`` is False: the caller checks it as it reads them);
    one line saying what is wrong with the file otherwise."""
    check_file(path)
    archive = Archive.open(path, INPUTS)
    preset, config = read_run(path, archive)
    skeleton = _skeleton(preset, config)
    spec = preset.workbook(skeleton)
    places = _placed(spec.places, config)
    bounds = _bounds(spec, places)
    archive.check_sheets(sum(p.size for p in places) + 10_000, well_formed)
    return Layout(archive, preset, config, skeleton, spec, places, bounds)


def check_timeout(timeout: float) -> None:
    """Seconds an engine may take: a positive, finite number."""
    if not (isinstance(timeout, (int, float)) and math.isfinite(timeout) and timeout > 0):
        raise SheetnetError(f"--timeout {timeout} must be a positive number of seconds, e.g."
                            " --timeout 600")


def verify(path: Path, engine_names: Sequence[str] = (engines.DEFAULT,), timeout: float = 600,
           progress: Listener | None = None) -> Report:
    """Recalculate ``path`` in each engine and compare every block with the NumPy core.

    Before any engine sees the file, its archive is checked against the size its settings
    imply. The engines then run at once, each in its own process, while this process checks
    which cells hold formulas and re-runs the core.
    """
    started = time.perf_counter()
    check_timeout(timeout)
    path = Path(path)
    check_file(path)
    progress = progress or Listener()
    picked = list({e.name: e for name in engine_names for e in engines.chosen(name)}.values())
    found = layout(path, well_formed=False)  # checked as the sheets are read, beside the engines
    archive, preset, config, skeleton = found.archive, found.preset, found.config, found.skeleton
    places, bounds = found.places, found.bounds
    report = Report(path, preset=preset.name)
    present = [p for p in places if p.sheet in archive.parts]
    report.findings += _missing_sheets(places, archive) + _extra_sheets(archive, bounds, config)
    formulas: dict[tuple[str, int, int], str | None] = {}  # read once, shared by the engines
    cancel = threading.Event()  # set: every engine still running ends at once
    seeds: Future = Future()  # NumPy's numbers for the chunks' seed sheets (chunks.py)
    slots = threading.Semaphore(engines.WORKERS)
    check = functools.partial(check_xml, path=path)
    with tempfile.TemporaryDirectory(prefix="sheetnet-verify-") as tmp, \
            ThreadPoolExecutor(len(picked) + 1) as pool:
        try:
            jobs = [chunks.Job(path.resolve(), dict(archive.parts), places,
                               chunks.plan(places, e.most_cells(engines.WORKERS), e.split_above,
                                           engines.WORKERS, e.most_cells(1)), bounds, seeds, slots,
                               engines.WORKERS)
                    for e in picked]
            running = [pool.submit(_recalculate, e, job, Path(tmp), timeout, progress, cancel)
                       for e, job in zip(picked, jobs, strict=True)]
            held = {p.sheet for p in places if p.kind == "input"}
            chunked = any(len(job.chunks) > 1 for job in jobs)
            rest = {s: b for s, b in bounds.items() if s not in held}
            reading = (pool.submit(_formula_cells, path, dict(archive.parts), rest, Path(tmp),
                                   timeout, cancel) if chunked else None)
            progress.phase("NumPy", "reading the inputs")
            scans = cells.read(path, archive.parts,
                               {s: b for s, b in bounds.items() if s in held}, check)
            inputs = [p for p in present if p.sheet in scans]
            if not _check_formulas(inputs, scans, archive, report):
                cancel.set()  # an input is a formula: the run the workbook describes is unknown
                report.total_seconds = time.perf_counter() - started
                return report
            run, report.inputs_read = _read_inputs(scans, preset, skeleton,
                                                   [p for p in places if p.kind == "input"])
            if chunked:  # the chunks after the first wait for it
                progress.phase("NumPy", "re-running the NumPy core from the inputs")
                seeds.set_result(_Seeds(path, archive.parts, bounds, places,
                                        preset.trace(run)).sheet)
            progress.phase("NumPy", "reading the workbook's own cells")
            scans.update(reading.result() if reading is not None else
                         cells.read(path, archive.parts, rest, check, values=False))
            report.findings += _outside(scans)
            progress.phase("NumPy", "checking which cells hold formulas")
            _check_formulas([p for p in present if p not in inputs], scans, archive, report)
            del scans
            saved = stamp.read(archive.property(stamp.PROPERTY) or "")
            if saved is not None:
                report.changed = stamp.changed(saved["inputs"], stamp.inputs(run))
                report.exported_costs = {str(k): float(v) for k, v in saved["costs"].items()
                                         if isinstance(v, (int, float))}
            progress.done("NumPy")
            by_sheet: dict[str, list[Place]] = {}
            for p in present:
                if p.kind not in ("input", "text"):  # text: characters, shown not compared
                    by_sheet.setdefault(p.sheet, []).append(p)
            for engine, future in zip(picked, running, strict=True):
                try:
                    done = future.result()
                except SheetnetError as e:  # the engine's own failure: the others still count
                    if len(picked) == 1:
                        raise
                    report.engines.append(EngineReport(engine.name, engine.title,
                                                       failed=str(e)))
                    progress.done(engine.title)
                    continue
                audit = _Audit(path, preset, run, places, by_sheet, formulas, timeout,
                               progress, cancel)
                report.engines.append(audit.engine(engine, done, report))
        except BaseException:
            cancel.set()  # the engines' threads end their processes and return
            if not seeds.done():
                seeds.cancel()
            raise
    report.total_seconds = time.perf_counter() - started
    return report


@dataclass
class _Audit:
    """What comparing one engine's recalculation needs: the workbook, its run and places (by
    sheet, outputs only), the formulas read so far (shared), and the caller's listener."""

    path: Path
    preset: presets.Preset
    run: Run
    places: list[Place]
    by_sheet: dict[str, list[Place]]
    formulas: dict[tuple[str, int, int], str | None]
    timeout: float
    progress: Listener
    cancel: threading.Event

    def _trace(self, done: engines.Recalculated):
        """NumPy re-run iteration by iteration from the engine's own cells; recalculated in
        chunks, each chunk's iterations re-run from its seed (NumPy's own numbers) on."""
        firsts = done.firsts or (0,)
        traces = [self.preset.trace(self.run, anchor=EngineAnchor(done.values, self.places,
                                                                  self.run, first))
                  for first in firsts]
        if len(traces) == 1:
            return traces[0]
        owner = np.searchsorted(np.array(firsts), np.arange(len(traces[-1].iterations)),
                                side="right") - 1
        return replace(traces[-1], iterations=[traces[max(int(j), 0)].iterations[k]
                                               for k, j in enumerate(owner)])

    def engine(self, engine: engines.Engine, done: engines.Recalculated, report: Report
               ) -> EngineReport:
        """The NumPy core re-run from the engine's cells (anchored), every block compared,
        and the root causes of the cells that differ found."""
        title, progress = engine.title, self.progress
        er = EngineReport(engine.name, title, recalc_seconds=done.seconds,
                          read_seconds=done.read_seconds, peak_bytes=done.peak_bytes,
                          chunks=max(len(done.firsts), 1))
        t0 = time.perf_counter()
        progress.phase(title, "re-running the NumPy core from its cells")
        trace = self._trace(done)
        if not report.costs:
            report.costs = {name: float(curve[-1])
                            for name, curve in health.curves(self.run, trace).items()}
        progress.phase(title, "comparing with NumPy", total=len(done.values))
        bad = _compare_all(done.values, self.by_sheet, trace, er,
                           functools.partial(progress.advance, title))
        er.compare_seconds = time.perf_counter() - t0
        if bad:
            progress.phase(title, "finding the root causes")
            _find_roots(self.path, bad, self.places, self.formulas, er, self.timeout,
                        functools.partial(progress.phase, title), self.cancel)
        progress.done(title)
        return er


def _placed(places: list[Place], config: dict[str, object]) -> list[Place]:
    """The layout's places as this workbook has them.

    The Inputs sheet lists the settings first, so a workbook from a version that wrote more or
    fewer settings has every input row shifted by the same amount: follow its own η row.
    """
    eta = next((p for p in places if p.name == "eta" and p.kind == "input"), None)
    shift = settings.ROW + len(config) - eta.row if eta is not None else 0
    return [replace(p, row=p.row + shift) if p.sheet == INPUTS and shift else p for p in places]


def _bounds(spec: WorkbookSpec, places: Sequence[Place]) -> cells.Bounds:
    """Each sheet's rows and columns as the layout writes them: what verify reads of it."""
    out = {s.name: (s.max_row, s.max_col) for s in spec.sheets}
    for p in places:
        rows, cols = out.get(p.sheet, (0, 0))
        last_col = p.col + (max(p.images, 1) - 1) * p.stride + p.cols - 1
        out[p.sheet] = (max(rows, p.sheet_row(p.rows - 1)), max(cols, last_col))
    return out


def _extra_sheets(archive: Archive, bounds: cells.Bounds, config: dict[str, object]) -> list[str]:
    """Sheets the layout does not have: their settings no longer explain them (a count lowered
    so that they would go unchecked?)."""
    extra = [name for name in archive.parts if name not in bounds]
    if not extra:
        return []
    shown = ", ".join(repr(name) for name in extra[:5]) + (" …" if len(extra) > 5 else "")
    return [f"the workbook holds {len(extra)} sheet{'s' * (len(extra) > 1)} its settings do not"
            f" explain ({shown}); were its settings changed (iterations"
            f" {config.get('iterations')})?"]


def _outside(scans: dict[str, cells.Scan]) -> list[str]:
    """Content beyond the cells the layout writes: no sheetnet workbook has it."""
    out = []
    for sheet, found in scans.items():
        if found.outside_count:
            named = ", ".join(f"{sheet_prefix(sheet)}{a1(r, c)}" for r, c in found.outside[:3])
            more = f" and {found.outside_count - 3:,} more" if found.outside_count > 3 else ""
            out.append(f"{named}{more} hold{'s' * (found.outside_count == 1)} content outside"
                       f" the cells this workbook's layout writes; remove it (verify reads"
                       f" only the layout's cells)")
    return out


def _missing_sheets(places: list[Place], archive: Archive) -> list[str]:
    missing: dict[str, list[Place]] = {}
    for p in places:
        if p.sheet not in archive.parts:
            missing.setdefault(p.sheet, []).append(p)
    return [f"the sheet {sheet!r} is missing (renamed or deleted?): its {len(ps)} blocks,"
            f" {sum(p.size for p in ps):,} cells, cannot be checked"
            for sheet, ps in missing.items()]


def _check_formulas(places: list[Place], scans: dict[str, cells.Scan], archive: Archive,
                    report: Report) -> bool:
    """Findings where a cell's kind differs from the layout's: a constant typed over a formula,
    or an input that is a formula (an input must be a plain value). False when an input is a
    formula, since the run the workbook describes is then unknown."""
    grids = {sheet: found.formulas for sheet, found in scans.items()}
    inputs_ok = True
    constants = 0
    for p in places:
        grid = grids.get(p.sheet)
        if grid is None or p.kind == "constant":
            continue
        rows, cols = _coords(p)
        inside = (rows <= grid.shape[0]) & (cols <= grid.shape[1])
        is_formula = np.zeros(rows.shape, bool)
        is_formula[inside] = grid[rows[inside] - 1, cols[inside] - 1]
        wrong = is_formula if p.kind == "input" else ~is_formula
        for i, r, c in np.argwhere(wrong)[:10]:
            cell = a1(int(rows[i, r, c]), int(cols[i, r, c]))
            img = f", image {i + 1}" if p.images else ""
            where = f"{sheet_prefix(p.sheet)}{cell} ({p.name}{img})"
            if p.kind == "input":
                text = formula_text(archive.path, archive.parts[p.sheet], cell)
                report.findings.append(f"{where} holds a formula ({text}); an input must be a"
                                       " plain value: type one there")
                inputs_ok = False
            elif constants < 10:
                report.findings.append(f"{where} holds a constant where the layout has a"
                                       " formula: the workbook no longer computes it")
        if p.kind != "input":
            constants += int(wrong.sum())
    if constants > 10:
        report.findings.append(f"{constants:,} cells in all hold constants where the layout has"
                               " formulas")
    return inputs_ok


def _recalculate(engine: engines.Engine, job: chunks.Job, tmp: Path, timeout: float,
                 progress: Listener, cancel: threading.Event) -> engines.Recalculated:
    """One engine's run in its own folder (in a worker thread), its values read within the
    job's bounds: the whole workbook in one process, or in chunks (``chunks.py``)."""
    workdir = Path(tempfile.mkdtemp(prefix=f"{engine.name}-", dir=tmp))
    progress.phase(engine.title, "starting")
    return chunks.recalculate(engine, job, workdir, timeout,
                              functools.partial(progress.phase, engine.title), cancel)


def _formula_cells(path: Path, parts: dict[str, str], bounds: cells.Bounds, tmp: Path,
                   timeout: float, cancel: threading.Event) -> dict[str, cells.Scan]:
    """Which cells of these sheets hold formulas, each sheet checked to be well-formed XML: in
    a process of its own (``scan_worker``), so that reading a big workbook's XML shares no
    lock with the threads that feed its chunks to the engines."""
    job, out = tmp / "scan-job.pickle", tmp / "scans.pickle"
    with open(job, "wb") as f:
        pickle.dump((parts, bounds), f)
    engines.run_child([sys.executable, "-m", "sheetnet.audit.scan_worker", str(path), str(job),
                       str(out)], "reading the workbook", timeout, lambda _: None, cancel)
    with open(out, "rb") as f:
        found = pickle.load(f)
    out.unlink()
    if "error" in found:
        raise SheetnetError(found["error"])
    return found["scans"]


@dataclass
class _Seeds:
    """The seed sheets of the chunks: each formula cell as NumPy computes it from the file's
    inputs (``trace``, no engine's numbers in it), every other cell as the file has it."""

    path: Path
    parts: dict[str, str]
    bounds: cells.Bounds
    places: list[Place]
    trace: object

    def sheet(self, name: str) -> bytes:
        scan = cells.read(self.path, self.parts, {name: self.bounds[name]})[name]
        mine = [p for p in self.places if p.sheet == name]
        computed = chunks.computed_grid(mine, lambda p: p.expected(self.trace),  # type: ignore[arg-type]
                                        scan.numbers.shape)
        return chunks.seed(scan, scan.formulas, computed)


# --- inputs --------------------------------------------------------------------------------


def _read_inputs(sheets: dict[str, cells.Scan], preset: presets.Preset, skeleton: Run,
                 inputs: list[Place]) -> tuple[Run, int]:
    """Every input cell (data, classes, initial values, η) as the file holds it; the run they
    describe."""
    text = preset.text_inputs(skeleton)
    found: dict[str | tuple[str, int], object] = {}  # by name; per iteration by (name, k)
    for p in inputs:
        if p.sheet not in sheets:
            raise SheetnetError(f"the workbook has no {p.sheet} sheet; export it again")
        sheet = sheets[p.sheet]
        key = p.name if p.iteration is None else (p.name, p.iteration)
        found[key] = _labels(sheet, p) if p.name in text else _input_numbers(sheet, p)
    return preset.rebuild(skeleton, found), sum(p.size for p in inputs)


def _coords(p: Place) -> tuple[np.ndarray, np.ndarray]:
    """Sheet rows and columns (1-based) of a place's cells, each (images or 1, rows, cols)."""
    shape = (max(p.images, 1), p.rows, p.cols)
    rows = p.sheet_rows()[None, :, None]
    cols = p.col + np.arange(shape[0])[:, None, None] * p.stride + np.arange(p.cols)
    return np.broadcast_to(rows, shape), np.broadcast_to(cols, shape)


def _numbers(sheet: vals.SheetValues, p: Place) -> np.ndarray:
    """A place's cells as floats (nan where a cell holds no number), (images or 1, rows, cols)."""
    rows, cols = _coords(p)
    grid = sheet.numbers
    out = np.full(rows.shape, np.nan)
    inside = (rows <= grid.shape[0]) & (cols <= grid.shape[1])
    out[inside] = grid[rows[inside] - 1, cols[inside] - 1]
    return out


def _input_numbers(sheet: vals.SheetValues, p: Place) -> np.ndarray:
    out = _numbers(sheet, p)
    if np.isnan(out).any():
        rows, cols = _coords(p)
        i = tuple(np.argwhere(np.isnan(out))[0])
        cell = a1(int(rows[i]), int(cols[i]))
        raise SheetnetError(f"{sheet_prefix(p.sheet)}{cell} ({p.name}) must hold a number; put a"
                            " number there")
    return p.ungrid(out)


def _labels(sheet: vals.SheetValues, p: Place) -> tuple[object, ...]:
    rows, cols = _coords(p)
    out: list[object] = []
    for r, c in zip(rows.ravel(), cols.ravel(), strict=True):
        v = sheet.value(int(r), int(c))
        if v is None or v == "":
            raise SheetnetError(f"{sheet_prefix(p.sheet)}{a1(int(r), int(c))} ({p.name}) is"
                                " empty; give it a label")
        out.append(float(v) if isinstance(v, (int, float)) and not isinstance(v, bool)
                   else str(v))
    return tuple(out)


# --- comparison ----------------------------------------------------------------------------


class EngineAnchor:
    """A net's parameters and update-rule state as an engine recalculated them, iteration by
    iteration (a ``descent.Anchor``): NumPy re-runs each iteration from them, so every cell is
    checked against what its own inputs give, and the rounding of a chaotic run does not pile
    up over its iterations into a false difference."""

    def __init__(self, values: vals.Values, places: Sequence[Place], run: Run, first: int = 0):
        self.first = first  # before it, the run's own numbers (a chunk's seed, chunks.py)
        self.values = values
        self.shapes = {name: np.shape(v) for name, v in run.params.items()}
        self.kinds = {name: () if name in run.frozen else run.rule.state
                      for name in run.params}  # a frozen parameter has no state
        self.at = {(p.name, p.iteration): p for p in places
                   if p.kind == "formula" and p.iteration is not None}

    def _read(self, name: str, k: int, shape: tuple[int, ...]) -> np.ndarray | None:
        if k < self.first:
            return None
        place = self.at.get((name, k))
        if place is None or place.sheet not in self.values:
            return None
        value = _numbers(self.values[place.sheet], place).reshape(shape)
        return value if np.all(np.isfinite(value)) else None

    def params(self, k: int) -> dict[str, np.ndarray] | None:
        found = {name: self._read(name, k, shape) for name, shape in self.shapes.items()}
        return None if any(v is None for v in found.values()) else found  # type: ignore[return-value]

    def state(self, k: int) -> dict[str, dict[str, np.ndarray]] | None:
        found = {name: {kind: self._read(names.state(kind, name), k, shape)
                        for kind in self.kinds[name]} for name, shape in self.shapes.items()}
        if any(v is None for s in found.values() for v in s.values()):
            return None
        return found  # type: ignore[return-value]


# --- comparison ----------------------------------------------------------------------------


@dataclass(frozen=True)
class Differing:
    """A place's differing cells: their (image, r, c) indices and both values."""

    place: Place
    where: tuple[np.ndarray, np.ndarray, np.ndarray]
    got: np.ndarray
    want: np.ndarray

    def sheet_cells(self) -> tuple[np.ndarray, np.ndarray]:
        """Their sheet rows and columns (1-based)."""
        p, (i, r, c) = self.place, self.where
        return p.sheet_rows()[r], p.col + c + i * p.stride


def _compare_all(values: vals.Values, by_sheet: dict[str, list[Place]], trace,
                 er: EngineReport, advance: Callable[[], None]) -> dict[str, list[Differing]]:
    """Compare every place; the differing cells, per sheet."""
    bad: dict[str, list[Differing]] = {}
    for sheet in by_sheet:
        if sheet not in values:
            raise SheetnetError(f"the engine's copy of the workbook has no {sheet!r} sheet;"
                                " is the workbook damaged?")
    for sheet, found in values.items():
        er.error_count += len(found.errors)
        for (r, c), text in sorted(found.errors.items())[:20 - len(er.error_cells)]:
            er.error_cells.append(f"{sheet_prefix(sheet)}{a1(r, c)}: {text}")
        for p in by_sheet.get(sheet, []):
            actual, expected = _numbers(found, p), p.expected(trace)
            where = _compare(p, actual, expected, er)
            if where is not None:
                bad.setdefault(sheet, []).append(Differing(p, where, actual[where],
                                                           expected[where]))
        advance()
    return bad


def _compare(p: Place, actual: np.ndarray, expected: np.ndarray,
             er: EngineReport) -> tuple | None:
    key = p.name if p.iteration is not None else f"{p.name} ({p.sheet})"
    b = er.blocks.setdefault(key, BlockReport(key))
    diff = np.abs(actual - expected)
    rel = diff / np.maximum(np.abs(expected), np.finfo(float).tiny)
    good = (diff <= TOLERANCE) | (rel <= TOLERANCE)  # nan (no number) is never good
    b.cells += actual.size
    finite = np.isfinite(diff)
    if finite.any():
        b.max_abs = max(b.max_abs, float(diff[finite].max()))
        b.max_err = max(b.max_err, float(np.minimum(rel[finite], diff[finite]).max()))
    if good.all():
        return None
    where = np.nonzero(~good)
    b.bad += len(where[0])
    if b.first_bad is None:
        i, r, c = (int(v[0]) for v in where)
        b.first_bad = _describe(p, i, r, c, actual[i, r, c], expected[i, r, c])
    return where


def _describe(p: Place, i: int, r: int, c: int, got: float, want: float) -> str:
    cell = a1(p.sheet_row(r), p.col + c + i * p.stride)
    img = f", image {i + 1}" if p.images else ""
    shown = "no number" if np.isnan(got) else f"{got:.15g}"
    return f"{sheet_prefix(p.sheet)}{cell} ({p.name}{img}): workbook {shown}, NumPy {want:.15g}"


# --- root causes ---------------------------------------------------------------------------


def _find_roots(path: Path, bad: dict[str, list[Differing]], places: list[Place],
                formulas: dict[tuple[str, int, int], str | None], er: EngineReport,
                timeout: float, phase: Callable[[str], None],
                cancel: threading.Event | None = None) -> None:
    """Name the differing cells whose references all agree, earliest iteration first."""
    masks: dict[str, np.ndarray] = {}
    cells: list[tuple[float, int, str, int, int, Differing, int]] = []
    sheet_order = {p.sheet: k for k, p in reversed(list(enumerate(places)))}
    for sheet, found in bad.items():
        coords = [d.sheet_cells() for d in found]
        height = max(int(rows.max()) for rows, _ in coords)
        width = max(int(cols.max()) for _, cols in coords)
        mask = masks[sheet] = np.zeros((height, width), bool)
        for d, (rows, cols) in zip(found, coords, strict=True):
            mask[rows - 1, cols - 1] = True
            order = float("inf") if d.place.iteration is None else d.place.iteration
            cells += [(order, sheet_order.get(sheet, 0), sheet, int(row), int(col), d, k)
                      for k, (row, col) in enumerate(zip(rows, cols, strict=True))]
    cells.sort(key=lambda t: t[:2] + t[3:5])
    cells = cells[:MAX_EXAMINED]
    examined = [(sheet, row, col) for _, _, sheet, row, col, _, _ in cells]
    wanted = [cell for cell in examined if cell not in formulas]
    if wanted:
        formulas.update(engines.formulas(path.resolve(), wanted, timeout,
                                         lambda text: phase(f"formulas: {text}"), cancel))
    found_roots = causes.roots(masks, examined, formulas)
    er.examined = len(examined)
    er.downstream = er.bad - len(found_roots)
    detail = {(t[2], t[3], t[4]): t for t in cells}
    for root in found_roots[:10]:
        d, k = detail[root.sheet, root.row, root.col][5:]
        i = int(d.where[0][k])
        img = f", image {i + 1}" if d.place.images else ""
        got = "no number" if np.isnan(d.got[k]) else f"{d.got[k]:.15g}"
        formula = root.formula if root.formula is not None else "a constant, not a formula"
        er.roots.append(f"{sheet_prefix(root.sheet)}{a1(root.row, root.col)} ({d.place.name}"
                        f"{img}): workbook {got}, NumPy {d.want[k]:.15g}; it holds {formula}")
