"""The spreadsheet engines ``sheetnet verify`` recalculates a workbook in, known in one place.

Each engine runs as a child process in its own process group, so a timeout or Ctrl-C ends it
and everything it started; its temporary files live in a folder the caller owns and removes.
Adding an engine is one ``Engine(...)`` entry in ``ENGINES``.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sheetnet.audit import values as vals
from sheetnet.errors import SheetnetError

Phase = Callable[[str], None]  # told what the engine is doing now ("loading", …)


@dataclass
class Recalculated:
    """What an engine hands back: every cell's value, and what it cost."""

    values: vals.Values
    seconds: float  # the engine's own run (its child process)
    read_seconds: float  # reading its values into arrays
    peak_bytes: int  # the engine process's peak resident memory (with its children); in
    # chunks, the most its processes held at once (the largest ones that could run together)
    firsts: tuple[int, ...] = ()  # in chunks: each chunk's first iteration (its seed's next)


@dataclass(frozen=True)
class Engine:
    name: str  # as given to --engine
    title: str  # as shown to the user
    install: str  # how to get it, for the one-line error when it is missing
    cost: str  # what a run costs, for --help and the README
    available: Callable[[], bool]
    # (src, workdir, timeout, phase, cancel, bounds, plain=False): cancel, when set, ends the
    # engine at once; bounds: the rows and columns read of each sheet (None: all, a trusted
    # file); plain: the file has no colour scales to drop (a chunk's copy)
    recalculate: Callable[..., Recalculated]
    # the bytes one process takes a cell (its peak memory over the cells, measured on the
    # default cnn and rnn workbooks); the cells above which a workbook is split over the cores
    # even when it fits ``memory`` (a chunk costs a process's start and the input sheets'
    # load again, and on 2 cores it shares them with verify's own reading: IronCalc gains
    # little below a million cells; LibreOffice splits only for its memory)
    bytes_per_cell: int = 400
    split_above: int = 1 << 62
    memory: int = 1 << 30  # what its processes may hold at once, about
    base: int = 0  # what one process holds before its first cell (LibreOffice's start-up)

    def most_cells(self, workers: int) -> int:
        """The cells of one chunk when ``workers`` of its processes may run at once."""
        room = self.memory // max(workers, 1) - self.base
        return max(room // self.bytes_per_cell, 1)

    def missing(self) -> str:
        return f"the {self.title} engine is not installed; {self.install}"


@dataclass
class Child:
    seconds: float
    peak_bytes: int
    stderr: str


class Cancelled(Exception):
    """The engine was ended because the caller stopped (Ctrl-C, or another engine failed)."""


def run_child(argv: list[str], title: str, timeout: float, phase: Phase,
              cancel: threading.Event | None = None, env: dict[str, str] | None = None,
              phases_on_stdout: bool = False) -> Child:
    """Run an engine's process group to its end, within ``timeout`` seconds.

    The whole group is killed on a timeout, when ``cancel`` is set, or on any error, so no
    engine process outlives the call. ``phases_on_stdout``: each line the child prints names
    its phase.
    """
    started = time.perf_counter()
    if cancel is not None and cancel.is_set():
        raise Cancelled(title)
    with tempfile.TemporaryFile() as err:
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=err, env=env, start_new_session=True)
        said: list[str] = []
        reader = threading.Thread(target=_read_lines, args=(proc.stdout, said), daemon=True)
        reader.start()
        shown = None
        try:
            while True:
                pid, status, usage = os.wait4(proc.pid, os.WNOHANG)
                if pid:
                    proc.returncode = os.waitstatus_to_exitcode(status)
                    break
                if time.perf_counter() - started > timeout:
                    raise SheetnetError(f"{title} did not finish within {timeout:g} s; give it"
                                        " more with --timeout")
                if cancel is not None and cancel.is_set():
                    raise Cancelled(title)
                if phases_on_stdout and said and said[-1] != shown:
                    shown = said[-1]
                    phase(shown)
                time.sleep(0.05)
        finally:
            _end_group(proc)
            reader.join(timeout=5)
        err.seek(0)
        stderr = err.read().decode("utf-8", "replace")
    if proc.returncode != 0:
        lines = [line for line in stderr.splitlines() if line.strip()]
        last = lines[-1].strip()[:300] if lines else f"exit {proc.returncode}"
        raise SheetnetError(f"{title} failed while recalculating ({last}); the workbook passed"
                            " sheetnet's own checks, so this is the engine's failure: try"
                            " again, or another --engine")
    # ru_maxrss is in kilobytes on Linux
    return Child(time.perf_counter() - started, usage.ru_maxrss * 1024, stderr)


def _read_lines(stream, out: list[str]) -> None:
    for raw in stream:
        line = raw.decode("utf-8", "replace").strip()
        if line:
            out.append(line)
    stream.close()


