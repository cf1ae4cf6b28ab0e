"""The book's CNN stack (conv, activation, pooling, dense): the vectorized layers against naive
loops, gradients against central differences, max-pooling ties, the book's data set, and every
shape it refuses."""

import json
from dataclasses import dataclass

import numpy as np
import pytest

from sheetnet import presets
from sheetnet.core import data, descent
from sheetnet.core import net as cnn
from sheetnet.core.params import validate_params
from sheetnet.errors import SheetnetError
from sheetnet.pairs import ops
from sheetnet.pairs.activations import ACTIVATIONS, SIGMOID
from tests.conftest import assert_gradients_match, assert_same_run

PARAMS = ("F", "bF", "WO", "bO")


@dataclass(frozen=True)
class Spec:
    """The book's CNN with its options, as the naive loops read them."""

    image: tuple = (6, 6)
    filters: int = 2
    size: int = 3
    pool: int = 2
    outputs: int = 3
    activation: object = SIGMOID
    pooling: str = "max"
    padding: int = 0
    channels: int = 1


def _problem(image=(6, 6), filters=2, size=3, pool=2, outputs=3, n=5, seed=3, binary=False,
             **more):
    rng = np.random.default_rng(seed)
    spec = Spec(image, filters, size, pool, outputs, **more)
    net = cnn.convolutional(image, filters, size, pool, outputs, **more)
    pixels = spec.channels * image[0] * image[1]
    x = rng.integers(0, 2, (n, pixels)).astype(float) if binary else rng.random((n, pixels))
    t = np.eye(outputs)[rng.integers(0, outputs, n)]
    return (net, spec), cnn.init(net, "normal", seed), x, t


ACT = {  # the activations written out by hand, value and derivative
    "sigmoid": (lambda z: 1 / (1 + np.exp(-z)), lambda z: np.exp(-z) / (1 + np.exp(-z)) ** 2),
    "tanh": (np.tanh, lambda z: 1 / np.cosh(z) ** 2),
    "relu": (lambda z: max(z, 0.0), lambda z: 1.0 if z > 0 else 0.0),
    "leaky-relu": (lambda z: z if z > 0 else 0.01 * z, lambda z: 1.0 if z > 0 else 0.01),
}


def naive(net, params, x, t):
    """The book's formulas one number at a time (the reference for the vectorized core), with
    channels, padding, average pooling and the activation written out too."""
    F, bF, WO, bO = (params[k] for k in PARAMS)
    n, (h, w), K, f, p = x.shape[0], net.image, net.filters, net.size, net.pool
    C, P = net.channels, net.padding
    F = F.reshape(K, C, f, f)
    act, act_d = (np.vectorize(g) for g in ACT[net.activation.name])
    mh, mw = h + 2 * P - f + 1, w + 2 * P - f + 1
    ph, pw = mh // p, mw // p
    out = {k: [] for k in ("zF", "aF", "zP", "zO", "aO", "C", "deltaO", "deltaP", "routed",
                           "deltaF", "dC_dF", "dC_dbF", "dC_dWO", "dC_dbO")}
    for m in range(n):
        img = np.zeros((C, h + 2 * P, w + 2 * P))
        for c in range(C):
            for i in range(h):
                for j in range(w):
                    img[c, P + i, P + j] = x[m, (c * h + i) * w + j]
        zf = np.zeros((K, mh, mw))
        for k in range(K):
            for i in range(mh):
                for j in range(mw):
                    s = bF[k]
                    for c in range(C):
                        for u in range(f):
                            for v in range(f):
                                s += F[k, c, u, v] * img[c, i + u, j + v]
                    zf[k, i, j] = s
        af = act(zf)
        zp = np.zeros((K, ph, pw))
        routed_to = {}  # (k, i, j) -> [(r, s, share)]
        for k in range(K):
            for i in range(ph):
                for j in range(pw):
                    cells = [(i * p + u, j * p + v) for u in range(p) for v in range(p)]
                    if net.pooling == "average":
                        zp[k, i, j] = sum(af[k, r, s] for r, s in cells) / (p * p)
                        routed_to[k, i, j] = [(r, s, 1 / (p * p)) for r, s in cells]
                    else:  # row-major: the first maximum of zᶠ wins a tie
                        best = max(cells, key=lambda rs: (zf[k, rs[0], rs[1]], -cells.index(rs)))
                        zp[k, i, j] = af[k, best[0], best[1]]
                        routed_to[k, i, j] = [(best[0], best[1], 1.0)]
        flat = zp.ravel()
        zo = np.array([sum(WO[o, q] * flat[q] for q in range(len(flat))) + bO[o]
                       for o in range(net.outputs)])
        ao = 1 / (1 + np.exp(-zo))
        c_ = 0.5 * sum((ao[o] - t[m, o]) ** 2 for o in range(net.outputs))
        do = (ao - t[m]) * ao * (1 - ao)
        dp = np.array([sum(WO[o, q] * do[o] for o in range(net.outputs))
                       for q in range(len(flat))]).reshape(K, ph, pw)
        routed = np.zeros((K, mh, mw))
        for (k, i, j), targets in routed_to.items():
            for r, s, share in targets:
                routed[k, r, s] = dp[k, i, j] * share
        df = routed * act_d(zf)
        dF = np.zeros((K, C, f, f))
        for k in range(K):
            for c in range(C):
                for u in range(f):
                    for v in range(f):
                        dF[k, c, u, v] = sum(df[k, i, j] * img[c, i + u, j + v]
                                             for i in range(mh) for j in range(mw))
        for name, value in (("zF", zf), ("aF", af), ("zP", zp), ("zO", zo), ("aO", ao),
                            ("C", c_), ("deltaO", do), ("deltaP", dp), ("routed", routed),
                            ("deltaF", df), ("dC_dF", dF.reshape(params["F"].shape)),
                            ("dC_dbF", df.sum(axis=(1, 2))),
                            ("dC_dWO", np.outer(do, flat)), ("dC_dbO", do)):
            out[name].append(value)
    return {k: np.array(v) for k, v in out.items()}


