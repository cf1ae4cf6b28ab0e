"""What Excel's loader checks before it shows a workbook: the package (its ZIP headers and
parts) and the parts openpyxl writes that Excel is strict about."""

import struct
import zipfile
from xml.etree import ElementTree

import pytest

from tests.conftest import export
from tests.workbook.test_stored_values import NETS, SMALL

CHART = "{http://schemas.openxmlformats.org/drawingml/2006/chart}"


def _local_header_extra(raw: bytes, info: zipfile.ZipInfo) -> bytes:
    off = info.header_offset
    assert raw[off:off + 4] == b"PK\x03\x04", info.filename
    name_len, extra_len = struct.unpack("<HH", raw[off + 26:off + 30])
    return raw[off + 30 + name_len:off + 30 + name_len + extra_len]


@pytest.mark.parametrize("net", NETS)
def test_every_part_is_plain_zip_and_well_formed_xml(tmp_path, net):
    """No ZIP64 local header where the central directory has none (Excel 2007 repairs such a
    file; Excel for the web refuses it), and every part parses."""
    out = export(tmp_path, f"{net}.xlsx", "--net", net, *SMALL[net])
    raw = out.read_bytes()
    with zipfile.ZipFile(out) as z:
        for info in z.infolist():
            extra = _local_header_extra(raw, info)
            assert extra[:2] != b"\x01\x00", f"{info.filename} has a ZIP64 local header"
            assert info.file_size < zipfile.ZIP64_LIMIT
            if info.filename.endswith((".xml", ".rels")):
                ElementTree.fromstring(z.read(info.filename))


@pytest.mark.parametrize("net", ["gd", "regression", "xor", "mlp"])
def test_every_scatter_chart_names_its_style_first(tmp_path, net):
    """CT_ScatterChart's sequence starts with the required scatterStyle."""
    out = export(tmp_path, f"{net}.xlsx", "--net", net, *SMALL[net])
    seen = 0
    with zipfile.ZipFile(out) as z:
        for name in z.namelist():
            if not name.startswith("xl/charts/"):
                continue
            for scatter in ElementTree.fromstring(z.read(name)).iter(f"{CHART}scatterChart"):
                assert scatter[0].tag == f"{CHART}scatterStyle", name
                assert scatter[0].get("val") in ("lineMarker", "line", "marker", "smooth",
                                                 "smoothMarker", "none")
                seen += 1
    assert seen  # every workbook here has a chart of its cost or its data
