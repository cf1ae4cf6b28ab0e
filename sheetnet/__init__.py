"""sheetnet: see how a neural network learns, number by number.

The NumPy core (``sheetnet.fc``) computes whole training runs as traces of named blocks; the
writer lays every block out as formula cells in an .xlsx workbook; ``verify`` recalculates that
workbook in LibreOffice and checks every cell against the core.
"""

__version__ = "0.1.0"
