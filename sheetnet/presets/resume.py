"""Runs that continue a checkpoint: ``train --from`` (the same run, on from its last step) and
``export --from`` (a window: a few iterations on a few images, laid out as cells).

A checkpoint keeps the options its run was made from; the run is rebuilt from them (the same
data, net, rule and batch order), then starts from the checkpoint's parameters, rule state and
step count.
"""

from __future__ import annotations

import hashlib
from collections.abc import Collection
from dataclasses import fields, replace
from pathlib import Path

import numpy as np

from sheetnet.core import checkpoint as ck_mod
from sheetnet.core import descent
from sheetnet.core.budget import MAX_DATA_BYTES
from sheetnet.core.checkpoint import Checkpoint
from sheetnet.core.data import Dataset
from sheetnet.core.params import fmt_shape, validate_params
from sheetnet.core.run import Run
from sheetnet.core.text import MAX_TEXT
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import read_bytes
from sheetnet.pairs import optim
from sheetnet.presets import get, stepping
from sheetnet.presets.nets import NetPreset
from sheetnet.presets.options import Options
from sheetnet.presets.recurrent import TextPreset

PATHS = ("init", "data", "text")  # the options that name files
LIMITS = {"data": MAX_DATA_BYTES, "text": 4 * MAX_TEXT}  # the bytes each data file may hold
DEFAULT_IMAGES = 8  # a window's images when --images is not given
DAMAGED = ("the checkpoint's options are not options sheetnet writes (damaged or edited); write"
           " the checkpoint again with train --checkpoint")


def supported(preset: object) -> NetPreset:
    """The preset, if its runs can be checkpointed (every net that trains)."""
    if not isinstance(preset, NetPreset):
        name = getattr(preset, "name", preset)
        if getattr(preset, "players", False):  # two nets and two states: not a checkpoint's
            raise SheetnetError(f"--checkpoint and --from keep one net and its optimizer's"
                                f" state; --net {name} trains two, which they do not save yet:"
                                " train it in one run (--iterations N)")
        raise SheetnetError(f"--checkpoint and --from are for the nets that train (not the"
                            f" exercises): --net {name} has no parameters to save")
    return preset


def save(preset: object, opts: Options, run: Run, trace: Trace, path: Path,
         force: bool = False) -> Checkpoint:
    """Write the checkpoint after ``trace``'s last update (the run made from ``opts``)."""
    supported(preset)
    if isinstance(opts.data, Dataset):
        raise SheetnetError("a checkpoint keeps the options its run was made from, and data"
                            " given from Python is not one; save the data as a CSV and give"
                            " its path")
    carried = tuple(run.model.carried_start())
    # the parameters are in the checkpoint: how they started is not needed to go on
    given = {k: v for k, v in opts.given().items() if k not in ("init", "init_scheme")}
    for name in PATHS[1:]:  # found again from another folder
        if isinstance(getattr(opts, name), Path):
            given[name] = str(Path(getattr(opts, name)).resolve())
    given["iterations"] = run.start + run.iterations
    # what the preset chose too, so that a later version's defaults cannot change the run
    given.update(optimizer=run.rule.name, eta=run.eta, seed=run.seed,
                 **{h.name: run.hyper[h.name] for h in run.rule.hypers})
    if run.batches is not None:
        given["batch_size"] = run.batch_size
    ck = ck_mod.of(run.preset, given, run.start, trace, run.rule.name, run.rule.carried,
                   carried, descent.best_so_far(trace, run.start, run.best), run.frozen)
    ck = replace(ck, pinned={name: fingerprint(name, Path(str(given[name])))
                             for name in PATHS[1:] if name in given})
    ck_mod.save(ck, path, force)
    return ck


def fingerprint(option: str, path: Path) -> str:
    """The SHA-256 of a data file's bytes (``--data`` or ``--text``), read within the limits
    its own reader keeps."""
    raw = read_bytes(path, f"--{option}", LIMITS[option])
    return hashlib.sha256(raw).hexdigest()


