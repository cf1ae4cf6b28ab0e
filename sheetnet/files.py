"""Writing an output file safely: all or nothing, and never over a file we were not told to
replace."""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import secrets
import stat
import zlib
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from sheetnet.errors import SheetnetError

# how a caller says "overwrite": the CLI's ``--force``, the Python API's ``force=True``
OVERWRITE = contextvars.ContextVar("overwrite", default="add --force")


@contextlib.contextmanager
def speaking_python():
    """Within it (or a function it decorates), messages say how to overwrite as Python does
    (``force=True``)."""
    token = OVERWRITE.set("give force=True")
    try:
        yield
    finally:
        OVERWRITE.reset(token)

T = TypeVar("T")


def public_mode() -> int:
    """The mode a newly created file gets under the current umask (rw for all, minus umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write_atomically(out: Path, write: Callable[[str], T], force: bool = False) -> T:
    """``write(tmp)`` into a private temporary file beside ``out``, then put it in place.

    An existing ``out`` is replaced only with ``force``; without it, a file that appears at
    ``out`` while we write is never replaced (the file is linked into place, which fails if
    the name is taken). Any failure or interrupt removes the temporary file and leaves ``out``
    as it was.
    """
    out = Path(out)
    tmp = ""
    try:
        tmp = _new_file(out, ".tmp")  # named before it exists: an interrupt anywhere after is
        result = write(tmp)           # cleaned up (mkstemp's name arrives only once it is made)
        os.chmod(tmp, public_mode())  # mkstemp's 0600 would survive the rename
        if force:
            os.replace(tmp, out)
        else:
            _place_new(tmp, out)
    except OSError as e:
        _forget(tmp)
        raise _cannot(out, e) from None
    except BaseException:  # e.g. Ctrl-C: never leave a half-written file behind
        _forget(tmp)
        raise
    return result


_CLAIMED: list[str] = []  # the name _new_file is creating, known before the file exists


def _new_file(out: Path, suffix: str) -> str:
    """A new private file beside ``out`` (``.name.XXXXXXXX.tmp``), its name chosen and noted
    in ``_CLAIMED`` before it is created, so that ``_forget`` removes it whenever an interrupt
    arrives."""
    for _ in range(100):
        name = str(out.parent / f"{_prefix(out, suffix)}{secrets.token_hex(4)}{suffix}")
        _CLAIMED[:] = [name]
        try:
            os.close(os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        except FileExistsError:  # another's file: never ours to remove
            _CLAIMED.clear()
            continue
        return name
    raise FileExistsError(errno.EEXIST, "no free temporary name", str(out.parent))


def _forget(tmp: str) -> None:
    """Remove the temporary file being written, or the one being created."""
    for name in {tmp, *_CLAIMED} - {""}:
        Path(name).unlink(missing_ok=True)
    _CLAIMED.clear()


def check_out(path: Path, force: bool, suffix: str) -> None:
    """Refuse, before any work, an output path that is not a writable new ``suffix`` file
    (or an existing one without ``force``), or that the system cannot use (too long)."""
    try:
        _check_out(Path(path), force, suffix)
    except OSError as e:
        raise unusable(path, e) from None


def unusable(path: Path, e: OSError) -> SheetnetError:
    """A path the system refuses (a name or path too long, a loop of links), in one line."""
    return SheetnetError(f"{path}: {e.strerror or e}; give a shorter path, or one that exists")


def _check_out(path: Path, force: bool, suffix: str) -> None:
    if path.suffix.lower() != suffix:
        raise SheetnetError(f"{path}: the file name must end in {suffix}")
    longest = _name_max(path.parent)
    if len(os.fsencode(path.name)) > longest:
        raise SheetnetError(f"{path.name[:40]}…: the file name is {len(os.fsencode(path.name))}"
                            f" bytes; this file system allows {longest}: give a shorter name")
    if path.is_symlink() and not path.exists() and not force:
        raise SheetnetError(f"{path} is a symbolic link to {os.readlink(path)}, which does not"
                            f" exist; give another name, or {OVERWRITE.get()} to replace the"
                            " link")
    if path.is_dir():
        raise SheetnetError(f"{path} is a folder; give a file name ending in {suffix}")
    if not path.parent.is_dir():
        raise SheetnetError(f"{path.parent}: no such folder; create it or write elsewhere")
    if path.exists() and not force:
        raise SheetnetError(f"{path} exists; {OVERWRITE.get()} to overwrite it")
    check_writable(path)


def check_writable(out: Path) -> None:
    """Refuse early (before any work) when ``out``'s folder takes no new file."""
    try:
        _new_file(out, ".probe")
    except OSError as e:
        raise _cannot(out, e) from None
    finally:
        _forget("")


def _name_max(folder: Path) -> int:
    """The longest file name (in bytes) ``folder``'s file system takes."""
    try:
        return os.pathconf(folder, "PC_NAME_MAX")
    except (OSError, ValueError):
        return 255


