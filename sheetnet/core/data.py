"""Data sets: the book's appendix images and UCI's digits shipped in the package, or a user's CSV.

A CSV has a ``label`` column, then the pixels row by row (channel by channel for images of
several channels: all of channel 1, then all of channel 2, …). Classes are the distinct labels,
sorted (numerically when every label is a number). ``datasets/SOURCES.md`` says where each
shipped set comes from.
"""

from __future__ import annotations

import csv
import math
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass, replace
from importlib import resources
from pathlib import Path

import numpy as np

from sheetnet.core import cells
from sheetnet.core.budget import MAX_DATA_BYTES
from sheetnet.errors import SheetnetError
from sheetnet.files import gunzip, read_gzip_text, read_text
from sheetnet.layers.base import Shape
from sheetnet.notation import Words
from sheetnet.pairs.ops import one_hot

Label = float | str


@dataclass(frozen=True)
class Dataset:
    """Images as rows of pixels.

    x: (N, channels·rows·cols) float pixels, channel by channel, each row by row; labels: N
    labels; classes: sorted distinct labels; shape: (rows, cols) of one channel.
    """

    name: str
    x: np.ndarray
    labels: tuple[Label, ...]
    classes: tuple[Label, ...]
    shape: tuple[int, int]
    values: bool = False  # the labels are the targets themselves (regression), not classes
    channels: int = 1

    @property
    def shape_text(self) -> str:
        """``6x6``, or ``8x8x3`` with channels: as ``--shape`` takes it."""
        rows, cols = self.shape
        return f"{rows}x{cols}" + (f"x{self.channels}" if self.channels > 1 else "")

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

    def words(self, maps: bool = True) -> Words:
        """How its parts are named (``maps``: a net reads its images as maps, not as a column
        of inputs)."""
        x = "x: the inputs (an image's pixels" + (")" if maps else
                                                  " row by row: layer 1's outputs a¹)")
        t = ("t: the target value" if self.values and self.outputs == 1 else
             "t: the target, 1 for the image's class and 0 for the others")
        return Words(x=x, t=t)

    def input_shape(self) -> Shape:
        """What one image is to the first layer: maps of ``shape`` (a dense layer reads them as
        a column)."""
        return Shape.image(*self.shape, self.channels)

    def subset(self, rows: np.ndarray) -> Dataset:
        """The images ``rows`` (in that order), with the same classes."""
        return replace(self, x=self.x[rows], labels=tuple(self.labels[i] for i in rows))

    def pixel_names(self) -> list[str]:
        """``p11, p12, …`` as in the book's appendix (1-based row, column); ``x1, x2, …`` for
        inputs that are one row (points rather than images)."""
        rows, cols = self.shape
        if rows == 1 and self.channels == 1:
            return [f"x{c + 1}" for c in range(cols)] if cols > 1 else ["x"]
        names = [f"p{r + 1}{c + 1}" if rows < 10 and cols < 10 else f"p{r + 1}_{c + 1}"
                 for r in range(rows) for c in range(cols)]
        if self.channels == 1:
            return names
        return [f"c{k + 1}.{name}" for k in range(self.channels) for name in names]


BUILTIN = {
    "digits01": ("digits01_4x3.csv", (4, 3), "book appendix A: 64 images 4×3 of 0 and 1"),
    "digits123": ("digits123_6x6.csv", (6, 6), "book appendix B: 96 images 6×6 of 1, 2 and 3"),
    "xor": (None, (1, 2), "the four points of XOR: t = x1 xor x2"),
    "curve": (None, (1, 1), "100 points x in [−1, 1], t = x² + 0.2u, u uniform on [0, 1)"
                            " (seed 0)"),
    "digits": (None, (8, 8), "UCI optdigits: the first 10 images of each digit 0–9 (100), 8×8,"
                             " pixels 0–16 scaled to 0–1"),
    "mnist": (None, (28, 28), "MNIST: 10,000 digits 0–9, 28×28, grey levels 0–255 scaled to"
                              " 0–1"),
}
MNIST_FILE = "mnist_10k_28x28.csv.gz"  # source and licence: datasets/SOURCES.md
DIGITS_FILE = "uci_optdigits_8x8.csv"  # source and licence: datasets/SOURCES.md
DIGITS_PER_CLASS = 10


