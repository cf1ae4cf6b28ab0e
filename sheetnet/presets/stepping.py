"""How a run steps, from the options: its update rule and every hyperparameter, and each
iteration's batch."""

from __future__ import annotations

import numpy as np

from sheetnet.core import batches as batching
from sheetnet.errors import SheetnetError
from sheetnet.pairs import penalties
from sheetnet.pairs.optim import UpdateRule, flag, rule
from sheetnet.presets.options import Options


def update_rule(opts: Options) -> tuple[UpdateRule, dict[str, float]]:
    """The rule ``--optimizer`` names and every hyperparameter beyond η: the rule's own (the
    options' or its defaults), then the penalties' and the schedule's when given, each checked
    in one line."""
    chosen = rule(opts.optimizer or "gd")
    own = {h.name: h for h in chosen.hypers}
    for name in opts.hyper:
        if name not in own:
            takes = f"takes {', '.join(h.flag for h in own.values())}" if own else "takes none"
            raise SheetnetError(f"{flag(name)} is not used by --optimizer {chosen.name} (which"
                                f" {takes}); pick an --optimizer that uses it")
    hyper: dict[str, float] = {}
    for h in chosen.hypers:
        hyper[h.name] = opts.hyper.get(h.name, h.default)
        h.check(hyper[h.name])
    for h, value in ((penalties.L1, opts.l1), (penalties.L2, opts.l2),
                     (penalties.DECAY, opts.eta_decay)):
        if value is not None:
            h.check(value)
            hyper[h.name] = value
    return chosen, hyper


def batches(opts: Options, images: int, iterations: int) -> np.ndarray | None:
    """Each iteration's batch as a mask over the images, or None for full batches."""
    if opts.batch_size is None:
        if opts.shuffle is not None:
            raise SheetnetError("--shuffle and --no-shuffle go with --batch-size B")
        return None
    if not 1 <= opts.batch_size <= images:
        raise SheetnetError(f"--batch-size {opts.batch_size} must be 1 to {images:,} (the"
                            " number of images)")
    shuffle = opts.batch_size < images if opts.shuffle is None else opts.shuffle
    return batching.masks(images, opts.batch_size, iterations, shuffle, opts.seed_value)
