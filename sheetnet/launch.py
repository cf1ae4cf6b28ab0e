"""The ``sheetnet`` command's entry point, importing nothing heavy before it can answer.

Three things go wrong outside any command: a Ctrl-C while NumPy and the CLI are still being
imported (a ``KeyboardInterrupt`` traceback), a terminal that cannot show ✓, η or ² (``LC_ALL``
or ``PYTHONIOENCODING`` set to ASCII: a ``UnicodeEncodeError``), and standard output on a full
device. Each becomes what every command promises: one line, the usual exit code.
"""

from __future__ import annotations

import codecs
import errno
import os
import sys
import unicodedata

_OUTPUT_FAILED = {errno.ENOSPC, errno.EIO, errno.EFBIG, errno.EDQUOT}
_ASCII = {"✓": "ok", "✗": "x", "η": "eta", "δ": "delta", "∂": "d", "Σ": "sum", "…": "...",
          "—": "-", "–": "-", "−": "-", "×": "x", "·": "*", "→": "->", "←": "<-", "≤": "<=",
          "≥": ">=", "≈": "~", "√": "sqrt", "Δ": "D", "σ": "sigma", "λ": "lambda", "β": "beta",
          "ε": "eps", "μ": "mu", "θ": "theta", "ĉ": "c", "│": "|", "─": "-", "━": "-", "┃": "|",
          "•": "*", "█": "#", "░": ".", "▏": "|", "’": "'", "“": '"', "”": '"'}


def _plain(error: UnicodeEncodeError) -> tuple[str, int]:
    """A codec error handler: each character the output's encoding lacks as its nearest ASCII
    (η as eta, ² as 2, ✓ as ok), else ``?``."""
    out = []
    for ch in error.object[error.start:error.end]:
        text = _ASCII.get(ch)
        if text is None:
            text = unicodedata.normalize("NFKD", ch).encode("ascii", "ignore").decode() or "?"
        out.append(text)
    return "".join(out), error.end


def _readable(stream) -> None:
    """Let ``stream`` write any text: what its encoding lacks is written plainly, not raised."""
    if stream is None or not hasattr(stream, "reconfigure"):
        return
    try:
        "✓η²─".encode(stream.encoding or "ascii")
    except (UnicodeEncodeError, LookupError):
        stream.reconfigure(errors="sheetnet-plain")


def _unwritable(e: OSError) -> int:
    """Standard output takes no more (a full device): one line on stderr, exit 2."""
    try:
        sys.stderr.write(f"error: could not write the output ({e.strerror or e}); send it to a"
                         " file on a device with room\n")
        sys.stderr.flush()
    except OSError:
        pass
    try:  # the interpreter flushes stdout once more at exit: let that go nowhere
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError, AttributeError):
        pass
    return 2


def main() -> None:
    codecs.register_error("sheetnet-plain", _plain)
    _readable(sys.stdout)
    _readable(sys.stderr)
    try:
        from sheetnet.cli import main as run
    except KeyboardInterrupt:
        sys.stderr.write("interrupted; nothing written\n")
        sys.exit(130)
    code: int | str | None = 0
    try:
        run()
    except SystemExit as e:
        code = e.code
    except OSError as e:
        if e.errno not in _OUTPUT_FAILED:
            raise
        code = _unwritable(e)
    try:
        sys.stdout.flush()
    except OSError as e:
        if e.errno not in _OUTPUT_FAILED:
            raise
        code = _unwritable(e)
    sys.exit(code)
