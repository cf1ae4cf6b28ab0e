"""The content models Excel's loader enforces for every element sheetnet's workbooks contain,
and a checker for them.

Source: ECMA-376 Part 1, transitional schemas (sml.xsd, dml-chart.xsd, dml-main.xsd,
dml-spreadsheetDrawing.xsd; read in python-docx's ``ref/xsd`` and in the standard). The
schemas themselves are not shipped: the chart, drawing and shared-type schemas are not in that
collection, and a validator for them would be another dependency. Instead each complex type an
exported workbook uses is transcribed here as its sequence of child elements (name, how often),
which is what a repair is about in practice (an element out of order, missing or unknown), and
the checker adds the attribute facts Excel is strict about (cell types, references in order,
style indices in range, sheet names). An element whose type is not listed is an error, so a new
kind of content must be looked up and added here before its workbook passes.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from xml.etree import ElementTree

UNBOUNDED = 1_000_000


@dataclass(frozen=True)
class Slot:
    """One particle of a sequence: an element (or a choice of elements) and how often."""

    names: tuple[str, ...]
    low: int = 0
    high: int = 1


def one(*names: str) -> Slot:
    return Slot(names, 1, 1)


def opt(*names: str) -> Slot:
    return Slot(names, 0, 1)


def many(*names: str, low: int = 0, high: int = UNBOUNDED) -> Slot:
    return Slot(names, low, high)


ANY = None  # a model that takes any children (xsd:any, or content not checked here)

# --- spreadsheetML (sml.xsd) -------------------------------------------------------------------

SML: dict[str, list[Slot] | None] = {
    # CT_Worksheet
    "worksheet": [
        opt("sheetPr"), opt("dimension"), opt("sheetViews"), opt("sheetFormatPr"), many("cols"),
        one("sheetData"), opt("sheetCalcPr"), opt("sheetProtection"), opt("protectedRanges"),
        opt("scenarios"), opt("autoFilter"), opt("sortState"), opt("dataConsolidate"),
        opt("customSheetViews"), opt("mergeCells"), opt("phoneticPr"),
        many("conditionalFormatting"), opt("dataValidations"), opt("hyperlinks"),
        opt("printOptions"), opt("pageMargins"), opt("pageSetup"), opt("headerFooter"),
        opt("rowBreaks"), opt("colBreaks"), opt("customProperties"), opt("cellWatches"),
        opt("ignoredErrors"), opt("smartTags"), opt("drawing"), opt("legacyDrawing"),
        opt("legacyDrawingHF"), opt("drawingHF"), opt("picture"), opt("oleObjects"),
        opt("controls"), opt("webPublishItems"), opt("tableParts"), opt("extLst")],
    "sheetPr": [opt("tabColor"), opt("outlinePr"), opt("pageSetUpPr")],  # CT_SheetPr
    "tabColor": [], "outlinePr": [], "pageSetUpPr": [], "dimension": [],
    "sheetViews": [many("sheetView", low=1), opt("extLst")],
    "sheetView": [opt("pane"), many("selection", high=4), many("pivotSelection", high=4),
                  opt("extLst")],
    "pane": [], "selection": [], "sheetFormatPr": [],
    "cols": [many("col", low=1)], "col": [],
    "sheetData": [many("row")],
    "row": [many("c"), opt("extLst")],  # CT_Row
    "c": [opt("f"), opt("v"), opt("is"), opt("extLst")],  # CT_Cell
    "f": [], "v": [],
    "is": [opt("t"), many("r"), many("rPh"), opt("phoneticPr")],  # CT_Rst
    "t": [],
    "conditionalFormatting": [many("cfRule", low=1), opt("extLst")],
    "cfRule": [many("formula", high=3), opt("colorScale"), opt("dataBar"), opt("iconSet"),
               opt("extLst")],
    "colorScale": [many("cfvo", low=2), many("color", low=2)],
    "cfvo": [opt("extLst")], "color": [],
    "pageMargins": [], "pageSetup": [],
    "headerFooter": [opt("oddHeader"), opt("oddFooter"), opt("evenHeader"), opt("evenFooter"),
                     opt("firstHeader"), opt("firstFooter")],  # CT_HeaderFooter: strings
    "oddHeader": [], "oddFooter": [], "evenHeader": [], "evenFooter": [], "firstHeader": [],
    "firstFooter": [],
    "colBreaks": [many("brk")], "rowBreaks": [many("brk")], "brk": [],
    "drawing": [],
    # CT_Workbook
    "workbook": [
        opt("fileVersion"), opt("fileSharing"), opt("workbookPr"), opt("workbookProtection"),
        opt("bookViews"), one("sheets"), opt("functionGroups"), opt("externalReferences"),
        opt("definedNames"), opt("calcPr"), opt("oleSize"), opt("customWorkbookViews"),
        opt("pivotCaches"), opt("smartTagPr"), opt("smartTagTypes"), opt("webPublishing"),
        many("fileRecoveryPr"), opt("webPublishObjects"), opt("extLst")],
    "workbookPr": [], "workbookProtection": [], "calcPr": [],
    "bookViews": [many("workbookView", low=1)], "workbookView": [opt("extLst")],
    "sheets": [many("sheet", low=1)], "sheet": [],
    "definedNames": [many("definedName")], "definedName": [],
    # CT_Stylesheet
    "styleSheet": [
        opt("numFmts"), opt("fonts"), opt("fills"), opt("borders"), opt("cellStyleXfs"),
        opt("cellXfs"), opt("cellStyles"), opt("dxfs"), opt("tableStyles"), opt("colors"),
        opt("extLst")],
    "numFmts": [many("numFmt")], "numFmt": [],
    "fonts": [many("font")],
    # CT_Font: a choice, each at most once in practice, in any order
    "font": [many("b", "i", "strike", "condense", "extend", "outline", "shadow", "u",
                  "vertAlign", "sz", "color", "name", "family", "charset", "scheme")],
    "b": [], "i": [], "u": [], "sz": [], "name": [], "family": [], "scheme": [],
    "fills": [many("fill")], "fill": [opt("patternFill", "gradientFill")],
    "patternFill": [opt("fgColor"), opt("bgColor")], "fgColor": [], "bgColor": [],
    "borders": [many("border")],
    "border": [opt("start"), opt("end"), opt("left"), opt("right"), opt("top"), opt("bottom"),
               opt("diagonal"), opt("vertical"), opt("horizontal")],
    "left": [opt("color")], "right": [opt("color")], "top": [opt("color")],
    "bottom": [opt("color")], "diagonal": [opt("color")],
    "cellStyleXfs": [many("xf", low=1)], "cellXfs": [many("xf", low=1)],
    "xf": [opt("alignment"), opt("protection"), opt("extLst")], "alignment": [],
    "cellStyles": [many("cellStyle", low=1)], "cellStyle": [opt("extLst")],
    "tableStyles": [many("tableStyle")],
    "colors": [opt("indexedColors"), opt("mruColors")],
    "indexedColors": [many("rgbColor", low=1)], "rgbColor": [],
}

# --- charts (dml-chart.xsd) and the DrawingML they hold (dml-main.xsd) -----------------------

_COLOR = ("scrgbClr", "srgbClr", "hslClr", "sysClr", "schemeClr", "prstClr")
_FILL = ("noFill", "solidFill", "gradFill", "blipFill", "pattFill", "grpFill")
_CHARTS = ("areaChart", "area3DChart", "lineChart", "line3DChart", "stockChart", "radarChart",
           "scatterChart", "pieChart", "pie3DChart", "doughnutChart", "barChart", "bar3DChart",
           "ofPieChart", "surfaceChart", "surface3DChart", "bubbleChart")
_AXIS_HEAD = [one("axId"), one("scaling"), opt("delete"), one("axPos"), opt("majorGridlines"),
              opt("minorGridlines"), opt("title"), opt("numFmt"), opt("majorTickMark"),
              opt("minorTickMark"), opt("tickLblPos"), opt("spPr"), opt("txPr"), one("crossAx"),
              opt("crosses", "crossesAt")]
_EMPTY = ("scatterStyle", "varyColors", "idx", "order", "smooth", "axId", "symbol", "size",
          "orientation", "max", "min", "logBase", "delete", "axPos", "majorTickMark",
          "minorTickMark", "tickLblPos", "crossAx", "crosses", "crossesAt", "crossBetween",
          "legendPos", "plotVisOnly", "dispBlanksAs", "barDir", "grouping", "gapWidth",
          "overlap", "lblOffset", "lblAlgn", "auto", "showLegendKey", "showVal", "showCatName",
          "showSerName", "showPercent", "showBubbleSize", "invertIfNegative", "overlay",
          "autoTitleDeleted", "roundedCorners", "date1904", "lang", "style", "bodyPr",
          "prstDash", "defRPr", "noFill", "alpha", "tint", "shade", "satMod", "majorUnit",
          "minorUnit")

CHART: dict[str, list[Slot] | None] = {
    "chartSpace": [opt("date1904"), opt("lang"), opt("roundedCorners"), opt("style"),
                   opt("clrMapOvr"), opt("pivotSource"), opt("protection"), one("chart"),
                   opt("spPr"), opt("txPr"), opt("externalData"), opt("printSettings"),
                   opt("userShapes"), opt("extLst")],
    "chart": [opt("title"), opt("autoTitleDeleted"), opt("pivotFmts"), opt("view3D"),
              opt("floor"), opt("sideWall"), opt("backWall"), one("plotArea"), opt("legend"),
              opt("plotVisOnly"), opt("dispBlanksAs"), opt("showDLblsOverMax"), opt("extLst")],
    "title": [opt("tx"), opt("layout"), opt("overlay"), opt("spPr"), opt("txPr"),
              opt("extLst")],
    "tx": [one("strRef", "rich", "v")],  # CT_Tx (strRef | rich), CT_SerTx (strRef | v)
    "rich": [one("bodyPr"), opt("lstStyle"), many("p", low=1)],  # a:CT_TextBody
    "p": [opt("pPr"), many("r", "br", "fld"), opt("endParaRPr")],  # a:CT_TextParagraph
    "pPr": [opt("lnSpc"), opt("spcBef"), opt("spcAft"), opt("buClrTx", "buClr"),
            opt("buSzTx", "buSzPct", "buSzPts"), opt("buFontTx", "buFont"),
            opt("buNone", "buAutoNum", "buChar", "buBlip"), opt("tabLst"), opt("defRPr"),
            opt("extLst")],
    "r": [opt("rPr"), one("t")], "t": [],
    "plotArea": [opt("layout"), many(*_CHARTS, low=1),
                 many("valAx", "catAx", "dateAx", "serAx"), opt("dTable"), opt("spPr"),
                 opt("extLst")],
    "scatterChart": [one("scatterStyle"), opt("varyColors"), many("ser"), opt("dLbls"),
                     many("axId", low=2, high=2), opt("extLst")],
    "barChart": [one("barDir"), opt("grouping"), opt("varyColors"), many("ser"), opt("dLbls"),
                 opt("gapWidth"), opt("overlap"), many("serLines"),
                 many("axId", low=2, high=2), opt("extLst")],
    # CT_ScatterSer and CT_BarSer, told apart by their parent (see ``_model``)
    "scatterChart/ser": [one("idx"), one("order"), opt("tx"), opt("spPr"), opt("marker"),
                         many("dPt"), opt("dLbls"), many("trendline"),
                         many("errBars", high=2), opt("xVal"), opt("yVal"), opt("smooth"),
                         opt("extLst")],
    "barChart/ser": [one("idx"), one("order"), opt("tx"), opt("spPr"),
                     opt("invertIfNegative"), opt("pictureOptions"), many("dPt"),
                     opt("dLbls"), many("trendline"), opt("errBars"), opt("cat"), opt("val"),
                     opt("shape"), opt("extLst")],
    "marker": [opt("symbol"), opt("size"), opt("spPr"), opt("extLst")],
    "xVal": [one("multiLvlStrRef", "numRef", "numLit", "strRef", "strLit")],
    "cat": [one("multiLvlStrRef", "numRef", "numLit", "strRef", "strLit")],
    "yVal": [one("numRef", "numLit")], "val": [one("numRef", "numLit")],
    "numRef": [one("f"), opt("numCache"), opt("extLst")],
    "strRef": [one("f"), opt("strCache"), opt("extLst")],
    "f": [], "v": [],
    "valAx": [*_AXIS_HEAD, opt("crossBetween"), opt("majorUnit"), opt("minorUnit"),
              opt("dispUnits"), opt("extLst")],
    "catAx": [*_AXIS_HEAD, opt("auto"), opt("lblAlgn"), opt("lblOffset"), opt("tickLblSkip"),
              opt("tickMarkSkip"), opt("noMultiLvlLbl"), opt("extLst")],
    "scaling": [opt("logBase"), opt("orientation"), opt("max"), opt("min"), opt("extLst")],
    "majorGridlines": [opt("spPr")], "numFmt": [],
    "dLbls": [many("dLbl"), opt("delete"), opt("numFmt"), opt("spPr"), opt("txPr"),
              opt("dLblPos"), opt("showLegendKey"), opt("showVal"), opt("showCatName"),
              opt("showSerName"), opt("showPercent"), opt("showBubbleSize"), opt("separator"),
              opt("showLeaderLines"), opt("leaderLines"), opt("extLst")],
    "legend": [opt("legendPos"), many("legendEntry"), opt("layout"), opt("overlay"),
               opt("spPr"), opt("txPr"), opt("extLst")],
    # a:CT_ShapeProperties, a:CT_LineProperties, a:CT_SolidColorFillProperties
    "spPr": [opt("xfrm"), opt("custGeom", "prstGeom"), opt(*_FILL), opt("ln"),
             opt("effectLst", "effectDag"), opt("scene3d"), opt("sp3d"), opt("extLst")],
    "ln": [opt("noFill", "solidFill", "gradFill", "pattFill"), opt("prstDash", "custDash"),
           opt("round", "bevel", "miter"), opt("headEnd"), opt("tailEnd"), opt("extLst")],
    "solidFill": [opt(*_COLOR)],
    "srgbClr": [many("tint", "shade", "alpha", "satMod", "lumMod", "lumOff")],
    **{name: [] for name in _EMPTY},
}

# --- the drawing that anchors a chart (dml-spreadsheetDrawing.xsd) ------------------------------

DRAWING: dict[str, list[Slot] | None] = {
    "wsDr": [many("twoCellAnchor", "oneCellAnchor", "absoluteAnchor")],
    "oneCellAnchor": [one("from"), one("ext"),
                      one("sp", "grpSp", "graphicFrame", "cxnSp", "pic", "contentPart"),
                      one("clientData")],
    "from": [one("col"), one("colOff"), one("row"), one("rowOff")],
    "col": [], "colOff": [], "row": [], "rowOff": [], "ext": [], "clientData": [],
    "graphicFrame": [one("nvGraphicFramePr"), one("xfrm"), one("graphic"), opt("extLst")],
    "nvGraphicFramePr": [one("cNvPr"), one("cNvGraphicFramePr")],
    "cNvPr": [opt("hlinkClick"), opt("hlinkHover"), opt("extLst")],
    "cNvGraphicFramePr": [opt("graphicFrameLocks"), opt("extLst")],
    "xfrm": [opt("off"), opt("ext")], "off": [],
    "graphic": [one("graphicData")], "graphicData": ANY,
}

# --- facts beyond the sequences --------------------------------------------------------------

CELL_TYPES = {"b", "n", "e", "s", "str", "inlineStr"}  # ST_CellType (d only in strict)
FORMULA_TYPES = {"normal", "array", "dataTable", "shared"}  # ST_CellFormulaType
SCATTER_STYLES = {"none", "line", "lineMarker", "marker", "smooth", "smoothMarker"}
_REF = re.compile(r"([A-Z]{1,3})([0-9]+)$")
_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _model(models: dict, element: ElementTree.Element, parent: str | None) -> object:
    name = _local(element.tag)
    if parent is not None and f"{parent}/{name}" in models:
        return models[f"{parent}/{name}"]
    return models.get(name, KeyError)


def check_children(element: ElementTree.Element, model: list[Slot], where: str) -> list[str]:
    """Whether ``element``'s children follow ``model``'s sequence; the problems found."""
    names = [_local(child.tag) for child in element]
    i = 0
    for slot in model:
        count = 0
        while i < len(names) and names[i] in slot.names and count < slot.high:
            i += 1
            count += 1
        if count < slot.low:
            return [f"{where}: <{'|'.join(slot.names)}> is required"
                    f" {slot.low} time(s) (children: {names[:12]})"]
    if i < len(names):
        return [f"{where}: <{names[i]}> is out of order or not allowed here"
                f" (children: {names[:12]})"]
    return []


def check_tree(root: ElementTree.Element, models: dict, part: str) -> list[str]:
    """Every element of ``root`` against its content model; the problems found (at most 20)."""
    problems: list[str] = []
    stack = [(root, None)]
    while stack and len(problems) < 20:
        element, parent = stack.pop()
        model = _model(models, element, parent)
        name = _local(element.tag)
        if model is KeyError:
            problems.append(f"{part}: <{name}> (in <{parent}>) has no content model here;"
                            " look its type up in the schema and add it")
            continue
        if model is ANY:
            continue
        problems += check_children(element, model, f"{part} <{name}>")
        stack += [(child, name) for child in element]
    return problems


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ord(ch) - 64
    return n


def check_sheet_cells(root: ElementTree.Element, styles: int, part: str) -> list[str]:
    """Rows and cells in increasing order within Excel's grid, cell and formula types from
    their enumerations, style indices below the number of cell formats."""
    problems: list[str] = []
    last_row = 0
    for row in root.iter():
        if _local(row.tag) != "row":
            continue
        r = int(row.get("r", last_row + 1))
        if not last_row < r <= 1_048_576:
            problems.append(f"{part}: row {r} after row {last_row}")
        last_row, last_col = r, 0
        for c in row:
            m = _REF.match(c.get("r", ""))
            if not m or int(m.group(2)) != r:
                problems.append(f"{part}: cell reference {c.get('r')!r} in row {r}")
                continue
            col = col_number(m.group(1))
            if not last_col < col <= 16_384:
                problems.append(f"{part}: {c.get('r')} after column {last_col}")
            last_col = col
            if c.get("t", "n") not in CELL_TYPES:
                problems.append(f"{part}: {c.get('r')} has type {c.get('t')!r}")
            if int(c.get("s", "0")) >= styles:
                problems.append(f"{part}: {c.get('r')} has style {c.get('s')}, only {styles}")
            for f in c:
                if _local(f.tag) == "f" and f.get("t", "normal") not in FORMULA_TYPES:
                    problems.append(f"{part}: {c.get('r')}'s formula has type {f.get('t')!r}")
            if len(problems) >= 20:
                return problems
    return problems


def check_styles(root: ElementTree.Element) -> tuple[int, list[str]]:
    """The number of cell formats, and every format's font, fill, border and number format
    within what the stylesheet defines."""
    def count(name: str) -> int:
        found = [e for e in root if _local(e.tag) == name]
        return len(found[0]) if found else 0

    fonts, fills, borders = count("fonts"), count("fills"), count("borders")
    custom = {int(e.get("numFmtId")) for e in root.iter() if _local(e.tag) == "numFmt"}
    problems = []
    xfs = [e for e in root if _local(e.tag) == "cellXfs"]
    for k, xf in enumerate(xfs[0] if xfs else []):
        for attr, limit in (("fontId", fonts), ("fillId", fills), ("borderId", borders)):
            if int(xf.get(attr, "0")) >= limit:
                problems.append(f"styles: cell format {k} has {attr} {xf.get(attr)} of {limit}")
        fmt = int(xf.get("numFmtId", "0"))
        if fmt >= 164 and fmt not in custom:
            problems.append(f"styles: cell format {k} uses number format {fmt}, not defined")
    return (len(xfs[0]) if xfs else 0), problems


def check_sheet_names(names: list[str]) -> list[str]:
    """Excel's rules for a sheet's name: 1 to 31 characters, none of []:*?/\\, not starting or
    ending with an apostrophe, unique ignoring case."""
    problems = [f"sheet name {n!r}" for n in names
                if not 0 < len(n) <= 31 or _SHEET_NAME_BAD.search(n)
                or n.startswith("'") or n.endswith("'")]
    if len({n.casefold() for n in names}) < len(names):
        problems.append(f"sheet names repeat (ignoring case): {names}")
    return problems
