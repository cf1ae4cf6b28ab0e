"""Recalculate a workbook in headless LibreOffice with a throwaway profile and a time limit."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

from sheetnet.errors import SheetnetError

INSTALL_HINT = ("LibreOffice is needed to recalculate the workbook: install it, e.g."
                " `apt-get install -y libreoffice-calc-nogui`, so that `soffice` is on PATH")

# OOXMLRecalcMode 0 = "always recalculate": needed once a file carries cached values
# (e.g. after a user saved it), so every formula is computed afresh.
_REGISTRY = """<?xml version="1.0" encoding="UTF-8"?>
<oor:items xmlns:oor="http://openoffice.org/2001/registry"
 xmlns:xs="http://www.w3.org/2001/XMLSchema" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="OOXMLRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
<item oor:path="/org.openoffice.Office.Calc/Formula/Load"><prop oor:name="ODFRecalcMode"
 oor:op="fuse"><value>0</value></prop></item>
</oor:items>
"""


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


def recalculate(src: Path, workdir: Path, timeout: float = 600) -> Path:
    """Open ``src`` in LibreOffice, recalculate every formula, save to ``workdir``; the new path."""
    exe = soffice()
    if exe is None:
        raise SheetnetError(INSTALL_HINT)
    profile = Path(tempfile.mkdtemp(prefix="profile-", dir=workdir))
    (profile / "user").mkdir()
    (profile / "user" / "registrymodifications.xcu").write_text(_REGISTRY, encoding="utf-8")
    out = workdir / "recalculated"
    out.mkdir()
    cmd = [exe, f"-env:UserInstallation={profile.as_uri()}", "--headless", "--norestore",
           "--nologo", "--nolockcheck", "--convert-to", "xlsx", "--outdir", str(out), str(src)]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout,
                              stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        raise SheetnetError(f"LibreOffice did not finish within {timeout:g} s; try a larger"
                            " --timeout") from None
    result = out / (src.stem + ".xlsx")
    if proc.returncode != 0 or not result.is_file():
        detail = (proc.stderr or proc.stdout).strip().splitlines()
        raise SheetnetError(f"LibreOffice could not recalculate {src.name}"
                            f" ({detail[-1] if detail else 'no output'}); is it a valid workbook?")
    return result
