"""sheetnet's NumPy core against PyTorch autograd on the same nets and work, side by side.

    pip install torch      # not a dependency of sheetnet or its tests
    python benchmarks/bench_torch.py [--repeat 3]

Both run float64 on the CPU with the same threads, from the same initial parameters, full-batch
gradient descent; the C_T trajectories are compared too (they must agree to rounding). Work:

- the book's CNN (5-4): 96 images 6×6, conv 3 3×3, sigmoid, 2×2 max pooling, 3 sigmoid
  outputs, ½Σ(a − t)², η = 0.2, 50 iterations;
- 500 MNIST-size images 28×28 (random, pixels in 0..1), conv 8 5×5, relu, 2×2 max pooling,
  10 softmax outputs with cross-entropy, η = 0.001, 10 iterations.

Times are whole training runs in this process (best of ``--repeat``, the two libraries
interleaved); the ratio is sheetnet's time over PyTorch's.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from sheetnet import layers, presets
from sheetnet.core import net as stack
from sheetnet.core.data import Dataset
from sheetnet.core.run import Run

try:
    import torch
except ImportError:  # a benchmark, not a test: say what it needs
    raise SystemExit("this benchmark compares with PyTorch: pip install torch") from None


def book_cnn() -> tuple[Run, str]:
    preset = presets.get("cnn")
    return preset.run(presets.Options()), "book's CNN, 96 images 6×6, 50 iterations"


def mnist_size(n: int = 500, iterations: int = 10) -> tuple[Run, str]:
    rng = np.random.default_rng(0)
    labels = tuple(float(v) for v in np.arange(n) % 10)
    ds = Dataset("random 28×28", rng.random((n, 784)), labels,
                 tuple(float(v) for v in range(10)), (28, 28))
    output = presets.nets.output_layer("softmax", "cross-entropy")
    net = stack.build(layers.parse("conv 8 5x5, relu, maxpool 2, dense 10"),
                      layers.Shape.image(28, 28), output, 10)
    params = {k: v * 0.1 for k, v in stack.init(net, "normal", 0).items()}
    return (Run("cnn", net, ds, params, 0.001, iterations),
            f"{n} images 28×28, conv 8 5×5, relu, softmax, {iterations} iterations")


def sheetnet_run(run: Run) -> tuple[float, np.ndarray]:
    preset = presets.get("cnn")
    t = time.perf_counter()
    trace = preset.trace(run, keep=())
    return time.perf_counter() - t, trace.cost


def torch_run(run: Run) -> tuple[float, np.ndarray]:
    """The same net in torch.nn.functional, its gradients by autograd."""
    net = run.model
    conv, pool = net.layers[0], net.layers[2]
    act = net.layers[1].act.name
    softmax = net.output.pair.activation == "softmax"
    h, w = run.data.shape
    x = torch.tensor(run.data.x, dtype=torch.float64).reshape(-1, 1, h, w)
    t = torch.tensor(run.data.targets, dtype=torch.float64)
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in run.params.items()}
    filters = p["F"].reshape(conv.filters, 1, conv.size, conv.size)
    costs = []
    start = time.perf_counter()
    for _ in range(run.iterations + 1):
        filters = p["F"].reshape(conv.filters, 1, conv.size, conv.size)
        z = torch.nn.functional.conv2d(x, filters, p["bF"])
        a = torch.sigmoid(z) if act == "sigmoid" else torch.relu(z)
        zp = torch.nn.functional.max_pool2d(a, pool.size)
        zo = zp.flatten(1) @ p["WO"].T + p["bO"]
        if softmax:
            cost = -(t * torch.log_softmax(zo, dim=1)).sum()
        else:
            cost = 0.5 * ((torch.sigmoid(zo) - t) ** 2).sum()
        for v in p.values():
            v.grad = None
        cost.backward()
        costs.append(cost.item())
        with torch.no_grad():
            for v in p.values():
                v -= run.eta * v.grad
    return time.perf_counter() - start, np.array(costs)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64\n")
    print("| work | sheetnet | PyTorch | ratio | largest difference of C_T (relative) |")
    print("|---|---|---|---|---|")
    for make in (book_cnn, mnist_size):
        run, what = make()
        ours, theirs = [], []
        for _ in range(args.repeat):  # interleaved: the machine's noise hits both
            seconds, cost = sheetnet_run(run)
            ours.append(seconds)
            seconds, reference = torch_run(run)
            theirs.append(seconds)
        diff = float(np.max(np.abs(cost - reference) / np.abs(reference)))
        print(f"| {what} | {min(ours):.3f} s | {min(theirs):.3f} s |"
              f" {min(ours) / min(theirs):.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
