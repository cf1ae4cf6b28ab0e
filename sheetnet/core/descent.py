"""The one training loop: any net's or exercise's step, then an update rule, kept as a Trace."""

from __future__ import annotations

import math
from collections.abc import Callable, Collection, Mapping
from typing import Protocol

import numpy as np

from sheetnet import notation as names
from sheetnet.core.net import Net, batch_step, describe, iteration
from sheetnet.core.run import Run
from sheetnet.core.trace import Trace, check_finite
from sheetnet.errors import SheetnetError
from sheetnet.notation import Words
from sheetnet.pairs import ops, penalties
from sheetnet.pairs.optim import GD, UpdateRule

Progress = Callable[[int], None]
# what a run with images held out adds to each iteration (``validated``)
VALIDATION = ("validation_cost", "validation_accuracy", "C_per_image", "best_iteration")


class Anchor(Protocol):
    """Where each iteration starts from when a workbook is audited: the parameters and the
    update rule's state as an engine recalculated them on each sheet. Anchored, each
    iteration's numbers follow from the cells it reads, so rounding does not compound over the
    iterations of a chaotic run, and a cell that differs is wrong where it is."""

    def params(self, k: int) -> dict[str, np.ndarray] | None:
        """The parameters on iteration k's sheet (None: not all of them finite numbers)."""

    def state(self, k: int) -> dict[str, dict[str, np.ndarray]] | None:
        """The update rule's state after step k, per parameter (None: not finite)."""
# (parameters, the batch's mask over the images or None, the iteration k) -> its every block
Step = Callable[[Mapping[str, np.ndarray], np.ndarray | None, int], dict[str, np.ndarray]]


def check_run(eta: float, iterations: int) -> None:
    if not (isinstance(eta, (int, float)) and math.isfinite(eta) and eta > 0):
        raise SheetnetError(f"--eta {eta} must be a positive finite number, e.g. --eta 0.2")
    if iterations < 1:
        raise SheetnetError(f"--iterations {iterations} must be at least 1, e.g. --iterations 50")


def descend(step: Step, params: Mapping[str, np.ndarray], eta: float, iterations: int,
            descriptions: dict[str, str], progress: Progress | None = None,
            keep: Collection[str] | None = None, *, rule: UpdateRule = GD,
            hyper: Mapping[str, float] | None = None,
            grad_of: Callable[[str], str] = names.total_grad,
            step_of: Callable[[str], str] | None = None, cost_name: str = "C_T",
            weights: Collection[str] = (), batches: np.ndarray | None = None,
            anchor: Anchor | None = None, first_step: int = 0,
            start_state: Mapping[str, Mapping[str, np.ndarray]] | None = None,
            frozen: Collection[str] = ()) -> Trace:
    """Iterations 0..``iterations``: ``step(params, mask, k)``'s blocks, then each parameter
    updated by ``rule`` from its gradient block ``grad_of(name)``.

    The rule's state joins the blocks as ``notation.state(kind, name)`` and, with ``step_of``,
    each Δp as ``step_of(name)``. ``hyper``: the rule's hyperparameters beyond η, and the
    penalties' and schedule's when given (``pairs.penalties``), which apply to ``weights``.
    ``batches``: each iteration's mask of the images in its batch ((iterations + 1, N) of 0/1;
    None: every image); the cost is then the whole data's, beside the batch's (``C_batch``).
    ``keep``: the block names to store (None: all; the cost and accuracy always).
    ``anchor``: each iteration from 1 on starts from its parameters and the previous step's
    state as an anchor gives them (a recalculated workbook's), while the parameters the trace
    records are still this loop's update of the previous iteration's.
    ``first_step``/``start_state``: a run continued from a checkpoint, whose iteration 0 is
    step ``first_step`` of the run (Adam's bias correction and a decaying η count from it) and
    whose rule starts from that state (per parameter; zeros where a kind is not given).
    ``frozen``: parameters never updated (``--freeze``): their gradients are computed, not
    applied, and the rule keeps no state for them.
    The trace's ``final`` holds the parameters after the last update.
    """
    if iterations < 1 or not math.isfinite(eta):  # a workbook's own η may be ≤ 0: its cells follow
        raise SheetnetError(f"η = {eta} over {iterations} iterations is not a run to trace")
    h = {"eta": eta, **(hyper or {})}
    penalised = bool(weights) and any(p.name in h for p in penalties.PENALTIES)
    current = {k: np.array(v, dtype=float) for k, v in params.items()}
    state = {k: {**rule.start(v), **{kind: np.array(s, dtype=float) for kind, s in
                                     (start_state or {}).get(k, {}).items()}}
             for k, v in current.items() if k not in frozen}
    kept = None if keep is None else {*keep, cost_name, "accuracy", *VALIDATION}
    run: list[dict[str, np.ndarray]] = []
    for k in range(iterations + 1):
        with np.errstate(all="ignore"):  # check_finite reports overflow instead
            mask = None if batches is None else batches[k]
            used = current
            if anchor is not None and k > 0:
                used = anchor.params(k) or current
                state = anchor.state(k - 1) or state
            blocks = step(used, mask, k)
            blocks.update(current)  # the parameters as this loop's update made them
            t = k + first_step  # the step's number in the whole run
            hk = {**h, "eta": penalties.eta_at(eta, h, t)}
            if penalties.DECAY.name in h:
                blocks["eta_k"] = np.asarray(hk["eta"])
            cost = (_penalised(blocks, used, weights, h, grad_of, cost_name) if penalised
                    else 0.0)
            _beside(blocks, mask, cost, cost_name)
            current = _updated(rule, used, current, blocks, state, hk, t, grad_of, step_of,
                               frozen)
            check_finite(blocks, k, eta)
        last = k == iterations  # kept whole: the final parameters (evaluation reads them)
        run.append(blocks if kept is None or last else {n: blocks[n] for n in blocks
                                                         if n in kept})
        if progress:
            progress(k)
    return Trace(run, descriptions, cost_name=cost_name, final=current)


