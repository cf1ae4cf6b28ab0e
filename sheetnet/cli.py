"""The ``sheetnet`` command line: thin commands over the library."""

from __future__ import annotations

import functools
import inspect
import json
import signal
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console, Group
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text as RichText

from sheetnet import __version__, layers, presets, runs, terminal
from sheetnet.audit import engines
from sheetnet.audit import verify as audit_verify
from sheetnet.core import health
from sheetnet.core.net import Net
from sheetnet.core.run import Run
from sheetnet.core.text import text_of
from sheetnet.core.trace import jsonable
from sheetnet.errors import SheetnetError
from sheetnet.files import check_out, write_atomically
from sheetnet.pairs import functions, optim, outputs
from sheetnet.pairs.activations import ACTIVATIONS, LEAKY_SLOPE
from sheetnet.pairs.outputs import HUBER_DELTA
from sheetnet.presets import resume
from sheetnet.presets.options import DEFAULT_SEED, Options

# Recent typer vendors its own click: take the exception base from typer itself.
ClickException: type[Exception] = next(c for c in typer.BadParameter.__mro__
                                       if c.__name__ == "ClickException")



class _Bare:
    """A command whose ``--help`` shows no value type (typer labels the flag ``<bool>``)."""

    def get_help_option(self, ctx):
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option


class _Command(_Bare, typer.core.TyperCommand):
    pass


class _Group(_Bare, typer.core.TyperGroup):
    pass


app = typer.Typer(cls=_Group, rich_markup_mode="rich", no_args_is_help=True,
                  add_completion=False,
                  context_settings={"help_option_names": ["-h", "--help"]},
                  help="See how a neural network learns: the book's Excel exercises as live,"
                       " audited workbooks. Start with [bold]sheetnet nets[/], then"
                       " [bold]sheetnet export --net mlp --out mlp.xlsx[/] and [bold]sheetnet"
                       " verify mlp.xlsx[/].")
# no emoji codes: a user's text such as my:x:data.csv is printed as written, not as ✗
console = Console(emoji=False)
err_console = Console(stderr=True, emoji=False)


def _version(value: bool) -> None:
    if value:
        console.print(f"sheetnet {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option(
        "--version", metavar="", is_eager=True, callback=_version,
        help="Print sheetnet's version and exit.")] = False) -> None:
    """See how a neural network learns: the book's Excel exercises as live, audited workbooks.

    Start with [bold]sheetnet nets[/], then [bold]sheetnet export --net mlp --out mlp.xlsx[/].
    """


def fail(message: str) -> None:
    """One line on stderr, exit code 2."""
    err_console.print(f"[bold red]error:[/] {message}", soft_wrap=True, highlight=False)
    raise typer.Exit(code=2)


class Interrupted(BaseException):
    """Ctrl-C or a termination signal, on its way out past every cleanup (``finally``,
    ``except BaseException``) to ``main``, which says so in one line."""

    def __init__(self, code: int):
        super().__init__(code)
        self.code = code  # 130 for Ctrl-C, 128 + the signal's number otherwise


def user_errors(func):
    """Turn a ``SheetnetError`` into one line on stderr and exit code 2 (and Ctrl-C into
    ``Interrupted``, which typer would otherwise turn into a silent exit)."""
    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except SheetnetError as e:
            fail(str(e).replace("[", r"\["))
        except KeyboardInterrupt:
            raise Interrupted(130) from None
    return wrapper


RUN, DATA, NETWORK, TRAINING, EXERCISE, OUTPUT = ("Run", "Data", "Network", "Training",
                                                  "Exercise (gd)", "Output")


def _one_of(names) -> str:
    """``a, b or c`` from a registry's names (so a new entry shows in --help by itself)."""
    names = list(names)
    return ", ".join(names[:-1]) + f" or {names[-1]}" if len(names) > 1 else names[0]


NetOpt = Annotated[str, typer.Option(
    "--net", "-n", rich_help_panel=RUN,
    help=f"Which net: {_one_of(presets.PRESETS)} (see `sheetnet nets`).")]
ItersOpt = Annotated[int | None, typer.Option(
    rich_help_panel=RUN, help="Gradient-descent iterations (default: the net's, see `sheetnet"
                              " nets`).")]
EtaOpt = Annotated[float | None, typer.Option(
    rich_help_panel=RUN, help="Learning rate η > 0 (default: the net's, see `sheetnet nets`).")]
SeedOpt = Annotated[int | None, typer.Option(
    rich_help_panel=RUN, help=f"Seed of the initial parameters and of --shuffle's orders"
                                     f" (gan: and of its ring and noise; 0 or more; default"
                                     f" {DEFAULT_SEED}; nets only).")]
InitOpt = Annotated[Path | None, typer.Option(
    rich_help_panel=RUN, help="JSON file of initial parameters instead of --seed (mlp: W2, b2,"
                              " W3, b3; cnn: F, bF, WO, bO; gan: G_W2, G_b2, G_W3, G_b3, D_W2,"
                              " D_b2, D_W3, D_b3).")]
InitSchemeOpt = Annotated[str | None, typer.Option(
    rich_help_panel=RUN, help="How initial weights are drawn from --seed: normal (standard"
                              " normal, biases too), xavier (× √(2/(fan-in + fan-out))), he"
                              " (× √(2/fan-in)) or uniform (±1/√fan-in, a recurrent layer's"
                              " ±1/√H, as torch draws them), biases 0 but for normal (default:"
                              " the net's: uniform for rnn, lstm, gru and gan, he for mnist, curve"
                              " and twolayer).")]
DataOpt = Annotated[Path | None, typer.Option(
    rich_help_panel=DATA, help="CSV of your own images: a `label` column, then the pixels row by"
                               " row (regression, gan: points, a header x,y).")]
TextOpt = Annotated[Path | None, typer.Option(
    rich_help_panel=DATA, help="--net rnn, lstm, gru, attention: a text file to learn (UTF-8;"
                               " default: a nursery rhyme).")]
SeqOpt = Annotated[int | None, typer.Option(
    rich_help_panel=NETWORK, help="--net rnn, lstm, gru, attention: T, the characters a window"
                                  " reads (default 10).")]