OPTIONS = [  # the book's net and every option beyond it
    {}, {"binary": True}, {"image": (7, 5), "size": 2, "pool": 2},
    {"image": (8, 8), "filters": 1, "size": 3, "pool": 3, "outputs": 2},
    {"pooling": "average"}, {"padding": 1}, {"padding": 2, "size": 3, "pool": 4},
    {"channels": 3, "image": (5, 5), "size": 2}, {"activation": ACTIVATIONS["relu"]},
    {"activation": ACTIVATIONS["tanh"], "pooling": "average", "padding": 1},
    {"activation": ACTIVATIONS["leaky-relu"], "channels": 2, "padding": 1, "size": 3,
     "image": (4, 4)},
]


@pytest.mark.parametrize("kw", OPTIONS)
def test_vectorized_core_matches_naive_loops(kw):
    (net, spec), params, x, t = _problem(**kw)
    blocks = cnn.iteration(net, params, x, t)
    for name, value in naive(spec, params, x, t).items():
        np.testing.assert_allclose(blocks[name], value, rtol=1e-12, atol=1e-14, err_msg=name)
    for name in PARAMS:
        np.testing.assert_allclose(blocks[f"dCT_d{name}"], blocks[f"dC_d{name}"].sum(axis=0))


@pytest.mark.parametrize("kw", OPTIONS)
def test_a_batchs_gradients_come_from_its_images_alone(kw):
    """The batch's gradient (from the batch's images only, in one product) is the sum of its
    images' own gradients; training without the per-image blocks gives the same numbers."""
    (net, _), params, x, t = _problem(**kw)
    mask = np.array([1.0, 0.0, 1.0, 1.0, 0.0])
    detailed = cnn.iteration(net, params, x, t, mask)
    lean = cnn.iteration(net, params, x, t, mask, detail=False)
    for name in PARAMS:
        np.testing.assert_allclose(detailed[f"dCT_d{name}"],
                                   detailed[f"dC_d{name}"][mask == 1].sum(axis=0),
                                   rtol=1e-12, atol=1e-14)
        assert_same_run(lean[f"dCT_d{name}"], detailed[f"dCT_d{name}"])
    assert_same_run(lean["C"], detailed["C"])


@pytest.mark.parametrize("kw", [{}, {"image": (7, 5), "size": 2, "pool": 2, "filters": 3},
                                *OPTIONS[4:]])
