"""The network's operations, each defined once: its NumPy form beside its Excel form.

Weighted sums, backward sums, gradients, totals over images, accuracy, one-hot targets, and the
CNN's padding, convolution, pooling and routing. The NumPy forms compute exactly what the cells
compute, so a recalculated workbook and the core agree to rounding. Excel forms take cell
references (strings such as ``"E12"`` or ``"$C$4:$C$15"``: one image's cells, a column of n
cells for a vector, a tile of rows × cols for a map) and return formula text without the
leading ``=``. Activations, output layers and update rules have their own modules.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from sheetnet.pairs.activations import Activation, times_derivative_xl

# --- weighted input, backward sum, gradients -----------------------------------------


def weighted_input(a_prev: np.ndarray, w: np.ndarray, b: np.ndarray | float) -> np.ndarray:
    """zˡ = Wˡaˡ⁻¹ + bˡ for every image: a_prev (N, m), w (n, m), b (n,) -> (N, n). Sets of
    parameters stacked on a leading axis, w (S, n, m) and b (S, n), give (S, N, n)."""
    b = np.asarray(b)
    return a_prev @ np.swapaxes(w, -1, -2) + (b[..., None, :] if b.ndim > 1 else b)


def weighted_input_xl(w_range: str, a_range: str, b: str | None) -> str:
    """The book's form; without a bias (``b`` None) just the SUMPRODUCT."""
    return f"SUMPRODUCT({w_range},{a_range})" + (f"+{b}" if b else "")


def back_sum(delta_next: np.ndarray, w_next: np.ndarray) -> np.ndarray:
    """(Wˡ⁺¹)ᵀδˡ⁺¹ for every image: delta_next (N, n), w_next (n, m) -> (N, m)."""
    return delta_next @ w_next


def back_sum_xl(pairs: Sequence[tuple[str, str]]) -> str:
    """Σⱼ wʲᵢ·δʲ written out term by term, as the book writes it: pairs of (w cell, δ cell)."""
    return "+".join(f"{w}*{d}" for w, d in pairs)


def hidden_error(back: np.ndarray, act: Activation, z: np.ndarray, a: np.ndarray) -> np.ndarray:
    """δˡ = ((Wˡ⁺¹)ᵀδˡ⁺¹) ⊙ σ'(zˡ)."""
    return back * act.derivative(z, a)


def hidden_error_xl(back: str, act: Activation, z: str, a: str) -> str:
    return times_derivative_xl(back, act, z, a)


def weight_gradient(delta: np.ndarray, a_prev: np.ndarray) -> np.ndarray:
    """∂C/∂wˡⱼᵢ = δˡⱼ·aˡ⁻¹ᵢ per image: (N, n), (N, m) -> (N, n, m)."""
    return delta[:, :, None] * a_prev[:, None, :]


def weight_gradient_xl(delta: str, a_prev: str) -> str:
    return f"{delta}*{a_prev}"


def step_sum_xl(errors: str, inputs: str | None = None) -> str:
    """A window's gradient, summed over its steps: SUMPRODUCT of an error's row across the
    steps with an input's row (no input: a bias, the SUM of the errors)."""
    return f"SUM({errors})" if inputs is None else f"SUMPRODUCT({errors},{inputs})"