HiddenOpt = Annotated[int | None, typer.Option(
    rich_help_panel=NETWORK, help="--net rnn, lstm, gru: H, the recurrent layer's units (default 8;"
                                  " --arch writes any stack instead); gan: G's hidden units"
                                  " (default 8).")]
NoiseOpt = Annotated[int | None, typer.Option(
    rich_help_panel=NETWORK, help="--net gan: the numbers of noise z the generator reads"
                                  " (default 2).")]
DStepsOpt = Annotated[int | None, typer.Option(
    rich_help_panel=RUN, help="--net gan: the discriminator's steps per iteration, before the"
                              " generator's one (default 1).")]
PointsOpt = Annotated[int | None, typer.Option(
    rich_help_panel=DATA, help="--net gan: the real points, a ring of 8 Gaussians (default 16;"
                               " --data gives your own, a CSV x,y).")]
LabelsOpt = Annotated[str | None, typer.Option(
    rich_help_panel=DATA, help="Keep only these classes, e.g. 0,1,2,3,4 (numbered from 0 in"
                               " ascending order; the test images too).")]
PerClassOpt = Annotated[int | None, typer.Option(
    rich_help_panel=DATA, help="Keep K training images of each class (after --labels), e.g."
                               " --per-class 20.")]
EmbedOpt = Annotated[int | None, typer.Option(
    rich_help_panel=NETWORK, help="--net attention: D, the numbers each position carries"
                                  " (default 8).")]
MlpOpt = Annotated[int | None, typer.Option(
    rich_help_panel=NETWORK, help="--net attention: F, the MLP's hidden units (default 16).")]
LayerNormOpt = Annotated[bool | None, typer.Option(
    "--layer-norm", rich_help_panel=NETWORK, metavar="",
    help="--net attention: pre-norm, as torch.nn.LayerNorm: the attention reads LN₁(x), the"
         " MLP reads LN₂(y).")]
ShapeOpt = Annotated[str | None, typer.Option(
    rich_help_panel=DATA, help="Image shape ROWSxCOLS for --data, e.g. 4x3, or ROWSxCOLSxCHANNELS"
                               " (pixels channel by channel), e.g. 6x6x3.")]
JsonOpt = Annotated[Path | None, typer.Option(
    "--json", rich_help_panel=OUTPUT, help="Write cost and accuracy per iteration to this JSON"
                                           " file.")]
FiltersOpt = Annotated[int | None, typer.Option(rich_help_panel=NETWORK,
                                                help="cnn: number of filters K (default 3).")]
FilterSizeOpt = Annotated[int | None, typer.Option(rich_help_panel=NETWORK,
                                                   help="cnn: filter size f, f×f (default 3).")]
PoolOpt = Annotated[str | None, typer.Option(
    rich_help_panel=NETWORK, help="cnn: pooling, max (the book's) or average (default max).")]
PoolSizeOpt = Annotated[int | None, typer.Option(
    rich_help_panel=NETWORK, help="cnn: pooling window p, p×p, stride p (default 2).")]
PaddingOpt = Annotated[int | None, typer.Option(
    rich_help_panel=NETWORK, help="cnn: P rows and columns of zeros around the image (default"
                                  " 0).")]
LayersOpt = Annotated[str | None, typer.Option(
    rich_help_panel=NETWORK, help="Fully connected nets: every layer's size, input to output,"
                                  " e.g. 2,4,1.")]
DropoutOpt = Annotated[float | None, typer.Option(
    rich_help_panel=NETWORK, help="Fully connected nets: drop this share P of every hidden"
                                  " layer's units each step (inverted dropout, masks drawn"
                                  " from --seed); in --arch write dropout P after any layer.")]
BatchNormOpt = Annotated[bool | None, typer.Option(
    "--batch-norm", rich_help_panel=NETWORK, metavar="",
    help="Batch normalisation after every hidden dense layer's weighted sum (cnn: the"
         " convolution's), before its activation: γ and β trained, μ and var the batch's; in"
         " --arch write batchnorm after a dense or conv layer.")]
ArchOpt = Annotated[str | None, typer.Option(
    rich_help_panel=NETWORK, help="Any stack of layers, comma-separated: " + escape(layers.GRAMMAR)
    + ', e.g. [bold]"conv 4 3x3, relu, conv 4 3x3, relu, maxpool 2, dense 10"[/]. The last'
    " dense layer feeds the output (--output-activation, --loss); flatten is implied before"
    " the dense part. Replaces --layers, --filters, --filter-size, --pool, --pool-size,"
    " --padding and --activation (mlp, cnn, digits, xor, curve); for rnn, lstm and gru, e.g."
    ' [bold]"lstm 5, lstm 4"[/] or [bold]"rnn 6, dropout 0.2"[/] (dense V, a score per'
    " character, implied at the end).")]
ActOpt = Annotated[str | None, typer.Option(
    rich_help_panel=NETWORK,
    help=f"Hidden layers' (cnn: the convolution layer's) activation: {_one_of(ACTIVATIONS)}.")]
OutActOpt = Annotated[str | None, typer.Option(
    rich_help_panel=NETWORK,
    help=f"Output activation: {_one_of(outputs.output_activations())}.")]
LossOpt = Annotated[str | None, typer.Option(
    rich_help_panel=NETWORK, help=f"Cost: {_one_of(outputs.losses())} (half-sse is the book's"
                                  " ½Σ(a−t)²; cross-entropy goes with a softmax output,"
                                  " binary-cross-entropy with sigmoid, hinge with identity).")]
LeakyOpt = Annotated[float | None, typer.Option(
    rich_help_panel=NETWORK, help=f"leaky-relu's slope α for z ≤ 0, {LEAKY_SLOPE.valid_text}"
                                  f" (default {LEAKY_SLOPE.default:g}).")]
HuberOpt = Annotated[float | None, typer.Option(
    rich_help_panel=NETWORK, help=f"The huber loss's δ_H > 0, where it turns from square to"
                                  f" line (default {HUBER_DELTA.default:g}).")]
