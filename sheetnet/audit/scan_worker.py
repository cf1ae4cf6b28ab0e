"""Which cells of a workbook's sheets hold formulas, read in a child process:
``python -m sheetnet.audit.scan_worker SRC JOB OUT``.

Reading a big workbook's XML takes seconds of pure Python; in its own process it shares no
lock with the threads that feed the engines. JOB holds the pickled sheet parts and bounds; OUT
gets the pickled scans, or the one-line error that names what is wrong with the file.
"""

from __future__ import annotations

import functools
import os
import pickle
import sys
from pathlib import Path

from sheetnet.audit import cells
from sheetnet.audit.archive import check_xml
from sheetnet.errors import SheetnetError


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print("usage: SRC JOB OUT", file=sys.stderr)
        return 2
    src, job, out = Path(argv[0]), argv[1], argv[2]
    with open(job, "rb") as f:
        parts, bounds = pickle.load(f)
    try:
        found: dict[str, object] = {"scans": cells.read(
            src, parts, bounds, functools.partial(check_xml, path=src), values=False)}
    except SheetnetError as e:
        found = {"error": str(e)}
    with open(out, "wb") as f:
        pickle.dump(found, f, protocol=pickle.HIGHEST_PROTOCOL)
    return 0


if __name__ == "__main__":
    code = main(sys.argv[1:])
    sys.stdout.flush()
    os._exit(code)
