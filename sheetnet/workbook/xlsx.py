"""Render a ``WorkbookSpec`` as an .xlsx file, one sheet in memory at a time.

openpyxl builds the workbook's shell: styles, column widths, frozen panes, colour scales,
charts and defined names, with every sheet empty. The cells themselves are written here, as
XML streamed straight into the archive: formulas that repeat along a row as shared formulas
(``<f t="shared">``, as a spreadsheet's fill-right stores them), which makes the file smaller
and quicker for every engine to load. The file is written to a temporary name beside the
target and put into place at the end, so an interrupted export never leaves a half-written or
clobbered workbook.
"""

from __future__ import annotations

import math
import re
import zipfile
from collections.abc import Callable
from io import BytesIO
from pathlib import Path

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.chart import BarChart, Reference, ScatterChart
from openpyxl.chart import Series as ChartSeries
from openpyxl.chart.label import DataLabelList
from openpyxl.chart.shapes import GraphicalProperties
from openpyxl.formatting.rule import ColorScaleRule
from openpyxl.packaging.custom import StringProperty
from openpyxl.styles import Alignment, Border, Font, PatternFill, Side
from openpyxl.workbook.defined_name import DefinedName
from openpyxl.worksheet.pagebreak import Break
from openpyxl.worksheet.worksheet import Worksheet

from sheetnet.core.trace import Trace
from sheetnet.errors import SheetnetError
from sheetnet.files import write_atomically
from sheetnet.workbook import view
from sheetnet.workbook.layout import (
    COL,
    BarChartSpec,
    Cached,
    ColorScale,
    Grid,
    Place,
    ScatterChartSpec,
    Shared,
    SheetSpec,
    Styled,
    Text,
    WorkbookSpec,
    a1,
    block_formats,
    stored_values,
)
from sheetnet.workbook.ooxml import sheet_parts

_thin = Side(style="thin", color="B08D1A")
WEIGHT_FORMAT = '[=0]"·";[<0.005]"<.01";0.00'
STYLES = {
    "title": dict(font=Font(bold=True, size=13, color="1F3B73")),
    "note": dict(font=Font(italic=True, color="555555")),
    "guide": dict(font=Font(size=11)),
    "link": dict(font=Font(color="1F5FBF", underline="single")),
    "header": dict(font=Font(bold=True, color="FFFFFF"),
                   fill=PatternFill("solid", fgColor="1F3B73"),
                   alignment=Alignment(horizontal="center")),
    "section": dict(font=Font(bold=True, color="1F3B73", size=11)),
    "label": dict(font=Font(bold=True)),
    "element": dict(font=Font(color="444444")),
    "pointer": dict(font=Font(color="444444"), alignment=Alignment(horizontal="right")),
    "area": dict(font=Font(italic=True, bold=True, color="7A4B00")),  # what an area holds
    "input": dict(fill=PatternFill("solid", fgColor="FFF2B3"),
                  border=Border(left=_thin, right=_thin, top=_thin, bottom=_thin),
                  number_format="General"),
    "info": dict(font=Font(color="666666"), fill=PatternFill("solid", fgColor="EEEEEE")),
    "value": dict(number_format="0.000000", fill=PatternFill("solid", fgColor="EAF1FB")),
    # a frozen parameter's value (--freeze): the last sheet's, never updated
    "frozen": dict(number_format="0.000000", font=Font(italic=True, color="4A3B73"),
                   fill=PatternFill("solid", fgColor="E9E3F5")),  # lavender: not layout grey
    # a per-image cell: 4 decimals (2 from 10 on, so it fits its column), click for all; every
    # negative in the second section, whose minus is written out (LibreOffice shows none for a
    # negative in the third)
    "number": dict(number_format="[>=10]0.00;[<0]-0.0000;0.0000"),
    "fixed": dict(number_format="0.000000"),
    "count": dict(number_format="0", fill=PatternFill("solid", fgColor="EAF1FB")),
    "sci": dict(number_format="0.000E+00"),
    # a weight in 0…1 of a heat map (attention's α): two decimals, a masked (exact) 0 as a
    # dot, and no weight shown as 0 that is not: under 0.005 it reads <.01
    "weight": dict(number_format=WEIGHT_FORMAT),
    "percent": dict(number_format="0.0%", font=Font(bold=True),
                    fill=PatternFill("solid", fgColor="E3F4E8")),
    "error": dict(number_format="0.0E+00", font=Font(bold=True),
                  fill=PatternFill("solid", fgColor="E3F4E8")),  # relative errors: 1e-13 ≠ 1e-3
    "total": dict(number_format="0.000000", font=Font(bold=True),
                  fill=PatternFill("solid", fgColor="E3F4E8")),
}


