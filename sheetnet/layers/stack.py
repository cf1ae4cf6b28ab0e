"""A stack's rules, written once with the kinds they name: ``--arch``'s parser, the order layers
may follow each other in, the tags their blocks are named from, the bias batch norm makes
redundant, the end a stack must have, and the book's two stacks. Nothing outside ``layers/``
names a kind: ``core/net.py`` builds any stack through these."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

from sheetnet.errors import SheetnetError
from sheetnet.layers.activation import ActivationLayer
from sheetnet.layers.attention import SelfAttention
from sheetnet.layers.base import Layer, Shape
from sheetnet.layers.batchnorm import BatchNorm
from sheetnet.layers.conv import Conv
from sheetnet.layers.dense import Dense
from sheetnet.layers.dropout import Dropout
from sheetnet.layers.embedding import Embedding
from sheetnet.layers.feedforward import FeedForward
from sheetnet.layers.flatten import Flatten
from sheetnet.layers.layernorm import LayerNorm
from sheetnet.layers.pool import Pool
from sheetnet.layers.recurrent import Recurrent
from sheetnet.pairs.activations import ACTIVATIONS, SIGMOID, Activation

# each parses its own --arch token
KINDS = (Dense, Conv, Pool, Flatten, Dropout, BatchNorm, LayerNorm, Recurrent, Embedding,
         SelfAttention, FeedForward, ActivationLayer)
GRAMMAR = ("dense N [nobias], conv K FxF [pad P] [nobias], maxpool P, avgpool P, flatten,"
           " dropout P, batchnorm, layernorm, rnn H, lstm H, gru H, embed D, attention [ln],"
           " mlp F [ln] or an activation"
           f" ({', '.join(ACTIVATIONS)})")
# a text's output layer, named as the character RNN names it: oₜ = W_hy·hₜ + b_y, aₜ, ∂C/∂oₜ
SEQUENCE_OUTPUT = (("W", "Why"), ("b", "by"), ("w", "w_hy"), ("b_symbol", "b_y"), ("z", "o"),
                   ("out", "o"))
SEQUENCE_ERRORS = (("a", "a"), ("delta", "dC_do"))


def parse(text: str) -> list[Layer]:
    """The unbound stack an ``--arch`` text describes (flatten implied before the first dense
    layer that follows a convolution or pooling); one line naming what is wrong."""
    stack: list[Layer] = []
    for raw in text.split(","):
        item = " ".join(raw.lower().replace("×", "x").split())
        if not item:
            raise SheetnetError(f"--arch {text!r} has an empty layer; separate layers by single"
                                " commas")
        layer = next((found for kind in KINDS if (found := kind.parse(item)) is not None), None)
        if layer is None:
            raise SheetnetError(f"--arch: {item!r} is not a layer; write {GRAMMAR}, separated"
                                " by commas")
        stack.append(layer)
    return imply_flatten(stack)


def imply_flatten(stack: Sequence[Layer]) -> list[Layer]:
    """A flatten before the first dense layer after a convolution or pooling, unless given."""
    out: list[Layer] = []
    maps = False
    for layer in stack:
        if layer.kind == "dense" and maps:
            out.append(Flatten())
            maps = False
        if layer.reads_maps:
            maps = True
        if layer.kind == "flatten":
            maps = False
        out.append(layer)
    return out



def unbiased(stack: Sequence[Layer]) -> list[Layer]:
    """A dense or convolution layer right before batch norm has no bias: μ would subtract it
    again (its gradient is 0 but for rounding, which Adam would blow up to steps of η); β is
    the shift."""
    return [replace(layer, bias=False) if isinstance(layer, (Dense, Conv)) and layer.bias
            and i + 1 < len(stack) and isinstance(stack[i + 1], BatchNorm) else layer
            for i, layer in enumerate(stack)]


def check_end(bound: Sequence[Layer], shape: Shape, outputs: int) -> None:
    """A stack ends with a dense layer of one unit per class."""
    if not shape.flat or bound[-1].kind not in ("dense", "activation"):
        raise SheetnetError("a stack ends with a dense layer (dense N, N the number of"
                            f" classes: {outputs}), which feeds the output layer")
    if bound[-1].kind == "activation":
        raise SheetnetError(f"the stack ends with {bound[-1].token}; the output layer has its"
                            " own activation (--output-activation): end with dense N")
    if shape.height != outputs:
        raise SheetnetError(f"the last dense layer has {shape.height} units but the data has"
                            f" {outputs} {'classes' if outputs > 1 else 'target value'}; end"
                            f" with dense {outputs}")


def ended(stack: Sequence[Layer], outputs: int) -> list[Layer]:
    """The stack, closed by ``dense outputs`` where it does not end with a dense layer (a
    text's ``--arch "lstm 5, lstm 4"``: the characters' scores are implied)."""
    if stack and stack[-1].kind == "dense":
        return list(stack)
    return [*stack, Dense(outputs)]


def tags(stack: Sequence[Layer], lettered: bool, sequence: bool = False) -> list[str]:
    """Each layer's tag ("" for those that take the tag before them: activations, flatten).
    A sequence's: its recurrent layers "" (one) or 1, 2 …; its hidden dense layers H; its last
    dense layer y (named as ``SEQUENCE_OUTPUT`` says)."""
    dense = [i for i, layer in enumerate(stack) if layer.kind == "dense"]
    tags = [""] * len(stack)
    if sequence:
        recurrent = [i for i, layer in enumerate(stack) if layer.kind == "recurrent"]
        # plain names (h, Wxh) for the only recurrent layer, unless a layer before it has a
        # tag or an activation takes its tag (its a would be the output's)
        after = stack[recurrent[0] + 1:next((i for i in dense if i > recurrent[0]),
                                            len(stack))] if recurrent else []
        plain = (len(recurrent) == 1 and not any(i < recurrent[0] for i in dense)
                 and not any(layer.activation for layer in after))
        for n, i in enumerate(recurrent):  # ("": the input's tag, which is "")
            tags[i] = "" if plain else str(n + 1)
        for n, i in enumerate(dense[:-1]):
            tags[i] = "H" + (str(n + 1) if len(dense) > 2 else "")
        if dense:
            tags[dense[-1]] = "y"
        return tags
    if not lettered:
        for n, i in enumerate(dense):
            tags[i] = str(n + 2)  # layer 1 is the input, as in the book
        return tags
    lettering = {i: layer.letter for i, layer in enumerate(stack) if layer.letter}
    lettering.update({i: "H" for i in dense[:-1]})  # hidden dense layers; the last is the book's O
    for letter in dict.fromkeys(lettering.values()):
        found = [i for i, mine in lettering.items() if mine == letter]
        for n, i in enumerate(found):
            tags[i] = letter + (str(n + 1) if len(found) > 1 else "")
    if dense:
        tags[dense[-1]] = "O"
    return tags


def aliases(stack: Sequence[Layer], sequence: bool) -> list[tuple[tuple[str, str], ...]]:
    """The names each layer takes in place of its tag's (a sequence's last dense layer's)."""
    dense = [i for i, layer in enumerate(stack) if layer.kind == "dense"]
    return [SEQUENCE_OUTPUT if sequence and dense and i == dense[-1] else ()
            for i in range(len(stack))]