def data_files(ck: Checkpoint) -> list[str]:
    """The data files a checkpoint's run reads, as options (``--data /abs/path``)."""
    return [f"--{name} {ck.options[name]}" for name in PATHS[1:] if name in ck.options]


def options_of(ck: Checkpoint, replaced: Collection[str] = ()) -> Options:
    """The options the checkpoint's run was made from (``replaced``: data files a fine-tuned
    run replaces, neither read nor checked)."""
    own = {f.name for f in fields(Options)} - {"hyper"}
    if any(k not in own and k not in optim.hypers() for k in ck.options):
        raise SheetnetError(DAMAGED)
    given = {k: v for k, v in ck.options.items() if k in own}
    try:
        hyper = {k: float(v) for k, v in ck.options.items() if k not in own}  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise SheetnetError(DAMAGED) from None
    for name in PATHS:
        if name in given:
            given[name] = Path(str(given[name]))
    opts = Options(**given, hyper=hyper)  # type: ignore[arg-type]
    for name in PATHS[1:]:  # the data as it was: checked before a byte of it is parsed
        path = given.get(name)
        if path is None or name in replaced:
            continue
        if name not in ck.pinned:
            raise SheetnetError(f"the checkpoint names --{name} {path} without its fingerprint"
                                " (damaged, edited or from an older sheetnet); write the"
                                " checkpoint again")
        try:
            found = fingerprint(name, Path(str(path)))
        except SheetnetError:
            raise SheetnetError(f"the checkpoint's run read --{name} {path}, which is not"
                                " there now (or not readable); put it back where it was"
                                ) from None
        if found != ck.pinned[name]:
            raise SheetnetError(f"the checkpoint's run read --{name} {path}, whose contents"
                                " have changed since it was saved; restore the file, or train"
                                " again on the new one")
    return replace(opts, init=None, init_scheme=None)


def _started(preset: NetPreset, ck: Checkpoint, opts: Options,
             iterations: int | None, workbook: bool, detail: bool | None = None,
             every: int | None = None) -> Run:
    """The checkpoint's run rebuilt for ``iterations`` more, from its parameters and state
    (``detail``: every block kept, as ``preset.run`` takes it; None: as ``workbook``)."""
    _same_net(preset, ck)
    try:
        run = preset.run(replace(opts, iterations=iterations), workbook=workbook,
                         detail=workbook if detail is None else detail, every=every)
    except (TypeError, ValueError, AttributeError):  # options of the wrong kinds
        raise SheetnetError(DAMAGED) from None
    params = validate_params({k: v.shape for k, v in run.params.items()},
                             {k: v.tolist() for k, v in ck.params.items()}, "the checkpoint")
    if ck.optimizer != run.rule.name or set(ck.state) - set(params):
        raise SheetnetError(DAMAGED)
    state = {}
    if set(ck.state) & set(run.frozen):
        raise SheetnetError(DAMAGED)
    for name, value in params.items():
        if name in run.frozen:  # kept as it is: the rule keeps no state for it
            continue
        kinds = ck.state.get(name, {})
        if set(kinds) != set(run.rule.carried) or any(np.shape(v) != value.shape
                                                      for v in kinds.values()):
            raise SheetnetError(f"the checkpoint's {run.rule.name} state for {name} is"
                                " missing or misshapen; write the checkpoint again")
        negative = [k for k in run.rule.nonnegative if k in kinds and np.any(kinds[k] < 0)]
        if negative:
            raise SheetnetError(f"the checkpoint's {run.rule.name} state {negative[0]} of {name}"
                                " is below 0, which a sum of squares never is (damaged or"
                                " edited); write the checkpoint again")
        state[name] = {k: kinds[k] for k in run.rule.carried}
    return replace(run, params=params, state=state, start=ck.step,
                   carried=_carried(run, ck) or None, best=ck.best,
                   origin={**run.origin, "init": f"{ck.describe()}, saved by train"
                                                 " --checkpoint"})


