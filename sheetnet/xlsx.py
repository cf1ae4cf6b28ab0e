"""Render a ``WorkbookSpec`` with openpyxl in write-only mode, one sheet in memory at a time.

The file is written to a temporary name beside the target and renamed into place, so an
interrupted export never leaves a half-written or clobbered workbook.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from copy import copy
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, LineChart, Reference, ScatterChart
from openpyxl.chart import Series as ChartSeries
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.worksheet import Worksheet

from sheetnet.errors import SheetnetError
from sheetnet.layout import (
    COL,
    BarChartSpec,
    ScatterChartSpec,
    SheetSpec,
    Styled,
    Text,
    WorkbookSpec,
)

_thin = Side(style="thin", color="B08D1A")
STYLES = {
    "title": dict(font=Font(bold=True, size=13, color="1F3B73")),
    "note": dict(font=Font(italic=True, color="555555")),
    "header": dict(font=Font(bold=True, color="FFFFFF"),
                   fill=PatternFill("solid", fgColor="1F3B73"),
                   alignment=Alignment(horizontal="center")),
    "section": dict(font=Font(bold=True, color="1F3B73", size=11)),
    "label": dict(font=Font(bold=True)),
    "element": dict(font=Font(color="444444")),
    "input": dict(fill=PatternFill("solid", fgColor="FFF2B3"),
                  border=Border(left=_thin, right=_thin, top=_thin, bottom=_thin),
                  number_format="General"),
    "info": dict(font=Font(color="666666"), fill=PatternFill("solid", fgColor="EEEEEE")),
    "value": dict(number_format="0.000000", fill=PatternFill("solid", fgColor="EAF1FB")),
    "total": dict(number_format="0.000000", font=Font(bold=True),
                  fill=PatternFill("solid", fgColor="E3F4E8")),
}


TEXT_STYLES = {"title", "note", "header", "section", "label", "element"}  # always text


class _Styler:
    """Makes write-only cells; each style's StyleArray is built once and copied."""

    def __init__(self, ws: Worksheet):
        self.ws = ws
        self.protos: dict[str, object] = {}

    def cell(self, value: object, style: str | None) -> WriteOnlyCell:
        c = WriteOnlyCell(self.ws, value)
        if isinstance(value, Text) or (style in TEXT_STYLES and isinstance(value, str)):
            c.data_type = "s"  # never a formula, whatever it starts with
        if style:
            proto = self.protos.get(style)
            if proto is None:
                p = WriteOnlyCell(self.ws, 0)
                for attr, v in STYLES[style].items():
                    setattr(p, attr, v)
                proto = self.protos[style] = p._style
            c._style = copy(proto)
        return c


def _write_sheet(wb: Workbook, spec: SheetSpec) -> int:
    """Write one sheet; returns the number of formula cells."""
    ws = wb.create_sheet(spec.name)
    for col, width in spec.widths.items():
        ws.column_dimensions[COL[col]].width = width
    if spec.freeze:
        ws.freeze_panes = spec.freeze
    if spec.tab_color:
        ws.sheet_properties.tabColor = spec.tab_color
    styler = _Styler(ws)
    grid = spec.build()
    formulas = 0
    for r in range(1, max(grid, default=0) + 1):
        cells = grid.get(r)
        if not cells:
            ws.append([])
            continue
        out: list[object] = [None] * max(cells)
        for c, v in cells.items():
            kind = type(v)  # exact type checks: this loop runs once per cell
            if kind is str:
                if v[:1] == "=":
                    formulas += 1
            elif kind is Styled:
                v = styler.cell(v.value, v.style)
                if v.data_type == "f":
                    formulas += 1
            elif kind is Text:
                v = styler.cell(v, None)
            out[c - 1] = v
        ws.append(out)
    for scale in spec.color_scales:
        if scale.mid is None:
            rule = ColorScaleRule(start_type="num", start_value=0, start_color=scale.low,
                                  end_type="max", end_color=scale.high)
        else:
            mid_type, mid_value = (("percentile", 50) if scale.mid_value is None
                                   else ("num", scale.mid_value))
            rule = ColorScaleRule(start_type="min", start_color=scale.low, mid_type=mid_type,
                                  mid_value=mid_value, mid_color=scale.mid, end_type="max",
                                  end_color=scale.high)
        ws.conditional_formatting.add(scale.ranges, rule)
    if spec.chart:
        _add_chart(ws, spec)
    for scatter in spec.scatters:
        _add_scatter(ws, scatter)
    for bar in spec.bars:
        _add_bar(ws, bar)
    return formulas


