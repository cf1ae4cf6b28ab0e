"""The CNN core: the vectorized code against naive loops, gradients against central differences,
max-pooling ties, the book's data set, and every shape it refuses."""

import json

import numpy as np
import pytest

from sheetnet import presets
from sheetnet.core import cnn, data
from sheetnet.errors import SheetnetError
from tests.conftest import assert_gradients_match


def _problem(image=(6, 6), filters=2, size=3, pool=2, outputs=3, n=5, seed=3, binary=False):
    rng = np.random.default_rng(seed)
    net = cnn.CNNNet(image, filters, size, pool, outputs)
    x = rng.integers(0, 2, (n, image[0] * image[1])).astype(float) if binary else \
        rng.random((n, image[0] * image[1]))
    t = np.eye(outputs)[rng.integers(0, outputs, n)]
    return net, cnn.init_params(net, seed), x, t


def _sigma(z):
    return 1 / (1 + np.exp(-z))


def naive(net, params, x, t):
    """The book's formulas one number at a time (the reference for the vectorized core)."""
    F, bF, WO, bO = (params[k] for k in cnn.PARAMS)
    n, (h, w), K, f, p = x.shape[0], net.image, net.filters, net.size, net.pool
    mh, mw = h - f + 1, w - f + 1
    ph, pw = mh // p, mw // p
    out = {k: [] for k in ("zF", "aF", "zP", "zO", "aO", "C", "deltaO", "deltaP", "routed",
                           "deltaF", "dC_dF", "dC_dbF", "dC_dWO", "dC_dbO")}
    for m in range(n):
        img = x[m].reshape(h, w)
        zf = np.zeros((K, mh, mw))
        for k in range(K):
            for i in range(mh):
                for j in range(mw):
                    s = bF[k]
                    for u in range(f):
                        for v in range(f):
                            s += F[k, u, v] * img[i + u, j + v]
                    zf[k, i, j] = s
        af = _sigma(zf)
        zp = np.zeros((K, ph, pw))
        where = {}
        for k in range(K):
            for i in range(ph):
                for j in range(pw):
                    best, at = -np.inf, None
                    for u in range(p):  # row-major: the first maximum wins a tie
                        for v in range(p):
                            if af[k, i * p + u, j * p + v] > best:
                                best, at = af[k, i * p + u, j * p + v], (i * p + u, j * p + v)
                    zp[k, i, j], where[k, i, j] = best, at
        flat = zp.ravel()
        zo = np.array([sum(WO[o, q] * flat[q] for q in range(len(flat))) + bO[o]
                       for o in range(net.outputs)])
        ao = _sigma(zo)
        c = 0.5 * sum((ao[o] - t[m, o]) ** 2 for o in range(net.outputs))
        do = (ao - t[m]) * ao * (1 - ao)
        dp = np.array([sum(WO[o, q] * do[o] for o in range(net.outputs))
                       for q in range(len(flat))]).reshape(K, ph, pw)
        routed = np.zeros((K, mh, mw))
        for (k, i, j), (r, s) in where.items():
            routed[k, r, s] = dp[k, i, j]
        df = routed * af * (1 - af)
        dF = np.zeros((K, f, f))
        for k in range(K):
            for u in range(f):
                for v in range(f):
                    dF[k, u, v] = sum(df[k, i, j] * img[i + u, j + v]
                                      for i in range(mh) for j in range(mw))
        for name, value in (("zF", zf), ("aF", af), ("zP", zp), ("zO", zo), ("aO", ao),
                            ("C", c), ("deltaO", do), ("deltaP", dp), ("routed", routed),
                            ("deltaF", df), ("dC_dF", dF), ("dC_dbF", df.sum(axis=(1, 2))),
                            ("dC_dWO", np.outer(do, flat)), ("dC_dbO", do)):
            out[name].append(value)
    return {k: np.array(v) for k, v in out.items()}


@pytest.mark.parametrize("kw", [{}, {"binary": True}, {"image": (7, 5), "size": 2, "pool": 2},
                                {"image": (8, 8), "filters": 1, "size": 3, "pool": 3,
                                 "outputs": 2}])
