"""``--net rnn``, ``--net lstm`` and ``--net gru``: a net on a text's windows, learning to predict
each next character; by default one recurrent layer (``rnn H``, ``lstm H`` or ``gru H``) and a
dense layer of one unit per character, softmax with cross-entropy at every step, trained through
time. ``--arch`` writes any stack of ``rnn H``, ``lstm H``, ``gru H``, ``dense N``,
``dropout P``, ``layernorm`` and activations."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from sheetnet import layers
from sheetnet.core import checkpoint
from sheetnet.core.data import Dataset
from sheetnet.core.net import Net
from sheetnet.core.run import Found, Run, model_hypers
from sheetnet.core.text import DEFAULT_TEXT, MAX_TEXT, Text, TextData, check_text, text_of
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import read_text
from sheetnet.layers import Layer
from sheetnet.presets.nets import NetPreset
from sheetnet.presets.options import Options
from sheetnet.workbook import settings
from sheetnet.workbook.sheets import Extra
from sheetnet.workbook.text_sheets import text_extras

BUILT_IN = "a nursery rhyme (Jane Taylor, 1806)"


def _default_stack(cell: str, hidden: int) -> Callable[[Dataset, Options], list[Layer]]:
    """``rnn H, dense V`` (``--hidden``: H; V, the vocabulary's size)."""
    def make(ds: Dataset, opts: Options) -> list[Layer]:
        units = hidden if opts.hidden is None else opts.hidden
        if units < 1:
            raise SheetnetError(f"--hidden {units} must be at least 1")
        return layers.parse(f"{cell} {units}, dense {ds.outputs}")
    return make


@dataclass(frozen=True)
class TextPreset(NetPreset):
    """A net on a text's windows (``--text``, ``--seq-length``), the ``Preset`` protocol as
    every net answers it, with the text's own data, settings and ``show`` table."""

    steps: int = 10  # T, the characters a window reads
    hidden: int = 8  # H, the default stack's units
    extras: Callable[[Run], Sequence[Extra]] = text_extras
    images = False

    def options(self) -> tuple[str, ...]:
        return ("iterations", "eta", "seed", "init", "init_scheme", "text", "seq_length",
                "hidden", "arch", "optimizer", "batch_size", "shuffle", "l1", "l2",
                "eta_decay", "freeze")

    def data(self, opts: Options) -> TextData:
        """The text (built in, or ``--text``, its line ends as LF: a workbook's XML reads CR+LF
        back as LF) cut into windows of ``--seq-length``."""
        if opts.text is None:
            raw = DEFAULT_TEXT
        else:
            raw = read_text(Path(opts.text), "--text", 4 * MAX_TEXT).replace(
                "\r\n", "\n").replace("\r", "\n")
            if len(raw) > MAX_TEXT:
                raise SheetnetError(f"--text {opts.text} has {len(raw):,} characters; give at"
                                    f" most {MAX_TEXT:,} (a recurrent net's workbook holds"
                                    " far fewer)")
        steps = self.steps if opts.seq_length is None else opts.seq_length
        check_text(raw, steps)
        return TextData.of(Text(raw, steps))

    def data_origin(self, ds: Dataset, opts: Options) -> str:
        return f"built in: {BUILT_IN}" if opts.text is None else f"--text {Path(opts.text).name}"

    def make_net(self, ds: Dataset, opts: Options) -> Net:
        if opts.arch is not None and opts.hidden is not None:
            raise SheetnetError("give --arch or --hidden, not both: --arch writes the whole"
                                " stack (its recurrent layers' units too)")
        return super().make_net(ds, opts)

    def arch_stack(self, ds: Dataset, arch: str) -> list[Layer]:
        """``--arch``'s stack, closed by ``dense V`` (a score for each character) where it does
        not end with a dense layer."""
        return layers.stack.ended(layers.parse(arch), ds.outputs)

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        """The text's windows at the last iteration: what each reads and what the net
        predicts next at every step."""
        last = trace.iterations[-1]
        text = text_of(run.data)
        a = last[run.model.output.a]
        rows = []
        for w in range(text.windows):
            read, want = text.window(w)
            guess = "".join(text.vocab[int(i)] for i in np.argmax(a[w], axis=-1))
            rows.append([str(w + 1), repr(read), repr(want), repr(guess),
                         f"{float(last['C'][w]):.4f}"])
        return (f"iteration {len(trace.iterations) - 1}: each window's next characters",
                ["window", "reads", "next", "predicted", "C"], rows)

    def skeleton(self, config: Mapping[str, object]) -> Run:
        """A run of a text workbook's shapes, from its settings: the text's length, the
        vocabulary's size, T and the stack."""
        if "architecture" not in config:
            raise SheetnetError("this workbook was written by an earlier sheetnet, whose"
                                " recurrent nets had a layout of their own; export it again"
                                " to verify it")
        chars, vocab, steps, iterations = settings.text_size(config)
        if min(vocab, steps, iterations) < 1 or chars < steps + 1 or vocab > MAX_TEXT:
            raise SheetnetError(f"{chars:,} characters, {vocab:,} in the vocabulary and windows"
                                f" of {steps:,} is not a workbook sheetnet writes")
        alphabet = tuple(chr(0x4E00 + i) for i in range(vocab))
        text = Text("".join(alphabet[i % vocab] for i in range(chars)), steps, alphabet)
        ds = TextData.of(text)
        net = settings.net_of(config, ds.input_shape(), vocab)
        rule = settings.update_rule(config)
        self.check_size(net, ds.n_images, iterations, rule, workbook=True, detail=True)
        hyper = {h.name: h.default for h in rule.hypers}
        hyper.update({name: 1.0 for name in settings.extra_hypers(config)})
        hyper.update(model_hypers(net))
        batches = (np.ones((iterations + 1, ds.n_images)) if settings.batched(config)
                   else None)
        params = {k: np.zeros(s) for k, s in net.param_shapes().items()}
        start = settings.first_iteration(config)
        frozen = settings.frozen(config, list(params))
        state = checkpoint.zeros_like_state({k: v for k, v in params.items()
                                             if k not in frozen}, rule.carried) if start else None
        return Run(self.name, net, ds, params, 1.0, iterations, rule=rule, hyper=hyper,
                   batches=batches, statistics=settings.with_statistics(config),
                   start=start, state=state, frozen=frozen)

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        """The run a text workbook's inputs describe: the text on Data, the vocabulary on
        Inputs, the parameters, hyperparameters and batches."""
        chars = [str(c) for c in _cells(found, "label")]
        vocab = tuple(str(c) for c in _cells(found, "classes"))
        wrong = [c for c in chars if len(c) != 1 or c not in vocab]
        if wrong:
            raise SheetnetError(f"the Data sheet holds {wrong[0]!r}, not one character of the"
                                f" vocabulary on Inputs ({''.join(vocab)!r}); type one of"
                                " those")
        if len(set(vocab)) != len(vocab):
            raise SheetnetError("the vocabulary on Inputs lists a character twice")
        text = Text("".join(chars), text_of(skeleton.data).steps, vocab)
        return self.rebuilt(skeleton, found, TextData.of(text))

    def text_inputs(self, skeleton: Run) -> set[str]:
        return {"label", "classes"}


def _cells(found: Found, name: str) -> Sequence[object]:
    """An input place's cells as verify read them (a text's characters)."""
    value = found[name]
    assert isinstance(value, (tuple, list)), f"{name}: read as labels"
    return value


def _preset(cell: str, eta: float) -> TextPreset:
    """The character net of one recurrent layer of ``cell`` (rnn, lstm, gru)."""
    return TextPreset(name=cell, summary=f"character {cell.upper()}, backprop through time",
                      follows="beyond", dataset="text", eta=eta, iterations=100,
                      stack=_default_stack(cell, 8), shorthands={},
                      output_activation="softmax", loss="cross-entropy",
                      init_scheme="uniform")


RNN = _preset("rnn", 0.02)
LSTM = _preset("lstm", 0.05)
GRU = _preset("gru", 0.05)
