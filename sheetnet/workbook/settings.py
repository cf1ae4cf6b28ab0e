"""The Inputs sheet's settings: what a workbook says about its run, written and read back here.

Each preset kind has a pair: ``*_settings(run)`` gives the "key | value" rows export writes, and
the reader beside it turns those rows (as verify reads them) back into the net, the data's
shape or the exercise's size. The first row names the format: version 4 names a net's stack
(``architecture``, as ``--arch`` writes it), so one reader rebuilds any net; version 3 put a
title above the Summary's table (and a Guide first); version 2 wrote shared formulas and named
its update rule. verify still reads versions 1 to 3 (1 and 2: the workbooks shipped with 0.1.0),
whose missing settings take the defaults they had then.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from sheetnet import layers
from sheetnet.core.net import Net, build
from sheetnet.core.run import Run
from sheetnet.core.text import TextData
from sheetnet.errors import SheetnetError
from sheetnet.layers.stack import cnn_layers, dense_layers
from sheetnet.pairs import penalties
from sheetnet.pairs.activations import ACTIVATIONS
from sheetnet.pairs.optim import UpdateRule, rule
from sheetnet.pairs.outputs import output_layer

FORMAT = "sheetnet workbook 5"
FORMATS = ("sheetnet workbook 1", "sheetnet workbook 2", "sheetnet workbook 3",
           "sheetnet workbook 4", FORMAT)  # the versions verify reads
PLAIN_SUMMARY = FORMATS[:2]  # their Summary's table starts at A1 (no title above it)
PARAMETERS_FIRST = FORMATS[:4]  # their iteration sheets start with the parameters (format 5:
# the forward pass, the cost, the errors, then the gradients and the parameters)
ROW = 4  # the Inputs sheet's first "key | value" row

Settings = Mapping[str, object]


def _common(run: Run) -> dict[str, object]:
    return {"workbook": FORMAT, "net": run.preset}


def _training(run: Run) -> dict[str, object]:
    """How the net trains: its rule, batches, penalties and schedule (their values are input
    cells)."""
    given = [h.name for h in (*penalties.PENALTIES, penalties.DECAY)
             if h.name in run.hyperparameters]
    out: dict[str, object] = {"optimizer": run.rule.name,
                              "batch size": "all" if run.batches is None else run.batch_size,
                              "penalties and schedule": ", ".join(given) or "none"}
    if run.held is not None:
        out["validation"] = "yes"  # images held out: their flags are Iter 0's inputs
    if run.start:  # a window continuing a checkpoint: its state is input cells
        out["first iteration"] = run.start
    if run.frozen:  # kept as they start: no update, no state (--freeze)
        out["frozen"] = ", ".join(run.frozen)
    return out


def _data(run: Run) -> dict[str, object]:
    ds = run.data
    return {**_training(run), "iterations": run.iterations,
            "image shape": ds.shape_text, "images": ds.n_images,
            "classes": len(ds.classes), "data": run.origin.get("data", ds.name),
            ("checkpoint" if run.start else "initial parameters"):
                run.origin.get("init", "")}


def _int(s: Settings, key: str) -> int:
    return int(str(s[key]))


def _choice(s: Settings, key: str, default: str) -> str:
    return str(s.get(key, default))


# --- networks --------------------------------------------------------------------------------


def net_settings(run: Run) -> dict[str, object]:
    """A net's settings: its stack as ``--arch`` writes it, its output layer and its data (a
    text's: its length, vocabulary and windows' steps; the text itself is input cells)."""
    net: Net = run.model
    head = {**_common(run), "architecture": net.arch,
            "output activation": net.output.pair.activation, "loss": net.output.pair.loss,
            "accuracy": "yes" if net.accuracy else "no"}
    statistics = {"statistics": "yes"} if run.statistics else {}
    if isinstance(run.data, TextData):
        text = run.data.text
        return {**head, **_training(run), "iterations": run.iterations,
                "seq length": text.steps, "characters": len(text.used),
                "vocabulary": len(text.vocab), "text": run.origin.get("data", ""),
                ("checkpoint" if run.start else "initial parameters"):
                    run.origin.get("init", ""), **statistics}
    return {**head, "targets": "values" if run.data.values else "classes", **_data(run),
            **statistics}


def text_size(s: Settings) -> tuple[int, int, int, int]:
    """(characters, vocabulary, seq length, iterations) of a text net's workbook."""
    return (_int(s, "characters"), _int(s, "vocabulary"), _int(s, "seq length"),
            _int(s, "iterations"))


