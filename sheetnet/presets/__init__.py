"""The presets ``--net NAME`` knows: the book's exercises and networks, and a few classics.

Every preset answers the ``Preset`` protocol, so export, train, show and verify treat them
alike; the registry feeds ``sheetnet nets`` and the CLI's choices.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any, Protocol

from sheetnet.core.descent import Anchor
from sheetnet.core.run import Found, Run
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.presets import attention, exercises, gan, nets, recurrent
from sheetnet.presets.options import Options
from sheetnet.workbook.layout import WorkbookSpec


class Preset(Protocol):
    """What a preset provides (``nets.NetPreset`` and the exercises in ``exercises``)."""

    @property
    def name(self) -> str: ...

    @property
    def summary(self) -> str: ...

    @property
    def follows(self) -> str: ...

    @property
    def iterations(self) -> int: ...

    @property
    def images(self) -> bool:
        """Whether `show` draws an image's blocks (else it prints ``table``)."""

    @property
    def values(self) -> bool:
        """Its data's labels are target values (regression), not classes."""

    @property
    def eta_text(self) -> str: ...

    def run(self, opts: Options, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Run:
        """A run from command-line options, checked (and its size: ``workbook``, its
        workbook's; ``detail``, every block of every image kept) before any array exists;
        ``every``: training alone reports the whole data's cost every k-th iteration (where
        mini-batches make that a pass of its own; None: every iteration)."""

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None, anchor: Anchor | None = None) -> Trace:
        """The NumPy core's run; ``keep`` limits the stored blocks (None: all); ``anchor``
        (nets): each iteration from a recalculated workbook's parameters (a ``descent.Anchor``;
        the exercises, whose steps do not compound rounding, ignore it)."""

    def workbook(self, run: Run) -> WorkbookSpec:
        """The run's workbook layout."""

    def skeleton(self, settings: Mapping[str, object]) -> Run:
        """A run of a workbook's shapes, from its settings, with zero values: where every cell
        is."""

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        """The run a workbook's input cells describe (``found``: input place -> values)."""

    def text_inputs(self, skeleton: Run) -> set[str]:
        """Input places that may hold text rather than numbers."""

    def stopped(self, run: Run, trace: Trace) -> tuple[Run, Trace]:
        """The run and its trace cut where ``--patience`` stops it (unchanged without)."""

    def test(self, run: Run, trace: Trace) -> dict[str, Any] | None:
        """The last parameters on data kept apart to test on (None: it keeps none)."""

    def evaluate(self, run: Run, trace: Trace) -> dict[str, float] | None:
        """The last parameters evaluated on the data trained on (None: an exercise)."""

    def evaluation(self, run: Run) -> str:
        """What that evaluation does differently from training ("no dropout"; "": nothing)."""

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        """What ``show`` prints of a preset without images: (title, headers, rows)."""


PRESETS: dict[str, Preset] = {  # in the book's order, then the classics
    p.name: p for p in (exercises.GD, exercises.REGRESSION, nets.MLP, nets.CNN, exercises.GRAPH,
                        nets.XOR, nets.CURVE, nets.TWOLAYER, nets.DIGITS, nets.MNIST, recurrent.RNN,
                        recurrent.LSTM, recurrent.GRU, attention.ATTENTION, gan.GAN)
}


def get(name: str) -> Preset:
    if not isinstance(name, str):
        raise SheetnetError(f"net={name!r}: name a net as text, one of: {', '.join(PRESETS)}"
                            " (see `sheetnet nets`)")
    key = name.lower()
    if key not in PRESETS:
        raise SheetnetError(f"unknown net {name!r}; choose one of: {', '.join(PRESETS)}"
                            " (see `sheetnet nets`)")
    return PRESETS[key]


def replace_iterations(run: Run, iterations: int) -> Run:
    """The same run, shorter or longer."""
    return replace(run, iterations=iterations)


__all__ = ["Options", "PRESETS", "Preset", "get", "replace_iterations"]