# styles whose numbers take their block's own format (``view``): "number|f3", "total|e2" …
FORMATTED = ("number", "value", "frozen", "fixed", "sci", "total")


def _all_styles() -> dict[str, dict[str, object]]:
    out = dict(STYLES)
    for base in FORMATTED:
        for key, fmt in view.FORMATS.items():
            out[f"{base}|{key}"] = {**STYLES[base], "number_format": fmt}
    return out


# always text, whatever it starts with
TEXT_STYLES = {"title", "note", "header", "section", "label", "element", "pointer", "guide",
               "area"}
SERIES_COLORS = ("1F3B73", "C0392B", "27AE60", "E67E22", "8E44AD", "2F6DB5")


# --- the shell: everything but the cells, by openpyxl ---------------------------------------


def _shell(spec: WorkbookSpec, trace: Trace | None = None,
           stamp: tuple[str, str] | None = None) -> tuple[bytes, dict[str, int]]:
    """The workbook with empty sheets, and the style id of each of ``STYLES`` (``trace``
    decides the scale of a cost chart; ``stamp``: a custom document property, name and text)."""
    wb = Workbook()
    wb.remove(wb.active)
    if stamp is not None:
        wb.custom_doc_props.append(StringProperty(name=stamp[0], value=stamp[1]))
    for sheet in spec.sheets:
        ws = wb.create_sheet(sheet.name)
        for col, width in sheet.widths.items():
            ws.column_dimensions[COL[col]].width = width
        if sheet.freeze:
            ws.freeze_panes = sheet.freeze
        if sheet.tab_color:
            ws.sheet_properties.tabColor = sheet.tab_color
        _page_setup(ws, sheet)
        for scale in sheet.color_scales:
            rule = _color_rule(scale, trace)
            if rule is not None:
                ws.conditional_formatting.add(scale.ranges, rule)
        if sheet.chart:
            _add_chart(ws, sheet, trace, _chart_values(spec, sheet, trace))
        for scatter in sheet.scatters:
            _add_scatter(ws, scatter)
        for bar in sheet.bars:
            _add_bar(ws, bar)
    for name, ref in spec.names.items():
        wb.defined_names[name] = DefinedName(name, attr_text=ref)
    styles = {}
    for name, attrs in _all_styles().items():  # registered in the workbook's style table
        cell = WriteOnlyCell(wb.worksheets[0])
        for attr, value in attrs.items():
            setattr(cell, attr, value)
        styles[name] = cell.style_id
    out = BytesIO()
    wb.save(out)
    return out.getvalue(), styles


def _page_setup(ws: Worksheet, sheet: SheetSpec) -> None:
    """Landscape; labels repeated on every page; narrow sheets one page wide; a footer naming
    the sheet and the page."""
    ws.page_setup.orientation = "landscape"
    ws.page_setup.paperSize = ws.PAPERSIZE_A4
    ws.oddFooter.center.text = "&A · page &P of &N"  # which sheet a loose page is
    if sheet.print_rows:
        ws.print_title_rows = sheet.print_rows
    if sheet.print_cols:
        ws.print_title_cols = sheet.print_cols
    if sheet.print_scale:
        ws.page_setup.scale = sheet.print_scale
    for col in sheet.col_breaks:
        ws.col_breaks.append(Break(id=col))
    wide, tall = view.fit_to_page(sheet.widths, sheet.max_col, sheet.max_row)
    if sheet.fit_width or wide:
        ws.sheet_properties.pageSetUpPr.fitToPage = True
        ws.page_setup.fitToWidth = 1
        ws.page_setup.fitToHeight = 1 if tall else 0  # else as many pages tall as it needs


