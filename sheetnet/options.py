"""What a user may set on the command line, shared by every preset."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from sheetnet.errors import SheetnetError

DEFAULT_SEED = 0


@dataclass(frozen=True)
class Options:
    """What a user may set on the command line (None: the preset's default)."""

    iterations: int | None = None
    eta: float | None = None
    seed: int = DEFAULT_SEED
    init: Path | None = None
    data: Path | None = None
    shape: str | None = None
    filters: int | None = None  # the CNN's K, f and p
    filter_size: int | None = None
    pool: int | None = None
    layers: str | None = None  # e.g. "2,4,1": every layer's size, input to output
    activation: str | None = None
    output_activation: str | None = None
    loss: str | None = None
    function: str | None = None  # gd: which function, and where to start ("X,Y")
    start: str | None = None

    def unused(self, *allowed: str) -> None:
        """Refuse options this net does not use (all but ``allowed``), naming the first."""
        for name in self.__dataclass_fields__:
            if name in allowed or name == "seed":
                continue
            if getattr(self, name) is not None:
                raise SheetnetError(f"--{name.replace('_', '-')} is not used by this net; see"
                                    " `sheetnet export --help` and `sheetnet nets`")


def read_json(path: Path) -> object:
    path = Path(path)
    if not path.is_file():
        raise SheetnetError(f"--init {path}: no such file; give a JSON file of initial parameters")
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise SheetnetError(f"--init {path}: not valid JSON ({e}); fix the file") from None
