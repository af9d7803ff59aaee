"""Every Word document the office sends is a 公文 page and names units as people read them (issue 27 item 8).

interface §20: A4 with the margins of GB/T 9704 (top 37 mm, bottom 35 mm, left 28 mm, right 26 mm). The 专报,
the 通报 and the 舆情日志 are read back with python-docx, as Word would open them.
"""

from __future__ import annotations

import io
from typing import Any

from docx import Document
from flask import Flask

from reports import period as periods
from tests.cases.helpers import Cast
from tests.publishing.test_pages import login

A4_GB9704 = {"page_width": 210.0, "page_height": 297.0, "top_margin": 37.0, "bottom_margin": 35.0,
             "left_margin": 28.0, "right_margin": 26.0}


def opened(data: bytes) -> Any:
    return Document(io.BytesIO(data))


def assert_gongwen_page(doc: Any) -> None:
    for section in doc.sections:
        # Word keeps twips (1/1440 inch): millimetres come back to within a hundredth
        assert {k: round(getattr(section, k).mm, 1) for k in A4_GB9704} == A4_GB9704


def cells(doc: Any) -> list[str]:
    return [cell.text for table in doc.tables for row in table.rows for cell in row.cells]


def test_every_document_is_a4_with_unit_names_and_no_empty_parentheses(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")  # assigned: lead unit A, assisting unit B; A's responsible people have no phone
    report = cast.office.get(f"/cases/{case['id']}/report.docx")
    assert report.status_code == 200
    doc = opened(report.data)
    assert_gongwen_page(doc)
    text = "\n".join(p.text for p in doc.paragraphs)
    assert "第一责任人：leader_a；直接责任人：leader2_a" in text and "（—）" not in text and "（）" not in text
    assigned = "牵头单位：植物保护研究所；协办单位：农业经济与信息研究所；请牵头核实"
    assert assigned in cells(doc) and not [c for c in cells(doc) if c.startswith("A ")]

    web = login(app, "office")
    bulletin = opened(web.get("/reports/bulletin.docx").data)
    assert_gongwen_page(bulletin)
    log = opened(web.get(f"/reports/log.docx?date={periods.today()}").data)
    assert_gongwen_page(log)
    assert assigned in cells(log)

    # a phone once registered is shown in its parentheses
    assert cast.admin.put("/users/leader_a", {"phone": "13800000000"}).status_code == 200
    text = "\n".join(p.text for p in opened(cast.office.get(f"/cases/{case['id']}/report.docx").data).paragraphs)
    assert "第一责任人：leader_a（13800000000）；直接责任人：leader2_a；" in text