def _color_rule(scale: ColorScale, trace: Trace | None) -> ColorScaleRule | None:
    """The scale's rule: ends from the run's numbers when it names its place (none where they
    are all equal), else its own colours."""
    place = scale.place
    if place is not None and trace is not None and (
            place.source or place.name) in trace.iterations[0]:
        grid = place.expected(trace)
        if scale.rows is not None:
            grid = grid[:, scale.rows[0]:scale.rows[1], :]
        ends = view.scale_ends(grid)
        if ends is None:
            return None
        if len(ends) == 2:
            (v0, c0), (v1, c1) = ends
            return ColorScaleRule(start_type="num", start_value=v0, start_color=c0,
                                  end_type="num", end_value=v1, end_color=c1)
        (v0, c0), (vm, cm), (v1, c1) = ends
        return ColorScaleRule(start_type="num", start_value=v0, start_color=c0,
                              mid_type="num", mid_value=vm, mid_color=cm,
                              end_type="num", end_value=v1, end_color=c1)
    if scale.ends is not None and scale.mid is not None and scale.mid_value is not None:
        return ColorScaleRule(start_type="num", start_value=scale.ends[0], start_color=scale.low,
                              mid_type="num", mid_value=scale.mid_value, mid_color=scale.mid,
                              end_type="num", end_value=scale.ends[1], end_color=scale.high)
    if scale.mid is None:
        return ColorScaleRule(start_type="num", start_value=0, start_color=scale.low,
                              end_type="max", end_color=scale.high)
    mid_type, mid_value = (("percentile", 50) if scale.mid_value is None
                           else ("num", scale.mid_value))
    return ColorScaleRule(start_type="min", start_color=scale.low, mid_type=mid_type,
                          mid_value=mid_value, mid_color=scale.mid, end_type="max",
                          end_color=scale.high)


# --- the cells, as XML -------------------------------------------------------------------------

_ESCAPE = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;"})
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")  # not allowed in XML 1.0


def _text_xml(ref: str, text: str, s: str) -> str:
    if _ILLEGAL.search(text):
        raise SheetnetError(f"cell {ref} would hold a control character ({text[:20]!r}), which"
                            " a workbook cannot store; remove it from the input")
    space = ' xml:space="preserve"' if text[:1].isspace() or text[-1:].isspace() else ""
    return f'<c r="{ref}"{s} t="inlineStr"><is><t{space}>{text.translate(_ESCAPE)}</t></is></c>'


def _stored(value: float | str | None) -> str:
    """A formula cell's stored value: the number NumPy computed (shortest repr that reads back
    exactly), or empty where none is known (the engine computes it on load)."""
    return (repr(value) if isinstance(value, (int, float)) and math.isfinite(value)
            else "")


def _text_valued(xml: str, value: str) -> str:
    """A formula cell's XML (its <v> empty) storing the text it computes (a character)."""
    head, _, tail = xml.partition("><f")
    return (f'{head} t="str"><f' + tail).replace("<v></v>",
                                                 f"<v>{value.translate(_ESCAPE)}</v>")