FunctionOpt = Annotated[str | None, typer.Option(
    rich_help_panel=EXERCISE, help=f"gd: the function, {_one_of(functions.FUNCTIONS)}.")]
StartOpt = Annotated[str | None, typer.Option(rich_help_panel=EXERCISE,
                                              help="gd: the starting point X,Y, e.g. 3,2.")]
StepsOpt = Annotated[int | None, typer.Option(
    rich_help_panel=EXERCISE, help="gd: the number of steps (the same as --iterations).")]
OptimizerOpt = Annotated[str | None, typer.Option(
    rich_help_panel=TRAINING, help="The update rule: " + "; ".join(
        f"[bold]{r.name}[/] ({r.summary})" for r in optim.RULES.values())
    + " (default gd; adam for attention and gan, whose β₁ is 0.5).")]
BatchOpt = Annotated[int | None, typer.Option(
    min=1, rich_help_panel=TRAINING, help="Mini-batches of B images: an iteration is one step on"
                                          " one batch (default: all images).")]
ShuffleOpt = Annotated[bool | None, typer.Option(
    "--shuffle/--no-shuffle", rich_help_panel=TRAINING, metavar="",
    help="A new order of the images each epoch, from --seed (default: shuffle when --batch-size"
         " is smaller than the data).")]
ValidationOpt = Annotated[float | None, typer.Option(
    rich_help_panel=TRAINING, metavar="FRACTION",
    help="Hold out this share of the images (drawn from --seed): never trained on, evaluated"
         " every iteration (no dropout; batch norm's running averages): validation_cost (mean C"
         " per image) and validation_accuracy.")]
PatienceOpt = Annotated[int | None, typer.Option(
    rich_help_panel=TRAINING, metavar="N",
    help="With --validation: stop once the validation cost has not improved for N iterations"
         " (the best iteration is in --json as best_iteration).")]
FreezeOpt = Annotated[int | None, typer.Option(
    min=0, rich_help_panel=TRAINING, metavar="N",
    help="Keep the first N weighted layers' parameters as they start (with --from: the"
         " checkpoint's); their gradients are shown, not applied.")]
L1Opt = Annotated[float | None, typer.Option(
    "--l1", rich_help_panel=TRAINING, help="L1 penalty λ ≥ 0: + λΣ|w| over the weights.")]
L2Opt = Annotated[float | None, typer.Option(
    "--l2", rich_help_panel=TRAINING, help="L2 penalty λ ≥ 0: + (λ/2)Σw² over the weights.")]
DecayOpt = Annotated[float | None, typer.Option(
    rich_help_panel=TRAINING, help="Learning-rate decay γ in (0, 1]: step k uses ηₖ = η·γᵏ.")]
CompareOpt = Annotated[str | None, typer.Option(
    rich_help_panel=EXERCISE, help="gd: update rules side by side, one sheet each, e.g."
                                   " gd,momentum,rmsprop,adam.")]


def _hyper_option(name: str, hypers: list) -> object:
    """``--momentum`` …: one option per hyperparameter any update rule takes."""
    first = hypers[0]
    by_default: dict[str, list[str]] = {}
    for r in optim.RULES.values():
        for h in r.hypers:
            if h.name == name:
                by_default.setdefault(f"{h.default:g}", []).append(r.name)
    users = ", ".join(n for names in by_default.values() for n in names)
    default = (next(iter(by_default)) if len(by_default) == 1 else ", ".join(
        f"{d} for {' and '.join(names)}" for d, names in by_default.items()))
    return Annotated[float | None, typer.Option(
        first.flag, rich_help_panel=TRAINING,
        help=f"{first.symbol}, {first.meaning} ({users}; default {default}).")]


FromOpt = Annotated[Path | None, typer.Option(
    "--from", rich_help_panel=RUN, metavar="CHECKPOINT.npz",
    help="Go on from a checkpoint `train --checkpoint` wrote: its net, data and options, from"
         " its parameters, optimizer state and step count; give --iterations (train: default"
         " the net's; export: a window of 2). train --from with the data's or training's"
         " options (--labels, --eta, --freeze …) fine-tunes instead: a new run from its"
         " parameters.")]
CheckpointOpt = Annotated[Path | None, typer.Option(
    "--checkpoint", rich_help_panel=OUTPUT, metavar="FILE.npz",
    help="Save the parameters after the last update, the optimizer's state, the step count"
         " and the options, to go on with --from (train again, or export a window of"
         " it).")]
NetOrFromOpt = Annotated[str | None, typer.Option(
    "--net", "-n", rich_help_panel=RUN,
    help=f"Which net: {_one_of(presets.PRESETS)} (see `sheetnet nets`; default mlp, or"
         " --from's).")]

ForceOpt = Annotated[bool, typer.Option("--force", "-f", rich_help_panel=OUTPUT, metavar="",
                                        help="Overwrite an existing file.")]


# The options every net shares, declared once: `run_options` adds them to a command, which gets
# them as one `Options`.
RUN_OPTIONS: dict[str, tuple[object, object]] = {
    "iterations": (ItersOpt, None), "eta": (EtaOpt, None), "seed": (SeedOpt, None),
    "init": (InitOpt, None), "init_scheme": (InitSchemeOpt, None), "data": (DataOpt, None),
    "shape": (ShapeOpt, None),
    "filters": (FiltersOpt, None), "filter_size": (FilterSizeOpt, None), "pool": (PoolOpt, None),
    "pool_size": (PoolSizeOpt, None), "padding": (PaddingOpt, None),
    "layers": (LayersOpt, None), "dropout": (DropoutOpt, None),
    "batch_norm": (BatchNormOpt, None), "arch": (ArchOpt, None),
    "activation": (ActOpt, None),
    "output_activation": (OutActOpt, None), "loss": (LossOpt, None),
    "leaky_slope": (LeakyOpt, None), "huber_delta": (HuberOpt, None),
    "optimizer": (OptimizerOpt, None),
    **{name: (_hyper_option(name, hs), None) for name, hs in optim.hypers().items()},
    "batch_size": (BatchOpt, None), "shuffle": (ShuffleOpt, None),
    "validation": (ValidationOpt, None), "patience": (PatienceOpt, None),
    "text": (TextOpt, None), "seq_length": (SeqOpt, None), "hidden": (HiddenOpt, None),
    "noise": (NoiseOpt, None), "d_steps": (DStepsOpt, None), "points": (PointsOpt, None),
    "labels": (LabelsOpt, None), "per_class": (PerClassOpt, None), "freeze": (FreezeOpt, None),
    "embed": (EmbedOpt, None), "mlp": (MlpOpt, None), "layer_norm": (LayerNormOpt, None),
    "l1": (L1Opt, None),
    "l2": (L2Opt, None), "eta_decay": (DecayOpt, None),
    "function": (FunctionOpt, None), "start": (StartOpt, None), "steps": (StepsOpt, None),
    "compare": (CompareOpt, None),
}


