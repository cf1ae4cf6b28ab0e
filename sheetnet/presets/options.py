"""What a user may set on the command line, shared by every preset."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from sheetnet.core.data import Dataset
from sheetnet.errors import SheetnetError
from sheetnet.files import read_text

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Options:
    """What a user may set on the command line (None: the preset's default)."""

    iterations: int | None = None
    eta: float | None = None
    seed: int | None = None  # None: DEFAULT_SEED (``seed_value``); given, only where used
    init: Path | Mapping[str, object] | None = None  # a JSON file, or (from Python) its object
    init_scheme: str | None = None  # how initial weights are drawn: normal, xavier or he
    data: Path | Dataset | None = None  # a CSV file, or (from Python) arrays made a Dataset
    shape: str | None = None
    filters: int | None = None  # the CNN's K, f, pooling (max or average) with its p, padding
    filter_size: int | None = None
    pool: str | None = None
    pool_size: int | None = None
    padding: int | None = None
    layers: str | None = None  # e.g. "2,4,1": every layer's size, input to output
    dropout: float | None = None  # the share of each hidden layer's units dropped a step
    batch_norm: bool | None = None  # batch norm after each hidden weighted sum (cnn: the conv)
    arch: str | None = None  # a stack of layers, e.g. "conv 4 3x3, relu, maxpool 2, dense 10"
    activation: str | None = None
    output_activation: str | None = None
    loss: str | None = None
    leaky_slope: float | None = None  # the settings of leaky-relu and the huber loss
    huber_delta: float | None = None
    function: str | None = None  # gd: which function, and where to start ("X,Y")
    start: str | None = None
    compare: str | None = None  # gd: update rules side by side, e.g. "gd,momentum,adam"
    optimizer: str | None = None  # the update rule, and its hyperparameters by name
    hyper: dict[str, float] = field(default_factory=dict)
    batch_size: int | None = None
    shuffle: bool | None = None
    l1: float | None = None
    l2: float | None = None
    eta_decay: float | None = None
    text: Path | None = None  # rnn: the text to learn (default: a nursery rhyme)
    seq_length: int | None = None  # rnn: T, the steps of a window
    hidden: int | None = None  # rnn: H, the hidden state's units; gan: G's hidden units
    noise: int | None = None  # gan: the numbers of noise z G reads
    d_steps: int | None = None  # gan: the discriminator's steps per iteration
    points: int | None = None  # gan: the real points of the ring
    embed: int | None = None  # attention: D, each position's numbers
    mlp: int | None = None  # attention: F, the MLP's hidden units
    layer_norm: bool | None = None  # attention: pre-norm before the attention and the MLP
    labels: str | None = None  # the classes kept, e.g. "0,1,2,3,4" (numbered from 0 in order)
    per_class: int | None = None  # the training images kept of each class
    freeze: int | None = None  # the first N weighted layers keep their starting parameters
    validation: float | None = None  # the share of the images held out for validation
    patience: int | None = None  # stop once the validation cost has not improved for N

    def __post_init__(self) -> None:
        if isinstance(self.batch_size, int) and self.batch_size < 1:
            raise SheetnetError(f"--batch-size {self.batch_size} must be at least 1 image, e.g."
                                " --batch-size 8")

    def given(self) -> dict[str, object]:
        """The options set (not None), as JSON takes them: paths as text, a data set or
        initial parameters from Python by what they are, hyperparameters by name."""
        out: dict[str, object] = {}
        for name in self.__dataclass_fields__:
            value = getattr(self, name)
            if name == "hyper" or value is None:
                continue
            if isinstance(value, Dataset):
                value = f"{value.n_images} images {value.shape_text} (given from Python)"
            elif isinstance(value, Mapping):
                value = f"{', '.join(value)} (given from Python)"
            elif isinstance(value, Path):
                value = str(value)
            out[name] = value
        return {**out, **self.hyper}

    @property
    def seed_value(self) -> int:
        return DEFAULT_SEED if self.seed is None else self.seed

    def unused(self, *allowed: str, net: str = "") -> None:
        """Refuse options net ``net`` does not use (all but ``allowed``), naming the first."""
        which = f", --net {net}" if net else ""
        for name in self.__dataclass_fields__:
            if name in allowed or name == "hyper":
                continue
            if getattr(self, name) is not None:
                flag = "--no-shuffle" if name == "shuffle" and not self.shuffle else \
                    f"--{name.replace('_', '-')}"
                raise SheetnetError(f"{flag} is not used by this net{which}; see"
                                    " `sheetnet export --help` and `sheetnet nets`")
        if self.hyper and "optimizer" not in allowed:
            raise SheetnetError(f"--{next(iter(self.hyper))} is not used by this net{which}; see"
                                " `sheetnet export --help`")


MAX_INIT_BYTES = 16 * 2**20


def read_json(path: Path) -> object:
    """An ``--init`` file: JSON with no key given twice."""
    text = read_text(Path(path), "--init", MAX_INIT_BYTES)

    def unique_keys(pairs: list[tuple[str, object]]) -> dict[str, object]:
        seen: dict[str, object] = {}
        for key, value in pairs:
            if key in seen:
                raise SheetnetError(f"--init {path}: the key {key!r} is given twice; keep one")
            seen[key] = value
        return seen

    try:
        return json.loads(text, object_pairs_hook=unique_keys)
    except json.JSONDecodeError as e:
        raise SheetnetError(f"--init {path}: not valid JSON ({e}); fix the file") from None
    except RecursionError:
        raise SheetnetError(f"--init {path}: nested too deeply to be initial parameters; give"
                            " each one as a list (of lists) of numbers") from None
    except ValueError:  # an integer of thousands of digits, beyond Python's conversion limit
        raise SheetnetError(f"--init {path}: a number has thousands of digits; give plain"
                            " numbers such as 0.25 or 1e-3") from None