def _cell_xml(ref: str, v: object, s: str = "", value: float | str | None = None
              ) -> tuple[str, bool]:
    """One cell's XML (``s``: its style attribute; ``value``: a formula's stored value) and
    whether it holds a formula."""
    if type(value) is str:  # a formula computing text: its characters stored beside it
        xml, formula = _cell_xml(ref, v, s)
        return (_text_valued(xml, value) if formula else xml), formula
    # exact type checks first (this runs once per cell), each narrowing v for the checker
    if type(v) is str:
        if v[:1] == "=":
            return (f'<c r="{ref}"{s}><f>{v[1:].translate(_ESCAPE)}</f>'
                    f'<v>{_stored(value)}</v></c>', True)
        return _text_xml(ref, v, s), False
    if type(v) is Shared:
        if v.text is None:
            return (f'<c r="{ref}"{s}><f t="shared" si="{v.si}"/>'
                    f'<v>{_stored(value)}</v></c>', True)
        return (f'<c r="{ref}"{s}><f t="shared" ref="{v.ref}" si="{v.si}">'
                f'{v.text[1:].translate(_ESCAPE)}</f><v>{_stored(value)}</v></c>', True)
    if type(v) is Cached:
        known = v.value
        if isinstance(known, str):
            return (f'<c r="{ref}"{s} t="str"><f>{v.formula[1:].translate(_ESCAPE)}</f>'
                    f'<v>{known.translate(_ESCAPE)}</v></c>', True)
        return _cell_xml(ref, v.formula, s, known)
    if type(v) is float or type(v) is int:
        return f'<c r="{ref}"{s} t="n"><v>{v!r}</v></c>', False
    if type(v) is Text:
        return _text_xml(ref, str(v), s), False
    if isinstance(v, bool):
        return f'<c r="{ref}"{s} t="b"><v>{int(v)}</v></c>', False
    raise TypeError(f"cannot write {v!r} to cell {ref}")


def _sheet_data(grid: Grid, styles: dict[str, int], write: Callable[[str], object],
                values: dict[int, dict[int, float | str]] | None = None,
                formula_style: str | None = None,
                looks: dict[int, dict[int, str]] | None = None) -> int:
    """Write a grid's rows as ``<sheetData>``, each formula with its stored value from
    ``values`` (row -> column -> number) and, when it has no style, ``formula_style``; a
    formula cell of a block takes its block's number format from ``looks`` (row -> column ->
    ``view.FORMATS`` key). Returns the number of formula cells."""
    formulas = 0
    plain = f' s="{styles[formula_style]}"' if formula_style else ""
    values = values or {}
    looks = looks or {}
    write("<sheetData>")
    for r in sorted(grid):
        cells = grid[r]
        if not cells:
            continue
        known = values.get(r, _NONE)
        look = looks.get(r, _NO_LOOK)
        parts = [f'<row r="{r}">']
        row = str(r)
        for c in sorted(cells):
            v = cells[c]
            if v is None:
                continue
            ref = COL[c] + row
            if type(v) is Styled:
                style = v.style
                value = v.value
                if value is None:
                    parts.append(f'<c r="{ref}" s="{styles[style]}"/>')
                    continue
                if style in TEXT_STYLES and isinstance(value, str):
                    value = Text(value)  # never a formula, whatever it starts with
                elif c in look and style in FORMATTED:
                    style = f"{style}|{look[c]}"
                xml, is_formula = _cell_xml(ref, value, f' s="{styles[style]}"', known.get(c))
            else:
                kind = type(v)
                formula = kind is Shared or (kind is str and v[:1] == "=")  # type: ignore[index]
                attr = plain if formula else ""
                if formula and formula_style and c in look:
                    attr = f' s="{styles[f"{formula_style}|{look[c]}"]}"'
                xml, is_formula = _cell_xml(ref, v, attr, known.get(c))
            parts.append(xml)
            formulas += is_formula
        parts.append("</row>")
        write("".join(parts))
    write("</sheetData>")
    return formulas


_NONE: dict[int, float | str] = {}
_NO_LOOK: dict[int, str] = {}
_SHEET_DATA = re.compile(r"<sheetData\s*/>|<sheetData>\s*</sheetData>")
_DIMENSION = re.compile(r'<dimension ref="[^"]*"\s*/>')


BYTES_PER_CELL = 400  # the most one cell's XML takes: a long formula, its value, a style


