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


def held_out(opts: Options, images: int) -> np.ndarray | None:
    """(N,) 1 for each image ``--validation`` holds out (a seeded share), or None."""
    if opts.validation is None:
        if opts.patience is not None:
            raise SheetnetError("--patience N goes with --validation FRACTION: it watches the"
                                " validation cost")
        return None
    share = opts.validation
    held = round(share * images) if np.isfinite(share) else 0
    if not 0 < share < 1:
        raise SheetnetError(f"--validation {share:g} is the share of the {images:,} images held"
                            " out: more than 0 and less than 1 (e.g. --validation 0.2)")
    if not 1 <= held < images:
        raise SheetnetError(f"--validation {share:g} holds out {held} of the {images:,} images;"
                            " leave at least one on each side (e.g. --validation 0.2)")
    if opts.patience is not None and opts.patience < 1:
        raise SheetnetError(f"--patience {opts.patience} must be at least 1 iteration")
    rng = np.random.default_rng((opts.seed_value, 2))  # apart from the weights' and batches'
    out = np.zeros(images)
    out[rng.permutation(images)[:held]] = 1.0
    return out


def batches(opts: Options, images: int, iterations: int,
            held: np.ndarray | None = None) -> np.ndarray | None:
    """Each iteration's batch as a mask over the images, or None for full batches; with
    images ``held`` out, batches of the others (all of them for full batches)."""
    if held is not None:
        train = np.flatnonzero(held == 0)
        out = np.zeros((iterations + 1, images))
        inner = batches(opts, len(train), iterations)
        out[:, train] = 1.0 if inner is None else inner
        return out
    if opts.batch_size is None:
        if opts.shuffle is not None:
            raise SheetnetError("--shuffle and --no-shuffle go with --batch-size B")
        return None
    if not 1 <= opts.batch_size <= images:
        raise SheetnetError(f"--batch-size {opts.batch_size} must be 1 to {images:,} (the"
                            " number of images trained on)")
    shuffle = opts.batch_size < images if opts.shuffle is None else opts.shuffle
    return batching.masks(images, opts.batch_size, iterations, shuffle, opts.seed_value)