def xor() -> Dataset:
    x = np.array([[0.0, 0.0], [0.0, 1.0], [1.0, 0.0], [1.0, 1.0]])
    return Dataset("xor", x, (0.0, 1.0, 1.0, 0.0), (), (1, 2), values=True)


def curve(n: int = 100, seed: int = 0) -> Dataset:
    """y = x² + 0.2u at n evenly spaced x in [−1, 1], u uniform on [0, 1) from ``seed``."""
    x = np.linspace(-1.0, 1.0, n)
    y = x**2 + 0.2 * np.random.default_rng(seed).random(n)
    return Dataset("curve", x[:, None], tuple(float(v) for v in y), (), (1, 1), values=True)


def parse_shape(text: str) -> tuple[int, int, int]:
    """``"4x3"`` -> (4, 3, 1); ``"8x8x3"`` -> (8, 8, 3): rows, columns, channels."""
    parts = text.lower().replace("×", "x").split("x")
    try:
        sizes = [int(p) for p in parts]
    except ValueError:
        sizes = []
    if len(sizes) not in (2, 3):
        raise SheetnetError(f"--shape {text!r} is not ROWSxCOLS or ROWSxCOLSxCHANNELS; write it"
                            " like 4x3 or 8x8x3")
    if min(sizes) < 1:
        raise SheetnetError(f"--shape {text!r} needs positive sizes; write it like 4x3")
    rows, cols, *rest = sizes
    return rows, cols, (rest[0] if rest else 1)


def digits(per_class: int = DIGITS_PER_CLASS) -> Dataset:
    """UCI optdigits (1,797 images 8×8): the first ``per_class`` images of each digit, in the
    file's order, pixels divided by 16 so they lie in [0, 1]."""
    full = _shipped(DIGITS_FILE, (8, 8), "digits")
    labels = np.asarray(full.labels)
    keep = np.sort(np.concatenate([np.flatnonzero(labels == c)[:per_class]
                                   for c in full.classes]))
    return replace(full, x=full.x[keep] / 16.0, labels=tuple(full.labels[i] for i in keep))


def builtin(name: str) -> Dataset:
    """One of the data sets shipped inside the package."""
    filename, shape, _ = BUILTIN[name]
    if filename is None:
        return {"xor": xor, "curve": curve, "digits": digits, "mnist": mnist}[name]()
    return _shipped(filename, shape, name)


def _shipped(filename: str, shape: tuple[int, int], name: str) -> Dataset:
    item = resources.files("sheetnet.core.datasets").joinpath(filename)
    if filename.endswith(".gz"):
        text = gunzip(item.read_bytes(), filename, MAX_DATA_BYTES)
    else:
        text = item.read_text(encoding="utf-8")
    return parse_csv(text, shape, name=name, source=filename)


def mnist() -> Dataset:
    """The 10,000 MNIST digits shipped (sorted by digit), grey levels divided by 255."""
    full = _shipped(MNIST_FILE, (28, 28), "mnist")
    return replace(full, x=full.x / 255.0)


def load_csv(path: Path, shape: tuple[int, ...] | None, values: bool = False) -> Dataset:
    """A user's CSV file: ``label`` then channels·rows·cols pixel columns (``values``: numeric
    targets). shape: (rows, cols) or (rows, cols, channels)."""
    if path.suffix == ".gz":
        text = read_gzip_text(path, "--data", MAX_DATA_BYTES)
    else:
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


