"""``--labels`` and ``--per-class``: a classifier's data narrowed to some of its classes, and to a
few training images of each (transfer learning's "a new task with little data").

``--labels 5,6,7,8,9`` keeps the images of those classes, the training images and those kept
apart to test on alike, and numbers the kept classes from 0 in ascending order (the output layer
has one unit each); ``--per-class K`` then keeps the first K training images of each class (in
the training images' order: built-in data is shuffled from --seed before it is split).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from sheetnet.core.data import Dataset, Label
from sheetnet.errors import SheetnetError


def label_text(label: Label) -> str:
    """A label as a user types it: 5 for 5.0."""
    return str(int(label)) if isinstance(label, float) and label.is_integer() else str(label)


def kept_classes(ds: Dataset, labels: str) -> tuple[Label, ...]:
    """The classes ``--labels`` names, in the data's order; one line when one is not there."""
    if ds.values:
        raise SheetnetError("--labels picks classes; this data's labels are target values")
    by_text = {label_text(c): c for c in ds.classes}
    asked = [part.strip() for part in labels.split(",")]
    if any(not part for part in asked):
        raise SheetnetError(f"--labels {labels!r}: give classes separated by single commas,"
                            " e.g. --labels 0,1,2")
    missing = [part for part in asked if part not in by_text]
    if missing:
        shown = ", ".join(by_text)
        raise SheetnetError(f"--labels: {missing[0]} is not a class of this data; its classes"
                            f" are {shown}")
    if len(set(asked)) != len(asked):
        raise SheetnetError(f"--labels {labels!r} names a class twice; name each once")
    if len(asked) < 2:
        raise SheetnetError(f"--labels {labels!r} keeps one class; a classifier needs two or"
                            " more")
    return tuple(c for c in ds.classes if label_text(c) in set(asked))


def _only(ds: Dataset, classes: tuple[Label, ...]) -> Dataset:
    rows = np.array([i for i, label in enumerate(ds.labels) if label in classes], dtype=int)
    return replace(ds.subset(rows), classes=classes)


def select(train: Dataset, test: Dataset | None, labels: str | None, per_class: int | None
           ) -> tuple[Dataset, Dataset | None]:
    """(the training images kept, those kept apart to test on, of the kept classes)."""
    if labels is None and per_class is None:
        return train, test
    classes = train.classes if labels is None else kept_classes(train, labels)
    train = _only(train, classes)
    test = None if test is None else _only(test, classes)
    if per_class is None:
        return train, test
    if train.values:
        raise SheetnetError("--per-class keeps images of each class; this data's labels are"
                            " target values")
    if per_class < 1:
        raise SheetnetError(f"--per-class {per_class} must be at least 1")
    rows: list[int] = []
    for c in classes:
        found = [i for i, label in enumerate(train.labels) if label == c]
        if len(found) < per_class:
            raise SheetnetError(f"--per-class {per_class}: class {label_text(c)} has"
                                f" {len(found)} training images; give at most {len(found)}")
        rows += found[:per_class]
    return train.subset(np.array(sorted(rows), dtype=int)), test


def described(labels: str | None, per_class: int | None) -> str:
    """What ``--labels`` and ``--per-class`` kept, to follow the data's origin ("" for
    neither)."""
    kept = [f"classes {labels.replace(' ', '')} kept"] if labels is not None else []
    if per_class is not None:
        kept.append(f"{per_class} training image{'s' * (per_class != 1)} of each")
    return "; " + ", ".join(kept) if kept else ""
