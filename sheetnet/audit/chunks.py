"""Recalculate a big workbook a few iteration sheets at a time, in separate engine processes.

An engine holds the whole workbook in memory while it recalculates it, and works on one core.
So a workbook of many iteration sheets is split into chunks of consecutive iterations, each a
copy of the workbook in which only its own iteration sheets keep their formulas (as the file
has them) beside the sheets of inputs; the sheet before its first is a *seed*: every cell as a
constant, each formula cell holding what the NumPy core computes from the file's own inputs
(never the file's stored values, which an edit makes stale). The chunks run on every core at
once. The sheets over all iterations (the Summary, Statistics …) are recalculated last, in a
copy whose iteration sheets hold only the cells they reference, as the engine computed them.

Induction over the chunks gives the guarantee of one whole recalculation: each chunk's first
sheet is checked against what NumPy computes from the seed, and the seed is NumPy's own run.
``descent``'s anchor then re-runs each chunk from its own seed (``EngineAnchor.first``).
"""

from __future__ import annotations

import math
import re
import threading
import time
import zipfile
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor, as_completed
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass
from html import escape, unescape
from pathlib import Path

import numpy as np

from sheetnet.audit import engines
from sheetnet.audit import values as vals
from sheetnet.audit.cells import column
from sheetnet.audit.tokens import parse_ref, shift, tokens
from sheetnet.workbook.layout import COL, Place

Rect = tuple[int, int, int, int]  # first row, first column, last row, last column (1-based)

_COLOURS = re.compile(rb"<conditionalFormatting\b.*?</conditionalFormatting>", re.S)
_SHEET_DATA = re.compile(rb"<sheetData\s*/>|<sheetData\b[^>]*>.*</sheetData>", re.S)
_FORMULA_CELL = re.compile(
    rb'<c r="([A-Z]{1,3})([0-9]{1,7})"[^>]*(?<!/)>(?:(?!</c>).)*?<f([^>]*?)(?:/>|>([^<]*)</f>)',
    re.S)
_SI = re.compile(rb'\bsi="(\d+)"')
_FORMULA_TEXT = re.compile(rb"<f\b[^>]*>([^<]+)</f>")
_SHEET_NAME = re.compile(r"(?:'((?:[^']|'')+)'|([A-Za-z_][\w.]*))!")
_PRINT_NAMES = re.compile(rb'<definedName\b[^>]*\bname="_xlnm\.[^"]*"[^>]*>[^<]*</definedName>')


@dataclass(frozen=True)
class Chunk:
    """Iterations ``first``..``last`` of a workbook, recalculated in one engine process."""

    first: int
    last: int


def iteration_sheets(places: Iterable[Place]) -> dict[str, int]:
    """Each sheet whose blocks all belong to one iteration, with that iteration."""
    found: dict[str, set[int | None]] = {}
    for p in places:
        found.setdefault(p.sheet, set()).add(p.iteration)
    return {sheet: next(iter(ks)) for sheet, ks in found.items()  # type: ignore[misc]
            if len(ks) == 1 and None not in ks}


def plan(places: list[Place], most: int, split_above: int, workers: int,
         alone: int | None = None) -> list[Chunk]:
    """Consecutive iterations in chunks of at most ``most`` cells each (but one sheet, however
    big), and in at least ``workers`` chunks once the iteration sheets pass ``split_above``
    cells; one chunk (recalculated whole, as the file is) for a workbook within
    ``split_above`` that one process holds alone (``alone`` cells; default ``most``)."""
    sheets = iteration_sheets(places)
    size: dict[int, int] = {}
    for p in places:
        if p.sheet in sheets:
            size[sheets[p.sheet]] = size.get(sheets[p.sheet], 0) + p.size
    ks = sorted(size)
    total = sum(size.values())
    if len(ks) < 2 or total <= max(split_above, 1) and total <= max(most, alone or 0):
        return [Chunk(ks[0], ks[-1])] if ks else []
    parts = max(math.ceil(total / max(most, 1)), min(workers, len(ks)))
    target = total / parts
    chunks: list[Chunk] = []
    start, held = ks[0], 0
    for k in ks:  # cut where a chunk comes nearest its share, never past ``most``
        if held and (held + size[k] / 2 > target or held + size[k] > most):
            chunks.append(Chunk(start, k - 1))
            start, held = k, 0
        held += size[k]
    chunks.append(Chunk(start, ks[-1]))
    return chunks