def net_of(s: Settings, image: layers.Shape | None = None, outputs: int | None = None) -> Net:
    """The net a workbook's settings describe, whatever version wrote them: format 4 names its
    stack; earlier ones named a fully connected net's layers or the CNN's sizes. ``image``,
    ``outputs``: the data's, when the settings do not give them as an image's (a text's)."""
    if image is not None and outputs is not None:  # format 4 showed no predictions
        return build(layers.parse(str(s["architecture"])), image, _output(s), outputs,
                     _choice(s, "accuracy", "yes") == "yes",
                     predictions=s.get("workbook") not in PARAMETERS_FIRST)
    shape = data_shape(s)
    outputs = 1 if shape.values else shape.classes
    if "architecture" in s:
        stack = layers.parse(str(s["architecture"]))
    elif "layers" in s:
        sizes = [int(v) for v in str(s["layers"]).split(",")]
        stack = dense_layers(sizes, _activation(s), _choice(s, "biases", "yes") == "yes")
    else:
        stack = cnn_layers(_int(s, "filters"), _int(s, "filter size"), _int(s, "pool"),
                           outputs, _activation(s), _choice(s, "pooling", "max"),
                           int(_choice(s, "padding", "0")))
    image = layers.Shape.image(shape.rows, shape.cols, shape.channels)
    return build(stack, image, _output(s), outputs, _choice(s, "accuracy", "yes") == "yes")


def _activation(s: Settings):
    return ACTIVATIONS[str(s["activation"])]


def _output(s: Settings):
    return output_layer(str(s["output activation"]), _choice(s, "loss", "half-sse"))


@dataclass(frozen=True)
class DataShape:
    """What the settings say about the data: enough to lay the workbook out."""

    rows: int
    cols: int
    images: int
    classes: int
    values: bool  # targets are values (regression), not classes
    channels: int = 1


def image_shape(s: Settings) -> tuple[int, int, int]:
    """(rows, cols, channels) from ``6x6`` or ``8x8x3``."""
    sizes = [int(v) for v in str(s["image shape"]).split("x")]
    if len(sizes) not in (2, 3):
        raise ValueError(f"image shape {s['image shape']!r}")
    rows, cols, *rest = sizes
    return rows, cols, (rest[0] if rest else 1)


def data_shape(s: Settings) -> DataShape:
    rows, cols, channels = image_shape(s)
    return DataShape(rows, cols, _int(s, "images"), _int(s, "classes"),
                     s.get("targets") == "values", channels)


# --- exercises -------------------------------------------------------------------------------


def gd_settings(run: Run) -> dict[str, object]:
    f = getattr(run.model, "function", run.model)
    rules = getattr(run.model, "rules", None)
    return {**_common(run), "function": f.name, "z": f.text,
            **({"compare": ",".join(r.name for r in rules)} if rules
               else {"optimizer": run.rule.name}), "iterations": run.iterations}


def gd_function(s: Settings) -> str:
    return str(s["function"])


def compared(s: Settings) -> list[UpdateRule]:
    """The rules a comparison workbook names (none for one rule's)."""
    text = s.get("compare")
    return [rule(name.strip()) for name in str(text).split(",")] if text else []


def regression_settings(run: Run) -> dict[str, object]:
    return {**_common(run), "points": run.data.n_images, "iterations": run.iterations,
            "data": run.origin.get("data", "")}


