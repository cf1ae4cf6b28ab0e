"""A character-level recurrent net (an Elman RNN or an LSTM) learning to predict each next
character of a text, trained by backpropagation through time.

The vocabulary is the text's distinct characters in sorted order (a tail that fills no window
counts too); each character enters as a one-hot column xₜ. The text is cut into windows of
T + 1 characters with stride T: window j is characters jT … jT + T, its inputs the first T and
its targets the last T, and it starts from h₀ = 0. At every step the recurrent cell
(``layers/recurrent.py``, ``layers/lstm.py``) gives hₜ, a dense layer the scores
oₜ = W_hy·hₜ + b_y, and softmax with cross-entropy the probabilities and the cost Cₜ
(``pairs/outputs.py``); a window's C = Σₜ Cₜ and C_T = Σ over the windows.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet.core.descent import Anchor, Progress, descend
from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.layers import recurrent
from sheetnet.layers.lstm import LSTM_CELL
from sheetnet.pairs import ops
from sheetnet.pairs.optim import GD, UpdateRule
from sheetnet.pairs.outputs import SOFTMAX_CROSS_ENTROPY as OUTPUT

# public domain: the first stanza of Jane Taylor's "The Star" (1806)
DEFAULT_TEXT = ("twinkle, twinkle, little star, how i wonder what you are! up above the world"
                " so high, like a diamond in the sky.")
OUTPUT_PARAMS = ("Why", "by")
CELLS = {"rnn": recurrent.ELMAN, "lstm": LSTM_CELL}


@dataclass(frozen=True)
class Text:
    """A text cut into windows: ``steps`` (T) characters in, the T after each out."""

    text: str
    steps: int
    vocab: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if not self.vocab:
            object.__setattr__(self, "vocab", tuple(sorted(set(self.text))))

    @property
    def windows(self) -> int:
        return (len(self.text) - 1) // self.steps

    @property
    def used(self) -> str:
        """The characters the windows read (a text's tail that fills no window is left out)."""
        return self.text[:self.windows * self.steps + 1]

    def index(self) -> np.ndarray:
        """Each character's place in the vocabulary: (len,)."""
        where = {c: i for i, c in enumerate(self.vocab)}
        return np.array([where[c] for c in self.used])

    def one_hot(self) -> tuple[np.ndarray, np.ndarray]:
        """(x, t): each (W, T, V), the inputs and the targets (the next characters)."""
        idx = self.index()
        eye = np.eye(len(self.vocab))
        starts = np.arange(self.windows)[:, None] * self.steps + np.arange(self.steps)
        return eye[idx[starts]], eye[idx[starts + 1]]


def check_text(text: str, steps: int, hidden: int) -> None:
    """Refuse, in one line, a text or sizes that make no window."""
    if steps < 1 or hidden < 1:
        raise SheetnetError(f"--seq-length {steps} and --hidden {hidden} must be at least 1")
    if len(set(text)) < 2:
        raise SheetnetError("the text needs at least 2 different characters to predict")
    if len(text) < steps + 1:
        raise SheetnetError(f"the text has {len(text)} characters; a window of --seq-length"
                            f" {steps} needs {steps + 1} (use a shorter --seq-length)")


def shapes(cell, vocab: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """``--init``'s keys and shapes: the cell's, then the output's."""
    return {**cell.shapes(vocab, hidden), "Why": (vocab, hidden), "by": (vocab,)}


def params_of(cell) -> tuple[str, ...]:
    return (*cell.shapes(1, 1), *OUTPUT_PARAMS)


def init(cell, vocab: int, hidden: int, seed: int) -> dict[str, np.ndarray]:
    """Weights uniform in ±1/√H as torch.nn.RNN and LSTM draw them, biases 0, from
    ``seed``."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(hidden)
    return {name: (rng.uniform(-bound, bound, shape) if len(shape) == 2 else np.zeros(shape))
            for name, shape in shapes(cell, vocab, hidden).items()}


DESCRIPTIONS = {
    "x": "xₜ: the character at step t, one-hot over the vocabulary",
    "t": "tₜ: the next character (the target), one-hot",
    "o": "oₜ = W_hy·hₜ + b_y: each character's score",
    "a": "aₜ = softmax(oₜ): the predicted probability of each next character",
    "C_step": "Cₜ = −Σ t·ln a: the cost of step t",
    "C": "C = Σₜ Cₜ: the window's cost",
    "C_T": "C_T = Σ C over the windows",
    "correct": "1 where the most probable character is the next one",
    "accuracy": "the share of steps whose most probable character is the next one",
    "dC_do": "∂C/∂oₜ = aₜ − tₜ",
    "dh_out": "∂Cₜ/∂hₜ = Σⱼ w_hy,ⱼᵢ·∂C/∂oₜ,ⱼ: what the step's own output sends back",
    "dh_norm": "‖∂C/∂hₜ‖: the size of the error reaching step t",
    "dh_norm_mean": "‖∂C/∂hₜ‖ averaged over the windows",
    "last_dh_out": "the last step's ∂C/∂hₜ alone (0 at the other steps): the error the next"
                   " rows send back through time",
    "last_norm": "‖∂C_last/∂hₜ‖: how much of the last step's error reaches step t",
    "last_norm_mean": "‖∂C_last/∂hₜ‖ averaged over the windows: how the last step's error fades"
                      " going back (vanishing gradients)",
}


def descriptions(cell) -> dict[str, str]:
    """Every block's words; the last step's own backward pass repeats the cell's errors."""
    last = {f"last_{k}": f"the last step's error alone: {v}"
            for k, v in cell.descriptions.items() if k in {b for b, _, _ in cell.backward_blocks}}
    return {**DESCRIPTIONS, **cell.descriptions, **last}


def iteration(p: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray,
              mask: np.ndarray | None = None, detail: bool = True,
              kind=recurrent.ELMAN) -> dict[str, np.ndarray]:
    """Every block of one iteration over W windows x, t (W, T, V) through the cell ``kind``;
    ``mask`` (W,): the windows of this step's batch (None: all), whose gradients are
    summed."""
    windows, steps, vocab = x.shape
    cell = kind.forward(p, x)
    h = cell["h"]
    o = ops.weighted_input(h.reshape(-1, h.shape[-1]), p["Why"], p["by"])
    a = OUTPUT.forward(o)
    flat_t = t.reshape(-1, vocab)
    c_step = OUTPUT.cost(o, a, flat_t, windows).reshape(windows, steps)
    do = OUTPUT.delta(o, a, flat_t, windows)
    dh_out = ops.back_sum(do, p["Why"]).reshape(windows, steps, -1)
    weights = None if mask is None else (np.asarray(mask) != 0)
    errors = kind.backward(p, x, cell, dh_out)
    own = kind.per_window(x, cell, errors)
    grads = recurrent.totals(own, weights)
    own_out = {"Why": np.einsum("wtj,wti->wji", do.reshape(windows, steps, vocab), h),
               "by": do.reshape(windows, steps, vocab).sum(axis=1)}
    grads.update(recurrent.totals(own_out, weights))
    b: dict[str, np.ndarray] = dict(p)
    b["C_step"] = c_step
    b["C"] = c_step.sum(axis=1)
    b["C_T"] = ops.total(b["C"])
    correct = ops.correct(a, flat_t).reshape(windows, steps)
    b["accuracy"] = np.asarray(correct.mean())
    b.update({f"dCT_d{k}": v for k, v in grads.items()})
    norms = np.sqrt(np.sum(errors["dh"] ** 2, axis=2))
    b["dh_norm_mean"] = norms.mean(axis=0)
    # the last step's cost alone, sent back through the steps: how far an error reaches
    last_out = np.zeros_like(dh_out)
    last_out[:, -1] = dh_out[:, -1]
    last = kind.backward(p, x, cell, last_out)
    last_norms = np.sqrt(np.sum(last["dh"] ** 2, axis=2))
    b["last_norm_mean"] = last_norms.mean(axis=0)
    if detail:
        b.update(x=x, t=t, a=a.reshape(windows, steps, vocab), o=o.reshape(windows, steps, vocab),
                 correct=correct, dC_do=do.reshape(windows, steps, vocab), dh_out=dh_out,
                 dh_norm=norms, **cell, **errors, last_dh_out=last_out,
                 last_norm=last_norms, **{f"last_{k}": v for k, v in last.items()})
        own.update(own_out)
        b.update({f"dC_d{k}": v for k, v in own.items()})
    return b


def train(text: Text, params: Mapping[str, np.ndarray], eta: float, iterations: int,
          progress: Progress | None = None, keep: Collection[str] | None = None,
          rule: UpdateRule = GD, hyper: Mapping[str, float] | None = None,
          batches: np.ndarray | None = None, anchor: Anchor | None = None,
          kind=recurrent.ELMAN, first_step: int = 0,
          start_state: Mapping[str, Mapping[str, np.ndarray]] | None = None) -> Trace:
    """Iterations 0..``iterations`` on the text's windows (``batches``: each step's windows)
    through the cell ``kind``; ``first_step``, ``start_state``: going on from a checkpoint
    (``descent.descend``)."""
    x, t = text.one_hot()
    detail = keep is None

    def step(p: Mapping[str, np.ndarray], mask: np.ndarray | None, k: int
             ) -> dict[str, np.ndarray]:
        return iteration(p, x, t, mask, detail, kind)

    weights = [name for name, shape in shapes(kind, 1, 1).items() if len(shape) == 2]
    return descend(step, params, eta, iterations, descriptions(kind), progress, keep,
                   rule=rule, hyper=hyper, weights=weights, batches=batches, anchor=anchor,
                   first_step=first_step, start_state=start_state)


def sample(p: Mapping[str, np.ndarray], text: Text, start: str, length: int,
           kind=recurrent.ELMAN) -> str:
    """The text the net writes from ``start``, each next character its most probable one
    (the cell run over the whole text so far, from h₀ = 0)."""
    where = {c: i for i, c in enumerate(text.vocab)}
    eye = np.eye(len(text.vocab))
    out = start
    for _ in range(length):
        x = eye[[where[c] for c in out]][None]
        h = kind.forward(p, x)["h"][0, -1]
        out += text.vocab[int(np.argmax(p["Why"] @ h + p["by"]))]
    return out
