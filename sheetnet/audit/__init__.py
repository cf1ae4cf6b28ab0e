"""The audit: recalculate a workbook in real spreadsheet engines and check every cell."""