NO_OPTIONS = Options()  # what a command's ``opts`` is before run_options fills it in


def run_options(func: Callable[..., None]) -> Callable[..., None]:
    """Give a command the shared options (right after ``--net``), passed to it as ``opts``."""
    own = inspect.signature(func, eval_str=True)
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default,
                                annotation=annotation)
              for name, (annotation, default) in RUN_OPTIONS.items()]
    params: list[inspect.Parameter] = []
    for p in own.parameters.values():
        if p.name != "opts":
            params.append(p.replace(kind=inspect.Parameter.KEYWORD_ONLY))
        if p.name == "net":
            params += shared

    @functools.wraps(func)
    def wrapper(**kwargs: Any) -> None:
        values = {name: kwargs.pop(name) for name in RUN_OPTIONS}
        return func(opts=_options(**values), **kwargs)

    wrapper.__signature__ = own.replace(parameters=params)  # type: ignore[attr-defined]  # typer reads it
    wrapper.__annotations__ = {p.name: p.annotation for p in params}
    return wrapper


def _options(steps: int | None = None, **values) -> Options:
    if values.get("seed") is not None and values["seed"] < 0:
        raise SheetnetError(f"--seed {values['seed']} must be 0 or more, e.g. --seed 0")
    if steps is not None:
        if values["iterations"] is not None:
            raise SheetnetError("give --steps or --iterations, not both (they are the same)")
        values["iterations"] = steps
    hyper = {name: values.pop(name) for name in optim.hypers()}
    return Options(**values, hyper={k: v for k, v in hyper.items() if v is not None})


class _Rate(ProgressColumn):
    """Steps per second, once there is a rate to show."""

    def render(self, task) -> RichText:
        speed = task.finished_speed or task.speed
        return RichText("" if speed is None else f"{speed:,.0f}/s", style="progress.data.speed")


def _progress() -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    _Rate(), TimeElapsedColumn(), TextColumn("elapsed,"),
                    TimeRemainingColumn(), TextColumn("left"),
                    console=console, transient=True,
                    disable=not console.is_terminal)  # no stray blank lines in pipes and logs


@app.command(cls=_Command)
@user_errors
@run_options
def export(
    out: Annotated[Path, typer.Option("--out", "-o", help="The workbook to write (.xlsx).")],
    net: NetOrFromOpt = None,
    opts: Options = NO_OPTIONS,  # the shared options, filled in by run_options
    source: FromOpt = None,
    images: Annotated[int | None, typer.Option(
        rich_help_panel=RUN, metavar="N",
        help="With --from: the window's images, the first N of those the run's next batches"
             " take (default 8); each of the window's steps takes all of them.")] = None,
    pick: Annotated[str | None, typer.Option(
        rich_help_panel=RUN, metavar="NUMBERS",
        help="With --from: the window's images by their numbers among the images trained on,"
             " from 1 as show --image counts, e.g. 1,17,42.")] = None,
    force: ForceOpt = False,
) -> None:
    """Write a training run as a workbook where every number is a live formula.

    Example: [bold]sheetnet export --net cnn --out cnn.xlsx[/] then [bold]sheetnet verify
    cnn.xlsx[/]. Edit η or an initial weight in the yellow cells and the run recomputes.
    Other nets: [bold]sheetnet nets[/]; a smaller CNN: [bold]--filters 2 --iterations 10[/].
    A window of a long run, from where a checkpoint left it: [bold]sheetnet train --net mnist
    --iterations 200 --checkpoint ck.npz[/], then [bold]sheetnet export --from ck.npz
    --images 8 --iterations 2 --out window.xlsx[/] (default: 8 images, 2 iterations).
    """
    check_out(out, force, ".xlsx")
    if source is not None:
        planned = runs.window_of(source, opts, net=net, images=images, pick=pick)
        console.print(escape(f"a window of {source}: {_described(planned)}"
                             f"{_frozen(planned.run)}"), soft_wrap=True)
    elif images is not None or pick is not None:
        raise SheetnetError(f"{'--images' if images is not None else '--pick'} chooses a"
                            " window's images and goes with --from CHECKPOINT.npz")
    else:
        planned = runs.new_run(net or "mlp", opts, workbook=True)
    with _progress() as bar:
        task = bar.add_task("NumPy core", total=planned.run.iterations + 1)
        writing: list[TaskID] = []

        def sheet_written(name: str, sheets: int) -> None:
            if not writing:
                writing.append(bar.add_task("writing sheets", total=sheets))
            bar.advance(writing[0])

        written = runs.write(planned, out, force, lambda k: bar.update(task, completed=k + 1),
                             sheet_written)
    run, trace = written.training.run, written.training.trace
    console.print(f"[green]✓[/] wrote [bold]{escape(str(out))}[/]: {written.sheets} sheets,"
                  f" {written.cells:,} formula cells in {written.seconds:.1f} s"
                  f" ({written.cells / written.seconds:,.0f} cells/s)", soft_wrap=True)
    accuracy = (f", accuracy {trace.accuracy[0]:.1%} → {trace.accuracy[-1]:.1%}"
                if trace.has_accuracy else "")
    if run.iterations:
        for name, cost in health.curves(run, trace).items():
            console.print(f"  {name} {health.number(cost[0])} → {health.number(cost[-1])} over"
                          f" {run.iterations} iteration{'s' * (run.iterations != 1)}{accuracy}",
                          soft_wrap=True)
    else:
        console.print(f"  {trace.cost_name} = {trace.cost[0]:g}", soft_wrap=True)
    if written.training.stop_note:
        console.print(f"  {written.training.stop_note}")
    console.print(f"  next: [bold]sheetnet verify {escape(str(out))}[/]", soft_wrap=True)
    _warn(written.training)


