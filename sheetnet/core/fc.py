"""The fully connected network of the book's chapters 3-5 and 4-4, vectorized over images.

Layer 1 is the input. For layers l = 2..L: zˡ = Wˡaˡ⁻¹ + bˡ, aˡ = σ(zˡ) (the output layer's
own activation for l = L); the neural unit errors δᴸ from the output layer (e.g. (aᴸ−t)⊙σ'(zᴸ)),
δˡ = (Wˡ⁺¹)ᵀδˡ⁺¹⊙σ'(zˡ); gradients ∂C/∂Wˡ = δˡ(aˡ⁻¹)ᵀ, ∂C/∂bˡ = δˡ per image, summed over the
images; then an update rule.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet import notation as names
from sheetnet.core.descent import trainer
from sheetnet.core.params import Params, standard_normal, validate_params
from sheetnet.notation import sup
from sheetnet.pairs import ops
from sheetnet.pairs.activations import SIGMOID, Activation
from sheetnet.pairs.outputs import HALF_SSE, OutputLayer, compose

BOOK_OUTPUT = compose(SIGMOID, HALF_SSE)  # the book's sigmoid outputs and ½Σ(a − t)²


@dataclass(frozen=True)
class FCNet:
    """Layer sizes (n₁, …, n_L), the hidden layers' activation and the output layer (its
    activation fused with the cost)."""

    sizes: tuple[int, ...]
    activation: Activation = SIGMOID
    output: OutputLayer = BOOK_OUTPUT
    biases: bool = True  # False: zˡ = Wˡaˡ⁻¹ only (e.g. the score function f = W₂max(0, W₁x))
    accuracy: bool = True  # False for targets that are measurements (curve): nothing to classify

    @property
    def layers(self) -> range:
        """The computing layers l = 2..L."""
        return range(2, len(self.sizes) + 1)

    @property
    def outputs(self) -> int:
        """n_L, the number of output units."""
        return self.sizes[-1]

    def n(self, layer: int) -> int:
        """nₗ, the number of units in layer l (1-based as in the book)."""
        return self.sizes[layer - 1]

    @property
    def weights(self) -> list[str]:
        """The weight blocks (not the biases): what a penalty applies to."""
        return [names.weights(l) for l in self.layers]

    @property
    def last(self) -> int:
        """L, the output layer."""
        return len(self.sizes)

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        """``{"W2": (n2, n1), "b2": (n2,), …}`` in the order the workbook lists them."""
        shapes: dict[str, tuple[int, ...]] = {}
        for l in self.layers:
            shapes[names.weights(l)] = (self.n(l), self.n(l - 1))
            if self.biases:
                shapes[names.bias(l)] = (self.n(l),)
        return shapes


def init_params(net: FCNet, seed: int) -> Params:
    """Standard-normal initial weights and biases, drawn in the order W2, b2, W3, b3, …"""
    return standard_normal(net.param_shapes(), seed)


def init_he(net: FCNet, seed: int) -> Params:
    """He initialisation for ReLU nets: wˡⱼᵢ standard normal × √(2/nₗ₋₁), biases 0."""
    drawn = standard_normal(net.param_shapes(), seed)
    return {k: v * np.sqrt(2.0 / v.shape[1]) if v.ndim == 2 else np.zeros_like(v)
            for k, v in drawn.items()}


def params_from_json(net: FCNet, obj: object, source: str) -> Params:
    """Validate an ``--init`` object: for each layer l ≥ 2, ``W{l}`` (nₗ×nₗ₋₁) and ``b{l}`` (nₗ)."""
    return validate_params(net.param_shapes(), obj, source)


def iteration(net: FCNet, params: Mapping[str, np.ndarray], x: np.ndarray,
              t: np.ndarray, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every block of one iteration: forward, cost, backpropagation, gradients.

    x: (N, n₁) inputs, t: (N, n_L) targets; mask: (N,) 0/1, the images whose gradients are
    summed (a batch; None: all). Per-image blocks have shape (N, …).
    """
    b: dict[str, np.ndarray] = {}
    for name in net.param_shapes():
        b[name] = params[name]
    b["x"], b["t"] = x, t
    n = x.shape[0]
    a = {1: x}
    z: dict[int, np.ndarray] = {}
    last = net.last
    for l in net.layers:
        bias = params[names.bias(l)] if net.biases else 0.0
        z[l] = ops.weighted_input(a[l - 1], params[names.weights(l)], bias)
        a[l] = net.output.forward(z[l]) if l == last else net.activation.value(z[l])
        b[names.z(l)], b[names.a(l)] = z[l], a[l]
    b["C"] = net.output.cost(z[last], a[last], t, n)
    b["C_T"] = ops.total(b["C"])
    if net.accuracy:
        b["correct"] = (ops.correct if net.outputs > 1 else ops.near)(a[last], t)
        b["accuracy"] = ops.mean(b["correct"])
    delta = {last: net.output.delta(z[last], a[last], t, n)}
    for l in range(last - 1, 1, -1):
        back = ops.back_sum(delta[l + 1], params[names.weights(l + 1)])
        delta[l] = ops.hidden_error(back, net.activation, z[l], a[l])
    for l in range(last, 1, -1):
        b[names.delta(l)] = delta[l]
    for l in net.layers:
        b[names.grad(names.weights(l))] = ops.weight_gradient(delta[l], a[l - 1])
        b[names.total_grad(names.weights(l))] = ops.total(b[names.grad(names.weights(l))], mask)
        if net.biases:
            b[names.grad(names.bias(l))] = delta[l]
            b[names.total_grad(names.bias(l))] = ops.total(b[names.grad(names.bias(l))], mask)
    return b