def _penalised(blocks: dict[str, np.ndarray], used: Mapping[str, np.ndarray],
               weights: Collection[str], h: Mapping[str, float],
               grad_of: Callable[[str], str], cost_name: str) -> float:
    """The penalty on ``weights`` joins the cost (where the iteration computed it) and each
    weight's gradient; it is returned for the batch's cost."""
    cost = penalties.penalty([used[w] for w in weights], h)
    if cost_name in blocks:  # (an unreported iteration has no whole-data cost)
        blocks[cost_name] = blocks[cost_name] + cost
    for w in weights:
        blocks[grad_of(w)] = blocks[grad_of(w)] + penalties.penalty_gradient(used[w], h)
    return cost


def _beside(blocks: dict[str, np.ndarray], mask: np.ndarray | None, penalty: float,
            cost_name: str) -> None:
    """The costs beside the whole data's: C_T per image trained on (images held out), the
    batch's marks and its cost (+ ``penalty``)."""
    if "held" in blocks and cost_name in blocks:  # beside the validation cost
        trained = np.count_nonzero(np.asarray(blocks["held"]) == 0)
        blocks["C_per_image"] = np.asarray(blocks[cost_name] / trained)
    if mask is None:
        return
    blocks["batch"] = mask
    if "C" in blocks:
        marks = mask if "held" not in blocks else mask * (blocks["held"] == 0)
        in_batch = ops.total(blocks["C"], marks)
    else:  # a step that computed its batch alone
        in_batch = blocks.pop("C_in_batch")
    blocks["C_batch"] = np.asarray(in_batch + penalty)


def _updated(rule: UpdateRule, used: Mapping[str, np.ndarray],
             current: Mapping[str, np.ndarray], blocks: dict[str, np.ndarray],
             state: dict[str, dict[str, np.ndarray]], hk: Mapping[str, float], t: int,
             grad_of: Callable[[str], str], step_of: Callable[[str], str] | None,
             frozen: Collection[str] = ()) -> dict[str, np.ndarray]:
    """Every parameter but the ``frozen`` moved by ``rule`` from its gradient (``state``
    advanced in place), its state and Δp joining the blocks; a frozen one stays as it is."""
    out = dict(current)
    for name, value in used.items():
        if name in frozen:
            out[name] = np.array(value, dtype=float)
            continue
        delta, state[name] = rule.step(value, blocks[grad_of(name)], state[name], hk, t)
        out[name] = value + delta
        blocks.update({names.state(kind, name): s for kind, s in state[name].items()})
        if step_of is not None:
            blocks[step_of(name)] = delta
    return out


def train_run(run: Run, progress: Progress | None = None,
              keep: Collection[str] | None = None, anchor: Anchor | None = None) -> Trace:
    """A net's run as its preset made it (``train``, every setting from the run)."""
    net: Net = run.model
    inputs = run.step_inputs if net.step_inputs() or run.validation else None
    report = run.reports if keep is not None and run.every is not None else None
    return train_net(net, run.params, run.data.x, run.data.targets, run.eta, run.iterations,
                 progress=progress, keep=keep, rule=run.rule, hyper=run.hyper,
                 batches=run.batches, words=run.data.words(net.maps), anchor=anchor,
                 inputs=inputs,
                 report=report, first_step=run.start, start_state=run.state,
                 carried=run.carried, best=run.best, frozen=run.frozen)