def _end_group(proc: subprocess.Popen) -> None:
    """Kill whatever is left of the child's process group and reap the child."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, signal.SIGKILL)
    if proc.returncode is None:
        with contextlib.suppress(ChildProcessError):
            os.waitpid(proc.pid, 0)
        proc.returncode = -signal.SIGKILL


# --- IronCalc: embedded, installs with pip ----------------------------------------------------


def _ironcalc(src: Path, workdir: Path, timeout: float, phase: Phase,
              cancel: threading.Event | None = None,
              bounds: vals.Bounds | None = None, plain: bool = False) -> Recalculated:
    out = workdir / "ironcalc-values.pickle"
    child = run_child([sys.executable, "-m", "sheetnet.audit.ironcalc_worker", "values",
                       str(src), str(out), *(["plain"] if plain else [])], "IronCalc", timeout,
                      phase, cancel, phases_on_stdout=True)
    phase("reading values")
    t0 = time.perf_counter()
    with open(out, "rb") as f:
        found = pickle.load(f)
    out.unlink()
    values = _from_worker(found, bounds)
    return Recalculated(values, child.seconds, time.perf_counter() - t0, child.peak_bytes)


def _from_worker(found: dict, bounds: vals.Bounds | None = None) -> vals.Values:
    """The worker's (sheet, row, col) lists as per-sheet grids, each within its bounds (a cell
    beyond them is left out: the file's own scan names it)."""
    idx, nums = found["idx"], found["nums"]
    out: vals.Values = {}
    for s, name in enumerate(found["sheets"]):
        if bounds is not None and name not in bounds:
            continue
        mine = idx[:, 0] == s
        rows, cols = idx[mine, 1], idx[mine, 2]
        extra = [(r, c) for t, r, c, _ in found["others"] + found["errors"] if t == s]
        if bounds is None:
            height = max([int(rows.max()) if rows.size else 0] + [r for r, _ in extra])
            width = max([int(cols.max()) if cols.size else 0] + [c for _, c in extra])
        else:
            height, width = bounds[name]
        inside = (rows <= height) & (cols <= width)
        grid = np.full((height, width), np.nan)
        grid[rows[inside] - 1, cols[inside] - 1] = nums[mine][inside]
        out[name] = vals.SheetValues(grid, np.zeros((height, width), bool))
    for key, kind in (("others", "others"), ("errors", "errors")):
        for t, r, c, v in found[key]:
            sheet = out.get(found["sheets"][t])
            if sheet is not None and r <= sheet.numbers.shape[0] and c <= sheet.numbers.shape[1]:
                getattr(sheet, kind)[r, c] = v
    return out


def formulas(src: Path, cells: list[tuple[str, int, int]], timeout: float, phase: Phase,
             cancel: threading.Event | None = None) -> dict[tuple[str, int, int], str | None]:
    """The formula text (``=…``, or None for a constant) of each (sheet, row, col) in ``src``."""
    with tempfile.TemporaryDirectory(prefix="sheetnet-formulas-") as tmp:
        want, out = Path(tmp) / "cells.pickle", Path(tmp) / "formulas.pickle"
        with open(want, "wb") as f:
            pickle.dump(cells, f)
        run_child([sys.executable, "-m", "sheetnet.audit.ironcalc_worker", "formulas",
                   str(src), str(want), str(out)], "IronCalc", timeout, phase, cancel,
                  phases_on_stdout=True)
        with open(out, "rb") as f:
            return pickle.load(f)


# --- LibreOffice: headless soffice with a throwaway profile -----------------------------------

# OOXMLRecalcMode 0 = "always recalculate": needed once a file carries cached values
# (e.g. after a user saved it), so every formula is computed afresh.
_LO_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def _soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def _libreoffice(src: Path, workdir: Path, timeout: float, phase: Phase,
                 cancel: threading.Event | None = None,
                 bounds: vals.Bounds | None = None, plain: bool = False) -> Recalculated:
    exe = _soffice()
    if exe is None:
        raise SheetnetError(ENGINES["libreoffice"].missing())
    profile = Path(tempfile.mkdtemp(prefix="lo-profile-", dir=workdir))
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(_LO_REGISTRY, encoding="utf-8")
    outdir = Path(tempfile.mkdtemp(prefix="lo-out-", dir=workdir))
    scratch = Path(tempfile.mkdtemp(prefix="lo-tmp-", dir=workdir))  # its lu*.tmp folders
    env = {**os.environ, "TMPDIR": str(scratch), "TMP": str(scratch), "TEMP": str(scratch)}
    phase("loading, recalculating and saving (headless soffice)")
    try:
        child = run_child([exe, f"-env:UserInstallation={profile.as_uri()}", "--headless",
                           "--norestore", "--nologo", "--nolockcheck", "--convert-to", "xlsx",
                           "--outdir", str(outdir), str(src)], "LibreOffice", timeout, phase,
                          cancel, env=env)
    finally:
        _remove_pipe(profile)
    result = outdir / (src.stem + ".xlsx")
    if not result.is_file():
        raise SheetnetError(f"LibreOffice wrote no recalculated copy of {src.name}; the"
                            " workbook passed sheetnet's own checks, so this is the engine's"
                            " failure: try again, or another --engine")
    return _read_saved(result, child, phase, bounds)


