"""A checkpoint: a training run stopped after its last update, saved to continue it or to open a
window of it as a workbook (``train --checkpoint``, ``--from``).

It holds the parameters after the last update, the update rule's state there (the kinds a step
reads from the one before: momentum's v, Adam's m and v), batch norm's running averages, the
number of steps taken and the options the run was made from. Saved as ``.npz`` of plain
arrays (no pickled objects, so loading runs no code).
"""

from __future__ import annotations

import json
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass
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
    running: dict[str, np.ndarray]  # batch norm's running mean and variance (``rmean2`` …)
    best: tuple[int, float] | None = None  # with validation: the best iteration, its cost

    def describe(self) -> str:
        return (f"--net {self.net} after iteration {self.step - 1:,} ({self.step:,} updates,"
                f" {self.optimizer})")


def of(net: str, options: Mapping[str, object], start: int, trace: Trace, optimizer: str,
       carried: tuple[str, ...], running: tuple[str, ...] = (),
       best: tuple[int, float] | None = None) -> Checkpoint:
    """The checkpoint after a run's last update: ``trace.final``'s parameters, the state the
    last iteration's blocks hold (``notation.state(kind, p)``), ``start`` + the iterations
    taken as its step count."""
    last = trace.iterations[-1]
    params = {name: np.array(v) for name, v in trace.final.items()}
    state = {p: {kind: np.array(last[names.state(kind, p)]) for kind in carried}
             for p in params}
    return Checkpoint(net, dict(options), start + len(trace.iterations), optimizer, params, state,
                      {name: np.array(last[name]) for name in running}, best)


def save(ck: Checkpoint, path: Path, force: bool = False) -> None:
    """Write ``ck`` to ``path`` (all or nothing; an existing file only with ``force``)."""
    arrays: dict[str, np.ndarray] = {
        "format": np.array(FORMAT), "net": np.array(ck.net),
        "options": np.array(json.dumps(ck.options)), "step": np.array(ck.step),
        "optimizer": np.array(ck.optimizer)}
    arrays.update({f"param:{n}": v for n, v in ck.params.items()})
    arrays.update({f"state:{kind}:{p}": v for p, kinds in ck.state.items()
                   for kind, v in kinds.items()})
    arrays.update({f"running:{n}": v for n, v in ck.running.items()})
    if ck.best is not None:
        arrays["best"] = np.array(ck.best, dtype=float)

    def write(tmp: str) -> None:
        with open(tmp, "wb") as f:
            np.savez_compressed(f, **arrays)

    write_atomically(Path(path), write, force)


def load(path: Path) -> Checkpoint:
    """A checkpoint ``save`` wrote, each problem refused in one line."""
    path = Path(path)
    where = f"--from {path}"
    if not path.is_file():
        raise SheetnetError(f"{where}: no such file; write one with sheetnet train …"
                            " --checkpoint FILE.npz")
    if path.stat().st_size > MAX_BYTES:
        raise SheetnetError(f"{where}: {path.stat().st_size:,} bytes is larger than any"
                            f" checkpoint sheetnet writes ({MAX_BYTES:,})")
    try:
        with np.load(path, allow_pickle=False) as f:
            arrays = {key: f[key] for key in f.files}
    except (OSError, ValueError, zipfile.BadZipFile, EOFError) as e:
        raise SheetnetError(f"{where}: not a checkpoint sheetnet can read ({e}); write one"
                            " with sheetnet train … --checkpoint FILE.npz") from None
    if str(arrays.get("format", "")) != FORMAT:
        raise SheetnetError(f"{where}: not a sheetnet checkpoint (no {FORMAT!r} mark); write"
                            " one with sheetnet train … --checkpoint FILE.npz")
    params: dict[str, np.ndarray] = {}
    state: dict[str, dict[str, np.ndarray]] = {}
    running: dict[str, np.ndarray] = {}
    try:
        options = json.loads(str(arrays["options"]))
        step = int(arrays["step"])
        net, optimizer = str(arrays["net"]), str(arrays["optimizer"])
        for key, value in arrays.items():
            kind, _, name = key.partition(":")
            if kind == "param":
                params[name] = value.astype(float)
            elif kind == "state":
                which, _, param = name.partition(":")
                state.setdefault(param, {})[which] = value.astype(float)
            elif kind == "running":
                running[name] = value.astype(float)
        best = (None if "best" not in arrays
                else (int(arrays["best"][0]), float(arrays["best"][1])))
    except (KeyError, ValueError, TypeError, IndexError):
        raise SheetnetError(f"{where}: the checkpoint is damaged (its net, options, step count"
                            " or an array is missing or not numbers); write it again") from None
    values = [*params.items(), *running.items(),
               *((f"{k}_{p}", v) for p, kinds in state.items() for k, v in kinds.items())]
    bad = [k for k, v in values if not np.all(np.isfinite(v))]
    if not isinstance(options, dict) or step < 1 or bad:
        raise SheetnetError(f"{where}: the checkpoint is damaged"
                            f" ({f'{bad[0]} is not finite' if bad else 'its options or step'});"
                            " write it again")
    return Checkpoint(net, options, step, optimizer, params, state, running, best)


def zeros_like_state(params: Mapping[str, np.ndarray], kinds: tuple[str, ...]
                     ) -> dict[str, dict[str, np.ndarray]]:
    """A state of each kind for each parameter, zeros: where a window's state cells are (a
    workbook's skeleton)."""
    return {name: {kind: np.zeros_like(v, dtype=float) for kind in kinds}
            for name, v in params.items()}


def state_found(like: Mapping[str, Mapping[str, np.ndarray]],
                found: Mapping[str, object]) -> dict[str, dict[str, np.ndarray]]:
    """The state a workbook's input cells hold (``found``: input place -> values), shaped as
    ``like``."""
    return {p: {kind: np.asarray(found[names.state(kind, p)], dtype=float).reshape(v.shape)
                for kind, v in kinds.items()} for p, kinds in like.items()}