def _add_chart(ws: Worksheet, spec: SheetSpec) -> None:
    cs = spec.chart
    assert cs is not None
    chart = LineChart()
    chart.title = cs.title
    chart.y_axis.title = cs.y_title
    chart.x_axis.title = cs.x_title
    chart.height, chart.width = 9, 16
    c0, r0, c1, r1 = _bounds(cs.data)
    chart.add_data(Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1),
                   titles_from_data=True)
    c0, r0, c1, r1 = _bounds(cs.categories)
    chart.set_categories(Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1))
    chart.legend = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    ws.add_chart(chart, cs.anchor)


def _add_scatter(ws: Worksheet, cs: ScatterChartSpec) -> None:
    chart = ScatterChart()
    chart.title = cs.title
    chart.x_axis.title = cs.x_title
    chart.y_axis.title = cs.y_title
    chart.height, chart.width = 9, 16
    chart.style = 13
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    for spec in cs.series:
        c0, r0, c1, r1 = _bounds(spec.x)
        xs = Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1)
        c0, r0, c1, r1 = _bounds(spec.y)
        ys = Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1)
        series = ChartSeries(ys, xs, title=spec.title)
        series.marker.symbol = "circle" if spec.markers or not spec.line else "none"
        series.marker.size = 5
        if not spec.line:
            series.graphicalProperties.line.noFill = True
        series.smooth = False
        chart.series.append(series)
    ws.add_chart(chart, cs.anchor)


def _add_bar(ws: Worksheet, cs: BarChartSpec) -> None:
    chart = BarChart()
    chart.type = "bar"  # horizontal bars: the category labels stay readable
    chart.title = cs.title
    chart.y_axis.title = cs.y_title
    chart.y_axis.number_format = "General"
    chart.y_axis.majorGridlines = None
    chart.height, chart.width = 9, 18
    chart.legend = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    c0, r0, c1, r1 = _bounds(cs.data)
    chart.add_data(Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1),
                   titles_from_data=True)
    c0, r0, c1, r1 = _bounds(cs.categories)
    chart.set_categories(Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1))
    ws.add_chart(chart, cs.anchor)


def _bounds(ref: str) -> tuple[int, int, int, int]:
    from openpyxl.utils.cell import range_boundaries

    return range_boundaries(ref)


def public_mode() -> int:
    """The mode a newly created file gets under the current umask (rw for all, minus umask)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def write(spec: WorkbookSpec, out: Path, progress: Callable[[str], None] | None = None) -> int:
    """Write the workbook atomically to ``out``; returns the number of formula cells."""
    out = Path(out)
    wb = Workbook(write_only=True)
    total = 0
    for sheet in spec.sheets:
        total += _write_sheet(wb, sheet)
        if progress:
            progress(sheet.name)
    for name, ref in spec.names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent or ".")
    os.close(fd)
    try:
        wb.save(tmp)
        os.chmod(tmp, public_mode())  # mkstemp's 0600 would survive the rename
        os.replace(tmp, out)
    except OSError as e:
        Path(tmp).unlink(missing_ok=True)
        raise SheetnetError(f"could not write {out}: {e.strerror or e}; check the folder and"
                            " free space") from None
    except BaseException:  # e.g. Ctrl-C: never leave a half-written file behind
        Path(tmp).unlink(missing_ok=True)
        raise
    return total