# --- the copies an engine recalculates ------------------------------------------------------


def write_copy(src: Path, parts: Mapping[str, str], out: Path, whole: set[str],
               given: Mapping[str, bytes]) -> None:
    """A copy of ``src`` at ``out`` (stored, not compressed) in which the sheets in ``whole``
    are as the file has them, each sheet in ``given`` holds only those cells (its
    ``<sheetData>``), and every other sheet is empty; without colour scales and print titles,
    on which no value depends (IronCalc evaluates every colour rule for every cell it covers,
    a third of its time; LibreOffice took 64 s to load the print titles of the rnn workbook's
    108 sheets, and 2 s without them)."""
    by_part = {part: sheet for sheet, part in parts.items()}
    with zipfile.ZipFile(src) as z, zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as dst:
        for item in z.infolist():
            body = z.read(item.filename)
            sheet = by_part.get(item.filename)
            if sheet is not None:
                body = _sheet(body, None if sheet in whole else given.get(sheet, b"<sheetData/>"))
            elif item.filename == "xl/workbook.xml":
                body = _PRINT_NAMES.sub(b"", body)
            dst.writestr(item.filename, body)


def _sheet(xml: bytes, data: bytes | None) -> bytes:
    """A sheet's XML with ``data`` as its cells (None: its own), its colour scales removed."""
    cut = xml.rfind(b"</sheetData>")
    head, tail = (xml[:cut], xml[cut:]) if cut >= 0 else (xml, b"")
    if b"<conditionalFormatting" in tail:
        tail = _COLOURS.sub(b"", tail)
    if data is not None:
        whole = head + tail
        m = _SHEET_DATA.search(whole)
        if m is None:
            return whole
        return whole[:m.start()] + data + whole[m.end():]
    return head + tail


def cells_xml(numbers: np.ndarray, others: Mapping[tuple[int, int], object],
              keep: np.ndarray | None = None) -> bytes:
    """A ``<sheetData>`` of constants: each number of ``numbers`` (nan: none) and each value of
    ``others`` ((row, col) -> text or boolean), where ``keep`` is True (None: everywhere)."""
    rows: dict[int, list[tuple[int, str]]] = {}
    mask = ~np.isnan(numbers) if keep is None else keep & ~np.isnan(numbers)
    rs, cs = np.nonzero(mask)
    for r, c, v in zip(rs.tolist(), cs.tolist(), numbers[rs, cs].tolist(), strict=True):
        rows.setdefault(r + 1, []).append((c + 1, f'<c r="{COL[c + 1]}{r + 1}"><v>{v!r}</v></c>'))
    for (r, c), v in others.items():
        if keep is not None and not (r <= keep.shape[0] and c <= keep.shape[1]
                                     and keep[r - 1, c - 1]):
            continue
        ref = f"{COL[c]}{r}"
        xml = (f'<c r="{ref}" t="b"><v>{int(v)}</v></c>' if isinstance(v, bool) else
               f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(v), False)}'
               f"</t></is></c>")
        rows.setdefault(r, []).append((c, xml))
    out = ["<sheetData>"]
    for r in sorted(rows):
        out.append(f'<row r="{r}">' + "".join(x for _, x in sorted(rows[r])) + "</row>")
    out.append("</sheetData>")
    return "".join(out).encode("utf-8")


def seed(scan: vals.SheetValues, formulas: np.ndarray, computed: np.ndarray) -> bytes:
    """A seed sheet's cells: where the file has a formula, NumPy's number for it
    (``computed``, nan where NumPy has none: the file's own then); elsewhere the file's value."""
    numbers = scan.numbers.copy()
    h, w = (min(a, b) for a, b in zip(numbers.shape, computed.shape, strict=True))
    mine = formulas[:h, :w] & ~np.isnan(computed[:h, :w])
    numbers[:h, :w][mine] = computed[:h, :w][mine]
    return cells_xml(numbers, scan.others)


