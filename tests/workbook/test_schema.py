"""Every exported workbook follows the content models of ECMA-376's transitional schemas
(``ooxml_models.py``: element order, required and unknown elements, cell and formula types,
style indices, sheet names) and the package rules (a content type for every part, every
relationship's target present): what Excel's loader checks before it shows a workbook without
a repair. The checker is shown to fail on each kind of defect it looks for."""

import posixpath
import zipfile
from xml.etree import ElementTree

import pytest

from tests.conftest import HEAVY, SMALL, export
from tests.workbook import ooxml_models as m

VARIANTS = [pytest.param(net, SMALL[net], id=net, marks=[pytest.mark.slow] * (net in HEAVY))
            for net in SMALL] + [
    pytest.param("gd", ["--compare", "gd,momentum,adam"], id="gd-compare"),
    pytest.param("mlp", ["--iterations", "2", "--optimizer", "adam", "--batch-size", "8",
                         "--l2", "0.01", "--eta-decay", "0.1"], id="mlp-adam-batches-l2-decay"),
    pytest.param("cnn", ["--iterations", "1", "--arch", "conv 2 3x3 pad 1, relu, maxpool 2,"
                         " conv 2 2x2, sigmoid, dense 3"], id="cnn-two-convolutions",
                 marks=pytest.mark.slow),
]


def problems_of(path) -> list[str]:
    """Everything in an .xlsx package that its schemas or Excel's rules do not allow."""
    found: list[str] = []
    with zipfile.ZipFile(path) as z:
        names = set(z.namelist())
        xml = {n: ElementTree.fromstring(z.read(n)) for n in names
               if n.endswith((".xml", ".rels"))}
    found += _package(names, xml)
    styles, style_problems = m.check_styles(xml["xl/styles.xml"])
    found += style_problems + m.check_tree(xml["xl/styles.xml"], m.SML, "styles")
    workbook = xml["xl/workbook.xml"]
    found += m.check_tree(workbook, m.SML, "workbook")
    found += m.check_sheet_names([s.get("name") for s in workbook.iter()
                                  if s.tag.endswith("}sheet")])
    for name, root in xml.items():
        if name.startswith("xl/worksheets/sheet"):
            found += m.check_tree(root, m.SML, name) + m.check_sheet_cells(root, styles, name)
        elif name.startswith("xl/charts/chart"):
            found += m.check_tree(root, m.CHART, name)
            found += [f"{name}: scatterStyle {s.get('val')!r}" for s in root.iter()
                      if s.tag.endswith("}scatterStyle") and s.get("val")
                      not in m.SCATTER_STYLES]
        elif name.startswith("xl/drawings/drawing"):
            found += m.check_tree(root, m.DRAWING, name)
    return found


_OFFICE = "application/vnd.openxmlformats-officedocument."
CONTENT_TYPES = {  # the parts Excel opens by their content type, as ECMA-376 Part 1 names them
    "xl/workbook.xml": _OFFICE + "spreadsheetml.sheet.main+xml",
    "xl/worksheets/sheet": _OFFICE + "spreadsheetml.worksheet+xml",
    "xl/styles.xml": _OFFICE + "spreadsheetml.styles+xml",
    "xl/theme/theme": _OFFICE + "theme+xml",
    "xl/charts/chart": _OFFICE + "drawingml.chart+xml",
    "xl/drawings/drawing": _OFFICE + "drawing+xml",
    "docProps/core.xml": "application/vnd.openxmlformats-package.core-properties+xml",
    "docProps/app.xml": _OFFICE + "extended-properties+xml",
    ".rels": "application/vnd.openxmlformats-package.relationships+xml",
}


def _package(names: set[str], xml: dict) -> list[str]:
    """OPC: every part has the content type its kind needs, and every internal relationship
    points at a part."""
    types = xml["[Content_Types].xml"]
    defaults = {e.get("Extension").lower(): e.get("ContentType") for e in types
                if e.tag.endswith("}Default")}
    overrides = {e.get("PartName").lstrip("/"): e.get("ContentType") for e in types
                 if e.tag.endswith("}Override")}
    found = [f"[Content_Types].xml names {p}, which is missing" for p in set(overrides) - names]
    for name in sorted(names - {"[Content_Types].xml"}):
        given = overrides.get(name, defaults.get(name.rsplit(".", 1)[-1].lower()))
        wanted = next((t for kind, t in CONTENT_TYPES.items()
                       if name.startswith(kind) or name.endswith(kind)), None)
        if given is None or (wanted is not None and given != wanted):
            found.append(f"{name} has content type {given}, not {wanted}")
    for rels, root in xml.items():
        if not rels.endswith(".rels"):
            continue
        base = posixpath.dirname(posixpath.dirname(rels))  # xl/_rels/x.rels -> xl
        for rel in root:
            if rel.get("TargetMode") == "External":
                continue
            target = rel.get("Target")
            path = (target.lstrip("/") if target.startswith("/")
                    else posixpath.normpath(posixpath.join(base, target)))
            if path not in names:
                found.append(f"{rels}: {rel.get('Id')} points at {target}, which is missing")
    return found


@pytest.mark.parametrize("net, args", VARIANTS)
def test_every_workbook_follows_the_schemas(tmp_path, small_book, net, args):
    out = (small_book(net) if args == SMALL[net]
           else export(tmp_path, f"{net}.xlsx", "--net", net, *args))
    assert problems_of(out) == []


# --- the checker finds what it looks for -----------------------------------------------------


