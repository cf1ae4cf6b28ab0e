"""Mini-batches: which images each iteration's step sees, as a mask over the images."""

from __future__ import annotations

import numpy as np


def masks(images: int, size: int, iterations: int, shuffle: bool, seed: int) -> np.ndarray:
    """(iterations + 1, images) of 0/1: row k marks the batch step k uses.

    The images split into ⌈N/B⌉ batches per epoch (the last may be smaller). Without shuffle,
    step k uses batch j = k mod ⌈N/B⌉, the images [jB, min((j+1)B, N)) in data order; with
    shuffle, each epoch e = k div ⌈N/B⌉ splits a new permutation of the images, drawn from
    ``seed``.
    """
    per_epoch = -(-images // size)
    k = np.arange(iterations + 1)
    epoch, batch = k // per_epoch, k % per_epoch
    if shuffle:
        rng = np.random.default_rng((seed, 1))  # a stream apart from the initial values'
        order = np.argsort(rng.random((int(epoch[-1]) + 1, images)), axis=1)
        position = np.argsort(order, axis=1)  # each image's place in its epoch's order
    else:
        position = np.broadcast_to(np.arange(images), (int(epoch[-1]) + 1, images))
    return (position[epoch] // size == batch[:, None]).astype(float)
