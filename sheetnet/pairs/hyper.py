"""Hyperparameters: each a named input cell on the Inputs sheet and a command-line option.

Update rules, penalties, the schedule, and activations or losses with a setting of their own
(leaky ReLU's slope, Huber's δ) declare theirs as a ``Hyper``; the cell's defined name is what
their Excel forms write, so editing the cell recomputes the run and verify follows the edit.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from sheetnet.errors import SheetnetError


@dataclass(frozen=True)
class Hyper:
    """A hyperparameter: a named input cell and an option ``--{name}``."""

    name: str  # the cell's defined name (and the option, hyphenated), e.g. "momentum"
    symbol: str  # as the sheet labels it, e.g. "μ"
    default: float
    meaning: str
    valid: Callable[[float], bool]
    valid_text: str  # what ``valid`` asks, e.g. "in [0, 1)"
    option: str = ""  # the command-line option, when not ``--{name}`` with hyphens

    @property
    def flag(self) -> str:
        """The command-line option: ``--weight-decay`` for ``weight_decay``."""
        return self.option or "--" + self.name.replace("_", "-")

    def check(self, value: float) -> None:
        if not (np.isfinite(value) and self.valid(value)):
            raise SheetnetError(f"{self.flag} {value:g} must be {self.valid_text}")


ETA = Hyper("eta", "η", 0.2, "the learning rate", lambda v: v > 0, "a positive number")