def computed_grid(places: Iterable[Place], expected: Callable[[Place], np.ndarray],
                  shape: tuple[int, int]) -> np.ndarray:
    """One sheet's formula blocks as NumPy computed them, on a grid of ``shape`` (nan
    elsewhere)."""
    grid = np.full(shape, np.nan)
    for p in places:
        if p.kind != "formula":
            continue
        rows = p.sheet_rows()[None, :, None]
        cols = p.col + np.arange(max(p.images, 1))[:, None, None] * p.stride + np.arange(p.cols)
        rows, cols = np.broadcast_arrays(rows, cols)
        value = np.broadcast_to(expected(p), rows.shape)
        inside = (rows <= shape[0]) & (cols <= shape[1])
        grid[rows[inside] - 1, cols[inside] - 1] = value[inside]
    return grid


# --- what the sheets over all iterations reference -------------------------------------------


def references(xml: bytes) -> dict[str, list[Rect]]:
    """Every cell range a sheet's formulas reference on another sheet, by that sheet (a shared
    formula's cells each with the first cell's formula moved to them)."""
    masters: dict[bytes, tuple[int, int, str]] = {}
    out: dict[str, list[Rect]] = {}
    for m in _FORMULA_CELL.finditer(xml):
        row, col = int(m.group(2)), column(m.group(1))
        attrs, text = m.group(3), m.group(4)
        si = _SI.search(attrs) if b"shared" in attrs else None
        if text:
            formula = unescape(text.decode("utf-8", "replace"))
            if si is not None:
                masters[si.group(1)] = (row, col, formula)
        elif si is not None and si.group(1) in masters:
            m_row, m_col, m_text = masters[si.group(1)]
            formula = shift(m_text, row - m_row, col - m_col)
        else:
            continue
        for t in tokens(formula):
            if t.kind == "ref" and "!" in t.text:
                ref = parse_ref(t.text)
                if ref.sheet is not None:
                    out.setdefault(ref.sheet, []).append(
                        (ref.row, ref.col, ref.last_row, ref.last_col))
    return out


def sheets_named(src: Path, parts: Iterable[str]) -> set[str]:
    """Every sheet name the formulas of these sheet parts name (a shared formula's cells name
    what its first cell names; a name in a text cell counts too, which only keeps a sheet
    more): the other sheets a chunk must hold whole."""
    found: set[str] = set()
    with zipfile.ZipFile(src) as z:
        for part in parts:
            for raw in _FORMULA_TEXT.findall(z.read(part)):
                text = unescape(raw.decode("utf-8", "replace"))
                for quoted, plain in _SHEET_NAME.findall(text):
                    found.add(quoted.replace("''", "'") if quoted else plain)
    return found


def referenced(values: vals.SheetValues, rects: list[Rect]) -> bytes:
    """The cells of ``rects`` as an engine computed them, as constants."""
    h, w = values.numbers.shape
    keep = np.zeros((h, w), bool)
    for r0, c0, r1, c1 in rects:
        keep[max(r0, 1) - 1:min(r1, h), max(c0, 1) - 1:min(c1, w)] = True
    return cells_xml(values.numbers, values.others, keep)


# --- running the chunks ------------------------------------------------------------------------


@dataclass
class Job:
    """One engine's run over a workbook in chunks: what it needs beside the engine."""

    src: Path
    parts: dict[str, str]  # sheet -> its XML part, in the workbook's order
    places: list[Place]
    chunks: list[Chunk]
    bounds: vals.Bounds
    seeds: Future  # resolves to a function: sheet -> its seed's <sheetData> (NumPy's numbers)
    slots: threading.Semaphore  # engine processes allowed at once (one a core), all engines'
    workers: int  # … how many


