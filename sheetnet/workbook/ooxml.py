"""What an .xlsx archive holds: which XML part is which sheet."""

from __future__ import annotations

import zipfile
from pathlib import PurePosixPath
from xml.etree import ElementTree

_NS = {"m": "http://schemas.openxmlformats.org/spreadsheetml/2006/main",
       "p": "http://schemas.openxmlformats.org/package/2006/relationships"}
_RID = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}id"


def sheet_parts(z: zipfile.ZipFile) -> dict[str, str]:
    """Sheet name -> its XML part in the archive, in the workbook's sheet order (from
    ``xl/workbook.xml`` and its relationships)."""
    rels = ElementTree.fromstring(z.read("xl/_rels/workbook.xml.rels"))
    target = {r.get("Id"): r.get("Target", "") for r in rels.findall("p:Relationship", _NS)}
    book = ElementTree.fromstring(z.read("xl/workbook.xml"))
    out = {}
    for s in book.findall("m:sheets/m:sheet", _NS):
        t = target.get(s.get(_RID), "")
        out[s.get("name", "")] = t[1:] if t.startswith("/") else str(PurePosixPath("xl") / t)
    return out
