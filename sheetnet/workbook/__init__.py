"""Pure workbook layouts (where every block lives, what every cell holds) and the writer."""