def test_gradients_match_central_differences(kw):
    (net, _), params, x, t = _problem(**kw)
    blocks = cnn.iteration(net, params, x, t)
    assert_gradients_match(lambda p: cnn.cost(net, p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


def test_padding_is_a_frame_of_zeros_and_average_pooling_shares_the_error():
    """Hand-worked: a 2×2 image padded by 1, and a 2×2 average pool's δ/4."""
    x = np.array([[[[1.0, 2.0], [3.0, 4.0]]]])
    np.testing.assert_array_equal(ops.pad(x, 1)[0, 0], [[0, 0, 0, 0], [0, 1, 2, 0],
                                                            [0, 3, 4, 0], [0, 0, 0, 0]])
    np.testing.assert_array_equal(ops.average_pool(x, 2), [[[[2.5]]]])
    np.testing.assert_array_equal(ops.route_average(np.array([[[[8.0]]]]), 2),
                                  [[[[2, 2], [2, 2]]]])


def test_pooling_ties_go_to_the_first_maximum_row_by_row():
    maps = np.array([[[0.5, 0.9, 0.9, 0.1],
                      [0.9, 0.2, 0.9, 0.9],
                      [0.3, 0.3, 0.0, 0.0],
                      [0.3, 0.3, 0.0, 0.7]]])
    err = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    routed = ops.route_max(maps, err, 2)
    np.testing.assert_array_equal(routed, [[[0, 1, 2, 0],
                                             [0, 0, 0, 0],
                                             [3, 0, 0, 0],
                                             [0, 0, 0, 4]]])
    np.testing.assert_array_equal(ops.max_pool(maps, 2), [[[0.9, 0.9], [0.3, 0.7]]])


def test_identical_windows_give_identical_z():
    """Max pooling's ties must be real ties: the same window anywhere, the same bits."""
    rng = np.random.default_rng(0)
    stripe = np.tile(rng.random(7), (9, 1))  # every row equal: windows repeat down each column
    F = rng.standard_normal((3, 1, 3, 3))
    z = ops.convolve(ops.im2col(stripe[None, None], 3), F, rng.standard_normal(3), (7, 5))
    assert (z == z[:, :, :1, :]).all()


def test_the_books_cnn_learns_digits_123():
    preset = presets.get("cnn")
    run = preset.run(presets.Options())
    assert run.data.x.shape == (96, 36) and run.data.classes == (1.0, 2.0, 3.0)
    assert run.model.param_shapes() == {"F": (3, 3, 3), "bF": (3,), "WO": (3, 12), "bO": (3,)}
    trace = preset.trace(run)
    assert len(trace.iterations) == 51
    assert trace.cost[-1] < trace.cost[0] / 2
    b = trace.iterations[0]
    assert b["zF"].shape == (96, 3, 4, 4) and b["zP"].shape == (96, 3, 2, 2)
    # every pooled window routes its error to exactly one position
    routed_to = (b["routed"] != 0).reshape(96, 3, 2, 2, 2, 2).sum(axis=(3, 5))
    assert routed_to.max() <= 1


def test_training_does_not_mutate_the_callers_arrays():
    (net, _), params, x, t = _problem()
    before = {k: v.copy() for k, v in params.items()}
    x0 = x.copy()
    descent.train_net(net, params, x, t, 0.2, 3)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    np.testing.assert_array_equal(x, x0)


def test_keep_stores_only_what_is_asked():
    (net, _), params, x, t = _problem()
    full = descent.train_net(net, params, x, t, 0.2, 3)
    lean = descent.train_net(net, params, x, t, 0.2, 3, keep=())
    assert set(lean.iterations[0]) == {"C_T", "accuracy"}
    assert_same_run(lean.cost, full.cost)


def _cnn_from_options(image, **options):
    """The CNN preset's net for images of ``image`` from its shorthand options."""
    ds = data.Dataset("test", np.zeros((3, image[0] * image[1])), (0.0, 1.0, 2.0),
                      (0.0, 1.0, 2.0), image)
    return presets.get("cnn").make_net(ds, presets.Options(**options))


@pytest.mark.parametrize("image, options, message", [
    ((2, 2), {"filter_size": 3}, "larger than the 2×2 image; use --filter-size 2"),
    ((5, 5), {"filter_size": 3, "pool_size": 2}, "3×3 feature maps do not divide into 2×2"),
    ((6, 6), {"filters": 0}, "must be at least 1"),
    ((6, 6), {"padding": 3}, "--padding 3 must be 0 to 2"),
    ((6, 6), {"pool": "min"}, "--pool 'min' is not one of: max, average"),
    ((2, 2), {"filter_size": 3, "padding": 1, "pool_size": 1}, None),  # padding makes it fit
])
def test_bad_shapes_are_one_clear_error(image, options, message):
    if message is None:
        net = _cnn_from_options(image, **options)
        assert net.forward_blocks()[1].shape.maps() == (3, 2, 2)  # x̃, then zᶠ
        return
    with pytest.raises(SheetnetError, match=message):
        _cnn_from_options(image, **options)


def test_init_json_shapes_are_checked(tmp_path):
    net = cnn.convolutional((6, 6))
    good = {k: v.tolist() for k, v in cnn.init(net, "normal", 1).items()}
    assert validate_params(net.param_shapes(), good, "init.json")["WO"].shape == (3, 12)
    bad = dict(good, WO=np.zeros((3, 9)).tolist())
    with pytest.raises(SheetnetError, match="WO has shape 3×9, this net needs 3×12"):
        validate_params(net.param_shapes(), bad, "init.json")
    path = tmp_path / "init.json"
    path.write_text(json.dumps(good))
    run = presets.get("cnn").run(presets.Options(init=path))
    np.testing.assert_array_equal(run.params["F"], np.array(good["F"]))


def test_book_data_ships_in_the_package():
    ds = data.builtin("digits123")
    assert ds.x.shape == (96, 36) and set(ds.labels) == {1.0, 2.0, 3.0}
    assert sorted(ds.labels.count(c) for c in ds.classes) == [32, 32, 32]
