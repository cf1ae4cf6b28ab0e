"""A checkpoint: a training run stopped after its last update, saved to continue it or to open a
window of it as a workbook (``train --checkpoint``, ``--from``).

It holds the parameters after the last update, the update rule's state there (the kinds a step
reads from the one before: momentum's v, Adam's m and v), batch norm's running averages, the
number of steps taken and the options the run was made from. Saved as ``.npz`` of plain
arrays (no pickled objects, so loading runs no code).
"""

from __future__ import annotations

import json
import math
import re
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from sheetnet import notation as names
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import write_atomically

FORMAT = "sheetnet checkpoint 1"
MAX_BYTES = 512 * 2**20


@dataclass(frozen=True)
class Checkpoint:
    """``step``: the steps taken (iterations 0..step − 1): the next step's number. ``state``:
    per parameter, each kind of the rule's state (``carried``) after the last step."""

    net: str
    options: dict[str, object]  # as ``Options.given()`` writes them
    step: int
    optimizer: str
    params: dict[str, np.ndarray]
    state: dict[str, dict[str, np.ndarray]]
    carried: dict[str, np.ndarray]  # what the layers carry (batch norm's ``rmean2`` …)
    best: tuple[int, float] | None = None  # with validation: the best iteration, its cost
    pinned: dict[str, str] = field(default_factory=dict)  # a data file's option -> its SHA-256

    def describe(self) -> str:
        return (f"--net {self.net} after iteration {self.step - 1:,} ({self.step:,} updates,"
                f" {self.optimizer})")


def of(net: str, options: Mapping[str, object], start: int, trace: Trace, optimizer: str,
       rule_state: tuple[str, ...], carried: tuple[str, ...] = (),
       best: tuple[int, float] | None = None, frozen: tuple[str, ...] = ()) -> Checkpoint:
    """The checkpoint after a run's last update: ``trace.final``'s parameters, the update
    rule's state the last iteration's blocks hold (``notation.state(kind, p)`` for each kind
    of ``rule_state``; none for a ``frozen`` parameter), the layers' ``carried`` blocks there,
    ``start`` + the iterations taken as its step count."""
    last = trace.iterations[-1]
    params = {name: np.array(v) for name, v in trace.final.items()}
    state = {p: {kind: np.array(last[names.state(kind, p)]) for kind in rule_state}
             for p in params if p not in frozen}
    return Checkpoint(net, dict(options), start + len(trace.iterations), optimizer, params, state,
                      {name: np.array(last[name]) for name in carried}, best)


