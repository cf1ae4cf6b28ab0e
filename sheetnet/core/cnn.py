"""The convolutional network of the book's chapters 5-4 and 5-6, vectorized over images.

The book's net: one input channel H×W; K filters f×f (stride 1, no padding) with a bias each
and an activation give K feature maps zᶠ, aᶠ of H'×W' (H' = H−f+1); p×p max pooling (stride p)
gives K pooled maps zᴾ of H'/p × W'/p; a fully connected output layer of n units reads every
pooled value in the order filter k, pooled row, pooled column. C = ½Σ(aᴼ−t)² (the book's;
``--loss`` picks another). Beyond the book: C input channels (each filter f×f×C sums over
them), P rows and columns of zeros around the image (the convolution reads the padded image
x̃), and average pooling.

Backward: δᴼ = ∂C/∂zᴼ (the output layer's pair); δᴾ = (Wᴼ)ᵀδᴼ, the error of each pooled value;
routed = δᴾ sent to the first maximum of its window (max pooling) or δᴾ/p² to each of its cells
(average pooling); δᶠ = routed ⊙ σ'(zᶠ); ∂C/∂wᶠᵏᶜᵤᵥ = Σᵢⱼ δᶠᵏᵢⱼ·x̃ᶜ₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎,
∂C/∂bᶠᵏ = Σᵢⱼ δᶠᵏᵢⱼ, ∂C/∂wᴼ = δᴼ(zᴾ)ᵀ, ∂C/∂bᴼ = δᴼ; summed over images.

Max pooling's window maximum is found on zᶠ, not aᶠ: for an increasing activation it is the
same position, and it stays one position where aᶠ saturates (tanh(19) and tanh(25) are both
1.0 in floating point, and engines round such values differently in the last bit).
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


POOLINGS = ("max", "average")


@dataclass(frozen=True)
class CNNNet:
    """Image shape (H, W) with C channels, P of padding, K filters of f×f×C, p×p max or
    average pooling, n output units."""

    image: tuple[int, int]
    filters: int = 3
    size: int = 3
    pool: int = 2
    outputs: int = 3
    activation: Activation = SIGMOID
    output: OutputLayer = BOOK_OUTPUT
    pooling: str = "max"
    padding: int = 0
    channels: int = 1

    def __post_init__(self) -> None:
        h, w = self.image
        if self.filters < 1 or self.size < 1 or self.pool < 1 or self.outputs < 1:
            raise SheetnetError("--filters, --filter-size and --pool-size must be at least 1")
        if self.pooling not in POOLINGS:
            raise SheetnetError(f"--pool {self.pooling!r} is not one of: {', '.join(POOLINGS)}"
                                " (the window's size is --pool-size)")
        if not 0 <= self.padding < self.size:
            raise SheetnetError(f"--padding {self.padding} must be 0 to {self.size - 1} (less"
                                " than the filter size: a wider frame only adds maps of zeros)")
        if self.channels < 1:
            raise SheetnetError("an image needs at least 1 channel")
        ph, pw = self.padded
        if self.size > min(ph, pw):
            raise SheetnetError(f"a {self.size}×{self.size} filter is larger than the {h}×{w}"
                                f" image; use --filter-size {min(ph, pw)} or less")
        mh, mw = self.map_shape
        if mh % self.pool or mw % self.pool:
            fits = [p for p in range(1, min(mh, mw) + 1) if mh % p == 0 and mw % p == 0]
            raise SheetnetError(f"the {mh}×{mw} feature maps do not divide into {self.pool}×"
                                f"{self.pool} pooling windows; use --pool-size"
                                f" {' or '.join(map(str, fits))}, or another --filter-size or"
                                " --padding")

    @property
    def padded(self) -> tuple[int, int]:
        """(H + 2P, W + 2P): the image with its frame of zeros, what the filters slide over."""
        return self.image[0] + 2 * self.padding, self.image[1] + 2 * self.padding

    @property
    def map_shape(self) -> tuple[int, int]:
        """(H', W') of each feature map."""
        ph, pw = self.padded
        return ph - self.size + 1, pw - self.size + 1

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
        """F is K×f×f for one channel (the book's), K×C×f×f for more."""
        k, f, c = self.filters, self.size, self.channels
        return {"F": (k, f, f) if c == 1 else (k, c, f, f), "bF": (k,),
                "WO": (self.outputs, self.pooled), "bO": (self.outputs,)}


def init_params(net: CNNNet, seed: int) -> Params:
    """Standard-normal initial values, drawn in the order F, bF, WO, bO."""
    return standard_normal(net.param_shapes(), seed)


def params_from_json(net: CNNNet, obj: object, source: str) -> Params:
    """``--init``: ``F`` (K×f×f, or K×C×f×f for C channels), ``bF`` (K), ``WO``
    (n×K·(H'/p)·(W'/p)), ``bO`` (n)."""
    return validate_params(net.param_shapes(), obj, source)


def iteration(net: CNNNet, params: Mapping[str, np.ndarray], x: np.ndarray,
              t: np.ndarray, mask: np.ndarray | None = None) -> dict[str, np.ndarray]:
    """Every block of one iteration. x: (N, C·H·W) pixels (channel by channel, each row by
    row), t: (N, n) targets; mask: (N,) 0/1, the images whose gradients are summed (a batch;
    None: all). Image blocks x, xpad are (N, H, W) for one channel, (N, C, H, W) for more; maps
    are (N, K, H', W')."""
    n, c, f, p = x.shape[0], net.channels, net.size, net.pool
    img = x.reshape(n, c, *net.image)
    F, bF, WO, bO = (params[k] for k in PARAMS)
    one = (slice(None), 0) if c == 1 else (slice(None),)  # one channel: (N, H, W), the book's
    b: dict[str, np.ndarray] = {"F": F, "bF": bF, "WO": WO, "bO": bO, "x": img[one], "t": t}
    seen = img
    if net.padding:
        seen = ops.pad(img, net.padding)
        b["xpad"] = seen[one]
    filters = F.reshape(net.filters, c, f, f)
    b["zF"] = zf = ops.convolve(seen, filters, bF)
    b["aF"] = af = net.activation.value(zf)
    average = net.pooling == "average"
    b["zP"] = zp = ops.average_pool(af, p) if average else ops.max_pool(af, p)
    flat = zp.reshape(n, -1)
    b["zO"] = zo = ops.weighted_input(flat, WO, bO)
    b["aO"] = ao = net.output.forward(zo)
    b["C"] = net.output.cost(zo, ao, t, n)
    b["C_T"] = ops.total(b["C"])
    b["correct"] = ops.correct(ao, t)
    b["accuracy"] = ops.mean(b["correct"])
    b["deltaO"] = do = net.output.delta(zo, ao, t, n)
    b["deltaP"] = dp = ops.back_sum(do, WO).reshape(zp.shape)
    b["routed"] = routed = (ops.route_average(dp, p) if average
                            else ops.route_max(zf, dp, p))
    b["deltaF"] = df = ops.hidden_error(routed, net.activation, zf, af)
    b[names.grad("F")] = ops.filter_gradient(df, seen, f).reshape(n, *F.shape)
    b[names.grad("bF")] = ops.map_sum(df)
    b[names.grad("WO")] = ops.weight_gradient(do, flat)
    b[names.grad("bO")] = do
    for name in PARAMS:
        b[names.total_grad(name)] = ops.total(b[names.grad(name)], mask)
    return b


def cost(net: CNNNet, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray) -> float:
    """C_T for one set of parameters (for gradient checks)."""
    return float(iteration(net, params, x, t)["C_T"])


def describe(net: CNNNet) -> dict[str, str]:
    """What each block is, in the book's notation (for the Map sheet and the terminal)."""
    f, p, c = net.size, net.pool, net.channels
    act, out = net.activation.name, net.output.activation
    image = "x̃, the padded image" if net.padding else "x"
    depth = f"×{c}" if c > 1 else ""
    over = ", summed over the channels" if c > 1 else ""
    d = {
        "F": f"wᶠᵏ: the {net.filters} filters, {f}×{f}{depth} weights each"
             + (" (a tile per channel)" if c > 1 else ""),
        "bF": "bᶠᵏ: each filter's bias",
        "WO": "wᴼₙ: output unit n's weights, one per pooled value (filter k, row, column)",
        "bO": "bᴼₙ: the output units' biases",
        "x": "x: the image" + (f", {c} channels, a tile each" if c > 1 else ""),
        "t": "t: the target, 1 for the image's class and 0 for the others",
        "zF": f"zᶠᵏᵢⱼ = Σ wᶠᵏ ⊙ (the {f}×{f} window of {image} at i, j){over} + bᶠᵏ: the"
              " feature maps",
        "aF": f"aᶠᵏᵢⱼ = {act}(zᶠᵏᵢⱼ): the convolution layer's outputs",
        "zP": (f"zᴾᵏᵢⱼ: the mean of each {p}×{p} window of aᶠᵏ (average pooling)"
               if net.pooling == "average" else
               f"zᴾᵏᵢⱼ: the maximum of each {p}×{p} window of aᶠᵏ (max pooling)"),
        "zO": "zᴼₙ = Σ wᴼₙ·zᴾ + bᴼₙ: the output layer's weighted inputs",
        "aO": f"aᴼₙ = {out}(zᴼₙ): the outputs",
        "C": f"the cost of each image: {net.output.formula}",
        "C_T": "C_T: the total cost, Σ of C over the images",
        "correct": "1 where the largest output is the target class, else 0",
        "accuracy": "share of images classified right",
        "deltaO": f"δᴼₖ = {net.output.delta_text}: the output layer's neural unit errors",
        "deltaP": "δᴾᵏᵢⱼ = Σₙ wᴼₙ·δᴼₙ: the error of each pooled value, ∂C/∂zᴾ",
        "routed": (f"δᴾ/{p * p} at every position of its {p}×{p} window (average pooling"
                   " shares it equally)" if net.pooling == "average" else
                   f"δᴾ sent to the position of the maximum of its {p}×{p} window (found on"
                   " zᶠ; the first, row by row, on a tie), 0 elsewhere"),
        "deltaF": "δᶠᵏᵢⱼ = routed ⊙ σ'(zᶠᵏᵢⱼ): the convolution layer's neural unit errors",
        names.grad("F"): f"∂C/∂wᶠᵏᵤᵥ = Σᵢⱼ δᶠᵏᵢⱼ·{'x̃' if net.padding else 'x'}₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎"
                         f"{' in each channel' if c > 1 else ''} per image",
        names.grad("bF"): "∂C/∂bᶠᵏ = Σᵢⱼ δᶠᵏᵢⱼ per image",
        names.grad("WO"): "∂C/∂wᴼₙ = δᴼₙ·zᴾ per image",
        names.grad("bO"): "∂C/∂bᴼₙ = δᴼₙ per image",
        names.total_grad("F"): "∂C_T/∂wᶠᵏ: the per-image gradients summed over the images",
        names.total_grad("bF"): "∂C_T/∂bᶠᵏ, summed over the images",
        names.total_grad("WO"): "∂C_T/∂wᴼ, summed over the images",
        names.total_grad("bO"): "∂C_T/∂bᴼ, summed over the images",
    }
    if net.padding:
        d["xpad"] = (f"x̃: the image with {net.padding} row(s) and column(s) of zeros around it"
                     " (padding)")
    return d


train = trainer(iteration, describe)  # type: ignore[arg-type]
