"""Rich renderings of traces and verify reports for the terminal."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from rich import box
from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from sheetnet import notation as names
from sheetnet.audit.explain import Explanation, Read, plugged_value, show_value
from sheetnet.audit.verify import Report
from sheetnet.core import statistics
from sheetnet.core.data import is_number
from sheetnet.core.health import number
from sheetnet.core.net import Net
from sheetnet.core.trace import Trace
from sheetnet.layers.base import Block, Layer
from sheetnet.pairs.optim import UpdateRule

_SHADES = " ░▒▓█"


def picture(pixels: np.ndarray, title: str = "", lo: float | None = None,
            hi: float | None = None) -> Text:
    """A small 2-D array as shaded blocks (two characters a pixel), scaled to lo..hi (default:
    its own range)."""
    if np.size(pixels) == 1 and lo is None:  # a 1×1 map: no range to shade on, so its number
        return Text("\n".join([title] if title else []) + f"{float(np.ravel(pixels)[0]):.2f}")
    lo = float(np.min(pixels)) if lo is None else lo
    hi = float(np.max(pixels)) if hi is None else hi
    span = hi - lo or 1.0
    lines = [title] if title else []
    for row in np.asarray(pixels):
        idx = np.clip(((row - lo) / span * (len(_SHADES) - 1)).round().astype(int), 0, 4)
        lines.append("".join(_SHADES[i] * 2 for i in idx))
    return Text("\n".join(lines))


# what train shows beside the cost when a run has it: (block, heading, format)
EXTRA_COLUMNS = (("C_batch", "batch C", number), ("eta_k", "ηₖ", "{:.6g}".format),
                 ("validation_cost", "validation C/image", number),
                 ("validation_accuracy", "validation accuracy", "{:.1%}".format))


def cost_table(trace: Trace, every: int = 1, first: int = 0) -> Table:
    """The cost per iteration (every ``every``-th and the last), with accuracy, and the
    batch's cost and ηₖ when the run has them; ``first``: the run's number of iteration 0 (a
    run going on from a checkpoint)."""
    table = Table(title="Training run", show_lines=False)
    table.add_column("iteration", justify="right")
    for name in (trace.cost_name, *trace.also):
        table.add_column(name, justify="right")
    extras = [(b, h, f) for b, h, f in EXTRA_COLUMNS if b in trace.iterations[0]
              and not (b == "C_batch" and np.array_equal(trace.series(b), trace.cost))]
    for _, heading, _ in extras:
        table.add_column(heading, justify="right")
    if trace.has_accuracy:
        table.add_column("accuracy", justify="right")
    n = len(trace.iterations)
    for k in range(n):
        if k % every and k != n - 1:
            continue
        row = [str(first + k), *(number(float(trace.iterations[k][b]))
                         for b in (trace.cost_name, *trace.also))]
        row += [fmt(float(trace.iterations[k][b])) for b, _, fmt in extras]
        if trace.has_accuracy:
            row.append(f"{trace.accuracy[k]:.1%}")
        table.add_row(*row)
    return table


def confusion_table(confusion: Sequence[Sequence[int]], classes: Sequence[object]) -> Table:
    """How the test images were classified: a row per true class, a column per prediction,
    the right ones on the diagonal."""
    table = Table(title="test images: true class (rows) against predicted (columns)",
                  box=box.SIMPLE_HEAD, padding=(0, 1))
    names = [f"{c:g}" if isinstance(c, float) else str(c) for c in classes]
    table.add_column("", justify="right")
    for name in names:
        table.add_column(name, justify="right")
    for i, row in enumerate(confusion):
        table.add_row(names[i], *(f"[bold]{v}[/]" if i == j else (str(v) if v else "·")
                                  for j, v in enumerate(row)))
    return table


def statistics_tables(net: Net, trace: Trace, rows: int = 20) -> list[Table]:
    """Each weighted layer's outputs a and errors δ over every image and unit, at about
    ``rows`` iterations (the first and the last among them): their standard deviation, then
    their mean."""
    n = len(trace.iterations)
    step = max(1, -(-(n - 1) // (rows - 1))) if n > 1 else 1
    picked = sorted({*range(0, n, step), n - 1})
    symbols = {b.name: b.symbol for b in (*net.forward_blocks(), *net.output.blocks(),
                                          *net.backward_blocks())}
    tables = []
    for kind, title in (("std", "standard deviation"), ("mean", "mean")):
        table = Table(title=f"each layer's outputs a and errors δ: {title} over every image and"
                            " unit", box=box.SIMPLE_HEAD, padding=(0, 1))
        table.add_column("k", justify="right")
        for name in statistics.blocks(net):
            table.add_column(symbols.get(name, name), justify="right")
        for row in statistics.table(net, trace, picked, kind):
            table.add_row(*row)
        tables.append(table)
    return tables


def rule_table(blocks: dict[str, np.ndarray], rule: UpdateRule, params: list[str],
               k: int) -> Table:
    """Each parameter block at iteration k: its value, gradient and the update rule's state,
    as root mean squares (one number per block)."""
    table = Table(title=f"update rule {rule.name} at iteration {k} (root mean square of each"
                        " block)")
    table.add_column("p")
    for heading in ("value", "∂C_T/∂p", *rule.state):
        table.add_column(heading, justify="right")
    for p in params:
        cells = [blocks[p], blocks[names.total_grad(p)],
                 *(blocks.get(names.state(kind, p)) for kind in rule.state)]
        table.add_row(p, *("frozen" if c is None else f"{float(np.sqrt(np.mean(np.square(c)))):.4g}"
                           for c in cells))
    return table


def rows_table(title: str, headers: list[str], rows: list[list[str]]) -> Table:
    table = Table(title=title)
    for i, h in enumerate(headers):
        right = all(is_number(row[i]) for row in rows)
        table.add_column(h, justify="right" if right else "left")
    for row in rows:
        table.add_row(*row)
    return table


def vector_table(title: str, columns: dict[str, np.ndarray],
                 classes: Sequence[object] = ()) -> Table:
    """Named vectors side by side, one row per unit (with its class, for an output layer)."""
    table = Table(title=title)
    table.add_column("unit", justify="right")
    if classes:
        table.add_column("class", justify="right")
    for name in columns:
        table.add_column(name, justify="right")
    rows = max(len(v) for v in columns.values())
    for j in range(rows):
        label = ([f"{classes[j]:g}" if isinstance(classes[j], float) else str(classes[j])]
                 if classes else [])
        table.add_row(str(j + 1), *label,
                      *(number(v[j]) if j < len(v) else "" for v in columns.values()))
    return table


def net_view(net: Net, blocks: dict[str, np.ndarray], i: int,
             classes: Sequence[object] = ()) -> list[Table]:
    """Image i's blocks as the layers draw them: the maps, a table per convolution (its
    filters and the maps after it: activation, pooling, its δ) and one for pooling the image
    itself, filter by filter; each dense layer's z, a and δ as numbers; and the output layer
    beside the target."""
    shown = {b.name: b for b in (*net.forward_blocks(), *net.backward_blocks())}
    starts = [0] + [k for k, layer in enumerate(net.layers) if _convolves(layer) and k]
    stops = starts[1:] + [len(net.layers)]
    tables = [table for start, stop in zip(starts, stops, strict=True)
              if (table := _maps_table(net, start, stop, blocks, i, shown)) is not None]
    for k, layer in enumerate(net.layers):
        if not layer.weighted or layer.reads_maps or layer.w.tag == net.output.w.tag:
            continue
        tag = layer.w.tag
        columns = {"z": blocks[layer.w.out][i]}
        for after in net.layers[k + 1:]:  # its activation, dropout …: the blocks of its tag
            if after.weighted or after.w.tag != tag:
                break
            for block in after.blocks():
                if block.shape.flat and block.name in blocks and block.terminal:  # μ: the batch's
                    value = blocks[block.name] if block.batch else blocks[block.name][i]
                    columns[block.symbol.removesuffix(names.tag_sup(tag))] = value
        if names.delta(tag) in shown:
            columns["δ"] = blocks[names.delta(tag)][i]
        tables.append(vector_table(f"layer {tag}", columns))
    out, s = net.output, names.tag_sup(net.output.w.tag)
    columns = {f"z{s}": blocks[out.w.x][i], f"a{s}": blocks[out.a][i], "t": blocks["t"][i],
               f"δ{s}": blocks[out.delta][i]}
    title = (f"layer {out.w.tag}: the output" if names.layer_number(out.w.tag)
             else "output layer")
    tables.append(vector_table(title, columns, classes))
    return tables


def _convolves(layer: Layer) -> bool:
    """A weighted layer on maps: a convolution (its filters and δ get a table of their own)."""
    return layer.weighted and layer.reads_maps


def _maps_table(net: Net, start: int, stop: int, blocks: dict[str, np.ndarray], i: int,
                shown: dict[str, Block]) -> Table | None:
    """Layers start..stop-1's maps (a convolution's first: its filters too, and its δ), a
    row per filter or channel; None when they draw no maps."""
    first = net.layers[start]
    conv = first if _convolves(first) else None
    maps: list[tuple[str, str, bool]] = []  # (block, symbol, shaded on 0..1)
    unit = False  # values a sigmoid made (and their maxima or means) lie in 0..1
    for layer in net.layers[start:stop]:
        if layer.activation:
            unit = layer.unit_interval
        maps += [(b.name, b.symbol, unit and not _convolves(layer)) for b in layer.blocks()
                 if not b.shape.flat and not b.padded and b.terminal]
    if conv is not None and names.delta(conv.w.tag) in shown:
        maps.append((names.delta(conv.w.tag), shown[names.delta(conv.w.tag)].symbol, False))
    per_channel = {name: blocks[name][i] if shown[name].shape.tiled else blocks[name][i][None]
                   for name, _, _ in maps}  # one channel of an image: no channel axis
    if not maps:
        return None
    unit_symbols = [symbol for _, symbol, unit in maps if unit]
    scale = f" ({' and '.join(unit_symbols)} shaded on 0..1)" if unit_symbols else ""
    title = "convolution and pooling" if conv is not None else "pooling"
    table = Table(title=f"{title}{scale}")
    table.add_column("filter" if conv is not None else "channel", justify="center")
    if conv is not None:
        table.add_column(conv.params()[0].symbol, justify="center")
    for _, symbol, _ in maps:
        table.add_column(symbol, justify="center")
    rows = per_channel[maps[0][0]].shape[0]
    for q in range(rows):
        row: list[str | Text] = [str(q + 1)]
        if conv is not None:
            w = blocks[conv.params()[0].name]
            row.append(picture(w[q].reshape(-1, w.shape[-1])))
        for name, _, unit in maps:
            value = per_channel[name][q]
            row.append(picture(value, lo=0, hi=1) if unit else picture(value))
        table.add_row(*row)
    return table


def report_table(report: Report) -> Table:
    """Each block's cells and, per engine, its largest error (and |Δ| when one engine ran)."""
    table = Table(title=f"verify {report.path.name} · net {report.preset}")
    table.add_column("block")
    table.add_column("cells", justify="right")
    ran = [e for e in report.engines if e.failed is None]
    single = len(ran) == 1
    for e in ran:
        if single:
            table.add_column("max |Δ|", justify="right")
        table.add_column("max error" if single else e.title, justify="right")
        table.add_column("", justify="center")
    for name, first in (ran[0].blocks.items() if ran else ()):
        row = [name, f"{first.cells:,}"]
        for e in ran:
            b = e.blocks.get(name)
            if b is None:
                row += [""] * (3 if single else 2)
                continue
            if single:
                row.append(f"{b.max_abs:.1e}")
            row += [f"{b.max_err:.1e}", "[green]✓[/]" if b.bad == 0 else f"[red]✗ {b.bad:,}[/]"]
        table.add_row(*row)
    return table


