"""Data sets: the book's appendix images shipped in the package, or a user's CSV.

A CSV has a ``label`` column, then the pixels row by row. Classes are the distinct labels, sorted
(numerically when every label is a number).
"""

from __future__ import annotations

import csv
import math
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from sheetnet.core.cost import MAX_DATA_BYTES
from sheetnet.errors import SheetnetError
from sheetnet.files import read_text
from sheetnet.pairs.ops import one_hot

Label = float | str


@dataclass(frozen=True)
class Dataset:
    """Images as rows of pixels.

    x: (N, rows·cols) float pixels, row by row; labels: N labels; classes: sorted distinct labels.
    """

    name: str
    x: np.ndarray
    labels: tuple[Label, ...]
    classes: tuple[Label, ...]
    shape: tuple[int, int]
    values: bool = False  # the labels are the targets themselves (regression), not classes

    @property
    def targets(self) -> np.ndarray:
        """t: (N, K) one-hot targets, class order as in ``classes``; or (N, 1) label values."""
        if self.values:
            return np.asarray(self.labels, dtype=float)[:, None]
        return one_hot(self.labels, self.classes)

    @property
    def outputs(self) -> int:
        """How many output units the data asks for: one per class, or one value."""
        return 1 if self.values else len(self.classes)

    @property
    def n_images(self) -> int:
        return self.x.shape[0]

    def pixel_names(self) -> list[str]:
        """``p11, p12, …`` as in the book's appendix (1-based row, column); ``x1, x2, …`` for
        inputs that are one row (points rather than images)."""
        rows, cols = self.shape
        if rows == 1:
            return [f"x{c + 1}" for c in range(cols)] if cols > 1 else ["x"]
        return [f"p{r + 1}{c + 1}" if rows < 10 and cols < 10 else f"p{r + 1}_{c + 1}"
                for r in range(rows) for c in range(cols)]


BUILTIN = {
    "digits01": ("digits01_4x3.csv", (4, 3), "book appendix A: 64 images 4×3 of 0 and 1"),
    "digits123": ("digits123_6x6.csv", (6, 6), "book appendix B: 96 images 6×6 of 1, 2 and 3"),
    "xor": (None, (1, 2), "the four points of XOR: t = x1 xor x2"),
    "curve": (None, (1, 1), "100 points x in [−1, 1], t = x² + 0.2u, u uniform on [0, 1)"
                            " (seed 0)"),
}


def xor() -> Dataset:
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return Dataset("xor", x, (0.0, 1.0, 1.0, 0.0), (), (1, 2), values=True)


def curve(n: int = 100, seed: int = 0) -> Dataset:
    """y = x² + 0.2u at n evenly spaced x in [−1, 1], u uniform on [0, 1) from ``seed``."""
    x = np.linspace(-1.0, 1.0, n)
    y = x**2 + 0.2 * np.random.default_rng(seed).random(n)
    return Dataset("curve", x[:, None], tuple(float(v) for v in y), (), (1, 1), values=True)


def parse_shape(text: str) -> tuple[int, int]:
    """``"4x3"`` -> (4, 3)."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        rows, cols = (int(p) for p in parts)
    except ValueError:
        raise SheetnetError(f"--shape {text!r} is not ROWSxCOLS; write it like 4x3") from None
    if rows < 1 or cols < 1:
        raise SheetnetError(f"--shape {text!r} needs positive sizes; write it like 4x3")
    return rows, cols


def builtin(name: str) -> Dataset:
    """One of the book's data sets shipped inside the package."""
    filename, shape, _ = BUILTIN[name]
    if filename is None:
        return {"xor": xor, "curve": curve}[name]()
    text = resources.files("sheetnet.core.datasets").joinpath(filename).read_text(encoding="utf-8")
    return parse_csv(text, shape, name=name, source=filename)


def load_csv(path: Path, shape: tuple[int, int], values: bool = False) -> Dataset:
    """A user's CSV file: ``label`` then rows·cols pixel columns (``values``: numeric targets)."""
    text = read_text(path, "--data", MAX_DATA_BYTES)
    return parse_csv(text, shape, name=path.name, source=f"--data {path}", values=values)


