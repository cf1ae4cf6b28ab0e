"""sheetnet's NumPy core against PyTorch autograd on the same nets and work, side by side.

    pip install torch      # not a dependency of sheetnet or its tests
    python benchmarks/bench_torch.py [--repeat 3]

Both run float64 on the CPU with the same threads, from the same initial parameters, full-batch
gradient descent; the C_T trajectories are compared too (they must agree to rounding). Work:

- the book's CNN (5-4): 96 images 6×6, conv 3 3×3, sigmoid, 2×2 max pooling, 3 sigmoid
  outputs, ½Σ(a − t)², η = 0.2, 50 iterations;
- 500 MNIST-size images 28×28 (random, pixels in 0..1), conv 8 5×5, relu, 2×2 max pooling,
  10 softmax outputs with cross-entropy, η = 0.001, 10 iterations;
- the character GRU on the built-in text (11 windows of 10 characters, gru 8, dense 24), against
  torch.nn.GRU, η = 0.05, 100 iterations;
- the one-block transformer on the same text (embed 8, attention ln, mlp 16 ln, dense 24),
  against the same net in torch.nn.functional, η = 0.005, 100 iterations;
- the GAN on the ring of 64 points (G 2-16-2, D 2-8-1), each player with its own Adam, against
  torch.nn and torch.optim.Adam with the same noise, 1,000 iterations (C_D compared).

Times are whole training runs in this process (best of ``--repeat``, the two libraries
interleaved); the ratio is sheetnet's time over PyTorch's.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import numpy as np

from sheetnet import layers, presets
from sheetnet.core import net as stack
from sheetnet.core.data import Dataset
from sheetnet.core.gan import noise as gan_noise
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


def text_net(name: str, eta: float, **options: bool) -> Callable[[], tuple[Run, str]]:
    def make() -> tuple[Run, str]:
        opts = presets.Options(optimizer="gd", eta=eta, iterations=100, **options)
        run = presets.get(name).run(opts)
        return run, f"{name} on the built-in text ({run.model.arch}), 100 iterations"
    return make


def sheetnet_run(run: Run) -> tuple[float, np.ndarray]:
    preset = presets.get(run.preset)
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


def _descend(params: dict[str, torch.Tensor], cost_of: Callable[[], torch.Tensor],
             eta: float, iterations: int) -> tuple[float, np.ndarray]:
    """Full-batch gradient descent by autograd: the time, and C_T at each iteration."""
    costs = []
    start = time.perf_counter()
    for _ in range(iterations + 1):
        cost = cost_of()
        for v in params.values():
            v.grad = None
        cost.backward()
        costs.append(cost.item())
        with torch.no_grad():
            for v in params.values():
                v -= eta * v.grad
    return time.perf_counter() - start, np.array(costs)


def torch_gru(run: Run) -> tuple[float, np.ndarray]:
    """torch.nn.GRU (its own weights: W, U, b, bU) under the same softmax layer."""
    x, t = (torch.tensor(a) for a in run.data.text.one_hot())
    gru = torch.nn.GRU(x.shape[2], run.params["U"].shape[1], batch_first=True,
                       dtype=torch.float64)
    with torch.no_grad():
        for name, key in (("weight_ih_l0", "W"), ("weight_hh_l0", "U"), ("bias_ih_l0", "b"),
                          ("bias_hh_l0", "bU")):
            getattr(gru, name).copy_(torch.tensor(run.params[key]))
    p = {**dict(gru.named_parameters()),
         **{k: torch.tensor(run.params[k], requires_grad=True) for k in ("Why", "by")}}

    def cost() -> torch.Tensor:
        h, _ = gru(x)
        return -(t * torch.log_softmax(h @ p["Why"].T + p["by"], 2)).sum()

    return _descend(p, cost, run.eta, run.iterations)


def torch_attention(run: Run) -> tuple[float, np.ndarray]:
    """The pre-norm transformer block in torch.nn.functional."""
    x, t = (torch.tensor(a) for a in run.data.text.one_hot())
    p = {k: torch.tensor(v, requires_grad=True) for k, v in run.params.items()}
    steps, d = x.shape[1], p["Wq"].shape[0]
    masked = torch.triu(torch.ones(steps, steps, dtype=torch.bool), 1)
    norm = torch.nn.functional.layer_norm

    def cost() -> torch.Tensor:
        e = x @ p["E"] + p["Pos"]
        read = norm(e, (d,), p["ln1_g"], p["ln1_b"], 1e-5)
        q, k, v = (read @ p[m].T for m in ("Wq", "Wk", "Wv"))
        s = (q @ k.transpose(1, 2) / d ** 0.5).masked_fill(masked, float("-inf"))
        y = e + torch.softmax(s, -1) @ v @ p["Wo"].T
        hidden = torch.relu(norm(y, (d,), p["ln2_g"], p["ln2_b"], 1e-5) @ p["W1"].T + p["b1"])
        out = y + hidden @ p["W2"].T + p["b2"]
        return -(t * torch.log_softmax(out @ p["Why"].T + p["by"], -1)).sum()

    return _descend(p, cost, run.eta, run.iterations)


def gan_ring() -> tuple[Run, str]:
    run = presets.get("gan").run(presets.Options(iterations=1000, points=64, hidden=16))
    return run, "GAN on the ring, 64 points, G 2-16-2 and D 2-8-1, Adam, 1,000 iterations"


def torch_gan(run: Run) -> tuple[float, np.ndarray]:
    """The two players in torch.nn, each with torch.optim.Adam, on the same points and noise;
    C_D of each iteration's D step."""
    p, h = run.params, run.hyperparameters

    def linear(w: np.ndarray, b: np.ndarray) -> torch.nn.Linear:
        layer = torch.nn.Linear(w.shape[1], w.shape[0], dtype=torch.float64)
        with torch.no_grad():
            layer.weight.copy_(torch.tensor(w))
            layer.bias.copy_(torch.tensor(b))
        return layer

    g = torch.nn.Sequential(linear(p["G_W2"], p["G_b2"]), torch.nn.ReLU(),
                            linear(p["G_W3"], p["G_b3"]))
    d = torch.nn.Sequential(linear(p["D_W2"], p["D_b2"]), torch.nn.ReLU(),
                            linear(p["D_W3"], p["D_b3"]), torch.nn.Sigmoid())
    opts = [torch.optim.Adam(net.parameters(), lr=h["eta"], betas=(h["beta1"], h["beta2"]),
                             eps=h["epsilon"]) for net in (g, d)]
    bce = torch.nn.BCELoss()
    real = torch.tensor(run.data.x)
    n = len(real)
    ones, zeros = (torch.full((n, 1), v, dtype=torch.float64) for v in (1.0, 0.0))
    drawn = gan_noise(run.model, n, run.iterations, run.seed, run.model.d_steps)
    z_d, z_g = (torch.tensor(drawn[k]) for k in ("zD", "zG"))
    costs = []
    start = time.perf_counter()
    for k in range(run.iterations + 1):
        loss_d = bce(d(real), ones) + bce(d(g(z_d[k, 0]).detach()), zeros)
        opts[1].zero_grad()
        loss_d.backward()
        opts[1].step()
        costs.append(loss_d.item())
        loss_g = bce(d(g(z_g[k])), ones)
        opts[0].zero_grad()
        loss_g.backward()
        opts[0].step()
    return time.perf_counter() - start, np.array(costs)


WORK = ((book_cnn, torch_run), (mnist_size, torch_run),
        (text_net("gru", 0.05), torch_gru),
        (text_net("attention", 0.005, layer_norm=True), torch_attention),
        (gan_ring, torch_gan))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    torch.set_num_threads(2)
    print(f"torch {torch.__version__}, {torch.get_num_threads()} threads, float64\n")
    print("| work | sheetnet | PyTorch | ratio | largest difference of C_T (relative) |")
    print("|---|---|---|---|---|")
    for make, reference_run in WORK:
        run, what = make()
        ours, theirs = [], []
        for _ in range(args.repeat):  # interleaved: the machine's noise hits both
            seconds, cost = sheetnet_run(run)
            ours.append(seconds)
            seconds, reference = reference_run(run)
            theirs.append(seconds)
        diff = float(np.max(np.abs(cost - reference) / np.abs(reference)))
        print(f"| {what} | {min(ours):.3f} s | {min(theirs):.3f} s |"
              f" {min(ours) / min(theirs):.2f} | {diff:.1e} |")


if __name__ == "__main__":
    main()