def edit_lines(report: Report) -> list[str]:
    """What a learner changed since the export, and where the run now ends (nothing when the
    inputs are the export's or the export's stamp is gone)."""
    if not report.changed:
        return []
    ends = "; ".join(f"{name} {number(value)} (the export's: "
                     f"{number(report.exported_costs[name])})" if name in report.exported_costs
                     else f"{name} {number(value)}" for name, value in report.costs.items())
    return [f"inputs changed since the export: {', '.join(report.changed)}; the run now ends"
            f" at {ends}"]


def failure_lines(report: Report, limit: int = 5) -> list[str]:
    """What failed, causes first: the root cells, then how much follows from them; a finding
    that several engines share is printed once, naming them all."""
    found: dict[tuple[str, str], list[str]] = {}
    out = [f"[red]finding[/] {_escape(text)}" for text in report.findings]
    out += [f"[red]engine failed[/] ({e.title}) {_escape(e.failed)}" for e in report.engines
            if e.failed is not None]
    for e in report.engines:
        lines = [("error value", t) for t in e.error_cells[:limit]]
        if e.error_count > limit:
            lines.append(("", f"{e.error_count:,} cells hold error values in all"))
        lines += [("root cause", t) for t in e.roots[:limit]]
        if e.roots:
            more = f"{len(e.roots) - limit} more root cells; " if len(e.roots) > limit else ""
            lines.append(("", f"{more}{e.downstream:,} downstream cells differ because of them"))
        elif e.bad:
            lines += [("differs", t) for t in e.first_differences(limit)]
        if e.examined and e.examined < e.bad:
            lines.append(("", f"(the earliest {e.examined:,} of {e.bad:,} differing cells were"
                              " examined for causes)"))
        for line in lines:
            found.setdefault(line, []).append(e.title)
    for (kind, text), who in found.items():
        names = ", ".join(who)
        out.append(f"[red]{kind}[/] ({names}) {_escape(text)}" if kind
                   else f"  {_escape(text)} ({names})")
    out.append("[bold red]✗ the workbook does not match the NumPy core[/]")
    return out