def total(per_image: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Σ over images (axis 0); with a mask (N,), over the images it marks (≠ 0: a batch)."""
    if mask is None:
        return np.sum(per_image, axis=0)
    return np.sum(per_image[np.asarray(mask) != 0], axis=0)


def total_xl(cells: str, mask: str | None = None, held: str | None = None) -> str:
    """``cells``: one row of per-image cells; ``mask``: the same columns of the batch row;
    ``held``: of the held-out flags (an image held out is in no batch)."""
    if mask is None:
        return f"SUM({cells})"
    return f'SUMIFS({cells},{mask},"<>0"' + (f",{held},0)" if held else ")")


def total_banded_xl(band_cols: str, column: int, cells: str, mask: str | None = None,
                    held: str | None = None) -> str:
    """Σ over images when each image owns a band of columns: the cells of one band column.

    band_cols: the row numbering each column 1, 2, … within its band; cells: the same columns
    of the row to sum; mask: the same columns of the batch row (each band's cells holding its
    image's 0/1).
    """
    if mask is None:
        return f"SUMIF({band_cols},{column},{cells})"
    return (f'SUMIFS({cells},{band_cols},{column},{mask},"<>0"'
            + (f",{held},0)" if held else ")"))


# --- dropout -----------------------------------------------------------------------------------


def dropout(v: np.ndarray, mask: np.ndarray, rate: float) -> np.ndarray:
    """Inverted dropout of v (a layer's outputs going forward, or their errors coming back):
    v ⊙ m / (1 − P), m of 0s (dropped) and 1s (kept), so a kept unit's expected value is v."""
    return v * mask / (1 - rate)


def dropout_xl(v: str, mask: str, rate: str) -> str:
    return f"{v if _REF.fullmatch(v) else f'({v})'}*{mask}/(1-{rate})"


_REF = re.compile(r"(?:'[^']+'!|\w+!)?\$?[A-Z]{1,3}\$?[0-9]+")  # one cell: no parentheses


def draw_mask(rate: float, shape: tuple[int, ...], seed: int, k: int, layer: int) -> np.ndarray:
    """One step's dropout mask: 1 (kept) with probability 1 − P for each image and unit, drawn
    from (seed, step k, the layer's place among the dropout layers), so a run's masks are the
    same however it is cut into chunks, and any one step's can be drawn alone."""
    return (np.random.default_rng([seed, k, layer]).random(shape) >= rate).astype(float)


# --- sums over a step's batch (batch norm) ----------------------------------------------------


def batch_total(v: np.ndarray, weights: np.ndarray, axes: tuple[int, ...]) -> np.ndarray:
    """Σ over the batch's images (``weights`` (N,): 1 in the batch, 0 out) and ``axes``' positions
    of v (N, units) or (N, K, H, W): (units,) or (K,)."""
    w = weights.reshape(-1, *([1] * (v.ndim - 1)))
    return np.sum(v * w, axis=axes)


def batch_total_xl(area: str, weights: str | None, square: bool = False) -> str:
    """The same over ``area`` (one unit's or filter's cells, every image), ``weights`` an
    expression of 1s and 0s over the same columns (an image in the batch or not; None: every
    image); ``square``: of the squares. Empty cells add 0."""
    term = square_xl(area) if square else area
    if weights is None:
        return f"SUMSQ({area})" if square else f"SUM({area})"
    return f"SUMPRODUCT({term}*{weights})"


def running(old: np.ndarray, new: np.ndarray, momentum: float) -> np.ndarray:
    """A running average as torch's batch norm keeps it: (1 − momentum)·old + momentum·new."""
    return (1 - momentum) * old + momentum * new


def running_xl(old: str, new: str, momentum: str) -> str:
    return f"(1-{momentum})*{old}+{momentum}*{new}"


# --- accuracy --------------------------------------------------------------------------------


def correct(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """1.0 where the largest output is the target's class (first maximum wins, as MATCH does)."""
    return (np.argmax(a, axis=-1) == np.argmax(t, axis=-1)).astype(float)


def correct_xl(a_range: str, t_range: str) -> str:
    return (
        f"IF(MATCH(MAX({a_range}),{a_range},0)=MATCH(MAX({t_range}),{t_range},0),1,0)"
    )


def predicted(a: np.ndarray) -> np.ndarray:
    """The 1-based index of the largest output (first maximum wins, as MATCH does)."""
    return (np.argmax(a, axis=-1) + 1).astype(float)


def predicted_xl(a_range: str) -> str:
    return f"MATCH(MAX({a_range}),{a_range},0)"


def largest(a: np.ndarray) -> np.ndarray:
    """The largest output (a softmax's: the probability of the class it predicts)."""
    return a.max(axis=-1)


def largest_xl(a_range: str) -> str:
    return f"MAX({a_range})"


def entry_xl(vocabulary: str, index: str) -> str:
    """The vocabulary's entry at a 1-based index (a character)."""
    return f"INDEX({vocabulary},{index})"


def one_hot_index_xl(x_range: str) -> str:
    """The 1-based index of the 1 in a one-hot column."""
    return f"MATCH(1,{x_range},0)"


def near(a: np.ndarray, t: np.ndarray) -> np.ndarray:
    """1.0 where a single output is within 0.5 of its target (XOR's output rounds right)."""
    return (np.abs(a[..., 0] - t[..., 0]) < 0.5).astype(float)


def near_xl(a: str, t: str) -> str:
    return f"IF(ABS({a}-{t})<0.5,1,0)"


def split_total(per_image: np.ndarray, held: np.ndarray, validation: bool) -> np.ndarray:
    """Σ over the training images (held 0) or the validation images (held ≠ 0)."""
    chosen = (np.asarray(held) != 0) == validation
    return np.sum(per_image[chosen], axis=0)


def split_mean(per_image: np.ndarray, held: np.ndarray, validation: bool) -> np.ndarray:
    """The mean over the training or the validation images (nan if there are none)."""
    chosen = (np.asarray(held) != 0) == validation
    return np.mean(per_image[chosen], axis=0) if chosen.any() else np.asarray(np.nan)


def _criteria(held: str, validation: bool, band_cols: str | None) -> str:
    side = '"<>0"' if validation else "0"
    return (f"{band_cols},1," if band_cols else "") + f"{held},{side}"


def split_total_xl(cells: str, held: str, validation: bool, band_cols: str | None = None
                   ) -> str:
    """The same over one row of per-image cells, ``held`` the held-out flags' row over the
    same columns (``band_cols``: bands, each image's value in its band's column 1)."""
    return f"SUMIFS({cells},{_criteria(held, validation, band_cols)})"


def split_mean_xl(cells: str, held: str, validation: bool, band_cols: str | None = None) -> str:
    return f"AVERAGEIFS({cells},{_criteria(held, validation, band_cols)})"


def mean(values: np.ndarray) -> np.ndarray:
    """Average over images (and a sequence's steps: every number)."""
    return np.mean(values)


def mean_xl(cells: str) -> str:
    return f"AVERAGE({cells})"


def mean_banded_xl(band_cols: str, column: int | str, cells: str) -> str:
    """The mean over images of one band column (see ``total_banded_xl``; ``column`` may be a
    criterion, '">0"': every numbered column)."""
    return f"AVERAGEIF({band_cols},{column},{cells})"


def one_hot(labels: Sequence[object], classes: Sequence[object]) -> np.ndarray:
    """t: 1 where the image's label equals the class: (N,) labels, K classes -> (N, K)."""
    lab = np.asarray(labels, dtype=object)
    return (lab[:, None] == np.asarray(classes, dtype=object)[None, :]).astype(float)


def one_hot_xl(label: str, cls: str) -> str:
    return f"IF({label}={cls},1,0)"


def square_xl(x: str) -> str:
    """x² as a product: LibreOffice's ^ and POWER give #NUM! where a result underflows
    (|x| below 1e-154: a saturated unit's gradient), a product gives 0 as NumPy does."""
    return f"{x}*{x}"


POWER_AS_WRITTEN = 64  # bᵏ as the book writes it up to this k (it underflows only for b < 1.5e-5)


def power_xl(base: str, k: int) -> str:
    """baseᵏ for a base of 0 or more and a whole k ≥ 0: ``base^k`` as the book writes it up
    to k = 64; beyond, EXP(k·LN(base)), because LibreOffice's ^ gives #NUM! where bᵏ
    underflows (Adam's 0.9ᵗ past t = 6,700, in a window of a long run) while EXP gives 0 as
    NumPy's b**k does. The two forms agree to a few ulps (k·LN(base)'s rounding), far inside
    verify's 1e-9."""
    if k == 0:
        return "1"
    if k <= POWER_AS_WRITTEN:
        return f"{base}^{k}"
    return f"IF({base}=0,0,EXP({k}*LN({base})))"


def spread(values: np.ndarray) -> np.ndarray:
    """The population standard deviation of every value, two passes: √(Σ(x − mean)²/n)."""
    return np.asarray(np.std(values))


def spread_xl(area: str, mean: str) -> str:
    """The same over an area's numbers (its blank cells left out), given the cell holding
    their mean: two passes, as NumPy's, never STDEVP's one-pass form, which loses the digits
    of a spread small beside the values (IronCalc's lost 1.6e-9 of 6e-7 on saturated
    outputs)."""
    deviation = f"({area}-{mean})"
    return f'SQRT(SUMPRODUCT(({area}<>"")*{square_xl(deviation)})/COUNT({area}))'


# --- convolution and pooling (chapters 5-4 and 5-6) -------------------------------------------


def im2col(x: np.ndarray, size: int) -> np.ndarray:
    """Every f×f window of every (already padded) image as a row: x (N, C, H, W) ->
    (N, H'·W', C·f·f), windows row by row, each window's numbers channel, row, column."""
    n, c, h, w = x.shape
    windows = sliding_window_view(x, (size, size), axis=(2, 3))  # (N, C, H', W', f, f)
    return windows.transpose(0, 2, 3, 1, 4, 5).reshape(n, -1, c * size * size)


def convolve(cols: np.ndarray, filters: np.ndarray, bias: np.ndarray,
             out: tuple[int, int]) -> np.ndarray:
    """zᶠᵏᵢⱼ = Σcᵤᵥ wᶠᵏcᵤᵥ·xc₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎ + bᶠᵏ, stride 1, as one matrix product of the windows
    (``im2col``) with the filters: cols (N, H'·W', C·f·f), filters (K, C, f, f) or (K, f, f),
    bias (K,) -> (N, K, H', W'). Every window's z is the same sequence of operations, so
    identical windows give identical z and max pooling sees the ties a spreadsheet sees."""
    n = cols.shape[0]
    z = cols @ filters.reshape(filters.shape[0], -1).T  # (N, H'·W', K)
    return z.transpose(0, 2, 1).reshape(n, -1, *out) + bias[:, None, None]


def convolve_xl(windows: Sequence[str], filters: Sequence[str], bias: str | None) -> str:
    """The book's form SUMPRODUCT(input window, filter) + bias, one SUMPRODUCT per channel
    (no bias: None)."""
    terms = [f"SUMPRODUCT({x},{w})" for x, w in zip(windows, filters, strict=True)]
    return "+".join(terms) + (f"+{bias}" if bias else "")


def max_pool(maps: np.ndarray, p: int) -> np.ndarray:
    """zᴾ: the maximum of each p×p window, stride p: (…, H, W) -> (…, H/p, W/p)."""
    *lead, h, w = maps.shape
    return maps.reshape(*lead, h // p, p, w // p, p).max(axis=(-3, -1))


def max_pool_xl(window: str) -> str:
    return f"MAX({window})"


def average_pool(maps: np.ndarray, p: int) -> np.ndarray:
    """zᴾ: the mean of each p×p window, stride p: (…, H, W) -> (…, H/p, W/p)."""
    *lead, h, w = maps.shape
    return maps.reshape(*lead, h // p, p, w // p, p).mean(axis=(-3, -1))


def average_pool_xl(window: str) -> str:
    return f"AVERAGE({window})"


def route_max(maps: np.ndarray, pooled_error: np.ndarray, p: int) -> np.ndarray:
    """Each pooled value's error sent to the position of its window's maximum, 0 elsewhere.

    ``maps`` is what decides the position (the CNN passes zᶠ). Ties go to the first maximum in
    row-major order (argmax's rule, and ``route_max_xl``'s).
    maps (…, H, W), pooled_error (…, H/p, W/p) -> (…, H, W).
    """
    *lead, h, w = maps.shape
    windows = maps.reshape(*lead, h // p, p, w // p, p).swapaxes(-3, -2)  # (…, H/p, W/p, p, p)
    first = np.argmax(windows.reshape(*lead, h // p, w // p, p * p), axis=-1)
    chosen = np.arange(p * p) == first[..., None]
    routed = np.where(chosen, pooled_error[..., None], 0.0)
    return routed.reshape(*lead, h // p, w // p, p, p).swapaxes(-3, -2).reshape(*lead, h, w)


def route_max_xl(cell: str, window: str, earlier: Sequence[str], error: str) -> str:
    """``error`` if ``cell`` equals the maximum of its ``window`` and every earlier cell of the
    window (row-major; ranges) is smaller, else 0."""
    if not earlier:
        return f"IF({cell}=MAX({window}),{error},0)"
    return f"IF(AND({cell}=MAX({window}),MAX({','.join(earlier)})<{cell}),{error},0)"


def route_average(pooled_error: np.ndarray, p: int) -> np.ndarray:
    """Each pooled value's error shared equally, δᴾ/p², by every cell of its window:
    (…, H/p, W/p) -> (…, H, W)."""
    return np.repeat(np.repeat(pooled_error, p, axis=-2), p, axis=-1) / (p * p)


def route_average_xl(error: str, p: int) -> str:
    return f"{error}/{p * p}"


def filter_gradient(delta: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """∂C/∂wᶠᵏcᵤᵥ = Σᵢⱼ δᶠᵏᵢⱼ·xc₍ᵢ₊ᵤ₎₍ⱼ₊ᵥ₎ summed over the images: delta (N, K, H', W'),
    cols (N, H'·W', C·f·f) (``im2col``) -> (K, C·f·f)."""
    k = delta.shape[1]
    return delta.transpose(1, 0, 2, 3).reshape(k, -1) @ cols.reshape(-1, cols.shape[-1])


def filter_gradients(delta: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """The same for each image alone: (N, K, C·f·f)."""
    return delta.reshape(delta.shape[0], delta.shape[1], -1) @ cols


def filter_back(delta: np.ndarray, filters: np.ndarray, padded: tuple[int, int, int],
                pad_: int) -> np.ndarray:
    """∂C/∂x of a convolution: each input cell's error, Σ over the filters k and the offsets
    (u, v) of the windows that saw it of wᵏcᵤᵥ·δᵏ₍ᵢ₋ᵤ₎₍ⱼ₋ᵥ₎. delta (N, K, H', W'), filters
    (K, C·f·f), padded (C, H + 2P, W + 2P) -> (N, C, H, W) (the padding's frame dropped)."""
    n, k, oh, ow = delta.shape
    c, hp, wp = padded
    f = int(round((filters.shape[1] // c) ** 0.5))
    cols = delta.transpose(0, 2, 3, 1).reshape(-1, k) @ filters  # (N·H'·W', C·f·f)
    cols = cols.reshape(n, oh, ow, c, f, f)
    dx = np.zeros((n, c, hp, wp))
    for u in range(f):  # f² shifted additions: every window puts its cells back
        for v in range(f):
            dx[:, :, u:u + oh, v:v + ow] += cols[:, :, :, :, u, v].transpose(0, 3, 1, 2)
    return dx[:, :, pad_:hp - pad_, pad_:wp - pad_]


def filter_gradient_xl(delta_map: str, x_window: str) -> str:
    return f"SUMPRODUCT({delta_map},{x_window})"


def pad(x: np.ndarray, p: int) -> np.ndarray:
    """x̃: p rows and columns of zeros around each map: (…, H, W) -> (…, H+2p, W+2p)."""
    return np.pad(x, [(0, 0)] * (x.ndim - 2) + [(p, p), (p, p)])


def pad_xl(inside: str | None) -> str:
    """A cell of the padded image: the image's cell, or 0 in the frame (``inside`` None)."""
    return inside if inside is not None else "0"


def map_sum(maps: np.ndarray) -> np.ndarray:
    """Σ over the positions of each map, e.g. ∂C/∂bᶠᵏ = Σᵢⱼ δᶠᵏᵢⱼ: (…, H, W) -> (…)."""
    return maps.sum(axis=(-2, -1))


def map_sum_xl(map_range: str) -> str:
    return f"SUM({map_range})"