def _frozen(run) -> str:
    """"; F, bF frozen …" for a run with frozen parameters ("" without)."""
    if not run.frozen:
        return ""
    return (f"; {', '.join(run.frozen)} frozen (--freeze): their gradients are computed, not"
            " applied")


def _described(planned: runs.Plan) -> str:
    """A checkpoint's run (and the data files it reads, checked unchanged)."""
    ck = planned.checkpoint
    if ck is None:
        return ""
    files = resume.data_files(ck)
    return ck.describe() + (f"; reading {' and '.join(files)} (unchanged since)"
                            if files else "")


EngineOpt = Annotated[str, typer.Option(
    "--engine", "-e", help="Which spreadsheet engine recalculates: "
    + ", ".join(f"[bold]{e.name}[/] ({e.cost})" for e in engines.ENGINES.values())
    + "; or [bold]all[/]: every one, each of which must agree with NumPy on every cell.")]


class _VerifyProgress(audit_verify.Listener):
    """A line per engine (and one for NumPy): its phase, a bar where it counts, and its time."""

    def __init__(self, bar: Progress):
        self.bar = bar
        self.tasks: dict[str, TaskID] = {}

    def phase(self, who: str, text: str, total: int | None = None) -> None:
        description = f"[bold]{who}[/]: {text}"
        if who not in self.tasks:
            self.tasks[who] = self.bar.add_task(description, total=total)
        else:  # the clock keeps running: it shows the engine's time so far
            self.bar.update(self.tasks[who], total=total, completed=0, description=description)

    def advance(self, who: str) -> None:
        self.bar.advance(self.tasks[who])

    def done(self, who: str) -> None:
        if who in self.tasks:
            self.bar.update(self.tasks[who], visible=False)


@app.command(cls=_Command)
@user_errors
def verify(
    workbooks: Annotated[list[Path], typer.Argument(
        help="Workbooks written by `sheetnet export` (one or more).", show_default=False)],
    engine: EngineOpt = engines.DEFAULT,
    timeout: Annotated[float, typer.Option(help="Seconds each engine may take.")] = 600,
    json_out: Annotated[Path | None, typer.Option(
        "--json", help="Also write each workbook's report (every block, engine, finding and"
                       " changed input) to this JSON file.")] = None,
    force: ForceOpt = False,
) -> None:
    """Recalculate workbooks in a real spreadsheet engine and check every cell against NumPy.

    Example: [bold]sheetnet verify mlp.xlsx[/], [bold]sheetnet verify mlp.xlsx --engine all[/]
    for three independent engines, or [bold]sheetnet verify *.xlsx --json report.json[/].
    Inputs (data, initial parameters, η) are read from the workbook, so your edits count, and
    the inputs you changed since the export are named with where the run now ends. Exit 0 when
    every cell of every workbook agrees within 1e-9, 1 when one differs, 2 when one cannot be
    checked; where cells differ, the cells that cause it are named first.
    """
    audit_verify.check_timeout(timeout)
    if json_out is not None:
        check_out(json_out, force, ".json")
    engines.chosen(engine)  # an unknown or missing engine: one line before any workbook
    code, records = 0, []
    for workbook in workbooks:
        if len(workbooks) > 1:
            console.print(f"[bold]{escape(str(workbook))}[/]", highlight=False)
        try:
            report = _verify_one(workbook, engine, timeout)
        except SheetnetError as e:
            if len(workbooks) == 1:
                raise
            err_console.print(f"[bold red]error:[/] {escape(str(e))}", soft_wrap=True,
                              highlight=False)
            records.append({"path": str(workbook), "ok": False, "error": str(e)})
            code = 2
            continue
        records.append(report.to_json())
        code = max(code, 0 if report.ok else 1)
    if json_out is not None:
        _write_json(json_out, {"ok": code == 0, "reports": records}, force)
        console.print(f"[green]✓[/] wrote {json_out}")
    if code:
        raise typer.Exit(code=code)


def _verify_one(workbook: Path, engine: str, timeout: float) -> audit_verify.Report:
    """One workbook's audit, shown: the table, the timings, what changed, the verdict."""
    bar = Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                   TimeElapsedColumn(), console=console, transient=True,
                   disable=not console.is_terminal)
    with bar:
        report = audit_verify.verify(workbook, [engine], timeout, _VerifyProgress(bar))
    if any(e.failed is None for e in report.engines):
        console.print(terminal.report_table(report))
        timing = "; ".join(f"{e.title} {e.recalc_seconds:.1f} s"
                           f" ({e.peak_bytes / 2**20:,.0f} MB"
                           f"{f', in {e.chunks} chunks' if e.chunks > 1 else ''})"
                           for e in report.engines
                           if e.failed is None)
        console.print(f"{report.cells:,} cells compared per engine,"
                      f" {report.inputs_read:,} inputs read; {timing}; total"
                      f" {report.total_seconds:.1f} s", soft_wrap=True, highlight=False)
    for line in terminal.edit_lines(report):
        console.print(escape(line), soft_wrap=True, highlight=False)
    if report.ok:
        names = " and ".join(e.title for e in report.engines)
        console.print(f"[green]✓ every cell agrees with NumPy within {audit_verify.TOLERANCE:g}"
                      f" ({names})[/]", soft_wrap=True)
    else:
        for line in terminal.failure_lines(report):
            err_console.print(line, soft_wrap=True, highlight=False)
    return report


