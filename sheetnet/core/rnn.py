"""A character-level recurrent net (an Elman RNN) learning to predict each next character of a
text, trained by backpropagation through time.

The vocabulary is the text's distinct characters in sorted order; each character enters as a
one-hot column xₜ. The text is cut into windows of T + 1 characters with stride T: window j is
characters jT … jT + T, its inputs the first T and its targets the last T, and it starts from
h₀ = 0. At every step the recurrent cell (``layers/recurrent.py``) gives hₜ, a dense layer the
scores oₜ = W_hy·hₜ + b_y, and softmax with cross-entropy the probabilities and the cost Cₜ
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
from sheetnet.pairs import ops
from sheetnet.pairs.optim import GD, UpdateRule
from sheetnet.pairs.outputs import SOFTMAX_CROSS_ENTROPY as OUTPUT

# public domain: the first stanza of Jane Taylor's "The Star" (1806)
DEFAULT_TEXT = ("twinkle, twinkle, little star, how i wonder what you are! up above the world"
                " so high, like a diamond in the sky.")
PARAMS = ("Wxh", "Whh", "bh", "Why", "by")


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


def shapes(vocab: int, hidden: int) -> dict[str, tuple[int, ...]]:
    """``--init``'s keys and shapes."""
    return {"Wxh": (hidden, vocab), "Whh": (hidden, hidden), "bh": (hidden,),
            "Why": (vocab, hidden), "by": (vocab,)}


def init(vocab: int, hidden: int, seed: int) -> dict[str, np.ndarray]:
    """Weights uniform in ±1/√H as torch.nn.RNN draws them, biases 0, from ``seed``."""
    rng = np.random.default_rng(seed)
    bound = 1 / np.sqrt(hidden)
    return {name: (rng.uniform(-bound, bound, shape) if name.startswith("W")
                   else np.zeros(shape)) for name, shape in shapes(vocab, hidden).items()}


DESCRIPTIONS = {
    "x": "xₜ: the character at step t, one-hot over the vocabulary",
    "t": "tₜ: the next character (the target), one-hot",
    "hprev": "hₜ₋₁: the state the step starts from (h₀ = 0)",
    "z": "zₜ = W_xh·xₜ + W_hh·hₜ₋₁ + b_h",
    "h": "hₜ = tanh(zₜ): the state after the step",
    "o": "oₜ = W_hy·hₜ + b_y: each character's score",
    "a": "aₜ = softmax(oₜ): the predicted probability of each next character",
    "C_step": "Cₜ = −Σ t·ln a: the cost of step t",
    "C": "C = Σₜ Cₜ: the window's cost",
    "C_T": "C_T = Σ C over the windows",
    "correct": "1 where the most probable character is the next one",
    "accuracy": "the share of steps whose most probable character is the next one",
    "dC_do": "∂C/∂oₜ = aₜ − tₜ",
    "dh_out": "∂Cₜ/∂hₜ = Σⱼ w_hy,ⱼᵢ·∂C/∂oₜ,ⱼ: what the step's own output sends back",
    "dh": "∂C/∂hₜ = ∂Cₜ/∂hₜ + what step t + 1 sends back (∂C/∂hₜ of the next step's hₜ₋₁)",
    "delta": "δₜ = ∂C/∂zₜ = ∂C/∂hₜ ⊙ (1 − hₜ²)",
    "dhprev": "∂C/∂hₜ₋₁ = Σᵢ w_hh,ᵢₖ·δₜ,ᵢ: what the step sends back to the one before",
    "dh_norm": "‖∂C/∂hₜ‖: the size of the error reaching step t",
    "dh_norm_mean": "‖∂C/∂hₜ‖ averaged over the windows: how the error fades going back",
}


def iteration(p: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray,
              mask: np.ndarray | None = None, detail: bool = True) -> dict[str, np.ndarray]:
    """Every block of one iteration over W windows x, t (W, T, V); ``mask`` (W,): the windows
    of this step's batch (None: all), whose gradients are summed."""
    windows, steps, vocab = x.shape
    cell = recurrent.forward(p, x)
    h = cell["h"]
    o = ops.weighted_input(h.reshape(-1, h.shape[-1]), p["Why"], p["by"])
    a = OUTPUT.forward(o)
    flat_t = t.reshape(-1, vocab)
    c_step = OUTPUT.cost(o, a, flat_t, windows).reshape(windows, steps)
    do = OUTPUT.delta(o, a, flat_t, windows)
    dh_out = ops.back_sum(do, p["Why"]).reshape(windows, steps, -1)
    weights = None if mask is None else (np.asarray(mask) != 0)
    errors, grads = recurrent.backward(p, x, cell, dh_out, weights)
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
    if detail:
        b.update(x=x, t=t, a=a.reshape(windows, steps, vocab), o=o.reshape(windows, steps, vocab),
                 correct=correct, dC_do=do.reshape(windows, steps, vocab), dh_out=dh_out,
                 dh_norm=norms, **cell, **errors)
        own = recurrent.per_window(x, cell, errors)
        own.update(own_out)
        b.update({f"dC_d{k}": v for k, v in own.items()})
    return b


def train(text: Text, params: Mapping[str, np.ndarray], eta: float, iterations: int,
          progress: Progress | None = None, keep: Collection[str] | None = None,
          rule: UpdateRule = GD, hyper: Mapping[str, float] | None = None,
          batches: np.ndarray | None = None, anchor: Anchor | None = None) -> Trace:
    """Iterations 0..``iterations`` on the text's windows (``batches``: each step's windows)."""
    x, t = text.one_hot()
    detail = keep is None

    def step(p: Mapping[str, np.ndarray], mask: np.ndarray | None, k: int
             ) -> dict[str, np.ndarray]:
        return iteration(p, x, t, mask, detail)

    return descend(step, params, eta, iterations, dict(DESCRIPTIONS), progress, keep,
                   rule=rule, hyper=hyper, weights=("Wxh", "Whh", "Why"), batches=batches,
                   anchor=anchor)


def sample(p: Mapping[str, np.ndarray], text: Text, start: str, length: int) -> str:
    """The text the net writes from ``start``, each next character its most probable one."""
    where = {c: i for i, c in enumerate(text.vocab)}
    eye = np.eye(len(text.vocab))
    h = np.zeros(p["bh"].shape[0])
    out = start
    for c in start[:-1]:
        h = np.tanh(p["Wxh"] @ eye[where[c]] + p["Whh"] @ h + p["bh"])
    c = start[-1]
    for _ in range(length):
        h = np.tanh(p["Wxh"] @ eye[where[c]] + p["Whh"] @ h + p["bh"])
        c = text.vocab[int(np.argmax(p["Why"] @ h + p["by"]))]
        out += c
    return out
