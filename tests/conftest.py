import os
import shutil
from pathlib import Path

import numpy as np
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


def assert_gradients_match(cost, params, analytic, h=1e-5):
    """Every parameter's ∂C_T/∂p against central differences (C(p+h) − C(p−h)) / 2h.

    cost(params) -> C_T; analytic: name -> gradient. h = 1e-5 is near the optimum eps^(1/3).
    """
    for name, value in params.items():
        numeric = np.zeros_like(value)
        for idx in np.ndindex(value.shape):
            plus = {k: v.copy() for k, v in params.items()}
            minus = {k: v.copy() for k, v in params.items()}
            plus[name][idx] += h
            minus[name][idx] -= h
            numeric[idx] = (cost(plus) - cost(minus)) / (2 * h)
        grad = analytic[name]
        # norm-wise relative error of the whole block (elementwise it is dominated by the
        # ~1e-11 rounding floor of the differences wherever a gradient is near zero)
        rel = np.linalg.norm(grad - numeric) / (np.linalg.norm(grad) + np.linalg.norm(numeric))
        assert rel < 1e-7, (name, rel)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-9)
