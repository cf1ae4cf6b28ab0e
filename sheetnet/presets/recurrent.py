"""``--net rnn`` and ``--net lstm``: a character-level Elman RNN or LSTM on a short text,
trained through time."""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from sheetnet.core import budget, checkpoint, descent, rnn
from sheetnet.core.data import Dataset
from sheetnet.core.params import validate_params
from sheetnet.core.run import Found, Run
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import read_text
from sheetnet.layers.lstm import LSTM_CELL
from sheetnet.layers.recurrent import ELMAN
from sheetnet.presets import stepping
from sheetnet.presets.options import Options, read_json
from sheetnet.workbook import rnn_layout, settings
from sheetnet.workbook.layout import WorkbookSpec
from sheetnet.workbook.size import Size

MAX_TEXT = 5_000  # characters a run reads (the workbook's budget refuses far fewer)


def _dataset(text: rnn.Text) -> Dataset:
    """The text as the shared code keeps data: its characters as labels, the vocabulary as
    classes (the Inputs sheet lists them)."""
    used = text.used
    return Dataset("text", text.index().astype(float)[:, None], tuple(used), text.vocab,
                   (1, 1))


@dataclass(frozen=True)
class Recurrent:
    name: str = "rnn"
    values = False
    summary: str = "character RNN, backprop through time"
    follows: str = "beyond"
    dataset: str = "a nursery rhyme (Jane Taylor, 1806)"
    eta: float = 0.02
    iterations: int = 100
    images: bool = False
    steps: int = 10  # T
    hidden: int = 8  # H
    cell: object = ELMAN

    @property
    def eta_text(self) -> str:
        return f"{self.eta:g}"

    def text_inputs(self, skeleton: Run) -> set[str]:
        return {"label", "classes"}

    def run(self, opts: Options, workbook: bool = False, detail: bool = False,
            every: int | None = None) -> Run:
        opts.unused("iterations", "eta", "seed", "init", "text", "seq_length", "hidden",
                    "optimizer", "batch_size", "shuffle", net=self.name)
        if opts.text is None:
            raw, origin = rnn.DEFAULT_TEXT, "built in: " + self.dataset
        else:
            # line ends as LF: a workbook's XML reads CR+LF (and a lone CR) back as LF
            raw = read_text(Path(opts.text), "--text", 4 * MAX_TEXT).replace(
                "\r\n", "\n").replace("\r", "\n")
            if len(raw) > MAX_TEXT:
                raise SheetnetError(f"--text {opts.text} has {len(raw):,} characters; give at"
                                    f" most {MAX_TEXT:,} (a recurrent net's workbook holds"
                                    " far fewer)")
            origin = f"--text {Path(opts.text).name}"
        steps = self.steps if opts.seq_length is None else opts.seq_length
        hidden = self.hidden if opts.hidden is None else opts.hidden
        rnn.check_text(raw, steps, hidden)
        text = rnn.Text(raw, steps)
        eta = self.eta if opts.eta is None else opts.eta
        iterations = self.iterations if opts.iterations is None else opts.iterations
        descent.check_run(eta, iterations)
        rule, hyper = stepping.update_rule(opts)
        self.check_size(text, hidden, iterations, len(rule.state), workbook,
                        detail or workbook)
        batches = stepping.batches(opts, text.windows, iterations)
        vocab = len(text.vocab)
        if opts.init is not None:
            given = opts.init if isinstance(opts.init, Mapping) else read_json(opts.init)
            params = validate_params(rnn.shapes(self.cell, vocab, hidden), given,
                                     "init" if isinstance(opts.init, Mapping)
                                     else str(opts.init))
            init_origin = "--init"
        else:
            params = rnn.init(self.cell, vocab, hidden, opts.seed_value)
            init_origin = f"uniform ±1/√H, --seed {opts.seed_value}"
        return Run(self.name, text, _dataset(text), params, eta, iterations,
                   {"data": origin, "init": init_origin}, rule, hyper, batches,
                   seed=opts.seed_value, statistics=False)

    def _rows(self, vocab: int, hidden: int) -> int:
        """A step's rows: the text's one-hot blocks, the output's, and the cell's."""
        size = {"V": vocab, "H": hidden, "4H": 4 * hidden}
        cell_rows = sum(size.get(s, s) for _, s, _ in (*self.cell.forward_blocks,
                                                       *self.cell.backward_blocks))
        return 5 * vocab + hidden + 3 + cell_rows

    def cells(self, text: rnn.Text, hidden: int, iterations: int, states: int) -> int:
        """Formula cells of the workbook: every step's blocks, each window's gradients and the
        parameters with their sums and states."""
        v = len(text.vocab)
        params = sum(int(np.prod(s)) for s in rnn.shapes(self.cell, v, hidden).values())
        per_sheet = (text.windows * (text.steps * self._rows(v, hidden) + params + 1)
                     + params * (2 + states) + text.steps + 2)
        return per_sheet * (iterations + 1)

    def check_size(self, text: rnn.Text, hidden: int, iterations: int, states: int,
                   workbook: bool, detail: bool = True) -> None:
        """Refuse a run beyond the budgets (``detail``: every block of every iteration kept;
        ``workbook``: its workbook's limits too)."""
        v = len(text.vocab)
        params = sum(int(np.prod(s)) for s in rnn.shapes(self.cell, v, hidden).values())
        numbers = text.windows * text.steps * self._rows(v, hidden)
        what = f"--net {self.name} ({text.windows} windows of {text.steps} steps, H = {hidden})"
        kept = budget.kept_bytes(numbers + text.windows * params, 80) if detail else 0
        plan = budget.Budget(params, text.windows, iterations, numbers, what,
                             overhead=budget.STEP_OVERHEAD, kept=kept)
        plan.check()
        if workbook:
            per = self.cells(text, hidden, 0, states)
            rows = 40 + 2 * params + self._rows(v, hidden) + 20
            Size(iterations=iterations, sheets=iterations + 7,
                 formula_cells=per * (iterations + 1), rows=rows,
                 cols=8 + text.windows * (text.steps + 1), per_iteration=per, what=what,
                 taller="--hidden or a shorter text").check()
        plan.check_kept()

    def trace(self, run: Run, progress: Callable[[int], None] | None = None,
              keep: Collection[str] | None = None, anchor: descent.Anchor | None = None
              ) -> Trace:
        return rnn.train(run.model, run.params, run.eta, run.iterations, progress, keep,
                         run.rule, run.hyper, run.batches, anchor,  # type: ignore[arg-type]
                         self.cell, run.start, run.state)

    def workbook(self, run: Run) -> WorkbookSpec:
        return rnn_layout.workbook(run, self.cell)

    def stopped(self, run: Run, trace: Trace) -> tuple[Run, Trace]:
        return run, trace  # no validation: nothing stops it early

    def test(self, run: Run, trace: Trace) -> dict[str, Any] | None:
        return None

    def evaluation(self, run: Run) -> str:
        return ""

    def evaluate(self, run: Run, trace: Trace) -> dict[str, float]:
        """The last iteration's parameters on every window (its training pass is an
        evaluation): {"cost": C_T, "accuracy": the share of steps whose next character is
        predicted right}."""
        last = trace.iterations[-1]
        return {"cost": float(np.sum(last["C"])), "accuracy": float(last["accuracy"])}

    def skeleton(self, config: Mapping[str, object]) -> Run:
        chars, vocab, steps, hidden, iterations = settings.rnn_size(config)
        # (the vocabulary may hold characters of a tail that no window reads: more than chars)
        if min(vocab, steps, hidden, iterations) < 1 or chars < steps + 1 or vocab > MAX_TEXT:
            raise SheetnetError(f"{chars:,} characters, {vocab:,} in the vocabulary, windows of"
                                f" {steps:,} and H = {hidden:,} is not a workbook sheetnet"
                                " writes")
        alphabet = tuple(chr(0x4E00 + i) for i in range(vocab))
        text = rnn.Text("".join(alphabet[i % vocab] for i in range(chars)), steps, alphabet)
        rule = settings.update_rule(config)
        self.check_size(text, hidden, iterations, len(rule.state), workbook=True)
        params = {k: np.zeros(s) for k, s in rnn.shapes(self.cell, vocab, hidden).items()}
        batches = (np.ones((iterations + 1, text.windows)) if settings.batched(config)
                   else None)
        hyper = {h.name: h.default for h in rule.hypers}
        start = settings.first_iteration(config)
        state = checkpoint.zeros_like_state(params, rule.carried) if start else None
        return Run(self.name, text, _dataset(text), params, 1.0, iterations, rule=rule,
                   hyper=hyper, batches=batches, statistics=False, start=start, state=state)

    def rebuild(self, skeleton: Run, found: Found) -> Run:
        chars = [str(c) for c in found["label"]]  # type: ignore[union-attr]
        vocab = tuple(str(c) for c in found["classes"])  # type: ignore[union-attr]
        wrong = [c for c in chars if len(c) != 1 or c not in vocab]
        if wrong:
            raise SheetnetError(f"the Data sheet holds {wrong[0]!r}, not one character of the"
                                f" vocabulary on Inputs ({''.join(vocab)!r}); type one of"
                                " those")
        if len(set(vocab)) != len(vocab):
            raise SheetnetError("the vocabulary on Inputs lists a character twice")
        text = rnn.Text("".join(chars), skeleton.model.steps, vocab)
        params = {name: np.asarray(found[name], dtype=float).reshape(v.shape)
                  for name, v in skeleton.params.items()}
        hyper = {name: float(np.asarray(found[name]).ravel()[0])
                 for name in skeleton.hyperparameters}
        batches = None if skeleton.batches is None else np.array(
            [np.asarray(found["batch", k]).ravel() for k in range(skeleton.iterations + 1)])
        state = (None if skeleton.state is None
                 else checkpoint.state_found(skeleton.state, found))
        return Run(self.name, text, _dataset(text), params, hyper.pop("eta"),
                   skeleton.iterations, rule=skeleton.rule, hyper=hyper, batches=batches,
                   statistics=False, start=skeleton.start, state=state)

    def table(self, trace: Trace, run: Run) -> tuple[str, list[str], list[list[str]]]:
        """The text's windows at the last iteration: what each reads and what the net
        predicts next at every step."""
        last = trace.iterations[-1]
        text: rnn.Text = run.model
        rows = []
        a = last.get("a")
        for w in range(text.windows):
            read = text.used[w * text.steps:(w + 1) * text.steps]
            want = text.used[w * text.steps + 1:(w + 1) * text.steps + 1]
            guess = "".join(text.vocab[int(i)] for i in np.argmax(a[w], axis=-1))
            rows.append([str(w + 1), repr(read), repr(want), repr(guess),
                         f"{float(last['C'][w]):.4f}"])
        return (f"iteration {len(trace.iterations) - 1}: each window's next characters",
                ["window", "reads", "next", "predicted", "C"], rows)


RNN = Recurrent()
LSTM = Recurrent(name="lstm", summary="character LSTM, backprop through time", eta=0.05,
                 cell=LSTM_CELL)