def _edited(src, out, part, old: bytes, new: bytes):
    """A copy whose ``part`` has ``old`` replaced by ``new`` (for text no serialiser varies:
    attribute values, names)."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as b:
        for item in a.infolist():
            body = a.read(item.filename)
            if item.filename == part:
                assert old in body, (part, old)
                body = body.replace(old, new, 1)
            b.writestr(item.filename, body)
    return out


def _restructured(src, out, part, edit):
    """A copy whose ``part`` is parsed, changed by ``edit(root)`` and written again: the
    defect is made in the tree, so it does not depend on how a serialiser (openpyxl's own or
    lxml) spaced the original's bytes."""
    with zipfile.ZipFile(src) as a, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as b:
        for item in a.infolist():
            body = a.read(item.filename)
            if item.filename == part:
                root = ElementTree.fromstring(body)
                edit(root)
                body = ElementTree.tostring(root, encoding="UTF-8", xml_declaration=True)
            b.writestr(item.filename, body)
    return out


@pytest.fixture(scope="module")
def gd(tmp_path_factory):
    return export(tmp_path_factory.mktemp("gd"), "gd.xlsx", "--net", "gd")


def _first(path, prefix: str) -> str:
    with zipfile.ZipFile(path) as z:
        return sorted(n for n in z.namelist() if n.startswith(prefix))[0]


R = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"


def _ns(element) -> str:
    return element.tag[:element.tag.index("}") + 1]


def _find(root, name: str, **attrs: str):
    """The first element named ``name`` (any namespace) with these attributes, and its
    parent."""
    for parent in root.iter():
        for child in parent:
            if child.tag.endswith("}" + name) and all(child.get(k) == v
                                                     for k, v in attrs.items()):
                return child, parent
    raise AssertionError(f"no <{name}> with {attrs}")


def _drop(name):
    def edit(root):
        child, parent = _find(root, name)
        parent.remove(child)
    return edit


def _set(name, key, value, **attrs):
    def edit(root):
        _find(root, name, **attrs)[0].set(key, value)
    return edit


def _insert(parent_name, tag, at: int | None = 0, before: str | None = None,
            attrs: dict[str, str] | None = None):
    """A new element ``tag`` in ``parent_name`` (the root if it is the root's name): at
    ``at`` (None: last), or right before its first child ``before``."""
    def edit(root):
        parent = root if root.tag.endswith("}" + parent_name) else _find(root, parent_name)[0]
        child = ElementTree.Element(_ns(parent) + tag, {k.replace("r:", R): v
                                                        for k, v in (attrs or {}).items()})
        if before is not None:
            index = next(i for i, c in enumerate(parent) if c.tag.endswith("}" + before))
        else:
            index = len(parent) if at is None else at
        parent.insert(index, child)
        return child
    return edit


def _styles_twice(root):
    child = _insert("styleSheet", "cellXfs", before="cellXfs")(root)
    ElementTree.SubElement(child, _ns(root) + "xf", {"fontId": "99"})


@pytest.mark.parametrize("prefix, edit, expected", [
    ("xl/charts/chart", _drop("scatterStyle"), "<scatterStyle> is required"),
    ("xl/charts/chart", _set("scatterStyle", "val", "dots"), "scatterStyle 'dots'"),
    ("xl/worksheets/sheet", _insert("sheetData", "row", attrs={"r": "0"}), "row 0 after row 0"),
    ("xl/worksheets/sheet", _insert("worksheet", "mergeCells", at=None),
     "<mergeCells> is out of order"),
    ("xl/worksheets/sheet", _set("c", "t", "d", r="A1", t="inlineStr"), "A1 has type 'd'"),
    ("xl/worksheets/sheet", _set("c", "s", "9999", r="A1"), "has style 9999"),
    ("xl/workbook.xml", _insert("sheets", "sheet", attrs={"name": "a:b", "sheetId": "99",
                                                   "r:id": "x"}),
     "sheet name 'a:b'"),
    ("xl/styles.xml", _styles_twice, "<cellXfs> is out of order"),
    ("xl/workbook.xml", _insert("definedNames", "frob"), "<frob> (in <definedNames>)"),
])
def test_the_checker_finds_each_defect(gd, tmp_path, prefix, edit, expected):
    assert problems_of(gd) == []
    bad = _restructured(gd, tmp_path / "bad.xlsx", _first(gd, prefix), edit)
    found = problems_of(bad)
    assert any(expected in p for p in found), found


def test_a_workbook_reserialised_unchanged_has_no_defect(gd, tmp_path):
    """The edits above are made by writing a part again: that alone is no defect."""
    same = _restructured(gd, tmp_path / "same.xlsx", _first(gd, "xl/worksheets/sheet"),
                         lambda root: None)
    assert problems_of(same) == []


def test_the_checker_finds_a_part_without_its_content_type(gd, tmp_path):
    bad = _edited(gd, tmp_path / "bad.xlsx", "[Content_Types].xml",
                  b'PartName="/xl/workbook.xml"', b'PartName="/xl/nothere.xml"')
    found = problems_of(bad)
    assert "xl/workbook.xml has content type application/xml, not application/vnd.openxml" \
           "formats-officedocument.spreadsheetml.sheet.main+xml" in found
    assert "[Content_Types].xml names xl/nothere.xml, which is missing" in found


def test_the_checker_finds_a_relationship_to_a_missing_part(gd, tmp_path):
    bad = _edited(gd, tmp_path / "bad.xlsx", "xl/_rels/workbook.xml.rels",
                  b'Target="styles.xml"', b'Target="style.xml"')
    assert any("points at style.xml, which is missing" in p for p in problems_of(bad))