def csv_rows(text: str, source: str) -> list[list[str]]:
    """The non-blank rows of a CSV text, refusing what a workbook could not hold."""
    try:
        rows = [r for r in csv.reader(text.splitlines()) if any(cell.strip() for cell in r)]
    except csv.Error as e:  # e.g. a field longer than the csv module's limit (131,072)
        raise SheetnetError(f"{source}: not a CSV sheetnet can read ({e}); check the file"
                            ) from None
    for i, row in enumerate(rows, start=1):
        for cell in row:
            if _CONTROL.search(cell):
                raise SheetnetError(f"{source}: row {i} holds a control character (such as a"
                                    " NUL byte), which no workbook cell can hold; remove it")
    return rows


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ufffe\uffff]")


def _label(text: str) -> Label:
    try:
        value = float(text)
    except ValueError:
        return text
    return value if math.isfinite(value) else text


def parse_csv(text: str, shape: tuple[int, int], *, name: str, source: str,
              values: bool = False) -> Dataset:
    """Parse ``label,p…`` rows; with ``values`` the labels are numeric targets, not classes."""
    rows = csv_rows(text, source)
    if not rows:
        raise SheetnetError(f"{source}: the CSV is empty; it needs a header row `label,p11,…`"
                            " and one row per image")
    header, body = rows[0], rows[1:]
    if not header or header[0].strip().lower() != "label":
        raise SheetnetError(f"{source}: the first column must be `label` (header is"
                            f" {','.join(header[:3])}…); put the label first, then the pixels")
    if not body:
        raise SheetnetError(f"{source}: the CSV has a header but no images; add one row per image")
    n_pixels = shape[0] * shape[1]
    if len(header) - 1 != n_pixels:
        raise SheetnetError(
            f"{source}: {len(header) - 1} pixel columns do not fit --shape {shape[0]}x{shape[1]}"
            f" ({n_pixels} pixels); give the image's real --shape ROWSxCOLS")
    pixels = np.empty((len(body), n_pixels))
    raw_labels: list[str] = []
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise SheetnetError(f"{source}: line {i} has {len(row)} columns, the header has"
                                f" {len(header)}; every row needs a label and {n_pixels} pixels")
        label = row[0].strip()
        if not label:
            raise SheetnetError(f"{source}: line {i} has an empty label; give every image a label")
        raw_labels.append(label)
        try:
            pixels[i - 2] = [float(v) for v in row[1:]]
        except ValueError:
            bad = next(v for v in row[1:] if not is_number(v))
            raise SheetnetError(f"{source}: line {i} has a pixel {bad!r} that is not a number;"
                                " pixels must be numbers") from None
        if not np.all(np.isfinite(pixels[i - 2])):
            raise SheetnetError(f"{source}: line {i} has a pixel that is not finite (nan/inf);"
                                " pixels must be finite numbers")
    as_numbers = [_label(v) for v in raw_labels]
    if values:
        bad = [v for v, n in zip(raw_labels, as_numbers, strict=True) if not isinstance(n, float)]
        if bad:
            raise SheetnetError(f"{source}: the label {bad[0]!r} is not a number; this net learns"
                                " a number per row, so every label must be one")
        return Dataset(name=name, x=pixels, labels=tuple(as_numbers), classes=(), shape=shape,
                       values=True)
    labels: list[Label] = (as_numbers if all(isinstance(v, float) for v in as_numbers)
                           else raw_labels)
    classes = tuple(sorted(set(labels)))
    folded = {str(c).casefold() for c in classes}
    if len(folded) < len(classes):
        raise SheetnetError(f"{source}: labels that differ only in upper/lower case (e.g."
                            f" {', '.join(map(str, classes[:4]))}); spreadsheets compare text"
                            " ignoring case, so rename one")
    if len(classes) < 2:
        raise SheetnetError(f"{source}: only one class ({classes[0]!r}); a classifier needs images"
                            " of at least two different labels")
    return Dataset(name=name, x=pixels, labels=tuple(labels), classes=classes, shape=shape)


def is_number(text: str) -> bool:
    """Whether a text parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True