def _write_archive(spec: WorkbookSpec, path: str, progress: Callable[[str], None] | None,
                   trace: Trace | None, stamp: tuple[str, str] | None = None) -> int:
    shell, styles = _shell(spec, trace, stamp)
    by_name = {s.name: s for s in spec.sheets}
    places: dict[str, list[Place]] = {}
    for p in spec.places:
        places.setdefault(p.sheet, []).append(p)
    total = 0
    keys = (block_formats(spec.places, trace, {s.name: s.widths for s in spec.sheets})
            if trace is not None else {})
    with zipfile.ZipFile(BytesIO(shell)) as src, \
            zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as dst:
        sheets = {part: name for name, part in sheet_parts(src).items()}
        for item in src.infolist():
            if item.filename not in sheets:
                dst.writestr(item, src.read(item.filename))
                continue
            sheet = by_name[sheets[item.filename]]
            head, tail = _SHEET_DATA.split(src.read(item.filename).decode("utf-8"), maxsplit=1)
            head = _DIMENSION.sub(f'<dimension ref="A1:{a1(sheet.max_row, sheet.max_col)}"/>',
                                  head, count=1)
            # ZIP64 headers only where a part could pass 2 GiB: Excel for the web rejects a
            # package whose local headers say ZIP64 where its central directory does not
            big = sheet.max_row * sheet.max_col * BYTES_PER_CELL >= zipfile.ZIP64_LIMIT
            with dst.open(item.filename, "w", force_zip64=big) as raw:
                def write(text: str) -> None:
                    raw.write(text.encode("utf-8"))
                write(head)
                values, looks = (stored_values(places.get(sheet.name, ()), trace, sheet.widths,
                                               keys)
                                 if trace is not None else (None, None))  # one sheet's at a time
                total += _sheet_data(sheet.build(), styles, write, values,
                                     sheet.formula_style, looks)
                write(tail)
            if progress:
                progress(sheet.name)
    return total


def _falls_far(trace: Trace | None) -> bool:
    """Whether the run's cost falls more than 100 times, staying positive: on a linear axis
    its later iterations would lie flat (XOR: 8.30 → 0.24 in four iterations)."""
    if trace is None:
        return False
    cost = trace.cost
    return bool(cost.min() > 0 and cost[0] > 100 * cost.min())


def _chart_values(spec: WorkbookSpec, sheet: SheetSpec, trace: Trace | None
                  ) -> dict[int, dict[int, float | str]]:
    """The numbers NumPy computed for the cells of a sheet with a chart (row -> column ->
    number): what its axes are fitted to."""
    if trace is None:
        return {}
    return stored_values([p for p in spec.places if p.sheet == sheet.name], trace)[0]


def _series_numbers(ref: str, values: dict[int, dict[int, float | str]]) -> list[float]:
    c0, r0, c1, r1 = _bounds(ref)
    found = (values.get(r, _NONE).get(c) for r in range(r0, r1 + 1) for c in range(c0, c1 + 1))
    return [v for v in found if isinstance(v, (int, float))]


def _add_chart(ws: Worksheet, spec: SheetSpec, trace: Trace | None,
               values: dict[int, dict[int, float | str]]) -> None:
    cs = spec.chart
    assert cs is not None
    # a scatter chart with lines: its x axis is a value axis, so the engines space its labels
    # themselves (a line chart's category labels run together over 300 iterations)
    chart = _scatter()
    chart.title = cs.title
    chart.y_axis.title = cs.y_title
    chart.x_axis.title = cs.x_title
    chart.height, chart.width = 9, 16
    c0, r0, c1, r1 = _bounds(cs.categories)
    xs = Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1)
    x_range = (cs.first, cs.first + r1 - r0)  # the categories' first and last values
    for j, (title, data) in enumerate(((cs.name or cs.y_title, cs.data), *cs.more)):
        c0, r0, c1, r1 = _bounds(data)
        ys = Reference(ws, min_col=c0, min_row=r0 + 1, max_col=c1, max_row=r1)  # below header
        series = ChartSeries(ys, xs, title=title)
        series.marker.symbol = "none"
        series.graphicalProperties.line.solidFill = SERIES_COLORS[j % len(SERIES_COLORS)]
        series.graphicalProperties.line.width = 19050
        series.smooth = False  # a smoothed line dips below the data between points
        chart.series.append(series)
    if not cs.more:
        chart.legend = None
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    numbers = [v for _, data in ((None, cs.data), *cs.more)
               for v in _series_numbers(data, values)]
    if (view.needs_log(numbers, view.RATIO_SPAN if cs.log else view.SPAN)
            or not values and cs.log_if_falls and _falls_far(trace)):
        chart.y_axis.scaling.logBase = 10
        chart.y_axis.title = f"{cs.y_title} (log scale)"
    points = x_range[1] - x_range[0] + 1
    if points <= view.FEW_POINTS:
        for series in chart.series:
            series.marker.symbol = "circle"
            series.marker.size = 5
    chart.x_axis.scaling.min, chart.x_axis.scaling.max = x_range
    chart.x_axis.majorUnit = view.tick_step(points - 1)  # whole iterations, about ten ticks
    for axis in (chart.x_axis, chart.y_axis):
        axis.tickLblPos = "low"
        axis.number_format = "General"  # not the cells' 6 decimals
        axis.numFmt.sourceLinked = False
    ws.add_chart(chart, cs.anchor)