@app.command(cls=_Command, help=(
    "Tell any cell's story: what it is in the book's notation, its formula, the same formula"
    " in the book's notation and with the numbers plugged in, its value, and each cell it"
    " reads.\n\n"
    "Example: [bold]sheetnet explain mlp.xlsx \"'Iter 0'!E34\"[/]: δ²₁ of image 1 ="
    " (w³₁₁·δ³₁ + w³₂₁·δ³₂)·a²₁·(1 − a²₁), with its five numbers and the cells they are.\n\n"
    "A tree two levels deep: [bold]sheetnet explain mlp.xlsx C39 --sheet \"Iter 1\" --depth"
    " 2[/]; for a program: [bold]--json[/].\n\n"
    "Read from the file alone: the layout is rebuilt from its settings and the values are"
    " those stored in it (NumPy's, or those of the spreadsheet that saved it last). Numbers"
    " are shown to 6 digits; --json gives them in full."))
@user_errors
def explain(
    workbook: Annotated[Path, typer.Argument(
        metavar="WORKBOOK", help="A workbook written by `sheetnet export`.",
        show_default=False)],
    cell: Annotated[list[str], typer.Argument(
        metavar="CELL", help="The cell: \"'Iter 0'!E34\", Iter 0!E34, or E34 with --sheet"
                             " (any case).", show_default=False)],
    sheet: Annotated[str | None, typer.Option(
        "--sheet", "-s", help="The cell's sheet, when CELL names none, e.g. --sheet 'Iter 1'.",
        show_default=False)] = None,
    depth: Annotated[int, typer.Option(
        help="How deep the tree goes: 1 names the cells the formula reads, 2 explains each"
             " of them too, and so on.")] = 1,
    json_out: Annotated[bool, typer.Option(
        "--json", help="Print the explanation as JSON only, every number in full (with"
                       " --depth, each read cell's own explanation inside it).")] = False,
) -> None:
    from sheetnet.audit.explain import explain as explain_cell

    found = explain_cell(workbook, " ".join(cell), sheet=sheet, depth=depth)
    if json_out:  # the book's letters as they are, or as \u escapes where stdout lacks them
        try:
            "δ²₁∂·−∅".encode(sys.stdout.encoding or "ascii")
            plain = False
        except (UnicodeEncodeError, LookupError):
            plain = True
        print(json.dumps(found.to_json(), ensure_ascii=plain, indent=2))
        return
    console.print(terminal.explanation_view(found), highlight=False)


@app.command(cls=_Command)
@user_errors
@run_options
def train(
    net: NetOrFromOpt = None,
    opts: Options = NO_OPTIONS,  # the shared options, filled in by run_options
    json_out: JsonOpt = None,
    source: FromOpt = None,
    save: CheckpointOpt = None,
    blocks: Annotated[bool, typer.Option(
        "--blocks", metavar="",
        help="Also write every block of every iteration (z2, delta3 …) to --json;"
                         " memory then grows with --iterations.")] = False,
    every: Annotated[int | None, typer.Option(
        min=1, help="Show every k-th iteration (default: about 20 rows).")] = None,
    new_head: Annotated[bool, typer.Option(
        "--new-head", metavar="", rich_help_panel=TRAINING,
        help="With --from: start a new output layer (drawn as the net draws its weights) for"
             " the new task's classes, e.g. --labels 5,6,7,8,9.")] = False,
    force: ForceOpt = False,
) -> None:
    """Run the NumPy core alone and print C_T and accuracy (gan: C_D and C_G) per iteration.

    Only C_T and accuracy are kept, so memory stays flat however many iterations run.
    Example: [bold]sheetnet train --net cnn --eta 0.5 --every 10 --json run.json[/].
    Save where it ended and go on later, or open a window of it as cells:
    [bold]sheetnet train --net mnist --iterations 200 --checkpoint ck.npz[/], then
    [bold]sheetnet train --from ck.npz --iterations 300[/] or [bold]sheetnet export --from
    ck.npz --images 8 --iterations 2 --out window.xlsx[/].
    Fine-tune it on a new task (a new run from its parameters), its first layers
    frozen and a new output layer: [bold]sheetnet train --from ck.npz --labels 5,6,7,8,9[/]
    [bold]--per-class 20 --freeze 2 --new-head --iterations 300[/].
    """
    if new_head and source is None:
        raise SheetnetError("--new-head goes with --from CK: it replaces the checkpoint's output"
                            " layer (a new run draws every layer anyway)")
    if json_out is not None:
        check_out(json_out, force, ".json")
    elif blocks:
        raise SheetnetError("--blocks goes with --json FILE.json, where the blocks are written")
    if save is not None:
        check_out(save, force, ".npz")
    if source is not None:
        planned = runs.going_on(source, opts, net=net, detail=blocks, every=every,
                                new_head=new_head)
        run = planned.run
        if not run.start:  # a new run from the checkpoint's parameters
            tuned = run.origin["init"].replace(", fine-tuned", "", 1)
            console.print(escape(f"fine-tuning {source}: {tuned}; {run.rule.name}'s state"
                                 " starts afresh"), soft_wrap=True)
            console.print(escape(f"on {run.origin['data']}"), soft_wrap=True)
            if "note" in run.origin:
                err_console.print(f"[bold yellow]note:[/] {escape(run.origin['note'])}",
                                  soft_wrap=True, highlight=False)
        else:
            console.print(escape(f"going on from {source}: {_described(planned)}, from"
                                 f" iteration {run.start:,}{_frozen(run)}"), soft_wrap=True)
        if run.restarts_patience and run.best is not None:
            console.print(f"its run had stopped early (no better validation cost since"
                          f" iteration {run.best[0]:,}); going on, --patience {run.patience}"
                          f" counts from iteration {run.start:,}", soft_wrap=True)
    else:
        preset = presets.get(net or "mlp")
        if save is not None:
            resume.supported(preset)
        planned = runs.new_run(preset.name, opts, detail=blocks, every=every)
        if planned.run.frozen:
            console.print(escape(_frozen(planned.run).removeprefix("; ")), soft_wrap=True)
    with _progress() as bar:
        task = bar.add_task("training", total=planned.run.iterations + 1)
        training = runs.train(planned, lambda k: bar.update(task, completed=k + 1),
                              None if blocks else [b for b, _, _ in terminal.EXTRA_COLUMNS])
    run, trace = training.run, training.trace
    console.print(terminal.cost_table(trace, every or runs.rows_every(planned.run.iterations),
                                      run.start))
    if training.stop_note:
        console.print(training.stop_note)
    _report(training)
    _warn(training)
    if save is not None:
        saved = training.saved(save, force)
        console.print(f"[green]✓[/] wrote {escape(str(save))}: {saved.describe()}; go on with"
                      f" [bold]--from {escape(str(save))}[/]", soft_wrap=True)
    if json_out is not None:
        _write_json(json_out, training.record(), force)
        console.print(f"[green]✓[/] wrote {escape(str(json_out))}")


