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


def _plain(error: UnicodeError) -> tuple[str | bytes, int]:
    """A codec error handler: each character the output's encoding lacks as its nearest ASCII
    (η as eta, ² as 2, ✓ as ok), else ``?``."""
    if not isinstance(error, UnicodeEncodeError):
        raise error
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


_GONE = {errno.EPIPE, errno.EBADF}  # the reader has gone (`| head`), or there is none (`>&-`)


class _Guarded:
    """A standard stream whose reader may go away (``| head`` closes the pipe, ``>&-`` closes
    the descriptor): what cannot be written is dropped, so the command still writes the files
    it was asked for and exits with its own code. Everything else is the stream's."""

    def __init__(self, stream, fd: int) -> None:
        self.gone = stream is None  # no descriptor at all: write nowhere
        self._stream = (open(os.devnull, "w", encoding="utf-8")  # noqa: SIM115 (lives on)
                        if stream is None else stream)
        self._fd = fd

    def _lost(self) -> None:
        self.gone = True
        try:  # the interpreter flushes the stream once more at exit: let that go nowhere
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, self._fd)
        except OSError:
            pass

    def write(self, text: str) -> int:
        if not self.gone:
            try:
                return self._stream.write(text)
            except OSError as e:
                if e.errno not in _GONE:
                    raise
                self._lost()
        return len(text)

    def flush(self) -> None:
        if not self.gone:
            try:
                self._stream.flush()
            except OSError as e:
                if e.errno not in _GONE:
                    raise
                self._lost()

    def isatty(self) -> bool:
        return not self.gone and self._stream.isatty()

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main() -> None:
    codecs.register_error("sheetnet-plain", _plain)
    _readable(sys.stdout)
    _readable(sys.stderr)
    sys.stdout = _Guarded(sys.stdout, 1)
    sys.stderr = _Guarded(sys.stderr, 2)
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