def save(ck: Checkpoint, path: Path, force: bool = False) -> None:
    """Write ``ck`` to ``path`` (all or nothing; an existing file only with ``force``)."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT), "net": np.array(ck.net),
        "options": np.array(json.dumps(ck.options)), "step": np.array(ck.step),
        "optimizer": np.array(ck.optimizer)}
    arrays.update({f"param:{n}": v for n, v in ck.params.items()})
    arrays.update({f"state:{kind}:{p}": v for p, kinds in ck.state.items()
                   for kind, v in kinds.items()})
    # (their members are named running:…, as the first checkpoints had them)
    arrays.update({f"running:{n}": v for n, v in ck.carried.items()})
    if ck.best is not None:
        arrays["best"] = np.array(ck.best, dtype=float)
    if ck.pinned:
        arrays["pinned"] = np.array(json.dumps(ck.pinned))

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)  # type: ignore[arg-type]  # (numpy's stub)

    write_atomically(Path(path), write, force)


MAX_UNPACKED = 256 * 2**20  # what a checkpoint's arrays may unpack to, all together
MAX_MEMBERS = 10_000
MAX_TEXT = 64 * 2**10  # characters of one text member (the options)
MAX_STEP = 10**12
TEXTS = ("format", "net", "options", "optimizer")
_MEMBER = re.compile(r"(format|net|options|step|optimizer|best|pinned|param:\w+|state:\w+:\w+"
                     r"|running:\w+)\.npy")
_WRITE = "write one with sheetnet train … --checkpoint FILE.npz"
_WRITE_AGAIN = "write it again with sheetnet train … --checkpoint FILE.npz"


def load(path: Path) -> Checkpoint:
    """A checkpoint ``save`` wrote, each problem refused in one line. Nothing is unpacked
    before its size is known and bounded: the archive's members are the names ``save``
    writes, each array's header (shape, type) is read and checked against the member's size
    and ``MAX_UNPACKED`` first."""
    path = Path(path)
    where = f"--from {path}"
    try:
        is_file = path.is_file()
        size = path.stat().st_size if is_file else 0
    except OSError as e:
        raise SheetnetError(f"{where}: cannot read it ({e.strerror or e})") from None
    if not is_file:
        raise SheetnetError(f"{where}: no such file; {_WRITE}")
    if size > MAX_BYTES:
        raise SheetnetError(f"{where}: {size:,} bytes is larger than any checkpoint sheetnet"
                            f" writes ({MAX_BYTES:,})")
    try:
        arrays = _members(path, where)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError, zlib.error) as e:
        raise SheetnetError(f"{where}: not a checkpoint sheetnet can read"
                            f" ({str(e)[:120]}); {_WRITE_AGAIN}") from None
    if str(arrays.get("format", "")) != FORMAT:
        raise SheetnetError(f"{where}: not a sheetnet checkpoint (no {FORMAT!r} mark);"
                            f" {_WRITE}")
    return _checked(arrays, where)


def _members(path: Path, where: str) -> dict[str, np.ndarray]:
    """The archive's arrays by name, each header checked before its data is read."""
    out: dict[str, np.ndarray] = {}
    with zipfile.ZipFile(path) as archive:
        infos = archive.infolist()
        if len(infos) > MAX_MEMBERS:
            raise SheetnetError(f"{where}: {len(infos):,} members; a checkpoint has far fewer")
        total = 0
        for info in infos:
            if not _MEMBER.fullmatch(info.filename):
                raise SheetnetError(f"{where}: the member {info.filename[:60]!r} is not one"
                                    f" sheetnet writes (damaged or edited); {_WRITE_AGAIN}")
            total += info.file_size
            if total > MAX_UNPACKED:
                raise SheetnetError(f"{where}: its arrays unpack to more than"
                                    f" {MAX_UNPACKED / 2**20:,.0f} MB, beyond any checkpoint"
                                    f" sheetnet writes; {_WRITE_AGAIN}")
            name = info.filename[:-4]
            with archive.open(info) as member:
                _check_header(member, info.file_size, name, where)
            with archive.open(info) as member:
                out[name] = np.lib.format.read_array(member, allow_pickle=False)
    return out


def _check_header(member, size: int, name: str, where: str) -> None:
    """An array's header: a type sheetnet writes for ``name`` (text for the text members,
    real numbers for the rest), and as many bytes of data as the member holds."""
    version = np.lib.format.read_magic(member)
    read = (np.lib.format.read_array_header_1_0 if version == (1, 0)
            else np.lib.format.read_array_header_2_0)
    shape, fortran, dtype = read(member)
    count = int(np.prod(shape, dtype=object))
    text = name in (*TEXTS, "pinned")
    kinds = "U" if text else "fiu"
    if dtype.kind not in kinds or dtype.hasobject or (text and shape != ()):
        raise SheetnetError(f"{where}: {name} holds {dtype.name or dtype.str} {shape}, not"
                            f" {'text' if text else 'real numbers'} (damaged or edited);"
                            f" {_WRITE_AGAIN}")
    if text and dtype.itemsize // 4 > MAX_TEXT:
        raise SheetnetError(f"{where}: {name} is {dtype.itemsize // 4:,} characters long;"
                            f" a checkpoint's are far shorter (damaged or edited); {_WRITE_AGAIN}")
    if count * dtype.itemsize > size:
        raise SheetnetError(f"{where}: {name} says it holds {count:,} numbers, more than its"
                            f" {size:,} bytes (damaged or edited); {_WRITE_AGAIN}")