def _report(training: runs.Training) -> None:
    """The test images' figures (mnist) and, where it differs from training (no dropout,
    running averages), the final parameters evaluated on the images trained on."""
    run = training.run
    if (found := training.test()) is not None:
        console.print(terminal.confusion_table(found["confusion"], run.data.classes))
        console.print(f"[bold]test accuracy {found['accuracy']:.2%}[/] on the {found['images']:,}"
                      f" images kept apart (mean C {found['cost_per_image']:.4f})")
    evaluation = training.evaluation()
    how = training.preset.evaluation(run)
    if evaluation is not None and how and "cost" not in evaluation:  # a net's own figures
        figures = ", ".join(f"{name.replace('_', ' ')} {value:.4g}"
                            for name, value in evaluation.items())
        console.print(f"evaluated ({how}) after iteration {run.start + run.iterations}:"
                      f" {figures}", soft_wrap=True)
    elif evaluation is not None and how:
        accuracy = (f", accuracy {evaluation['accuracy']:.1%}" if "accuracy" in evaluation
                    else "")
        console.print(f"evaluated ({how}) after iteration {run.start + run.iterations} on the"
                      f" images trained on: C_T {evaluation['cost']:.6f}{accuracy}")


def _warn(training: runs.Training) -> list[str]:
    """The run's learning warnings (``core.health``), each a line on stderr; the list."""
    for line in training.warnings:
        err_console.print(f"[bold yellow]warning:[/] {line}", soft_wrap=True, highlight=False)
    return training.warnings


def _write_json(path: Path, obj: object, force: bool) -> None:
    """Strict JSON (a number that is not finite as null: JSON has no NaN)."""
    strict = jsonable(obj)

    def write(tmp: str) -> None:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(strict, f, allow_nan=False)

    write_atomically(path, write, force)


@app.command(cls=_Command)
@user_errors
@run_options
def show(
    net: NetOrFromOpt = None,
    source: FromOpt = None,
    iteration: Annotated[int | None, typer.Option(
        help="Which iteration (0 = initial parameters; default 0, or the last of"
             " --iterations N when that is given).")] = None,
    image: Annotated[int, typer.Option(help="Which image, 1-based as in the workbook.")] = 1,
    stats: Annotated[bool, typer.Option(
        "--statistics", metavar="",
        help="Instead: each layer's outputs a and errors δ, mean ± standard deviation over"
             " every image, iteration by iteration (the workbook's Statistics sheet).")] = False,
    opts: Options = NO_OPTIONS,  # the shared options, filled in by run_options
) -> None:
    """Print one image's z, a and δ at one iteration, or a text net's predictions.

    cnn: maps; gd, regression, graph: a table; rnn, lstm, gru: each window's predictions and
    hidden states; attention: each window's predictions and attention weights; gan: both
    costs and D's mean verdicts per iteration.

    Example: [bold]sheetnet show --net cnn --iteration 50 --image 40[/] (or
    [bold]--iterations 50[/]: a run of 50, shown at its last iteration). Vanishing errors:
    [bold]sheetnet show --statistics --arch "dense 8, sigmoid, dense 8, sigmoid, dense 2"[/].
    From a checkpoint, its window (the run's next 8 images, 2 iterations): [bold]sheetnet show
    --from ck.npz --iteration 1 --image 3[/].
    """
    if source is not None:
        planned = runs.window_of(source, opts, net=net)
        preset, run = planned.preset, planned.run
    else:
        preset = presets.get(net or "mlp")
        run = preset.run(opts, detail=True)
    if not preset.images:  # an exercise (gd, regression, graph) or a text net: a table
        if stats and isinstance(run.model, Net):
            raise SheetnetError(f"--statistics is for nets of images; --net {net}'s errors"
                                " through time are its workbook's Through time sheet")
        if stats:
            raise SheetnetError(f"--statistics is for nets of images; --net {preset.name}"
                                " shows a table of its iterations instead (drop --statistics)")
        if iteration is not None or image != 1:
            raise SheetnetError(f"--iteration and --image pick an image's blocks; --net"
                                f" {preset.name} shows a table of its iterations instead (give"
                                " --iterations N for a run of N)")
        _show_table(preset, run)
        return
    if stats:
        trace = preset.trace(run)
        console.print(Group(*terminal.statistics_tables(run.model, trace)))
        return
    if iteration is None:  # `--iterations 50` alone: the state after those iterations
        iteration = run.iterations if opts.iterations is not None else 0
    if not 0 <= iteration <= run.iterations:
        raise SheetnetError(f"--iteration {iteration} is outside 0..{run.iterations}; pick one"
                            " in range or raise --iterations")
    if not 1 <= image <= run.n_images:
        raise SheetnetError(f"--image {image} is outside 1..{run.n_images}")
    if opts.iterations is None:  # only compute what is shown
        run = presets.replace_iterations(run, max(iteration, 1))
    trace = preset.trace(run)
    blocks = trace.iterations[iteration]
    i = image - 1
    label = run.data.labels[i]
    title = (f"image {image} (label {label:g})" if isinstance(label, float)
             else f"image {image} (label {label})")
    pic: Table | RichText
    if run.data.shape[0] == 1:  # points (xor, curve): their inputs as numbers
        pic = terminal.vector_table(f"point {image}", {"x": run.data.x[i]})
    else:
        cols = run.data.shape[1]  # channels one under the other
        pic = terminal.picture(run.data.x[i].reshape(-1, cols), title)
    console.print(Group(pic, *terminal.net_view(run.model, blocks, i, run.data.classes)))
    if run.rule.state:
        console.print(terminal.rule_table(blocks, run.rule, list(run.params), iteration))
    accuracy = (f", accuracy {float(blocks['accuracy']):.1%}" if "accuracy" in blocks
                else "")
    held = ""
    if "validation_cost" in blocks:
        role = "held out for validation" if run.held is not None and run.held[i] else \
            "trained on"
        held = (f"; image {image} is {role}; validation C per image"
                f" {health.number(float(blocks['validation_cost']))}")
        if "validation_accuracy" in blocks:
            held += f", accuracy {float(blocks['validation_accuracy']):.1%}"
    which = f"iteration {iteration}" + (f" of the window (the run's {run.start + iteration})"
                                         if run.start else "")
    console.print(f"{which}: C = {health.number(blocks['C'][i])},"
                  f" C_T = {health.number(float(blocks['C_T']))}{accuracy}{held}")