def train_net(net: Net, params: Mapping[str, np.ndarray], x: np.ndarray, t: np.ndarray,
          eta: float, iterations: int, *, progress: Progress | None = None,
          keep: Collection[str] | None = None, rule: UpdateRule = GD,
          hyper: Mapping[str, float] | None = None, batches: np.ndarray | None = None,
          words: Words | None = None, anchor: Anchor | None = None,
          inputs: Callable[[int], Mapping[str, np.ndarray]] | None = None,
          report: Callable[[int], bool] | None = None, first_step: int = 0,
          start_state: Mapping[str, Mapping[str, np.ndarray]] | None = None,
          carried: Mapping[str, np.ndarray] | None = None,
          best: tuple[int, float] | None = None, frozen: Collection[str] = ()) -> Trace:
    """A net's iterations 0..``iterations``: each one's blocks, then the update (``rule``).

    x: (N, pixels) inputs, t: (N, outputs) targets; ``keep`` limits the stored blocks (None:
    every block, each image's own δ and gradients included); ``batches``: each iteration's
    mask over the images (None: full batch); ``words``: how the data's parts are named (its
    ``Dataset.words``: the descriptions say "images" without); ``inputs(k)``:
    step k's own per-image inputs (what its layers draw: dropout masks); ``report(k)``: whether
    iteration k reports the whole data's cost and accuracy (None: all do). With batches, an
    iteration that does not computes its batch's images alone: its C_T is left out (nan in the
    series). ``first_step``, ``start_state``: a run continued from a checkpoint (``descend``),
    and ``carried``: what its layers carried there (batch norm's running averages), and
    ``best``: the best iteration so far and its validation cost (``validated``); ``frozen``:
    parameters kept as they start (``descend``).
    """
    x = np.array(x, dtype=float)
    t = np.array(t, dtype=float)
    detail = keep is None
    held = net.carried_start()  # what the layers carry from step to step, from its start
    held.update({k: np.array(v, dtype=float) for k, v in (carried or {}).items()})
    if keep is not None:
        keep = {*keep, *held}

    def step(p: Mapping[str, np.ndarray], mask: np.ndarray | None, k: int
             ) -> dict[str, np.ndarray]:
        given = {**(inputs(k) if inputs else {}), **held}  # the last step's carried blocks
        if report is not None and mask is not None and not detail and not report(k):
            blocks = batch_step(net, p, x, t, mask, given)
        else:
            blocks = iteration(net, p, x, t, mask, detail, given or None)
        held.update({name: blocks[name] for name in held})
        return blocks

    trace = descend(step, params, eta,
                    iterations, describe(net, words), progress, keep, rule=rule, hyper=hyper,
                    weights=net.weights, batches=batches, anchor=anchor,
                    first_step=first_step, start_state=start_state, frozen=frozen)
    return validated(trace, first_step, best)


def validated(trace: Trace, first: int = 0, best: tuple[int, float] | None = None) -> Trace:
    """With images held out, each iteration also gets the best iteration so far (the lowest
    validation cost, the first if tied; among the iterations that report one), counted as the
    run counts (``first``: iteration 0's number; ``best``: (iteration, cost) before it, a run
    going on from a checkpoint)."""
    if "validation_cost" not in trace.iterations[0]:
        return trace
    at, lowest = best if best is not None else (first, np.inf)
    for k, blocks in enumerate(trace.iterations):
        if "validation_cost" in blocks and blocks["validation_cost"] < lowest:
            at, lowest = first + k, float(blocks["validation_cost"])
        blocks["best_iteration"] = np.asarray(float(at))
    return trace


def best_so_far(trace: Trace, first: int = 0, before: tuple[int, float] | None = None
                ) -> tuple[int, float] | None:
    """(the best iteration so far, its validation cost) after the trace's last iteration
    (``first``, ``before``: as ``validated`` took them)."""
    last = trace.iterations[-1]
    if "best_iteration" not in last:
        return None
    at = int(last["best_iteration"])
    if at < first and before is not None:
        return before
    return at, float(trace.iterations[at - first]["validation_cost"])


def stop_early(trace: Trace, patience: int, first: int = 0, since: int | None = None
               ) -> int | None:
    """The iteration of the trace training stops at: the first whose best iteration so far is
    ``patience`` iterations back (None: it never is); ``first``: iteration 0's number;
    ``since``: patience counts from this iteration at the earliest (a run going on after it
    had stopped early)."""
    for k, blocks in enumerate(trace.iterations):
        counted = max(int(blocks["best_iteration"]), since if since is not None else -1)
        if first + k - counted >= patience:
            return k
    return None