def check_sequence(stack: Sequence[Layer], shape: Shape) -> None:
    """A sequence (a text's windows) goes through layers that act at every step: no
    convolution, pooling, flatten or batch norm."""
    if not shape.steps:
        return
    wrong = next((layer for layer in stack if layer.reads_maps or layer.transparent
                  or layer.couples_batch), None)
    if wrong is not None:
        what = wrong.token or "flatten"
        raise SheetnetError(f"{what} does not read a sequence: a text's windows go through"
                            " rnn H, lstm H, gru H, dense N, dropout P, layernorm and activations")


def check_order(stack: Sequence[Layer]) -> None:
    """Refuse a stack whose order cannot work, in one line."""
    previous = None
    dense_seen = False
    for layer in stack:
        if layer.leads and previous is not None:
            raise SheetnetError(f"{layer.token} follows {previous.token}; it reads the"
                                " characters themselves: put it first")
        if layer.once and sum(other.kind == layer.kind for other in stack) > 1:
            raise SheetnetError(f"{layer.token.split()[0]} comes twice; a net has one (its"
                                " parameters' names are its own): give it once")
        if previous is not None and previous.kind == "flatten" and layer.kind != "dense":
            raise SheetnetError(f"{layer.token or 'flatten'} follows flatten; flatten goes"
                                " between the convolution and pooling layers and the first"
                                " dense layer (where it is implied)")
        if layer.kind == "flatten" and (previous is None or not previous.reads_maps and
                                        previous.kind not in ("activation", "dropout")
                                        or dense_seen):
            raise SheetnetError("flatten goes between the convolution and pooling layers and"
                                " the first dense layer (where it is implied); remove it here")
        if layer.kind == "activation":
            if previous is None:
                raise SheetnetError(f"{layer.token} comes first; an activation needs a dense,"
                                    " convolution or pooling layer before it")
            if previous.kind == "activation":
                raise SheetnetError(f"{previous.token} and {layer.token} follow each other; give"
                                    " one activation after each layer")
        if layer.kind == "dropout" and (previous is None or previous.kind == "dropout"):
            where = "comes first" if previous is None else f"follows {previous.token}"
            raise SheetnetError(f"{layer.token} {where}; dropout follows a layer (once): put"
                                " it after an activation")
        if layer.kind == "batchnorm" and (previous is None
                                          or previous.kind not in ("dense", "conv")):
            where = "comes first" if previous is None else f"follows {previous.token}"
            raise SheetnetError(f"batchnorm {where}; it normalises a weighted sum: put it right"
                                " after a dense or convolution layer, before its activation")
        if layer.follows and (previous is None or previous.kind not in layer.follows):
            where = "comes first" if previous is None else f"follows {previous.token}"
            *some, last = layer.follows_text
            kinds = f"{', '.join(some)} or {last}" if some else last
            article = "an" if kinds[0] in "aeiou" else "a"
            raise SheetnetError(f"{layer.token} {where}; put it right after {article} {kinds}"
                                " layer")
        if layer.reads_maps and dense_seen:
            raise SheetnetError(f"{layer.token} comes after a dense layer (or flatten);"
                                " convolution and pooling layers come first, then the dense"
                                " layers")
        dense_seen = dense_seen or layer.kind in ("dense", "flatten")
        previous = layer



def dense_layers(sizes: Sequence[int], activation: Activation = SIGMOID,
                 biases: bool = True) -> list[Layer]:
    """A fully connected stack from every layer's size, input to output (the input's size is
    the data's): dense, activation, …, dense."""
    stack: list[Layer] = []
    for n in sizes[1:-1]:
        stack += [Dense(n, biases), ActivationLayer(activation)]
    return [*stack, Dense(sizes[-1], biases)]


def cnn_layers(filters: int = 3, size: int = 3, pool: int = 2, outputs: int = 3,
               activation: Activation = SIGMOID, pooling: str = "max",
               padding: int = 0) -> list[Layer]:
    """The book's CNN (5-4): conv K f×f, an activation, pooling p×p, dense (one unit a class)."""
    return [Conv(filters, size, padding), ActivationLayer(activation), Pool(pool, pooling),
            Flatten(), Dense(outputs)]


