"""专报 as Word opens it: python-docx reads back the sections, the timeline and the clocks."""

from __future__ import annotations

import io

from docx import Document
from docx.oxml.ns import qn
from flask import Flask

from tests.cases.helpers import Cast


def test_report_docx_has_the_sections_timeline_and_deadlines(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("responded")
    resp = cast.drafter.get(f"/cases/{case['id']}/report.docx")
    assert resp.status_code == 200
    assert resp.mimetype == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
    doc = Document(io.BytesIO(resp.data))
    text = "\n".join(p.text for p in doc.paragraphs)
    for expected in ("舆情专报", "网传某品种小麦种子质量问题", "报送单位：植物保护研究所", "时间：", "一、基本情况",
                     "微博用户称购买的种子发芽率低", "二、研判意见", "较大", "涉及农民切身利益", "三、处置情况",
                     "专家解读", "四、下一步工作", "0371-65711111"):
        assert expected in text, expected
    timeline, clocks = doc.tables
    assert [c.text for c in timeline.rows[0].cells] == ["时间", "环节", "经办人", "内容"]
    assert [r.cells[1].text for r in timeline.rows[1:]] == ["登记", "研判", "转办", "受理", "回应"]
    assert clocks.rows[1].cells[0].text == "回应" and clocks.rows[1].cells[3].text == "按时完成"
    title_run = doc.paragraphs[0].runs[0]
    assert title_run._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"
    assert doc.paragraphs[2].runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "仿宋_GB2312"


def test_report_follows_the_case_visibility(app: Flask) -> None:
    cast = Cast(app)
    case = cast.case()
    resp = cast["drafter", "B"].get(f"/cases/{case['id']}/report.docx")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_unit"
    assert app.test_client().get(f"/api/v1/cases/{case['id']}/report.docx").status_code == 401