def _same_net(preset: NetPreset, ck: Checkpoint) -> None:
    """Refuse a checkpoint of another net than ``--net`` names, in one line."""
    if ck.net != preset.name:
        raise SheetnetError(f"the checkpoint is of --net {ck.net}, not --net {preset.name};"
                            f" give --net {ck.net} (or leave --net out)")


def _carried(run: Run, ck: Checkpoint) -> dict[str, np.ndarray]:
    """What the net's layers carry from step to step, in the checkpoint (batch norm's running
    averages): exactly the net's, each of its shape, never negative where it cannot be."""
    want = {c.name: c for c in run.model.carried()}
    bad = sorted(set(want) ^ set(ck.carried)) or [
        k for k, v in ck.carried.items() if np.shape(v) != np.shape(want[k].start)
        or (want[k].nonnegative and np.any(v < 0))]
    if bad:
        raise SheetnetError(f"the checkpoint's {bad[0]} (what a layer carries from step to"
                            " step, such as batch norm's running averages) is missing,"
                            " misshapen, extra or negative where it cannot be (damaged or"
                            " edited); write the checkpoint again")
    return dict(ck.carried)


def continued(preset: object, ck: Checkpoint, iterations: int | None, every: int | None = None,
              detail: bool = False) -> Run:
    """``train --from``: the same run on from step ``ck.step`` for ``iterations`` (default:
    the net's), its batches those the whole run would have used; ``every``, ``detail``: as
    ``preset.run`` takes them (the Python API keeps every block)."""
    preset = supported(preset)
    opts = options_of(ck)
    run = _started(preset, ck, opts, iterations, False, detail, every)
    return _batched_on(run, opts, ck.step)


def _batched_on(run: Run, opts: Options, step: int) -> Run:
    """The run with the batches the whole run takes from ``step`` on."""
    if run.batches is None:
        return run
    whole = stepping.batches(replace(opts, batch_size=run.batch_size), run.batches.shape[1],
                             step + run.iterations, run.held)
    return replace(run, batches=whole[step:])  # type: ignore[index]


