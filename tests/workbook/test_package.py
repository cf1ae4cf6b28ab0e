"""What Excel's loader checks before it shows a workbook: the package's ZIP headers (the parts'
content is checked against the schemas in test_schema.py)."""

import struct
import zipfile
from xml.etree import ElementTree

import pytest

from tests.conftest import NETS


def _local_header_extra(raw: bytes, info: zipfile.ZipInfo) -> bytes:
    off = info.header_offset
    assert raw[off:off + 4] == b"PK\x03\x04", info.filename
    name_len, extra_len = struct.unpack("<HH", raw[off + 26:off + 30])
    return raw[off + 30 + name_len:off + 30 + name_len + extra_len]


@pytest.mark.parametrize("net", NETS)
def test_every_part_is_plain_zip_and_well_formed_xml(small_book, net):
    """No ZIP64 local header where the central directory has none (Excel 2007 repairs such a
    file; Excel for the web refuses it), and every part parses."""
    out = small_book(net)
    raw = out.read_bytes()
    with zipfile.ZipFile(out) as z:
        for info in z.infolist():
            extra = _local_header_extra(raw, info)
            assert extra[:2] != b"\x01\x00", f"{info.filename} has a ZIP64 local header"
            assert info.file_size < zipfile.ZIP64_LIMIT
            if info.filename.endswith((".xml", ".rels")):
                ElementTree.fromstring(z.read(info.filename))