def _escape(text: str) -> str:
    return text.replace("[", r"\[")


# --- a cell's story (explain) ----------------------------------------------------------------

DIGITS = 6  # the significant digits explain shows (--json gives every number in full)
MOST = 6  # the numbers of a range shown before "…"


def explanation_view(e: Explanation) -> Group:
    """A cell's story: what it is, its formula, the book's formula and its numbers, its value,
    and a tree of the cells it reads (each opened where the explanation went deeper)."""
    head = Text.assemble((e.cell, "bold"), "  ", (e.what, "bold cyan") if e.name.named else
                         ("in no block, and its row has no label", "yellow"))
    lines: list[Text | Tree] = [head]
    if e.description:
        lines.append(Text(e.description, style="dim"))
    value = Text.assemble(("value     ", "dim"), (show_value(e.value, DIGITS), "bold"),
                          (" (as stored in the file)", "dim")) if e.value is not None else \
        Text.assemble(("value     ", "dim"), ("none stored in the file", "yellow"),
                      (" (saved without its values? open and save it in a spreadsheet, or"
                       " export it again)", "dim"))
    if e.formula is None:
        lines += [value, Text("typed in: no formula", style="dim")]
        return Group(*lines)
    lines += _formula_lines(e, "formula   ", "book      ", "numbers   ") + [value]
    if e.reads:
        tree = Tree(Text(f"reads {_cells(e)}", style="dim"), guide_style="dim")
        for read in e.reads:
            _add_read(tree, read)
        lines.append(tree)
    return Group(*lines)


