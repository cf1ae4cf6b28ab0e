"""What an export remembers of its run, so that verify can say what a learner changed since.

Each input of the run (η, every hyperparameter, every initial parameter, the pixels, labels,
classes, batches, dropout masks, held-out flags) is kept as a short print: its count, sum, sum
of magnitudes and a sum weighted by a fixed sequence, or a digest of its text. Two runs' prints
are compared within a relative 1e-12, so a workbook saved again by a spreadsheet (which may
write a number's last digit differently) changes nothing, while any edited cell changes its
input's print. The last value of each cost curve is kept too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import numpy as np

from sheetnet import notation as names
from sheetnet.core import health
from sheetnet.core.run import Run
from sheetnet.core.trace import Trace

PROPERTY = "sheetnet export"  # the workbook's custom document property that holds it
TOLERANCE = 1e-12


def _print(value: object) -> list[float] | str:
    if isinstance(value, (tuple, list)) and any(isinstance(v, str) for v in value):
        return hashlib.sha256("\x1f".join(map(str, value)).encode("utf-8")).hexdigest()[:32]
    x = np.asarray(value, dtype=float).ravel()
    weights = np.sin(np.arange(1, x.size + 1))  # fixed: a swap of two cells changes the sum
    return [float(x.size), float(x.sum()), float(np.abs(x).sum()), float(weights @ x)]


def inputs(run: Run) -> dict[str, list[float] | str]:
    """Every input of a run by its name, as a print."""
    found: dict[str, object] = {"eta": [run.eta], **dict(run.params)}
    found.update({name: [value] for name, value in (run.hyper or {}).items()})
    if run.data is not None:
        found.update(pixels=run.data.x, labels=run.data.labels, classes=run.data.classes)
    if run.batches is not None:
        found["batches"] = run.batches
    if run.held is not None:
        found["held"] = run.held
    for param, kinds in (run.state or {}).items():  # a checkpoint's
        found.update({names.state(kind, param): v for kind, v in kinds.items()})
    found.update(run.carried or {})
    drawn = [run.draws(k) for k in range(run.iterations + 1)]
    for name in drawn[0]:
        found[name] = np.array([step[name] for step in drawn])
    return {name: _print(value) for name, value in found.items()}


def make(run: Run, trace: Trace) -> str:
    """The stamp an export stores: its inputs' prints and each cost curve's last value."""
    costs = {name: float(curve[-1]) for name, curve in health.curves(run, trace).items()}
    return json.dumps({"inputs": inputs(run), "costs": costs}, separators=(",", ":"))


def read(text: str) -> dict[str, dict] | None:
    """A stored stamp, or None when it is not one (an older workbook, or edited)."""
    try:
        found = json.loads(text)
    except ValueError:
        return None
    if not (isinstance(found, dict) and isinstance(found.get("inputs"), dict)
            and isinstance(found.get("costs"), dict)):
        return None
    return found


def changed(before: Mapping[str, object], after: Mapping[str, object]) -> list[str]:
    """The inputs whose prints differ (an input only one side has is not compared)."""
    out = []
    for name, old in before.items():
        new = after.get(name)
        if new is None or isinstance(old, str) or isinstance(new, str):
            if new is not None and old != new:
                out.append(name)
            continue
        a, b = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
        if a.shape != b.shape or not np.all(np.abs(a - b) <= TOLERANCE * (1 + np.abs(a[2]))):
            out.append(name)
    return out
