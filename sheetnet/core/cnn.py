"""The convolutional network of the book's chapters 5-4 and 5-6, vectorized over images.

One input channel H×W; K filters f×f (stride 1, no padding) with a bias each and an activation
give K feature maps zᶠ, aᶠ of H'×W' (H' = H−f+1); p×p max pooling (stride p) gives K pooled maps
zᴾ of H'/p × W'/p; a fully connected output layer of n units reads every pooled value in the
order filter k, pooled row, pooled column. C = ½Σ(aᴼ−t)² (the book's; ``--loss`` picks another).

Backward: δᴼ = (aᴼ−t)⊙σ'(zᴼ); δᴾ = (Wᴼ)ᵀδᴼ, the error of each pooled value; routed = δᴾ sent to
the first maximum of its window; δᶠ = routed ⊙ σ'(zᶠ); ∂C/∂wᶠᵏᵤᵥ = Σᵢⱼ δᶠᵏᵢⱼ·x₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎,
∂C/∂bᶠᵏ = Σᵢⱼ δᶠᵏᵢⱼ, ∂C/∂wᴼ = δᴼ(zᴾ)ᵀ, ∂C/∂bᴼ = δᴼ; summed over images; full-batch descent.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np

from sheetnet import notation as names
from sheetnet.core.descent import trainer
from sheetnet.core.fc import BOOK_OUTPUT
from sheetnet.core.params import Params, standard_normal, validate_params
from sheetnet.errors import SheetnetError
from sheetnet.pairs import ops
from sheetnet.pairs.activations import SIGMOID, Activation
from sheetnet.pairs.outputs import OutputLayer

PARAMS = ("F", "bF", "WO", "bO")


@dataclass(frozen=True)
class CNNNet:
    """Image shape (H, W), K filters of f×f, p×p pooling, n output units."""

    image: tuple[int, int]
    filters: int = 3
    size: int = 3
    pool: int = 2
    outputs: int = 3
    activation: Activation = SIGMOID
    output: OutputLayer = BOOK_OUTPUT

    def __post_init__(self) -> None:
        h, w = self.image
        if self.filters < 1 or self.size < 1 or self.pool < 1 or self.outputs < 1:
            raise SheetnetError("--filters, --filter-size and --pool must be at least 1")
        if self.size > min(h, w):
            raise SheetnetError(f"a {self.size}×{self.size} filter is larger than the {h}×{w}"
                                f" image; use --filter-size {min(h, w)} or less")
        mh, mw = self.map_shape
        if mh % self.pool or mw % self.pool:
            fits = [p for p in range(1, min(mh, mw) + 1) if mh % p == 0 and mw % p == 0]
            raise SheetnetError(f"the {mh}×{mw} feature maps do not divide into {self.pool}×"
                                f"{self.pool} pooling windows; use --pool"
                                f" {' or '.join(map(str, fits))}, or another --filter-size")

    @property
    def map_shape(self) -> tuple[int, int]:
        """(H', W') of each feature map."""
        return self.image[0] - self.size + 1, self.image[1] - self.size + 1

    @property
    def pooled_shape(self) -> tuple[int, int]:
        mh, mw = self.map_shape
        return mh // self.pool, mw // self.pool

    @property
    def pooled(self) -> int:
        """The number of pooled values, K·(H'/p)·(W'/p): the output layer's inputs."""
        ph, pw = self.pooled_shape
        return self.filters * ph * pw

    weights = ("F", "WO")  # the weight blocks (not the biases): what a penalty applies to

    def param_shapes(self) -> dict[str, tuple[int, ...]]:
        k, f = self.filters, self.size
        return {"F": (k, f, f), "bF": (k,), "WO": (self.outputs, self.pooled),
                "bO": (self.outputs,)}


def init_params(net: CNNNet, seed: int) -> Params:
    """Standard-normal initial values, drawn in the order F, bF, WO, bO."""
    return standard_normal(net.param_shapes(), seed)


def params_from_json(net: CNNNet, obj: object, source: str) -> Params:
    """``--init``: ``F`` (K×f×f), ``bF`` (K), ``WO`` (n×K·(H'/p)·(W'/p)), ``bO`` (n)."""
    return validate_params(net.param_shapes(), obj, source)


