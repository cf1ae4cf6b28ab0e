"""Check every transcript shown in the docs by running it.

A transcript is a ```text block whose first line starts with ``$ ``, or a ```pycon block (a
Python session, ``>>>`` prompts, checked by doctest with ``...`` elisions and whitespace
free). A ```text block's commands (``$ ...``, continued by a trailing backslash) run with
bash, in a fresh folder holding copies of ``workbooks/`` and ``examples/``, and what they print
(stdout and stderr, any exit code, on a terminal 100 columns wide) must show what the block
shows. A comment ``<!-- setup: COMMAND -->`` just before a block runs first in that folder (to
make the edited workbook a transcript verifies, say; ``$DOCS_TOOLS`` is this folder). Compared:

- whitespace, and the widths of a table's rules, are not (a table is as wide as its numbers);
- durations, rates and memory (``7.2 s``, ``289,819 cells/s``, ``388 MB``) are not: they differ
  from run to run; nor is an engine's rounding error below 1e-9 (``1.7e-15`` in verify's
  table): LibreOffice sums in threads, in an order of its own;
- a line holding only ``…`` (in a table: ``│ … │``) stands for any lines the block leaves out
  (a block shows all a command prints, or says where it leaves some out);
- everything else is: every digit of every cost, count and cell.

Usage: python docs/tools/transcripts.py [FILE.md ...] [--jobs 2] [--match TEXT] [--show]
Exit 0 when every transcript agrees; 1 naming each that does not.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
_BLOCK = re.compile(r"(?:<!-- setup: (?P<setup>.*?) -->\s*\n)?```(?P<kind>text|pycon)\n"
                    r"(?P<body>(?:\$|>>>) .*?)```", re.S)
# what differs from run to run: durations, rates, memory
_VOLATILE = re.compile(r"\d[\d,]*(?:\.\d+)?\s?(?:ms|min|s|MB|GB|KB|cells/s|it/s)\b"
                       r"|\d+ min \d+ s|\d+:\d\d:\d\d"
                       # an engine's rounding error below 1e-9 (verify's table): a multithreaded
                       # engine sums in its own order, run to run
                       r"|\b\d\.\de-(?:1\d|[2-9]\d)\b")
_RULES = re.compile(r"([━─═┄])\1+")
_ELIDED = re.compile(r"^[\s│┃|]*…[\s│┃|]*$")


@dataclass
class Transcript:
    source: Path
    line: int
    setup: str | None
    commands: list[str]
    shown: str  # the block's text: its commands and what they print
    raws: list[str] | None = None  # each command as the block writes it (continued lines)
    python: bool = False  # a ```pycon session, checked by doctest

    @property
    def name(self) -> str:
        return f"{self.source.relative_to(ROOT)}:{self.line}"


def transcripts(path: Path) -> list[Transcript]:
    """The transcripts of one Markdown file."""
    text = path.read_text(encoding="utf-8")
    found = []
    for m in _BLOCK.finditer(text):
        body = m.group("body")
        line = text.count("\n", 0, m.start("body")) + 1
        if m.group("kind") == "pycon":
            found.append(Transcript(path, line, m.group("setup"), [body.splitlines()[0][4:]],
                                    body, python=True))
            continue
        commands, raws, joined, raw_lines = [], [], "", []
        for raw in body.splitlines():
            if raw.startswith("$ ") or joined:
                joined += (raw[2:] if raw.startswith("$ ") and not joined else raw.strip())
                raw_lines.append(raw)
                if joined.endswith("\\"):
                    joined = joined[:-1].rstrip() + " "
                    continue
                commands.append(joined.strip())
                raws.append("\n".join(raw_lines))
                joined, raw_lines = "", []
        found.append(Transcript(path, line, m.group("setup"), commands, body, raws=raws))
    return found


def _normal(text: str) -> str:
    text = _VOLATILE.sub("<~>", text)
    text = _RULES.sub(r"\1", text)
    return " ".join(text.split())


def _pattern(shown: str) -> re.Pattern[str]:
    """What the block's text allows: commands and output as shown, elided lines as anything."""
    parts, current = [], []
    for line in shown.splitlines():
        if _ELIDED.match(line):
            parts.append(current)
            current = []
        else:
            current.append(line)
    parts.append(current)
    return re.compile(".*?".join(re.escape(_normal("\n".join(p))) for p in parts), re.S)