def recalculate(engine: engines.Engine, job: Job, workdir: Path, timeout: float,
                phase: Callable[[str], None], cancel: threading.Event
                ) -> engines.Recalculated:
    """Every chunk of ``job`` recalculated by ``engine`` (at most ``job.slots`` processes at
    once), then the sheets over all iterations; their values joined as one workbook's. One
    chunk: the whole workbook, as a copy without what no value depends on (``write_copy``)."""
    started = time.perf_counter()
    if len(job.chunks) < 2:  # the whole workbook in one process
        return _run(engine, job, set(job.parts), {}, set(job.parts), workdir / "whole",
                    timeout, phase, cancel)
    sheets = iteration_sheets(job.places)
    sheet_of = {k: s for s, k in sheets.items()}
    rest = {s for s in job.parts if s not in sheets}
    n = len(job.chunks)
    stop = threading.Event()  # this engine's chunks end: one failed, or the caller's cancel

    def one(i: int, chunk: Chunk) -> engines.Recalculated:
        own = {sheet_of[k] for k in range(chunk.first, chunk.last + 1)}
        given: dict[str, bytes] = {}
        inputs = rest & sheets_named(job.src, [job.parts[s] for s in own])
        if chunk.first - 1 in sheet_of:
            while True:  # the seed: NumPy's run from the file's inputs
                if stop.is_set():
                    raise engines.Cancelled(engine.title)
                try:
                    seeds = job.seeds.result(timeout=0.1)
                    break
                except FutureTimeout:
                    continue
            given[sheet_of[chunk.first - 1]] = seeds(sheet_of[chunk.first - 1])
        return _run(engine, job, own | inputs, given, own, workdir / f"chunk-{i + 1}",
                    timeout, lambda text: phase(f"iterations {chunk.first}–{chunk.last}"
                                                f" ({i + 1} of {n}): {text}"), stop)

    def follow() -> None:  # the caller's cancel ends this engine's chunks too
        while not stop.wait(0.05):
            if cancel.is_set():
                stop.set()

    threading.Thread(target=follow, daemon=True).start()
    try:
        with ThreadPoolExecutor(n) as pool:
            futures = [pool.submit(one, i, c) for i, c in enumerate(job.chunks)]
            for f in as_completed(futures):
                if f.exception() is not None and not isinstance(f.exception(),
                                                                engines.Cancelled):
                    stop.set()  # the others end at once; this one's error is the reason
                    raise f.exception()  # type: ignore[misc]  # an exception, not None
            done = [f.result() for f in futures]
    finally:
        stop.set()
    values: vals.Values = {}
    for part in done:
        values.update(part.values)
    last = _run(engine, job, rest, _referenced_by(job, rest, values), rest,
                workdir / "over-all-iterations", timeout,
                lambda text: phase(f"the sheets over all iterations: {text}"), cancel)
    values.update(last.values)
    ordered = {s: values[s] for s in job.parts if s in values}
    peaks = sorted((r.peak_bytes for r in done), reverse=True)
    at_once = max(sum(peaks[:job.workers]), last.peak_bytes)
    return engines.Recalculated(ordered, time.perf_counter() - started,
                                sum(r.read_seconds for r in [*done, last]), at_once,
                                tuple(c.first for c in job.chunks))


def _referenced_by(job: Job, rest: set[str], values: vals.Values) -> dict[str, bytes]:
    """The cells of the recalculated sheets that the sheets in ``rest`` reference, as
    constants, by sheet."""
    wanted: dict[str, list[Rect]] = {}
    with zipfile.ZipFile(job.src) as z:
        for sheet in rest:
            for target, rects in references(z.read(job.parts[sheet])).items():
                if target in values and target not in rest:
                    wanted.setdefault(target, []).extend(rects)
    return {sheet: referenced(values[sheet], rects) for sheet, rects in wanted.items()}


def _run(engine: engines.Engine, job: Job, whole: set[str], given: dict[str, bytes],
         own: set[str], folder: Path, timeout: float, phase: Callable[[str], None],
         cancel: threading.Event) -> engines.Recalculated:
    """One copy written and recalculated (in a slot), its ``own`` sheets' values read."""
    folder.mkdir()
    copy = folder / "workbook.xlsx"
    write_copy(job.src, job.parts, copy, whole, given)
    with job.slots:
        if cancel.is_set():
            raise engines.Cancelled(engine.title)
        found = engine.recalculate(copy, folder, timeout, phase, cancel,
                                   {s: b for s, b in job.bounds.items() if s in own}, plain=True)
    copy.unlink()
    return found
