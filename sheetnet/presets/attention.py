"""``--net attention``: a one-block, one-head causal transformer on a text's characters, learning
to predict each next one: ``embed D, attention, mlp F, dense V`` (``--embed D``, ``--mlp F``;
``--layer-norm``: the attention and the MLP read their inputs through a layer norm), softmax
with cross-entropy at every position, on the windows, vocabulary and options of the recurrent
text nets (``presets/recurrent.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from sheetnet import layers
from sheetnet.core.data import Dataset
from sheetnet.core.net import Net
from sheetnet.errors import SheetnetError
from sheetnet.layers import Layer
from sheetnet.presets.options import Options
from sheetnet.presets.recurrent import TextPreset

EMBED, MLP = 8, 16  # D and F by default: 50 iterations on the default text are 2.9 million cells


def _stack(ds: Dataset, opts: Options) -> list[Layer]:
    """``embed D, attention, mlp F, dense V`` (with ``ln`` on both sub-blocks for
    ``--layer-norm``)."""
    embed = EMBED if opts.embed is None else opts.embed
    mlp = MLP if opts.mlp is None else opts.mlp
    for flag, value in (("--embed", embed), ("--mlp", mlp)):
        if value < 1:
            raise SheetnetError(f"{flag} {value} must be at least 1")
    ln = " ln" if opts.layer_norm else ""
    return layers.parse(f"embed {embed}, attention{ln}, mlp {mlp}{ln}, dense {ds.outputs}")


@dataclass(frozen=True)
class AttentionPreset(TextPreset):
    """The text nets' data, settings and table, with a transformer block's stack."""

    def options(self) -> tuple[str, ...]:
        return ("iterations", "eta", "seed", "init", "init_scheme", "text", "seq_length",
                "embed", "mlp", "layer_norm", "arch", "optimizer", "batch_size", "shuffle",
                "l1", "l2", "eta_decay", "freeze")

    def make_net(self, ds: Dataset, opts: Options) -> Net:
        given = [flag for flag, value in (("--embed", opts.embed), ("--mlp", opts.mlp),
                                          ("--layer-norm", opts.layer_norm)) if value is not None]
        if opts.arch is not None and given:
            raise SheetnetError(f"give --arch or {given[0]}, not both: --arch writes the whole"
                                " stack (e.g. \"embed 8, attention ln, mlp 16 ln\")")
        return super(TextPreset, self).make_net(ds, opts)


ATTENTION = AttentionPreset(
    name="attention", summary="one-block causal transformer on characters", follows="beyond",
    dataset="text", eta=0.02, iterations=50, stack=_stack, shorthands={},
    output_activation="softmax", loss="cross-entropy", init_scheme="uniform",
    optimizer="adam")  # transformers train with Adam (gradient descent at η 0.05 overflows)