def regression_size(s: Settings) -> tuple[int, int]:
    """(points, steps)."""
    return _int(s, "points"), _int(s, "iterations")


def gan_settings(run: Run) -> dict[str, object]:
    gan = run.model
    steps = 1 if run.drawn is None else int(run.drawn["zD"].shape[1])
    return {**_common(run), "points": run.data.n_images, "noise": gan.noise,
            "hidden": gan.generator.layers[0].units, "d steps": steps,
            "optimizer": run.rule.name, "iterations": run.iterations,
            "data": run.origin.get("data", ""),
            "initial parameters": run.origin.get("init", "")}


def gan_size(s: Settings) -> tuple[int, int, int, int]:
    """(points, noise, hidden units, D steps per iteration)."""
    return _int(s, "points"), _int(s, "noise"), _int(s, "hidden"), _int(s, "d steps")


def graph_settings(run: Run) -> dict[str, object]:
    return {**_common(run), "graph": "shopping", "iterations": run.iterations}


def iterations(s: Settings) -> int:
    return _int(s, "iterations")


def update_rule(s: Settings) -> UpdateRule:
    """The rule a workbook names (format 1 knew only gradient descent)."""
    return rule(_choice(s, "optimizer", "gd"))


def extra_hypers(s: Settings) -> list[str]:
    """The penalties' and schedule's hyperparameters the workbook has cells for."""
    text = _choice(s, "penalties and schedule", "none")
    known = {h.name for h in (*penalties.PENALTIES, penalties.DECAY)}
    given = [] if text == "none" else [v.strip() for v in text.split(",")]
    unknown = [v for v in given if v not in known]
    if unknown:
        raise SheetnetError(f"unknown penalty or schedule {unknown[0]!r}")
    return given


def with_statistics(s: Settings) -> bool:
    """Whether the workbook has a Statistics sheet (written only when it has)."""
    return _choice(s, "statistics", "no") == "yes"


def validated(s: Settings) -> bool:
    """Whether images are held out for validation (written only when they are)."""
    return _choice(s, "validation", "no") == "yes"


def first_iteration(s: Settings) -> int:
    """The run's iteration a window's Iter 0 is (0: a run from its start; written only when
    the workbook continues a checkpoint, whose rule state is then input cells)."""
    return int(_choice(s, "first iteration", "0"))


def frozen(s: Settings, params: Sequence[str]) -> tuple[str, ...]:
    """The parameters kept as they start (written only when some are), each one of
    ``params``."""
    text = _choice(s, "frozen", "")
    given = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in given if v not in params]
    if unknown:
        raise SheetnetError(f"the settings freeze {unknown[0]!r}, which is not one of the net's"
                            " parameters")
    return given


def batched(s: Settings) -> bool:
    """Whether each iteration has a batch (format 1: never)."""
    return _choice(s, "batch size", "all") != "all"


# --- reading ----------------------------------------------------------------------------------


def read(rows: Sequence[Sequence[object]]) -> dict[str, object]:
    """The Inputs sheet's "key | value" rows back as a dict (``rows`` as read, 0-based); the
    first key names the format."""
    found: dict[str, object] = {}
    for row in rows[ROW - 1:]:
        key = row[0] if row else None
        if key is None or str(key).startswith("η"):
            break
        found[str(key)] = row[2] if len(row) > 2 else None
    return found


def check_format(s: Settings, source: str) -> str:
    """The preset a workbook was written by, if it is a sheetnet workbook verify can read."""
    if s.get("workbook") not in FORMATS or "net" not in s:
        if str(s.get("workbook", "")).startswith("sheetnet workbook "):
            raise SheetnetError(f"{source} was written by a newer sheetnet"
                                f" ({s['workbook']}); update sheetnet to verify it")
        raise SheetnetError(f"{source}: not a sheetnet workbook (its Inputs sheet lacks the"
                            f" {FORMAT!r} mark); make one with `sheetnet export`")
    return str(s["net"])
