import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BOOK_INIT = ROOT / "examples" / "book_3-5_initial_weights.json"


@pytest.fixture
def soffice():
    """LibreOffice is required in CI; locally its tests skip with a visible reason."""
    exe = shutil.which("soffice") or shutil.which("libreoffice")
    if exe is None:
        if os.environ.get("CI"):
            pytest.fail("CI is set but LibreOffice (soffice) is missing: apt-get install -y"
                        " libreoffice-calc-nogui")
        pytest.skip("LibreOffice (soffice) is not installed; workbook recalculation untested")
    return exe


def write_csv(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path