def parse_csv(text: str, shape: tuple[int, ...] | None, *, name: str, source: str,
              values: bool = False) -> Dataset:
    """Parse ``label,p…`` rows; with ``values`` the labels are numeric targets, not classes.
    shape: (rows, cols) or (rows, cols, channels); None: one row of as many pixels as the
    header names (the inputs of a fully connected net)."""
    fast = _numeric_rows(text)
    if fast is not None:  # every cell a number: parsed by NumPy (MNIST's 7.8 million cells)
        header, numbers = fast
        rows = [header]
        body = []
    else:
        rows = csv_rows(text, source)
        if not rows:
            raise SheetnetError(f"{source}: the CSV is empty; it needs a header row"
                                " `label,p11,…` and one row per image")
        header, body = rows[0], rows[1:]
    if not header or header[0].strip().lower() != "label":
        first = header[0].strip() if header else ""
        shown = repr(first[:20]) + ("…" if len(first) > 20 else "")
        raise SheetnetError(f"{source}: the first column must be `label` (its header starts"
                            f" {shown}); put the label first, then the pixels")
    if not body and fast is None:
        raise SheetnetError(f"{source}: the CSV has a header but no images; add one row per image")
    rows_, cols_, channels = (*shape, 1)[:3] if shape else (1, len(header) - 1, 1)
    n_pixels = rows_ * cols_ * channels
    given = f"{rows_}x{cols_}" + (f"x{channels}" if channels > 1 else "")
    if len(header) - 1 != n_pixels or n_pixels < 1:
        raise SheetnetError(
            f"{source}: {len(header) - 1} pixel columns do not fit --shape {given}"
            f" ({n_pixels} pixels); give the image's real --shape ROWSxCOLS or"
            " ROWSxCOLSxCHANNELS")
    if fast is not None:
        return _dataset(numbers[:, 1:], [f"{v:g}" if v.is_integer() else repr(float(v))
                                         for v in numbers[:, 0]],
                        (rows_, cols_, channels), name, source, values,
                        lambda k: f"line {k + 2}")
    pixels = np.empty((len(body), n_pixels))
    raw_labels: list[str] = []
    for i, row in enumerate(body, start=2):
        if len(row) != len(header):
            raise SheetnetError(f"{source}: line {i} has {len(row)} columns, the header has"
                                f" {len(header)}; every row needs a label and {n_pixels} pixels")
        raw_labels.append(row[0].strip())
        try:
            pixels[i - 2] = [float(v) for v in row[1:]]
        except ValueError:
            bad = next(v for v in row[1:] if not is_number(v))
            raise SheetnetError(f"{source}: line {i} has a pixel {bad!r} that is not a number;"
                                " pixels must be numbers") from None
    return _dataset(pixels, raw_labels, (rows_, cols_, channels), name, source, values,
                    lambda k: f"line {k + 2}")


def _numeric_rows(text: str) -> tuple[list[str], np.ndarray] | None:
    """(header, every other row's numbers (rows, columns)) when every cell below the header is
    a plain number and every row as long as the header; None otherwise (the careful reader
    then says what is wrong, line by line)."""
    if '"' in text or _CONTROL.search(text):
        return None
    lines = [line for line in text.splitlines() if line.strip()]
    if len(lines) < 2:
        return None
    header = [cell.strip() for cell in lines[0].split(",")]
    if any(line.count(",") != len(header) - 1 for line in lines[1:]):
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a cell NumPy cannot read: the careful reader's
        try:
            numbers = np.fromstring(",".join(lines[1:]), sep=",")
        except ValueError:
            return None
    if numbers.size != (len(lines) - 1) * len(header) or not np.isfinite(numbers).all():
        return None
    return header, numbers.reshape(len(lines) - 1, len(header))