def _prefix(out: Path, suffix: str) -> str:
    """A temporary file's name prefix beside ``out``: ``.name.``, the name shortened so that
    the whole temporary name (8 random characters and ``suffix`` added) still fits the file
    system when ``out``'s own name does."""
    room = _name_max(out.parent) - 2 - 8 - len(suffix)
    name = os.fsencode(out.name)[:max(room, 1)]
    return f".{os.fsdecode(name).encode('utf-8', 'ignore').decode('utf-8', 'ignore')}."


def _place_new(tmp: str, out: Path) -> None:
    """Move ``tmp`` to ``out`` only if nothing is there (atomically where links work)."""
    try:
        os.link(tmp, out)
    except FileExistsError:
        raise SheetnetError(f"{out} appeared while sheetnet was writing it; {OVERWRITE.get()}"
                            " to overwrite it") from None
    except OSError as e:
        if e.errno not in (errno.EPERM, errno.ENOTSUP, errno.EOPNOTSUPP, errno.EXDEV,
                           errno.EMLINK):
            raise
        if out.exists():  # a file system without hard links: check, then rename
            raise SheetnetError(f"{out} appeared while sheetnet was writing it;"
                                f" {OVERWRITE.get()} to overwrite it") from None
        os.replace(tmp, out)
        return
    with contextlib.suppress(FileNotFoundError):
        os.unlink(tmp)


def read_text(path: Path, what: str, max_bytes: int) -> str:
    """A user's input file as text (UTF-8, a BOM allowed), refused in one line when it is
    missing, not a regular file (a folder, a FIFO, a device), too large or not text."""
    raw = read_bytes(path, what, max_bytes)
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetnetError(f"{what} {path}: not UTF-8 text; save it as UTF-8") from None


def read_gzip_text(path: Path, what: str, max_bytes: int) -> str:
    """A gzip-compressed text file, refused like ``read_text`` and when it is not gzip or
    would unpack to more than ``max_bytes``."""
    raw = read_bytes(path, what, max_bytes)
    return gunzip(raw, f"{what} {path}", max_bytes)


def gunzip(raw: bytes, what: str, max_bytes: int) -> str:
    """Unpack gzip bytes to UTF-8 text, at most ``max_bytes`` of it: every member of a file
    made of several (``cat a.gz b.gz``), and a file cut short refused, not read in part."""
    out: list[bytes] = []
    size = 0
    rest = raw
    while True:
        unpacker = zlib.decompressobj(16 + zlib.MAX_WBITS)
        try:
            part = unpacker.decompress(rest, max_bytes + 1 - size)
        except zlib.error as e:
            raise SheetnetError(f"{what}: not a gzip file sheetnet can unpack ({e})") from None
        size += len(part)
        out.append(part)
        if size > max_bytes or unpacker.unconsumed_tail:
            raise SheetnetError(f"{what} unpacks to more than {size_text(max_bytes)}; use a"
                                " smaller file")
        if not unpacker.eof:
            raise SheetnetError(f"{what}: the gzip file is cut short (its end is missing);"
                                " copy it again")
        rest = unpacker.unused_data
        if not rest.strip(b"\0"):  # the end (some writers pad with zeros)
            break
    try:
        return b"".join(out).decode("utf-8-sig")
    except UnicodeDecodeError:
        raise SheetnetError(f"{what}: not UTF-8 text inside; save it as UTF-8") from None


def size_text(n: int) -> str:
    """A size as a person reads it: 812 bytes, 19.5 KB, 64 MB."""
    if n < 10_000:
        return f"{n:,} bytes"
    if n < 2**20:
        return f"{n / 2**10:,.1f} KB"
    return f"{n / 2**20:,.1f} MB".replace(".0 MB", " MB")


def read_bytes(path: Path, what: str, max_bytes: int) -> bytes:
    """A user's input file's bytes, refused in one line when it is missing, not a regular file
    (a folder, a FIFO, a device) or larger than ``max_bytes``."""
    path = Path(path)
    try:
        st = path.stat()
    except FileNotFoundError:
        raise SheetnetError(f"{what} {path}: no such file; give the path of a file") from None
    except OSError as e:
        raise SheetnetError(f"{what} {unusable(path, e)}") from None
    if stat.S_ISDIR(st.st_mode):
        raise SheetnetError(f"{what} {path} is a folder; give the path of a file")
    if not stat.S_ISREG(st.st_mode):
        raise SheetnetError(f"{what} {path} is not a regular file (a pipe or a device?); give"
                            " the path of a file")
    if st.st_size > max_bytes:
        raise SheetnetError(f"{what} {path} is {size_text(st.st_size)}; sheetnet reads at"
                            f" most {size_text(max_bytes)}: use a smaller file")
    try:
        with open(path, "rb") as f:
            raw = f.read(max_bytes + 1)
    except OSError as e:
        raise SheetnetError(f"{what} {path}: cannot read it ({e.strerror or e})") from None
    if len(raw) > max_bytes:  # it grew since (a file being written)
        raise SheetnetError(f"{what} {path} is larger than {size_text(max_bytes)}; use a"
                            " smaller file")
    return raw


def _cannot(out: Path, e: OSError) -> SheetnetError:
    return SheetnetError(f"could not write {out}: {e.strerror or e}; check that the folder is"
                         " writable and has free space")
