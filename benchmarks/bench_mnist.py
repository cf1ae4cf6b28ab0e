"""MNIST training speed: sheetnet's core against PyTorch on the same net and the same work.

    pip install torch      # not a dependency of sheetnet or its tests
    python benchmarks/bench_mnist.py [--repeat 3]

Work (issue 21): 2,000 MNIST digits, ``conv 8 5x5, relu, maxpool 2, conv 16 5x5, relu,
maxpool 2, dense 10`` with softmax and cross-entropy, Adam (η = 0.003) on shuffled batches of
32, 300 steps, the whole data's cost at iterations 0, 100, 200 and 300. Both libraries run
float64 on the CPU with the same threads, from the same initial parameters and the same batches;
the reported costs are compared too. Each side is a whole process (started, data loaded,
trained, timed end to end by the parent), best of ``--repeat``, the two interleaved.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

SHEETNET = r"""
import dataclasses, sys, numpy as np
from sheetnet import presets
from sheetnet.presets.options import Options
from sheetnet.core import batches
preset = presets.get("mnist")
run = preset.run(Options(iterations=300, seed=0), every=100)
keep = np.arange(2000)
run = dataclasses.replace(run, data=run.data.subset(keep),
                          batches=batches.masks(2000, 32, 300, True, 0), every=100)
trace = preset.trace(run, keep=["C_batch"])
np.save(sys.argv[1] + ".npy", np.array([trace.cost[k] for k in (0, 100, 200, 300)]))
np.savez(sys.argv[1] + ".init.npz", masks=run.batches, x=run.data.x, t=run.data.targets,
         eta=run.eta, **run.params)
"""

TORCH = r"""
import sys, numpy as np, torch
torch.set_num_threads(int(sys.argv[2]))
d = np.load(sys.argv[1] + ".init.npz")
x = torch.tensor(d["x"]).reshape(-1, 1, 28, 28)
t = torch.tensor(d["t"])
masks = d["masks"]
p = {k: torch.tensor(d[k], requires_grad=True) for k in ("F1", "bF1", "F2", "bF2", "WO", "bO")}
opt = torch.optim.Adam(list(p.values()), lr=float(d["eta"]))

def cost(rows):
    a1 = torch.relu(torch.nn.functional.conv2d(x[rows], p["F1"].unsqueeze(1)
                                               if p["F1"].dim() == 3 else p["F1"], p["bF1"]))
    z1 = torch.nn.functional.max_pool2d(a1, 2)
    a2 = torch.relu(torch.nn.functional.conv2d(z1, p["F2"], p["bF2"]))
    z2 = torch.nn.functional.max_pool2d(a2, 2)
    zo = z2.flatten(1) @ p["WO"].reshape(10, -1).T + p["bO"]
    return -(t[rows] * torch.log_softmax(zo, dim=1)).sum()

costs = []
for k in range(301):
    if k % 100 == 0:
        with torch.no_grad():
            costs.append(cost(slice(None)).item())
    rows = torch.tensor(np.flatnonzero(masks[k]))
    opt.zero_grad()
    cost(rows).backward()
    opt.step()
np.save(sys.argv[1] + ".torch.npy", np.array(costs))
"""


def timed(code: str, *args: str) -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code, *args], check=True)
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--threads", type=int, default=2)
    args = ap.parse_args()
    import numpy as np
    try:
        import torch
    except ImportError:
        raise SystemExit("this benchmark compares with PyTorch: pip install torch") from None
    with tempfile.TemporaryDirectory(prefix="sheetnet-bench-mnist-") as folder:
        base = os.path.join(folder, "run")
        ours, theirs = [], []
        for _ in range(args.repeat):
            ours.append(timed(SHEETNET, base))
            theirs.append(timed(TORCH, base, str(args.threads)))
        mine, ref = np.load(base + ".npy"), np.load(base + ".torch.npy")
    print(json.dumps({"torch": torch.__version__, "threads": args.threads,
                      "sheetnet_s": round(min(ours), 2), "torch_s": round(min(theirs), 2),
                      "ratio": round(min(ours) / min(theirs), 2),
                      "C_T at 0, 100, 200, 300": [round(float(v), 6) for v in mine],
                      "largest relative difference": float(np.max(np.abs(mine - ref)
                                                                   / np.abs(ref)))}))


if __name__ == "__main__":
    main()