def pipe_of(profile: Path) -> Path:
    """LibreOffice's single-instance socket for a profile, which it leaves in /tmp when it is
    ended (a timeout, Ctrl-C): its name follows from the profile, an MD5 of the profile's URL
    in UTF-16, each byte in hexadecimal without a leading zero."""
    digest = hashlib.md5(profile.as_uri().encode("utf-16-le")).digest()
    hexed = "".join(f"{b:x}" for b in digest)
    return Path("/tmp") / f"OSL_PIPE_{os.getuid()}_SingleOfficeIPC_{hexed}"


def _remove_pipe(profile: Path) -> None:
    """This run's socket (``pipe_of``), and no other LibreOffice's."""
    with contextlib.suppress(OSError):
        pipe_of(profile).unlink()


def _read_saved(result: Path, child: Child, phase: Phase,
                bounds: vals.Bounds | None = None) -> Recalculated:
    phase("reading values")
    t0 = time.perf_counter()
    values = vals.read_xlsx(result, bounds)
    result.unlink()
    return Recalculated(values, child.seconds, time.perf_counter() - t0, child.peak_bytes)


# --- Gnumeric: ssconvert --recalc ---------------------------------------------------------------


def _gnumeric(src: Path, workdir: Path, timeout: float, phase: Phase,
              cancel: threading.Event | None = None,
              bounds: vals.Bounds | None = None, plain: bool = False) -> Recalculated:
    exe = shutil.which("ssconvert")
    if exe is None:
        raise SheetnetError(ENGINES["gnumeric"].missing())
    home = Path(tempfile.mkdtemp(prefix="gnumeric-home-", dir=workdir))
    result = workdir / "gnumeric-recalculated.xlsx"
    phase("loading, recalculating and saving (ssconvert --recalc)")
    env = {**os.environ, "HOME": str(home)}  # its settings land in our folder, not the user's
    child = run_child([exe, "--recalc", "--export-type=Gnumeric_Excel:xlsx2", str(src),
                       str(result)], "Gnumeric", timeout, phase, cancel, env=env)
    if not result.is_file():
        raise SheetnetError(f"Gnumeric wrote no recalculated copy of {src.name}; the"
                            " workbook passed sheetnet's own checks, so this is the engine's"
                            " failure: try again, or another --engine")
    return _read_saved(result, child, phase, bounds)


ENGINES: dict[str, Engine] = {e.name: e for e in (
    Engine("ironcalc", "IronCalc", "reinstall sheetnet (`pip install ironcalc`)",
           "embedded (installs with pip); the default and the fastest",
           lambda: importlib.util.find_spec("ironcalc") is not None, _ironcalc,
           bytes_per_cell=500, split_above=1_200_000),
    Engine("libreoffice", "LibreOffice",
           "install it, e.g. `apt-get install -y libreoffice-calc-nogui`, so that `soffice` is"
           " on PATH",
           "headless LibreOffice Calc: a second opinion; slower, and about 1.6 GB for the"
           " default cnn workbook", lambda: _soffice() is not None, _libreoffice,
           bytes_per_cell=3_800, split_above=1 << 62, memory=3 << 30, base=450 << 20),
    Engine("gnumeric", "Gnumeric",
           "install it, e.g. `apt-get install -y gnumeric`, so that `ssconvert` is on PATH",
           "Gnumeric's ssconvert --recalc: a third, independent opinion",
           lambda: shutil.which("ssconvert") is not None, _gnumeric,
           bytes_per_cell=1_000, split_above=1_200_000, memory=2 << 30),
)}

DEFAULT = "ironcalc"
WORKERS = max(min(os.cpu_count() or 1, 4), 1)  # engine processes at once, all engines together


def chosen(name: str) -> list[Engine]:
    """The engines ``--engine NAME`` asks for (``all``: every one), each checked installed."""
    if name == "all":
        picked = list(ENGINES.values())
    elif name in ENGINES:
        picked = [ENGINES[name]]
    else:
        raise SheetnetError(f"--engine {name!r} is not one of: {', '.join(ENGINES)}, all")
    for engine in picked:
        if not engine.available():
            raise SheetnetError(engine.missing())
    return picked