def from_arrays(images: object, labels: object, shape: tuple[int, int, int] | None, *,
                values: bool = False, source: str = "data") -> Dataset:
    """A data set from Python: ``images`` an array (N, pixels), (N, rows, cols) or
    (N, channels, rows, cols) of numbers; ``labels`` N labels (numbers or text), or N target
    values with ``values``. ``shape`` (rows, cols, channels) reads (N, pixels) as images;
    without it such rows are one row of pixels each."""
    try:
        x = np.array(images, dtype=float)
    except (TypeError, ValueError, OverflowError):
        raise SheetnetError(f"{source}: the images must be an array of numbers (N images ×"
                            " their pixels), each a float") from None
    if x.ndim not in (2, 3, 4) or x.shape[0] < 1 or x[0].size < 1:
        raise SheetnetError(f"{source}: the images have shape {x.shape}; give (N, pixels),"
                            " (N, rows, cols) or (N, channels, rows, cols)")
    found = {2: None, 3: (*x.shape[1:], 1), 4: (*x.shape[2:], x.shape[1])}[x.ndim]
    if shape is None:
        shape = found or (1, x.shape[1], 1)
    elif found is not None and tuple(found) != tuple(shape):
        raise SheetnetError(f"{source}: images of shape {x.shape[1:]} do not match shape"
                            f" {'x'.join(map(str, shape))}; give one or the other")
    if shape[0] * shape[1] * shape[2] != x[0].size:
        raise SheetnetError(f"{source}: {x[0].size} pixels an image do not fit shape"
                            f" {'x'.join(map(str, shape))}")
    if isinstance(labels, (str, bytes)) or not hasattr(labels, "__len__"):
        raise SheetnetError(f"{source}: labels must be a list of {len(x)} labels (numbers or"
                            " text), one an image")
    items = list(np.asarray(labels, dtype=object).ravel())  # a column of labels, or a list
    if len(items) != len(x):
        raise SheetnetError(f"{source}: {len(items)} labels for {len(x)} images; give one"
                            " label an image")
    texts = []
    for k, label in enumerate(items):
        if isinstance(label, (bool, np.bool_)) or not isinstance(label, (str, int, float,
                                                                         np.number)):
            raise SheetnetError(f"{source}: label {k} is {label!r}; a label is a number or"
                                " text")
        try:
            texts.append(label.strip() if isinstance(label, str) else repr(float(label)))
        except OverflowError:
            raise SheetnetError(f"{source}: label {k} is too large for a float; a label is a"
                                " number or text") from None
    return _dataset(x.reshape(len(x), -1), texts, tuple(shape), "data", source, values,
                    lambda k: f"image {k}")


def _dataset(pixels: np.ndarray, raw_labels: list[str], shape: tuple[int, ...], name: str,
             source: str, values: bool, where: Callable[[int], str]) -> Dataset:
    """Checks shared by a CSV and arrays: labels a cell can hold, finite pixels a cell can
    hold, at least two classes that differ beyond case (or numeric targets)."""
    rows_, cols_, channels = shape
    for k, label in enumerate(raw_labels):
        if not label:
            raise SheetnetError(f"{source}: {where(k)} has an empty label; give every image a"
                                " label")
        if _CONTROL.search(label):
            raise SheetnetError(f"{source}: {where(k)}'s label holds a control character, which"
                                " no workbook cell can hold; remove it")
        cells.check_text(label, f"{source}: {where(k)}'s label")
    bad = ~np.isfinite(pixels)
    if bad.any():
        k = int(np.argwhere(bad)[0][0])
        raise SheetnetError(f"{source}: {where(k)} has a pixel that is not finite (nan/inf);"
                            " pixels must be finite numbers")
    if found := cells.first_problem(pixels):
        (k, _), problem = found
        raise SheetnetError(f"{source}: {where(k)} has a pixel {problem}")
    as_numbers = [_label(v) for v in raw_labels]
    if values:
        bad_labels = [v for v, n in zip(raw_labels, as_numbers, strict=True)
                      if not isinstance(n, float)]
        if bad_labels:
            raise SheetnetError(f"{source}: the label {bad_labels[0]!r} is not a number; this"
                                " net learns a number per row, so every label must be one")
        return Dataset(name=name, x=pixels, labels=tuple(as_numbers), classes=(),
                       shape=(rows_, cols_), values=True, channels=channels)
    labels: list[Label] = ([*as_numbers] if all(isinstance(v, float) for v in as_numbers)
                           else [*raw_labels])
    classes = tuple(sorted(set(labels)))
    folded = {str(c).casefold() for c in classes}
    if len(folded) < len(classes):
        raise SheetnetError(f"{source}: labels that differ only in upper/lower case (e.g."
                            f" {', '.join(map(str, classes[:4]))}); spreadsheets compare text"
                            " ignoring case, so rename one")
    if len(classes) < 2:
        raise SheetnetError(f"{source}: only one class ({classes[0]!r}); a classifier needs images"
                            " of at least two different labels")
    return Dataset(name=name, x=pixels, labels=tuple(labels), classes=classes,
                   shape=(rows_, cols_), channels=channels)


def is_number(text: str) -> bool:
    """Whether a text parses as a float."""
    try:
        float(text)
    except ValueError:
        return False
    return True