def run(t: Transcript, timeout: float) -> tuple[bool, str, float]:
    """Run one transcript in a folder of its own; whether it agrees, what it printed."""
    folder = Path(tempfile.mkdtemp(prefix="sheetnet-transcript-"))
    started = time.perf_counter()
    try:
        for name in ("workbooks", "examples"):
            shutil.copytree(ROOT / name, folder / name)
        env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1", "PYTHONPATH": str(ROOT),
               "TERM": "dumb", "DOCS_TOOLS": str(ROOT / "docs" / "tools")}
        printed: list[str] = []
        if t.setup:
            subprocess.run(["bash", "-euo", "pipefail", "-c", t.setup], cwd=folder, env=env,
                           check=True, timeout=timeout, capture_output=True)
        if t.python:
            return (*_doctest(t, folder, env, timeout), time.perf_counter() - started)
        for command, raw in zip(t.commands, t.raws or t.commands, strict=True):
            out = subprocess.run(["bash", "-c", command + " 2>&1"], cwd=folder, env=env,
                                 timeout=timeout, capture_output=True, text=True)
            printed.append(f"{raw}\n{out.stdout}")
        actual = "".join(printed)
        # the whole of it: output the block leaves out is elided with "…", never silently
        ok = _pattern(t.shown).fullmatch(_normal(actual)) is not None
        return ok, actual, time.perf_counter() - started
    finally:
        shutil.rmtree(folder, ignore_errors=True)


_DOCTEST = """
import doctest, sys
text = open(sys.argv[1], encoding="utf-8").read()
test = doctest.DocTestParser().get_doctest(text, {}, "session", "session", 0)
flags = doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
runner = doctest.DocTestRunner(optionflags=flags)
runner.run(test, out=sys.stdout.write)
sys.exit(1 if runner.failures else 0)
"""


def _doctest(t: Transcript, folder: Path, env: dict[str, str], timeout: float
             ) -> tuple[bool, str]:
    """A Python session run by doctest in ``folder``: whether it agrees, and its report."""
    session = folder / "session.txt"
    session.write_text(t.shown, encoding="utf-8")
    out = subprocess.run([sys.executable, "-c", _DOCTEST, str(session)], cwd=folder, env=env,
                         timeout=timeout, capture_output=True, text=True)
    return out.returncode == 0, out.stdout + out.stderr


def _shortened(lines: list[str], keep: int = 6) -> list[str]:
    """A table of more than ``2 * keep`` rows cut to its first ``keep`` and last 2, with an
    elided row between (which the check reads as any rows)."""
    out, i = [], 0
    while i < len(lines):
        out.append(lines[i])
        if lines[i].startswith("┡"):
            j = next(k for k in range(i + 1, len(lines)) if lines[k].startswith("└"))
            body = lines[i + 1:j]
            if len(body) > 2 * keep:
                body = [*body[:keep], "│ …" + " " * (len(body[0]) - 4) + "│", *body[-2:]]
            out += body
            i = j
            continue
        i += 1
    return out


def _updated(t: Transcript, actual: str) -> bool:
    """Write ``actual`` into the block of ``t`` (a ```text block), its long tables shortened;
    whether it did."""
    if t.python:
        return False
    lines = [x.rstrip() for x in actual.rstrip().splitlines()]
    text = t.source.read_text(encoding="utf-8")
    if text.count(t.shown) != 1:
        return False
    new = "\n".join(_shortened(lines)) + "\n"
    t.source.write_text(text.replace(t.shown, new), encoding="utf-8")
    return True


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("files", nargs="*", type=Path)
    ap.add_argument("--jobs", type=int, default=2)
    ap.add_argument("--match", default="", help="only transcripts whose commands hold this")
    ap.add_argument("--show", action="store_true", help="print what a failing one printed")
    ap.add_argument("--timeout", type=float, default=900)
    ap.add_argument("--update", action="store_true",
                    help="write what a failing ```text block printed into it, long tables"
                         " shortened (check the diff before committing: prose may need it too)")
    args = ap.parse_args()
    files = [f.resolve() for f in args.files] or [ROOT / "README.md",
                                                   *sorted((ROOT / "docs").rglob("*.md"))]
    todo = [t for f in files for t in transcripts(f)
            if args.match in " ".join(t.commands)]
    failed = []
    with ThreadPoolExecutor(args.jobs) as pool:
        for t, (ok, actual, seconds) in zip(todo, pool.map(lambda t: run(t, args.timeout),
                                                           todo), strict=True):
            print(f"{'✓' if ok else '✗'} {t.name} ({seconds:.0f} s): {t.commands[0][:70]}",
                  flush=True)
            if not ok:
                failed.append(t.name)
                if args.show:
                    print(actual)
                if args.update and _updated(t, actual):
                    print(f"  updated {t.name}")
    print(f"{len(todo) - len(failed)} of {len(todo)} transcripts agree")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