def _cells(e: Explanation) -> str:
    n = len(e.reads)
    return f"{n} reference{'s' * (n != 1)}"


def _formula_lines(e: Explanation, *labels: str) -> list[Text]:
    """The formula as written, in the book's notation, and with its numbers (= its value)."""
    name = f"{e.name.element or e.cell} = " if labels[1] else "= "
    numbers, value = e.plugged_in(DIGITS, MOST), show_value(e.value, DIGITS)
    result = ("", ("")) if numbers.strip("()") == value else (" = ", (value, "bold"))
    return [Text.assemble((labels[0], "dim"), e.formula or ""),
            Text.assemble((labels[1], "dim"), (name, "cyan"), e.book or ""),
            Text.assemble((labels[2], "dim"), (name, "cyan"), numbers, *result)]


def _add_read(tree: Tree, read: Read) -> None:
    value = plugged_value(read.value, DIGITS, MOST) if read.cells > 1 else show_value(
        read.value, DIGITS)
    label = Text.assemble((read.ref, "bold"), "  ", (read.what, "cyan" if read.named else
                                                     "yellow"), " = ", value)
    inner = read.explanation
    if inner is None or inner.formula is None:
        tree.add(label)
        return
    label.append("\n")
    label.append_text(Text("\n").join(_formula_lines(inner, "", "", "")[1:]))
    branch = tree.add(label)
    for child in inner.reads:
        _add_read(branch, child)
