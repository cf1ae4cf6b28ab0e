"""The workbook as an archive, checked before any engine or reader inflates it, and scanned
for which cells hold formulas.

A decompression bomb (a small file whose XML inflates to gigabytes) is refused by inflating
each part with a byte budget: the parts needed to read the settings first (each capped), then
the sheets, whose budget follows from the cells the layout implies.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from dataclasses import dataclass
from html import unescape
from pathlib import Path
from xml.etree import ElementTree
from xml.etree.ElementTree import ParseError
from xml.parsers import expat

from sheetnet.audit.cells import column
from sheetnet.audit.tokens import shift
from sheetnet.errors import SheetnetError
from sheetnet.workbook.layout import col_letter
from sheetnet.workbook.ooxml import sheet_parts

MAX_PARTS = 20_000
MAX_SMALL_PART = 64 * 2**20  # any part read before the settings are known
BYTES_PER_CELL = 300  # the XML of one cell, generously: LibreOffice writes about 105
SLACK = 32 * 2**20
_CHUNK = 1 << 20


@dataclass
class Archive:
    path: Path
    parts: dict[str, str]  # sheet name -> its XML part

    @classmethod
    def open(cls, path: Path, first_sheet: str) -> Archive:
        """Check the archive's shape and inflate every part but the sheets (and ``first_sheet``,
        which holds the settings), each within ``MAX_SMALL_PART`` and checked to be well-formed
        XML; one line naming what is wrong with it otherwise."""
        try:
            with zipfile.ZipFile(path) as z:
                infos = z.infolist()
                if len(infos) > MAX_PARTS:
                    raise SheetnetError(f"{path.name} holds {len(infos):,} parts; a workbook has"
                                        f" far fewer (at most {MAX_PARTS:,} are read)")
                _check_members(infos, path)
                for needed in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
                    if needed not in z.namelist():
                        raise SheetnetError(f"{path.name} has no {needed}; it is not an .xlsx"
                                            " workbook sheetnet wrote (export it again)")
                for info in infos:
                    if info.filename in ("xl/workbook.xml", "xl/_rels/workbook.xml.rels"):
                        _inflate(z, info, MAX_SMALL_PART, path)
                parts = sheet_parts(z)
                names = set(z.namelist())
                for sheet, part in parts.items():
                    if part not in names:
                        raise SheetnetError(f"{path.name}: the sheet {sheet!r} is listed but its"
                                            f" part {part} is missing; export the workbook"
                                            " again")
                sheets = set(parts.values()) - {parts.get(first_sheet)}
                for info in infos:
                    if info.filename not in sheets:
                        _inflate(z, info, MAX_SMALL_PART, path)
        except (zipfile.BadZipFile, KeyError, OSError, EOFError, ParseError,
                NotImplementedError) as e:
            raise SheetnetError(f"{path.name}: a damaged .xlsx archive ({e}); export the"
                                " workbook again") from None
        return cls(path, parts)

    def property(self, name: str) -> str | None:
        """A custom document property's text (``docProps/custom.xml``), or None."""
        with zipfile.ZipFile(self.path) as z:
            if "docProps/custom.xml" not in z.namelist():
                return None
            root = ElementTree.fromstring(z.read("docProps/custom.xml"))  # checked in open()
        for prop in root:
            if prop.get("name") == name and len(prop) == 1:
                return prop[0].text or ""
        return None

    def check_sheets(self, expected_cells: int, well_formed: bool = True) -> None:
        """Inflate the sheets within what ``expected_cells`` cells can take, each checked to be
        well-formed XML unless ``well_formed`` is False (the caller's own reading of every
        sheet checks it then, see ``check_xml``)."""
        budget = BYTES_PER_CELL * expected_cells + SLACK
        total = 0
        with zipfile.ZipFile(self.path) as z:
            for part in self.parts.values():
                total += _inflate(z, z.getinfo(part), budget - total, self.path, budget,
                                  well_formed)


def check_xml(xml: bytes, part: str, path: Path) -> None:
    """One line naming ``part`` of ``path`` when ``xml`` is not well-formed XML."""
    try:
        expat.ParserCreate().Parse(xml, True)
    except expat.ExpatError as e:
        raise SheetnetError(f"{path.name}: the part {part} is not well-formed XML"
                            f" ({expat.ErrorString(e.code)} at line {e.lineno}); export the"
                            " workbook again") from None


def _check_members(infos: list[zipfile.ZipInfo], path: Path) -> None:
    """Refuse what no spreadsheet writes and readers disagree on: a member name given twice
    (one reader inflates one copy, another the other), an encrypted or symlinked member, a
    compression other than stored or deflated."""
    seen: set[str] = set()
    for info in infos:
        name = info.filename
        if name in seen:
            raise SheetnetError(f"{path.name} holds the part {name} twice; a workbook holds each"
                                " part once (export it again)")
        seen.add(name)
        if info.flag_bits & 0x1:
            raise SheetnetError(f"{path.name}: the part {name} is encrypted; save the workbook"
                                " without a password")
        if (info.external_attr >> 16) & 0o170000 == 0o120000:
            raise SheetnetError(f"{path.name}: the part {name} is a symbolic link; a workbook's"
                                " parts are files (export it again)")
        if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
            raise SheetnetError(f"{path.name}: the part {name} is compressed in a way"
                                " spreadsheets do not use; save the workbook again")