def _scatter() -> ScatterChart:
    """A scatter chart with its required <c:scatterStyle> (openpyxl leaves it out, and Excel
    reads a chart without it as damaged)."""
    chart = ScatterChart()
    chart.scatterStyle = "lineMarker"
    return chart


def _add_scatter(ws: Worksheet, cs: ScatterChartSpec) -> None:
    chart = _scatter()
    chart.title = cs.title
    chart.x_axis.title = cs.x_title
    chart.y_axis.title = cs.y_title
    chart.height, chart.width = (11, 11) if cs.square else (9, 16)
    chart.x_axis.delete = False
    chart.y_axis.delete = False
    for axis in (chart.x_axis, chart.y_axis):  # labels at the edge, not along a zero line inside
        axis.tickLblPos = "low"
    for j, spec in enumerate(cs.series):
        c0, r0, c1, r1 = _bounds(spec.x)
        xs = Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1)
        c0, r0, c1, r1 = _bounds(spec.y)
        ys = Reference(ws, min_col=c0, min_row=r0, max_col=c1, max_row=r1)
        series = ChartSeries(ys, xs, title=spec.title)
        color = spec.color or SERIES_COLORS[j % len(SERIES_COLORS)]  # one clear colour each
        series.marker.symbol = "circle" if spec.markers or not spec.line else "none"
        series.marker.size = 5
        series.marker.graphicalProperties = GraphicalProperties(solidFill=color)
        series.marker.graphicalProperties.line.solidFill = color
        if spec.line:
            series.graphicalProperties.line.solidFill = color
            series.graphicalProperties.line.width = 19050  # 1.5 pt
        else:
            series.graphicalProperties.line.noFill = True
        series.smooth = False
        chart.series.append(series)
    chart.legend.position = "b"
    for axis, bounds in ((chart.x_axis, cs.x_range), (chart.y_axis, cs.y_range)):
        axis.number_format = "General"
        axis.numFmt.sourceLinked = False
        if bounds is not None:
            axis.scaling.min, axis.scaling.max = bounds
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
    if cs.labels:  # the value only (LibreOffice shows what is not switched off)
        chart.dataLabels = DataLabelList(showVal=True, showCatName=False, showSerName=False,
                                         showLegendKey=False, showPercent=False,
                                         numFmt="General")
    ws.add_chart(chart, cs.anchor)


def _bounds(ref: str) -> tuple[int, int, int, int]:
    from openpyxl.utils.cell import range_boundaries

    return range_boundaries(ref)


def write(spec: WorkbookSpec, out: Path, progress: Callable[[str], None] | None = None,
          force: bool = False, trace: Trace | None = None,
          stamp: tuple[str, str] | None = None) -> int:
    """Write the workbook to ``out`` (see ``files.write_atomically``); the formula cells.

    ``trace``: the run as NumPy computed it (every block); each formula cell stores its number,
    so a reader that does not recalculate (pandas, a file preview, Protected View) shows it.
    ``stamp``: (name, text) of a custom document property (what the export remembers of its
    run, ``core.stamp``).
    """
    return write_atomically(Path(out),
                            lambda tmp: _write_archive(spec, tmp, progress, trace, stamp), force)