def window(preset: object, ck: Checkpoint, iterations: int | None, images: int | None,
           pick: str | None) -> Run:
    """``export --from``: ``iterations`` iterations (default 2) on ``images`` images, from the
    checkpoint: the images of the run's next batches (default 8), or those ``pick`` numbers
    (from 1, among the images trained on, as ``show --image`` counts); every one in each step's
    batch."""
    preset = supported(preset)
    if pick is not None and images is not None:
        raise SheetnetError("give --images N (the next batches' first N) or --pick NUMBERS"
                            " (those images), not both")
    if isinstance(preset, TextPreset):
        return _text_window(preset, ck, iterations, images, pick)
    k = 2 if iterations is None else iterations
    if k < 1:
        raise SheetnetError(f"--iterations {k} must be at least 1, e.g. --iterations 2")
    opts = options_of(ck)
    base = _started(preset, ck, opts, 1, workbook=False)
    if pick is not None:
        rows = _picked(base, pick)
    else:
        want = DEFAULT_IMAGES if images is None else images
        trained = base.n_images if base.held is None else int(np.sum(base.held == 0))
        if not 1 <= want <= trained:
            raise SheetnetError(f"--images {want} must be 1 to {trained:,} (the images trained"
                                " on)")
        size = base.batch_size
        if size is not None:  # enough of the run's next batches: at most two epochs
            base = replace(base, iterations=-(-want // size) + -(-base.n_images // size))
        rows = _next(_batched_on(base, opts, ck.step), want)
    shown = ", ".join(str(r + 1) for r in rows[:12]) + (" …" if len(rows) > 12 else "")
    batches = ("" if base.batches is None
               else f"; the run's steps took batches of {base.batch_size}")
    origin = {**base.origin, "data": f"{len(rows)} images of {base.origin['data']}: numbers"
                                     f" {shown}{batches}"}
    run = replace(base, data=base.data.subset(rows), iterations=k, batches=None, held=None,
                  patience=None, test=None, every=None, drawn=None, origin=origin,
                  statistics=True)
    _check_window(preset, run)
    return run


def _text_window(preset: TextPreset, ck: Checkpoint, iterations: int | None,
                 images: int | None, pick: str | None) -> Run:
    """A recurrent net's window: the run itself going on, every window of its text (a
    workbook holds the whole text), its own batches."""
    if images is not None or pick is not None:
        raise SheetnetError(f"--{'images' if images is not None else 'pick'} chooses images;"
                            f" a window of --net {preset.name} trains on its whole text, as"
                            " the run does")
    opts = options_of(ck)
    run = _started(preset, ck, opts, 2 if iterations is None else iterations, workbook=True)
    return _batched_on(run, opts, ck.step)


def _picked(run: Run, pick: str) -> np.ndarray:
    """The rows of the images ``--pick`` numbers (from 1, as ``show --image`` and the
    workbook count), each an image the run trains on."""
    n = run.n_images
    try:
        numbers = np.array([int(v) for v in pick.replace(" ", "").split(",")])
    except ValueError:
        raise SheetnetError(f"--pick {pick!r} is not a list of image numbers; write it like"
                            " --pick 1,17,42") from None
    bad = [int(r) for r in numbers if not 1 <= r <= n]
    if bad:
        raise SheetnetError(f"--pick {bad[0]} is not one of the {n:,} images; number them 1"
                            f" to {n:,}")
    rows = numbers - 1
    held = [int(r) + 1 for r in rows if run.held is not None and run.held[r]]
    if held:
        raise SheetnetError(f"--pick {held[0]} is an image held out for validation; pick"
                            " images the run trains on")
    if len(set(rows.tolist())) < len(rows):
        raise SheetnetError(f"--pick {pick}: an image is given twice; give each once")
    return rows


def _next(run: Run, want: int) -> np.ndarray:
    """The first ``want`` images the run's next steps take: the next batch's, then the one
    after it's …, in data order within a batch (full batches: the first images trained on)."""
    if run.batches is None:
        trained = np.ones(run.n_images, bool) if run.held is None else run.held == 0
        return np.flatnonzero(trained)[:want]
    order = dict.fromkeys(r for batch in run.batches for r in np.flatnonzero(batch))
    return np.array(list(order)[:want])


def _check_window(preset: NetPreset, run: Run) -> None:
    """Refuse a window beyond the budget or Excel's grid, saying what would fit."""
    net, n, k = run.model, run.n_images, run.iterations

    def fits(images: int, iterations: int) -> bool:
        try:
            preset.check_size(net, images, iterations, run.rule, workbook=True, detail=True)
        except SheetnetError:
            return False
        return True

    if fits(n, k):
        return
    most_images = _largest(lambda i: fits(i, k), n)
    most_iterations = _largest(lambda j: fits(n, j), k)
    options = ([f"--images {most_images}"] if most_images else []) + (
        [f"--iterations {most_iterations}"] if most_iterations else [])
    fix = (f"what fits: {' or '.join(options)}" if options
           else "even one image over one iteration does not fit")
    raise SheetnetError(f"a window of {n:,} images over {k:,} iterations is beyond a workbook's"
                        f" limits (Excel's grid, sheets and formula cells, or memory); {fix}")


def _largest(ok, upper: int) -> int:
    """The largest v in 1..upper with ok(v) (0 if none), for ok that holds up to a point."""
    lo, hi = 0, upper
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if ok(mid):
            lo = mid
        else:
            hi = mid - 1
    return lo


def load(net: str | None, source: Path, opts: Options, tune: bool = False
         ) -> tuple[NetPreset, Checkpoint]:
    """``--from``'s preset and checkpoint. Going on, or a window, the run's options are the
    checkpoint's (``opts`` may give only --iterations); fine-tuned (``tune``), ``opts`` may
    give any but those that make the net."""
    if tune:
        extra = [name for name in opts.given() if name in NET_OPTIONS]
        if extra:
            raise SheetnetError(f"--{extra[0].replace('_', '-')} cannot be given with --from:"
                                " a fine-tuned run keeps the checkpoint's net (its parameters"
                                " are where it starts); give the data's and training's"
                                " options, --freeze and --new-head")
    else:
        extra = [name for name in opts.given() if name != "iterations"]
        if extra:
            raise SheetnetError(f"--{extra[0].replace('_', '-')} cannot be given with --from"
                                " here: the checkpoint's run keeps its own options (give"
                                " --iterations, and for a window --images or --pick); to"
                                " fine-tune on other data or settings, train --from with them"
                                " and --checkpoint, then export --from that")
    ck = ck_mod.load(source)
    return supported(get(net or ck.net)), ck


# the options that make a net: a fine-tuned run keeps the checkpoint's
NET_OPTIONS = ("init", "init_scheme", "arch", "layers", "filters", "filter_size", "pool",
               "pool_size", "padding", "dropout", "batch_norm", "activation",
               "output_activation", "loss", "hidden", "embed", "mlp", "layer_norm", "function",
               "start", "compare")


def fine_tuned(preset: object, ck: Checkpoint, given: Options, new_head: bool = False,
               detail: bool = False, every: int | None = None) -> tuple[Run, Options]:
    """``train --from CK`` with other data or settings (``given``: --labels, --per-class,
    --freeze, η …): a new run of the checkpoint's net from its parameters (and what its
    layers carry), the update rule's state fresh and its steps counted from 0;
    ``new_head``: the last weighted layer drawn anew, as the preset draws it (its outputs
    may then differ: the new classes). Returns the run and the options it is made from (the
    checkpoint's, ``given`` over them), which a checkpoint of it keeps."""
    preset = supported(preset)
    _same_net(preset, ck)
    new = {name: value for name, value in vars(given).items()
           if name not in ("hyper", "iterations") and value is not None}
    base = options_of(ck, replaced=[name for name in PATHS[1:] if name in new])
    if "data" in new:  # the new data's own shape, if any
        base = replace(base, shape=None)
    if base.batch_size == preset.batch_size:  # the preset's: as a new run takes it, at most
        base = replace(base, batch_size=None)  # the new data's images
    same_rule = given.optimizer is None or given.optimizer == base.optimizer
    hyper = {**(base.hyper if same_rule else {}), **given.hyper}
    opts = replace(base, **new, hyper=hyper, iterations=given.iterations)
    try:
        run = preset.run(opts, detail=detail, every=every)
    except (TypeError, ValueError, AttributeError):  # options of the wrong kinds
        raise SheetnetError(DAMAGED) from None
    net = run.model
    head = net.head() if new_head else ()
    if set(ck.params) != set(run.params):
        raise SheetnetError(DAMAGED)
    for name, value in run.params.items():
        have = np.shape(ck.params[name])
        if name in head or have == value.shape:
            continue
        fix = ("give --new-head to start a new output layer for the new classes"
               if name in net.head() else "fine-tune on data of the checkpoint's shape")
        raise SheetnetError(f"the checkpoint's {name} is {fmt_shape(have)}, but the net for"
                            f" this data needs {fmt_shape(value.shape)}; {fix}")
    kept = validate_params({k: v.shape for k, v in run.params.items() if k not in head},
                           {k: v.tolist() for k, v in ck.params.items() if k not in head},
                           "the checkpoint")
    params = {name: kept.get(name, run.params[name]) for name in run.params}
    how = [f"{', '.join(run.frozen)} frozen"] if run.frozen else []
    if head:
        how.append(f"a new head {', '.join(head)} (--init-scheme {preset.init_scheme},"
                   f" --seed {opts.seed_value})")
    origin = {**run.origin, "init": f"{ck.describe()}, fine-tuned"
                                    + "".join(f"; {h}" for h in how)}
    was, now = base.labels, opts.labels
    if not head and not run.data.values and was != now:
        origin["note"] = (f"the checkpoint's output layer is kept: its units learnt"
                          f" {_classes(was)}, and now stand for {_classes(now)} in that"
                          " order; give --new-head to start a new one")
    return replace(run, params=params, carried=_carried(run, ck) or None,
                   origin=origin), opts


def _classes(labels: str | None) -> str:
    return "every class of its data" if labels is None else f"the classes {labels}"
