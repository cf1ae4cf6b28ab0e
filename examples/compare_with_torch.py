"""Train the book's 0/1 net with every update rule in sheetnet and in torch.optim, side by side.

sheetnet follows torch.optim's update rules and defaults, so the two should agree to rounding:
this prints the largest relative difference of C_T over the run for each rule, with and without
mini-batches, an L1/L2 penalty and a decaying η. Needs PyTorch (not a sheetnet dependency):

    pip install torch
    python examples/compare_with_torch.py [--iterations 50]
"""

from __future__ import annotations

import argparse
import math
from pathlib import Path

import numpy as np

try:
    import torch
except ImportError:  # an example, not a test: say what it needs
    raise SystemExit("this example compares with PyTorch: pip install torch") from None

from sheetnet import presets
from sheetnet.pairs.optim import RULES

INIT = Path(__file__).with_name("book_3-5_initial_weights.json")
TORCH = {  # sheetnet's rule → torch.optim's class and the keyword for each hyperparameter
    "gd": (torch.optim.SGD, {}),
    "momentum": (torch.optim.SGD, {"momentum": "momentum"}),
    "nesterov": (torch.optim.SGD, {"momentum": "momentum"}),
    "adagrad": (torch.optim.Adagrad, {"epsilon": "eps"}),
    "rmsprop": (torch.optim.RMSprop, {"rho": "alpha", "epsilon": "eps"}),
    "adam": (torch.optim.Adam, {"beta1": None, "beta2": None, "epsilon": "eps"}),
    "adamw": (torch.optim.AdamW, {"beta1": None, "beta2": None, "epsilon": "eps",
                                  "weight_decay": "weight_decay"}),
}
ETA = {"gd": 0.2, "momentum": 0.2, "nesterov": 0.2, "adagrad": 0.2, "rmsprop": 0.01,
       "adam": 0.05, "adamw": 0.05}


def torch_costs(run, rule: str, batch: int | None, l1: float, l2: float,
                decay: float | None) -> np.ndarray:
    """C_T (with its penalty) before each step, trained by torch.optim in float64."""
    p = {k: torch.tensor(v, dtype=torch.float64, requires_grad=True)
         for k, v in run.params.items()}
    x = torch.tensor(run.data.x, dtype=torch.float64)
    t = torch.tensor(run.data.targets, dtype=torch.float64)
    cls, names = TORCH[rule]
    kw = {names[h]: v for h, v in run.hyper.items() if names.get(h)}
    if rule in ("adam", "adamw"):
        kw["betas"] = (run.hyper["beta1"], run.hyper["beta2"])
    if rule == "nesterov":
        kw["nesterov"] = True
    weights, biases = [p["W2"], p["W3"]], [p["b2"], p["b3"]]
    # the L2 penalty is part of the cost (its gradient joins g); AdamW's own weight_decay is
    # the decoupled one, on every parameter
    opt = cls([{"params": weights}, {"params": biases}], lr=run.eta, **kw)
    sched = torch.optim.lr_scheduler.ExponentialLR(opt, decay) if decay else None

    def cost(rows: slice | None = None) -> torch.Tensor:
        xs, ts = (x, t) if rows is None else (x[rows], t[rows])
        a2 = torch.sigmoid(xs @ p["W2"].T + p["b2"])
        a3 = torch.sigmoid(a2 @ p["W3"].T + p["b3"])
        return (0.5 * ((a3 - ts) ** 2).sum() + l1 * sum(w.abs().sum() for w in weights)
                + l2 / 2 * sum((w**2).sum() for w in weights))

    n = len(x)
    size = batch or n
    out = []
    for k in range(run.iterations + 1):
        with torch.no_grad():
            out.append(float(cost()))
        if k == run.iterations:
            break
        j = k % math.ceil(n / size)
        opt.zero_grad()
        cost(slice(j * size, min((j + 1) * size, n))).backward()
        opt.step()
        if sched:
            sched.step()
    return np.array(out)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--iterations", type=int, default=50)
    args = ap.parse_args()
    preset = presets.get("mlp")
    cases = [("full batch", {}), ("batch 16, L1 0.001, L2 0.01, η decay 0.95",
                                  {"batch_size": 16, "shuffle": False, "l1": 0.001, "l2": 0.01,
                                   "eta_decay": 0.95})]
    print(f"| rule | η | {' | '.join(c for c, _ in cases)} |")
    print("|---|---|" + "---|" * len(cases))
    for rule in RULES:
        cells = []
        for _, extra in cases:
            run = preset.run(presets.Options(init=INIT, optimizer=rule, eta=ETA[rule],
                                             iterations=args.iterations, **extra))
            ours = preset.trace(run, keep=()).cost
            theirs = torch_costs(run, rule, extra.get("batch_size"), extra.get("l1", 0.0),
                                 extra.get("l2", 0.0), extra.get("eta_decay"))
            cells.append(f"{np.max(np.abs(ours - theirs) / np.abs(theirs)):.1e}")
        print(f"| {rule} | {ETA[rule]} | {' | '.join(cells)} |")


if __name__ == "__main__":
    main()
