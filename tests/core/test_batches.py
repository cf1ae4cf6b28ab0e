"""Mini-batches: which images each step sees."""

import numpy as np

from sheetnet.core import batches, data, descent
from sheetnet.core import net as stack


def test_without_shuffle_step_k_takes_batch_k_mod_the_batches_in_data_order():
    m = batches.masks(10, 4, 6, shuffle=False, seed=0)
    chosen = [list(np.flatnonzero(row)) for row in m]
    assert chosen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9],
                      [0, 1, 2, 3]]


def test_with_shuffle_each_epoch_covers_every_image_once_in_a_new_order():
    m = batches.masks(10, 4, 8, shuffle=True, seed=3)
    for epoch in (m[0:3], m[3:6]):
        np.testing.assert_array_equal(epoch.sum(axis=0), np.ones(10))
        assert list(epoch.sum(axis=1)) == [4, 4, 2]
    assert not np.array_equal(m[0:3], m[3:6])
    np.testing.assert_array_equal(m, batches.masks(10, 4, 8, shuffle=True, seed=3))
    assert not np.array_equal(m, batches.masks(10, 4, 8, shuffle=True, seed=4))


def test_a_step_sums_its_batchs_gradients_and_reports_the_whole_datas_cost():
    ds = data.builtin("digits01")
    net = stack.fully_connected((12, 3, 2))
    params = stack.init(net, "normal", 0)
    m = batches.masks(64, 10, 3, shuffle=True, seed=0)
    trace = descent.train_net(net, params, ds.x, ds.targets, 0.2, 3, batches=m)
    full = stack.iteration(net, params, ds.x, ds.targets)
    first = trace.iterations[0]
    in_batch = m[0] != 0
    np.testing.assert_allclose(first["dCT_dW2"], full["dC_dW2"][in_batch].sum(axis=0),
                               rtol=1e-13)
    assert float(first["C_T"]) == float(full["C_T"])
    np.testing.assert_allclose(float(first["C_batch"]), full["C"][in_batch].sum(), rtol=1e-13)
    np.testing.assert_allclose(trace.iterations[1]["W2"],
                               params["W2"] - 0.2 * first["dCT_dW2"], rtol=1e-15)