def test_vectorized_core_matches_naive_loops(kw):
    net, params, x, t = _problem(**kw)
    blocks = cnn.iteration(net, params, x, t)
    for name, value in naive(net, params, x, t).items():
        np.testing.assert_allclose(blocks[name], value, rtol=1e-12, atol=1e-14, err_msg=name)
    for name in cnn.PARAMS:
        np.testing.assert_allclose(blocks[f"dCT_d{name}"], blocks[f"dC_d{name}"].sum(axis=0))


@pytest.mark.parametrize("kw", [{}, {"image": (7, 5), "size": 2, "pool": 2, "filters": 3}])
def test_gradients_match_central_differences(kw):
    net, params, x, t = _problem(**kw)
    blocks = cnn.iteration(net, params, x, t)
    assert_gradients_match(lambda p: cnn.cost(net, p, x, t), params,
                           {name: blocks[f"dCT_d{name}"] for name in params})


def test_pooling_ties_go_to_the_first_maximum_row_by_row():
    maps = np.array([[[0.5, 0.9, 0.9, 0.1],
                      [0.9, 0.2, 0.9, 0.9],
                      [0.3, 0.3, 0.0, 0.0],
                      [0.3, 0.3, 0.0, 0.7]]])
    err = np.array([[[1.0, 2.0], [3.0, 4.0]]])
    routed = cnn.ops.route_max(maps, err, 2)
    np.testing.assert_array_equal(routed, [[[0, 1, 2, 0],
                                             [0, 0, 0, 0],
                                             [3, 0, 0, 0],
                                             [0, 0, 0, 4]]])
    np.testing.assert_array_equal(cnn.ops.max_pool(maps, 2), [[[0.9, 0.9], [0.3, 0.7]]])


def test_identical_windows_give_identical_z():
    """Max pooling's ties must be real ties: the same window anywhere, the same bits."""
    rng = np.random.default_rng(0)
    stripe = np.tile(rng.random(7), (9, 1))  # every row equal: windows repeat down each column
    F = rng.standard_normal((3, 3, 3))
    z = cnn.ops.convolve(stripe[None], F, rng.standard_normal(3))
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
    net, params, x, t = _problem()
    before = {k: v.copy() for k, v in params.items()}
    x0 = x.copy()
    cnn.train(net, params, x, t, 0.2, 3)
    for k in params:
        np.testing.assert_array_equal(params[k], before[k])
    np.testing.assert_array_equal(x, x0)


def test_keep_stores_only_what_is_asked():
    net, params, x, t = _problem()
    full = cnn.train(net, params, x, t, 0.2, 3)
    lean = cnn.train(net, params, x, t, 0.2, 3, keep=())
    assert set(lean.iterations[0]) == {"C_T", "accuracy"}
    np.testing.assert_array_equal(lean.cost, full.cost)


@pytest.mark.parametrize("kw, message", [
    ({"image": (2, 2), "size": 3}, "larger than the 2×2 image; use --filter-size 2"),
    ({"image": (5, 5), "size": 3, "pool": 2}, "3×3 feature maps do not divide into 2×2"),
    ({"image": (6, 6), "filters": 0}, "must be at least 1"),
])
def test_bad_shapes_are_one_clear_error(kw, message):
    with pytest.raises(SheetnetError, match=message):
        cnn.CNNNet(**kw)


def test_init_json_shapes_are_checked(tmp_path):
    net = cnn.CNNNet((6, 6))
    good = {k: v.tolist() for k, v in cnn.init_params(net, 1).items()}
    assert cnn.params_from_json(net, good, "init.json")["WO"].shape == (3, 12)
    bad = dict(good, WO=np.zeros((3, 9)).tolist())
    with pytest.raises(SheetnetError, match="WO has shape 3×9, this net needs 3×12"):
        cnn.params_from_json(net, bad, "init.json")
    path = tmp_path / "init.json"
    path.write_text(json.dumps(good))
    run = presets.get("cnn").run(presets.Options(init=path))
    np.testing.assert_array_equal(run.params["F"], np.array(good["F"]))


def test_book_data_ships_in_the_package():
    ds = data.builtin("digits123")
    assert ds.x.shape == (96, 36) and set(ds.labels) == {1.0, 2.0, 3.0}
    assert sorted(ds.labels.count(c) for c in ds.classes) == [32, 32, 32]
