"""A text as data: windows of characters, each step's character in, the next one out.

The vocabulary is the text's distinct characters in sorted order (a tail that fills no window
counts too); each character enters as a one-hot column xₜ. The text is cut into windows of
T + 1 characters with stride T: window j is characters jT … jT + T, its inputs the first T and
its targets the last T (the next character at every step), and each starts from h₀ = 0. A
``TextData`` is these windows as a data set: a window is an image of T steps.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np

from sheetnet.core.data import Dataset
from sheetnet.errors import SheetnetError
from sheetnet.layers.base import Shape
from sheetnet.notation import Words

# public domain: the first stanza of Jane Taylor's "The Star" (1806)
DEFAULT_TEXT = ("twinkle, twinkle, little star, how i wonder what you are! up above the world"
                " so high, like a diamond in the sky.")
MAX_TEXT = 5_000  # characters a run reads (a workbook's budget refuses far fewer)


@dataclass(frozen=True)
class Text:
    """A text cut into windows: ``steps`` (T) characters in, the T after each out."""

    text: str
    steps: int
    vocab: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.vocab:
            object.__setattr__(self, "vocab", tuple(sorted(set(self.text))))

    @property
    def windows(self) -> int:
        return (len(self.text) - 1) // self.steps

    @property
    def used(self) -> str:
        """The characters the windows read (a text's tail that fills no window is left out)."""
        return self.text[:self.windows * self.steps + 1]

    def index(self) -> np.ndarray:
        """Each character's place in the vocabulary: (len,)."""
        where = {c: i for i, c in enumerate(self.vocab)}
        return np.array([where[c] for c in self.used])

    def one_hot(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, t): each (W, T, V), the inputs and the targets (the next characters)."""
        idx = self.index()
        eye = np.eye(len(self.vocab))
        starts = np.arange(self.windows)[:, None] * self.steps + np.arange(self.steps)
        return eye[idx[starts]], eye[idx[starts + 1]]

    def window(self, w: int) -> tuple[str, str]:
        """Window w's characters read and the next ones (its targets)."""
        return (self.used[w * self.steps:(w + 1) * self.steps],
                self.used[w * self.steps + 1:(w + 1) * self.steps + 1])


def check_text(text: str, steps: int) -> None:
    """Refuse, in one line, a text that makes no window."""
    if steps < 1:
        raise SheetnetError(f"--seq-length {steps} must be at least 1")
    if len(set(text)) < 2:
        raise SheetnetError("the text needs at least 2 different characters to predict")
    if len(text) < steps + 1:
        raise SheetnetError(f"the text has {len(text)} characters; a window of --seq-length"
                            f" {steps} needs {steps + 1} (use a shorter --seq-length)")


@dataclass(frozen=True)
class TextData(Dataset):
    """A text's windows as a data set: x (W, T·V), each step's one-hot character in turn;
    targets (W, T, V), the next characters; labels: the characters read, one a row of the
    Data sheet; classes: the vocabulary."""

    text: Text = field(default_factory=lambda: Text("ab", 1))

    @classmethod
    def of(cls, text: Text, name: str = "text") -> TextData:
        x, _ = text.one_hot()
        return cls(name, x.reshape(text.windows, -1), tuple(text.used), text.vocab,
                   (text.steps, len(text.vocab)), text=text)

    @property
    def targets(self) -> np.ndarray:
        return self.text.one_hot()[1]

    @property
    def n_images(self) -> int:
        return self.text.windows

    @property
    def shape_text(self) -> str:
        return f"{self.text.windows} windows of {self.text.steps} steps"

    def input_shape(self) -> Shape:
        return Shape.sequence(len(self.text.vocab), self.text.steps)

    def words(self, maps: bool = True) -> Words:
        return Words("window", "windows", "character",
                     "xₜ: the character at step t, one-hot over the vocabulary",
                     "tₜ: the next character (the target), one-hot")

    def subset(self, rows: np.ndarray) -> Dataset:
        raise SheetnetError("a text's windows go together (each reads its text's next"
                            " characters); a window of a text net trains on the whole text")

    def pixel_names(self) -> list[str]:
        """Each row of x and t: a character of the vocabulary, as it is seen."""
        return [seen(c) for c in self.text.vocab]


SEEN = {" ": "␣", "\n": "⏎", "\t": "⇥", "\r": "␍"}


def seen(char: str) -> str:
    """A character as a label shows it, quoted: a space as ␣, a line end as ⏎, a tab as ⇥."""
    return f"'{SEEN.get(char, char)}'"


def text_of(data: object) -> Text:
    """The text a run's data holds (a text net's)."""
    assert isinstance(data, TextData), "a text net's data is a text's windows"
    return data.text


def sample(layers: tuple, p: Mapping[str, np.ndarray], text: Text, start: str,
           length: int) -> str:
    """The text a net's ``layers`` write from ``start``, each next character its most probable
    one (the layers run over the whole text so far, from h₀ = 0, without dropout)."""
    where = {c: i for i, c in enumerate(text.vocab)}
    eye = np.eye(len(text.vocab))
    out = start
    for _ in range(length):
        h = eye[[where[c] for c in out]][None]
        for layer in layers:
            h, _ = layer.forward(h, p)
        out += text.vocab[int(np.argmax(h[0, -1]))]
    return out