def stacked_costs(net: FCNet, stack: Mapping[str, np.ndarray], x: np.ndarray,
                  t: np.ndarray) -> np.ndarray:
    """C per image for S parameter sets at once, by a full forward pass of each.

    stack: each parameter with a leading axis of S sets (e.g. W2: (S, n₂, n₁));
    x: (N, n₁), t: (N, n_L) -> (S, N).
    """
    n = x.shape[0]
    a = np.broadcast_to(x, (next(iter(stack.values())).shape[0], *x.shape))
    for l in net.layers:
        z = np.einsum("sji,sni->snj", stack[names.weights(l)], a)
        if net.biases:
            z = z + stack[names.bias(l)][:, None, :]
        a = net.output.forward(z) if l == net.last else net.activation.value(z)
    return net.output.cost(z, a, t[None], n)


def cost(net: FCNet, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """C_T for one set of parameters (for gradient checks)."""
    return float(iteration(net, params, x, t)["C_T"])




def describe(net: FCNet) -> dict[str, str]:
    """What each block is, in the book's notation (for the Map sheet and the terminal)."""
    last = len(net.sizes)
    d = {"x": "x: the inputs (an image's pixels row by row: layer 1's outputs a¹)",
         "t": ("t: the target value" if net.sizes[-1] == 1 else
               "t: the target, 1 for the image's class and 0 for the others")}
    for l in net.layers:
        s, p = sup(l), sup(l - 1)
        plus_b = f" + b{s}" if net.biases else ""
        d[names.weights(l)] = (f"W{s}: weights w{s}ⱼᵢ from unit i of layer {l - 1} to unit j"
                               f" of layer {l}")
        d[names.z(l)] = f"z{s}: weighted inputs of layer {l}, = W{s}a{p}{plus_b}"
        act = net.output.activation if l == last else net.activation.name
        d[names.a(l)] = f"a{s}: outputs of layer {l}, = {act}(z{s})"
        if l == last:
            d[names.delta(l)] = (f"δ{s}ₖ: neural unit errors of the output layer,"
                                 f" = {net.output.delta_text}")
        else:
            d[names.delta(l)] = (f"δ{s}: neural unit errors of hidden layer {l},"
                                 f" = (W{sup(l + 1)})ᵀδ{sup(l + 1)} ⊙ σ'(z{s})")
        d[names.grad(names.weights(l))] = f"∂C/∂w{s}ⱼᵢ per image, = δ{s}ⱼ·a{p}ᵢ"
        d[names.total_grad(names.weights(l))] = (f"∂C_T/∂w{s}ⱼᵢ, the per-image gradients"
                                                 " summed over the images")
        if net.biases:
            d[names.bias(l)] = f"b{s}: biases of layer {l}"
            d[names.grad(names.bias(l))] = f"∂C/∂b{s}ⱼ per image, = δ{s}ⱼ"
            d[names.total_grad(names.bias(l))] = f"∂C_T/∂b{s}ⱼ, summed over the images"
    d["C"] = net.output.formula.replace("a ", f"a{sup(last)} ", 1) + ": the cost of each image"
    d["C_T"] = "C_T: the total cost, Σ of C over the images"
    if net.accuracy:
        d["correct"] = ("1 where the output is within 0.5 of the target, else 0"
                        if net.sizes[-1] == 1 else
                        "1 where the largest output is the target class, else 0")
        d["accuracy"] = "share of images classified right" if net.sizes[-1] > 1 else \
            "share of outputs within 0.5 of their target"
    return d


train = trainer(iteration, describe)  # type: ignore[arg-type]
