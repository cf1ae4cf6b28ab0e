"""How a run and a report show themselves in a notebook: an HTML table and the cost curve as an
inline SVG (no plotting library, no JavaScript), for ``Training._repr_html_`` and
``Report._repr_html_``."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from sheetnet.audit.verify import Report
    from sheetnet.runs import Training

_WIDTH, _HEIGHT, _PAD = 420, 180, 34
_COLOURS = ("#1f4e79", "#c0504d", "#4f8a3c", "#8064a2", "#d08c1e", "#2c9fa0")


def table(header: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """An HTML table of text cells (escaped)."""
    head = "".join(f"<th>{html.escape(str(h))}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in row) + "</tr>"
                   for row in rows)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"


def curve(curves: dict[str, np.ndarray], title: str) -> str:
    """Each curve (values per iteration) as an SVG polyline; a log scale when every value is
    positive and they span more than a factor of 20. Non-finite values are left out."""
    finite = [np.asarray(v, dtype=float) for v in curves.values()]
    seen = np.concatenate([v[np.isfinite(v)] for v in finite]) if finite else np.array([])
    if seen.size == 0:
        return ""
    log = bool(seen.min() > 0 and seen.max() / seen.min() > 20)
    scale = np.log10 if log else (lambda a: a)
    low, high = float(scale(seen.min())), float(scale(seen.max()))
    high = high if high > low else low + 1
    steps = max(max(len(v) for v in finite) - 1, 1)
    inner_w, inner_h = _WIDTH - 2 * _PAD, _HEIGHT - 2 * _PAD
    lines = []
    for (name, _), values, colour in zip(curves.items(), finite, _COLOURS * 4, strict=False):
        k = np.flatnonzero(np.isfinite(values) & ((values > 0) if log else True))
        x = _PAD + inner_w * k / steps
        y = _HEIGHT - _PAD - inner_h * (scale(values[k]) - low) / (high - low)
        points = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(x, y, strict=True))
        lines.append(f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" '
                     f'points="{points}"><title>{html.escape(name)}</title></polyline>')

    def label(v: float) -> str:
        return f"{10 ** v:.3g}" if log else f"{v:.3g}"

    axis = (f'<line x1="{_PAD}" y1="{_HEIGHT - _PAD}" x2="{_WIDTH - _PAD}" '
            f'y2="{_HEIGHT - _PAD}" stroke="#888"/>'
            f'<line x1="{_PAD}" y1="{_PAD}" x2="{_PAD}" y2="{_HEIGHT - _PAD}" stroke="#888"/>'
            f'<text x="{_PAD - 4}" y="{_PAD + 4}" text-anchor="end" font-size="10">'
            f'{label(high)}</text>'
            f'<text x="{_PAD - 4}" y="{_HEIGHT - _PAD}" text-anchor="end" font-size="10">'
            f'{label(low)}</text>'
            f'<text x="{_PAD}" y="{_HEIGHT - _PAD + 14}" font-size="10">0</text>'
            f'<text x="{_WIDTH - _PAD}" y="{_HEIGHT - _PAD + 14}" text-anchor="end" '
            f'font-size="10">{steps}</text>'
            f'<text x="{_WIDTH / 2}" y="{_HEIGHT - 6}" text-anchor="middle" font-size="10">'
            f'iteration</text>'
            f'<text x="{_WIDTH / 2}" y="16" text-anchor="middle" font-size="12">'
            f'{html.escape(title)}{" (log scale)" if log else ""}</text>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{_WIDTH}" height="{_HEIGHT}" '
            f'viewBox="0 0 {_WIDTH} {_HEIGHT}">{axis}{"".join(lines)}</svg>')


def _number(value: float) -> str:
    return f"{value:.6g}" if math.isfinite(value) else str(value)


def training_html(run: Training) -> str:
    """A run: what it is, where each curve starts and ends, and the curves drawn."""
    rows: list[list[object]] = [["net", run.net], ["iterations", run.run.iterations],
                                ["η", f"{run.run.eta:g}"]]
    for name, values in run.costs.items():
        rows.append([name, f"{_number(values[0])} → {_number(values[-1])}"])
    if run.accuracy is not None:
        rows.append(["accuracy", f"{run.accuracy[0]:.1%} → {run.accuracy[-1]:.1%}"])
    rows.append(["blocks an iteration", len(run.trace.iterations[0])])
    costs = {k: np.asarray(v, dtype=float) for k, v in run.costs.items()}
    return (f"<div><strong>Training</strong>{table(['', ''], rows)}"
            f"{curve(costs, ', '.join(costs))}</div>")


def report_html(report: Report) -> str:
    """A verify report: the verdict, then each block's comparison per engine."""
    verdict = ("✓ every cell agrees with NumPy within 1e-9" if report.ok
               else f"✗ {len(report.findings)} findings; roots: {', '.join(report.roots[:5])}")
    columns = report.table()
    rows = [[columns["block"][i], columns["engine"][i], f"{columns['cells'][i]:,}",
             f"{columns['max_err'][i]:.1e}", "✓" if not columns["bad"][i] else
             f"✗ {columns['bad'][i]}"] for i in range(len(columns["block"]))]
    findings = "".join(f"<li>{html.escape(f)}</li>" for f in report.findings)
    return (f"<div><strong>verify {html.escape(report.path.name)}</strong> · net "
            f"{html.escape(report.preset)}: {html.escape(verdict)}"
            f"{f'<ul>{findings}</ul>' if findings else ''}"
            f"{table(['block', 'engine', 'cells', 'max error', ''], rows)}</div>")


class Bar:
    """A one-line progress bar for a notebook or a terminal without rich's live display:
    ``bar(k)`` after iteration k of ``total``, redrawn in place (a carriage return) at most
    ten times a second, and ended with a line break at the last."""

    def __init__(self, total: int, what: str = "iterations", out=None) -> None:
        import sys
        import time

        self.total, self.what = max(total, 1), what
        self.out = out if out is not None else sys.stdout
        self.clock = time.perf_counter
        self.started = self.shown = self.clock()

    def __call__(self, k: int) -> None:
        now, done = self.clock(), min(k + 1, self.total)
        if done < self.total and now - self.shown < 0.1:
            return
        self.shown = now
        filled = round(30 * done / self.total)
        self.out.write(f"\r[{'█' * filled}{'·' * (30 - filled)}] {done:,}/{self.total:,}"
                       f" {self.what} · {now - self.started:.1f} s")
        if done >= self.total:
            self.out.write("\n")
        self.out.flush()


def in_notebook() -> bool:
    """Whether this runs in a Jupyter kernel (where a run shows its progress by default)."""
    import sys

    shell = sys.modules.get("IPython")
    get = getattr(shell, "get_ipython", None)
    return get is not None and type(get()).__name__ == "ZMQInteractiveShell"