def _checked(arrays: dict[str, np.ndarray], where: str) -> Checkpoint:
    """The arrays made a checkpoint, each value checked."""
    damaged = f"{where}: the checkpoint is damaged or edited"
    missing = [k for k in (*TEXTS, "step") if k not in arrays]
    if missing:
        raise SheetnetError(f"{damaged} (it has no {missing[0]}); {_WRITE_AGAIN}")
    step = arrays["step"]
    if step.shape != () or not np.isfinite(step) or step != np.floor(step) \
            or not 1 <= step <= MAX_STEP:
        raise SheetnetError(f"{damaged} (its step count is not a whole number of steps);"
                            f" {_WRITE_AGAIN}")
    options = _options(str(arrays["options"]), damaged)
    params: dict[str, np.ndarray] = {}
    state: dict[str, dict[str, np.ndarray]] = {}
    carried: dict[str, np.ndarray] = {}
    for key, value in arrays.items():
        kind, _, name = key.partition(":")
        if kind not in ("param", "state", "running"):
            continue
        if not np.all(np.isfinite(value)):
            raise SheetnetError(f"{damaged} ({name} is not finite); {_WRITE_AGAIN}")
        if kind == "param":
            params[name] = value.astype(float)
        elif kind == "state":
            which, _, param = name.partition(":")
            state.setdefault(param, {})[which] = value.astype(float)
        else:
            carried[name] = value.astype(float)
    best = None
    if "best" in arrays:
        found = arrays["best"].astype(float)
        if found.shape != (2,) or not np.all(np.isfinite(found)) or found[0] != int(found[0]) \
                or not 0 <= found[0] < step:
            raise SheetnetError(f"{damaged} (its best iteration is not one of its own);"
                                f" {_WRITE_AGAIN}")
        best = (int(found[0]), float(found[1]))
    pinned = _options(str(arrays["pinned"]), damaged) if "pinned" in arrays else {}
    if not all(isinstance(v, str) for v in pinned.values()):
        raise SheetnetError(f"{damaged} (its data's fingerprints are not text); {_WRITE_AGAIN}")
    return Checkpoint(str(arrays["net"]), options, int(step), str(arrays["optimizer"]), params,
                      state, carried, best, {k: str(v) for k, v in pinned.items()})


def _options(text: str, damaged: str) -> dict[str, object]:
    """The options as ``save`` wrote them: a JSON object of plain values (text, whole and
    finite numbers, true or false)."""
    def refuse(token: str) -> object:
        raise ValueError(token)

    try:
        options = json.loads(text, parse_constant=refuse)
    except (ValueError, RecursionError):
        options = None
    if not isinstance(options, dict) or not all(
            isinstance(v, (str, int, float, bool)) and not (isinstance(v, float)
                                                             and not math.isfinite(v))
            for v in options.values()):
        raise SheetnetError(f"{damaged} (its options are not options sheetnet writes);"
                            f" {_WRITE_AGAIN}")
    return options


def zeros_like_state(params: Mapping[str, np.ndarray], kinds: tuple[str, ...]
                     ) -> dict[str, dict[str, np.ndarray]]:
    """A state of each kind for each parameter, zeros: where a window's state cells are (a
    workbook's skeleton)."""
    return {name: {kind: np.zeros_like(v, dtype=float) for kind in kinds}
            for name, v in params.items()}


def state_found(like: Mapping[str, Mapping[str, np.ndarray]],
                found: Mapping[str | tuple[str, int], object]
                ) -> dict[str, dict[str, np.ndarray]]:
    """The state a workbook's input cells hold (``found``: input place -> values), shaped as
    ``like``."""
    return {p: {kind: np.asarray(found[names.state(kind, p)], dtype=float).reshape(v.shape)
                for kind, v in kinds.items()} for p, kinds in like.items()}