def _show_table(preset: presets.Preset, run: Run) -> None:
    """A preset's whole table, and a text net's hidden states as heat strips (a row per
    unit, a column per step) or its attention weights (a column per position) for its first
    windows."""
    trace = preset.trace(run)
    console.print(terminal.rows_table(*preset.table(trace, run)))
    states = run.model.states() if isinstance(run.model, Net) else []
    for name in states:
        h = trace.iterations[-1][name]
        for w in range(min(3, h.shape[0])):
            read = text_of(run.data).window(w)[0]
            console.print(terminal.picture(h[w].T, f"window {w + 1} ({read!r}): {name}ₜ, a row"
                                                   " per unit, a column per step, −1 … 1",
                                           lo=-1.0, hi=1.0))
    for name in run.model.patterns() if isinstance(run.model, Net) else []:
        att = trace.iterations[-1][name]
        for w in range(min(3, att.shape[0])):
            read = text_of(run.data).window(w)[0]
            console.print(terminal.picture(att[w].T, f"window {w + 1} ({read!r}): αₜᵤ, a column"
                                                     " per position t, a row per position u it"
                                                     " reads, 0 … 1", lo=0.0, hi=1.0))


@app.command(cls=_Command)
def nets() -> None:
    """List the nets that export, train and show know.

    Example: [bold]sheetnet nets[/]
    """
    from rich.table import Table

    table = Table(title="sheetnet nets", box=None, header_style="bold", title_justify="left",
                  caption="sheetnet export --net NAME --out NAME.xlsx; options: export --help",
                  caption_justify="left")
    widths = {"net": 10, "follows": 13, "η": 5, "iters": 5}  # only "what it is" shrinks
    for col in ("net", "follows", "what it is", "η", "iters"):
        table.add_column(col, no_wrap=True, min_width=widths.get(col),
                         justify="right" if col == "iters" else "left")
    for p in presets.PRESETS.values():
        table.add_row(p.name, p.follows, p.summary, p.eta_text, str(p.iterations))
    console.print(table)


_SIGNALLED: list[int] = []  # the exit code of a signal that arrived, once one has


def _stop(signum: int, frame) -> None:
    _SIGNALLED.append(128 + signum)
    raise Interrupted(128 + signum)


def _ctrl_c(signum: int, frame) -> None:
    _SIGNALLED.append(130)
    raise KeyboardInterrupt


def main() -> None:
    """Console entry point: usage errors become one line on stderr with exit code 2; an
    interrupt or termination is one line and the usual code (130, or 128 + the signal)."""
    for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGQUIT):
        signal.signal(sig, _stop)
    signal.signal(signal.SIGINT, _ctrl_c)
    if len(sys.argv) <= 1:  # bare `sheetnet`: the help, and success (not a usage error)
        sys.argv.append("--help")
    try:
        code = app(standalone_mode=False)
    except ClickException as e:
        ctx = getattr(e, "ctx", None)
        hint = f" (see `{ctx.command_path} --help`)" if ctx else ""
        message = _unknown_option(e, ctx) or " ".join(
            e.format_message().split())  # type: ignore[attr-defined]
        err_console.print(f"[bold red]error:[/] {message}{hint}".replace("[", r"\[", 0),
                          soft_wrap=True, highlight=False, markup=True)
        sys.exit(2)
    except (typer.Abort, KeyboardInterrupt):
        _interrupted(130)
    except Interrupted as e:
        _interrupted(e.code)
    except Exception:
        # a library that catches every exception (openpyxl's type checks do) may turn the
        # signal's exception into its own error: the signal still decides what happened
        if _SIGNALLED:
            _interrupted(_SIGNALLED[0])
        raise
    if code == 130:  # typer's own answer to a Ctrl-C outside a command
        _interrupted(130)
    sys.exit(code if isinstance(code, int) else 0)


def _unknown_option(e: Exception, ctx: Any) -> str | None:
    """An option this command does not take, said better than click's spelling guesses
    (``train --out`` had suggested --dropout, --net, --rho): the commands that do take it, or
    the options it begins (``--iter`` → --iterations), or nothing to guess."""
    name = getattr(e, "option_name", None)
    if type(e).__name__ != "NoSuchOption" or not name or ctx is None:
        return None
    here = ctx.command.name
    group: Any = typer.main.get_command(app)
    others = [f"`sheetnet {n}`" for n, cmd in group.commands.items()
              if n != here and any(name in p.opts for p in cmd.params)]
    if others:
        said = others[0] if len(others) == 1 else f"{', '.join(others[:-1])} and {others[-1]}"
        return (f"`sheetnet {here}` has no option {name}; {said}"
                f" take{'s' * (len(others) == 1)} it")
    own = sorted(o for p in ctx.command.params for o in p.opts
                 if o.startswith("--") and o.startswith(name) and len(name) > 3)
    guess = f"; did you mean {' or '.join(own[:3])}?" if own else ""
    return f"no such option: {name}{guess}"


def _interrupted(code: int) -> None:
    err_console.print("interrupted; nothing written", highlight=False)
    sys.exit(code)
