"""sheetnet: see how a neural network learns, number by number.

The NumPy core computes whole training runs as traces of named blocks; the writer lays every
block out as formula cells in an .xlsx workbook; ``verify`` recalculates that workbook in a real
spreadsheet engine and checks every cell against the core. From Python::

    import sheetnet
    run = sheetnet.train("mlp", eta=0.5)
    sheetnet.export(run, "mlp.xlsx")
    sheetnet.verify("mlp.xlsx").ok
    print(sheetnet.explain("mlp.xlsx", "'Iter 0'!E34"))  # δ²₁ of image 1, and why
"""

__version__ = "0.1.0"

from sheetnet.errors import SheetnetError  # noqa: E402

__all__ = ["SheetnetError", "Training", "__version__", "explain", "export", "train", "verify",
           "window"]
_API = {"Training", "explain", "export", "train", "verify", "window"}


def __getattr__(name: str):
    """The API on first use, so that ``import sheetnet`` (and the command's start) stays light
    until a function is called."""
    if name in _API:
        from sheetnet import api

        return getattr(api, name)
    raise AttributeError(f"module 'sheetnet' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted({*globals(), *_API})