def _inflate(z: zipfile.ZipFile, info: zipfile.ZipInfo, cap: int, path: Path,
             budget: int | None = None, well_formed: bool = True) -> int:
    """Read a part to its end, refusing it past ``cap`` bytes, damaged, or (an XML part,
    unless ``well_formed`` is False) not well-formed; its size."""
    size = 0
    xml = well_formed and info.filename.endswith((".xml", ".rels"))
    parser = expat.ParserCreate() if xml else None
    try:
        with z.open(info) as f:
            while chunk := f.read(_CHUNK):
                size += len(chunk)
                if size > cap:
                    what = (f"its sheets inflate past {budget / 2**20:,.0f} MB, more than the"
                            " cells its settings describe can take" if budget is not None
                            else f"{info.filename} inflates past {cap / 2**20:,.0f} MB")
                    raise SheetnetError(f"{path.name}: {what} (a decompression bomb?);"
                                        " refusing to open it")
                if parser is not None:
                    parser.Parse(chunk, False)
            if parser is not None:
                parser.Parse(b"", True)
    except zlib.error:
        raise SheetnetError(f"{path.name}: the part {info.filename} is damaged (its compressed"
                            " data does not inflate); export the workbook again") from None
    except zipfile.BadZipFile as e:
        raise SheetnetError(f"{path.name}: the part {info.filename} is damaged ({e}); export"
                            " the workbook again") from None
    except expat.ExpatError as e:
        raise SheetnetError(f"{path.name}: the part {info.filename} is not well-formed XML"
                            f" ({expat.ErrorString(e.code)} at line {e.lineno}); export the"
                            " workbook again") from None
    return size


# --- a formula as written ------------------------------------------------------------------

_F = re.compile(rb"<f(\s[^>]*)?(?:/>|>([^<]*)</f>)")
_SI = re.compile(rb'\bsi="(\d+)"')
_REF_ATTR = re.compile(rb'<c r="([A-Z]{1,3})([0-9]{1,7})"')


class Formulas:
    """Each cell's formula as written in a sheet's XML, read on demand (a sheet's part is
    inflated once). A cell of a shared formula (``<f t="shared" si="3"/>``, what a fill-right
    stores) gets the first cell's formula moved to it, as a spreadsheet reads it."""

    def __init__(self, path: Path, parts: dict[str, str]):
        self.path, self.parts = path, parts
        self._xml: dict[str, bytes] = {}
        self._masters: dict[tuple[str, bytes], tuple[int, int, str] | None] = {}

    def xml(self, sheet: str) -> bytes:
        if sheet not in self._xml:
            with zipfile.ZipFile(self.path) as z:
                self._xml[sheet] = z.read(self.parts[sheet])
        return self._xml[sheet]

    def formula(self, sheet: str, row: int, col: int) -> str | None:
        """The formula (``=…``) of a cell, or None when it holds none (or the sheet is not
        there)."""
        if sheet not in self.parts:
            return None
        xml = self.xml(sheet)
        m = re.search(rb'<c r="%s%d"(?:\s[^>]*?)?(/?)>' % (col_letter(col).encode(), row), xml)
        if m is None or m.group(1):  # no such cell, or one without content (<c …/>)
            return None
        end = xml.find(b"</c>", m.end())
        body = xml[m.end():end if end != -1 else len(xml)]
        f = _F.search(body)
        if f is None:
            return None
        attrs, text = f.group(1) or b"", f.group(2)
        if text:
            return "=" + _text(text)
        si = _SI.search(attrs)
        if si is None or b'shared' not in attrs:
            return None
        master = self._master(sheet, si.group(1))
        if master is None:
            return None
        m_row, m_col, m_text = master
        return shift(m_text, row - m_row, col - m_col)

    def _master(self, sheet: str, si: bytes) -> tuple[int, int, str] | None:
        """The cell that carries shared formula ``si``'s text: its row, column and formula."""
        key = (sheet, si)
        if key not in self._masters:
            xml = self.xml(sheet)
            found = None
            for f in _F.finditer(xml):
                attrs = f.group(1) or b""
                if f.group(2) and b"shared" in attrs and (m := _SI.search(attrs)) and \
                        m.group(1) == si:
                    cell = _REF_ATTR.search(xml, xml.rfind(b"<c ", 0, f.start()))
                    if cell is not None:
                        found = (int(cell.group(2)), column(cell.group(1)),
                                 "=" + _text(f.group(2)))
                    break
            self._masters[key] = found
        return self._masters[key]


def _text(raw: bytes) -> str:
    return unescape(raw.decode("utf-8", "replace"))


def formula_text(path: Path, part: str, cell: str) -> str:
    """The formula a cell holds, as written (``=…``; a shared formula's cell, moved to it), or
    ``""``."""
    m = re.fullmatch(r"([A-Z]{1,3})(\d+)", cell)
    if m is None:
        return ""
    found = Formulas(path, {"": part}).formula("", int(m.group(2)), column(m.group(1).encode()))
    return found or ""