def iteration(net: CNNNet, params: Mapping[str, np.ndarray], x: np.ndarray,
              t: np.ndarray, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every block of one iteration. x: (N, H·W) or (N, H, W) pixels, t: (N, n) targets;
    mask: (N,) 0/1, the images whose gradients are summed (a batch; None: all)."""
    n = x.shape[0]
    img = x.reshape(n, *net.image)
    F, bF, WO, bO = (params[k] for k in PARAMS)
    b: dict[str, np.ndarray] = {"F": F, "bF": bF, "WO": WO, "bO": bO, "x": img, "t": t}
    b["zF"] = zf = ops.convolve(img, F, bF)
    b["aF"] = af = net.activation.value(zf)
    b["zP"] = zp = ops.max_pool(af, net.pool)
    flat = zp.reshape(n, -1)
    b["zO"] = zo = ops.weighted_input(flat, WO, bO)
    b["aO"] = ao = net.output.forward(zo)
    b["C"] = net.output.cost(zo, ao, t, n)
    b["C_T"] = ops.total(b["C"])
    b["correct"] = ops.correct(ao, t)
    b["accuracy"] = ops.mean(b["correct"])
    b["deltaO"] = do = net.output.delta(zo, ao, t, n)
    b["deltaP"] = dp = ops.back_sum(do, WO).reshape(zp.shape)
    b["routed"] = routed = ops.route_max(af, dp, net.pool)
    b["deltaF"] = df = ops.hidden_error(routed, net.activation, zf, af)
    b[names.grad("F")] = ops.filter_gradient(df, img, net.size)
    b[names.grad("bF")] = ops.map_sum(df)
    b[names.grad("WO")] = ops.weight_gradient(do, flat)
    b[names.grad("bO")] = do
    for p in PARAMS:
        b[names.total_grad(p)] = ops.total(b[names.grad(p)], mask)
    return b


def cost(net: CNNNet, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """C_T for one set of parameters (for gradient checks)."""
    return float(iteration(net, params, x, t)["C_T"])


def describe(net: CNNNet) -> dict[str, str]:
    """What each block is, in the book's notation (for the Map sheet and the terminal)."""
    f, p = net.size, net.pool
    act, out = net.activation.name, net.output.activation
    return {
        "F": f"wᶠᵏ: the {net.filters} filters, {f}×{f} weights each",
        "bF": "bᶠᵏ: each filter's bias",
        "WO": "wᴼₙ: output unit n's weights, one per pooled value (filter k, row, column)",
        "bO": "bᴼₙ: the output units' biases",
        "x": "x: the image",
        "t": "t: the target, 1 for the image's class and 0 for the others",
        "zF": f"zᶠᵏᵢⱼ = Σ wᶠᵏ ⊙ (the {f}×{f} window of x at i, j) + bᶠᵏ: the feature maps",
        "aF": f"aᶠᵏᵢⱼ = {act}(zᶠᵏᵢⱼ): the convolution layer's outputs",
        "zP": f"zᴾᵏᵢⱼ = aᴾᵏᵢⱼ: the maximum of each {p}×{p} window of aᶠᵏ (max pooling)",
        "zO": "zᴼₙ = Σ wᴼₙ·zᴾ + bᴼₙ: the output layer's weighted inputs",
        "aO": f"aᴼₙ = {out}(zᴼₙ): the outputs",
        "C": f"the cost of each image: {net.output.formula}",
        "C_T": "C_T: the total cost, Σ of C over the images",
        "correct": "1 where the largest output is the target class, else 0",
        "accuracy": "share of images classified right",
        "deltaO": "δᴼₙ = ∂C/∂aᴼₙ · σ'(zᴼₙ): the output layer's neural unit errors",
        "deltaP": "δᴾᵏᵢⱼ = Σₙ wᴼₙ·δᴼₙ: the error of each pooled value, ∂C/∂zᴾ",
        "routed": f"δᴾ sent to the position that was the maximum of its {p}×{p} window (the"
                  " first, row by row, on a tie), 0 elsewhere",
        "deltaF": "δᶠᵏᵢⱼ = routed ⊙ σ'(zᶠᵏᵢⱼ): the convolution layer's neural unit errors",
        names.grad("F"): "∂C/∂wᶠᵏᵤᵥ = Σᵢⱼ δᶠᵏᵢⱼ·x₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎ per image",
        names.grad("bF"): "∂C/∂bᶠᵏ = Σᵢⱼ δᶠᵏᵢⱼ per image",
        names.grad("WO"): "∂C/∂wᴼₙ = δᴼₙ·zᴾ per image",
        names.grad("bO"): "∂C/∂bᴼₙ = δᴼₙ per image",
        names.total_grad("F"): "∂C_T/∂wᶠᵏ: the per-image gradients summed over the images",
        names.total_grad("bF"): "∂C_T/∂bᶠᵏ, summed over the images",
        names.total_grad("WO"): "∂C_T/∂wᴼ, summed over the images",
        names.total_grad("bO"): "∂C_T/∂bᴼ, summed over the images",
    }


train = trainer(iteration, describe)  # type: ignore[arg-type]
