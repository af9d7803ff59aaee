"""The reports page, the 通报, the 日志 and the register spreadsheet, read back as people would read them."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from docx import Document
from docx.oxml.ns import qn
from flask import Flask
from openpyxl import load_workbook

from reports import period as periods
from tests.factories import Api, unit, user
from tests.publishing.test_pages import login
from tests.reports.helpers import Register, known_register

P1 = "from=2026-09-01&to=2026-09-30"


@pytest.fixture
def reg(app: Flask) -> Register:
    return known_register(app)


def text_of(data: bytes) -> tuple[str, list[list[list[str]]]]:
    doc = Document(io.BytesIO(data))
    tables = [[[c.text for c in row.cells] for row in t.rows] for t in doc.tables]
    return "\n".join(p.text for p in doc.paragraphs), tables


def test_page_bulletin_log_and_spreadsheet_agree_with_the_register(reg: Register, app: Flask) -> None:
    web = login(app, "office")
    page = web.get(f"/reports?period=custom&{P1}")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.count("<svg") == 4 and 'role="img"' in html
    assert "督查与考核" in html and "考核统计表" in html and "植物保护研究所" in html
    assert "<td>植物保护研究所</td><td>3</td><td>1</td><td>4</td><td>75.0%</td><td>0</td><td>2</td>" in html
    assert "<td>回应</td><td>3</td><td>2</td><td>0</td><td>1</td><td>0</td><td>0</td><td>66.7%</td>" in html
    assert "<td>2026-09-14</td><td>2</td><td>2</td>" in html  # the weekly table under the line chart
    assert "<td>提交至领导批准（小时）</td><td>3.0</td><td>3.8</td>" in html

    resp = web.get(f"/reports/bulletin.docx?{P1}")
    assert resp.status_code == 200 and resp.mimetype.endswith("wordprocessingml.document")
    text, tables = text_of(resp.data)
    for expected in ("舆情工作通报", "（2026年9月1日—2026年9月30日）",
                     "本期共监测收集舆情5起（特别重大1起，较大2起，一般1起，未研判1起），已办结1起，未办结且已超过处置时限1起。",
                     "各类处置时限共5个，按时完成3个，超时完成1个，已超时1个，按时率60.0%。",
                     "发布回应2篇（门户网站2篇、微信公众号1篇），撤回0篇，更正0篇。",
                     "舆情c2（09月20日发现，特别重大，牵头单位：植物保护研究所，已回应）",
                     "舆情c3（09月30日发现，一般，牵头单位：农业经济与信息研究所，已研判），最近时限2026-10-02 23:30",
                     "已超过两周"):
        assert expected in text, expected
    assessment = tables[0]
    assert assessment[0][:5] == ["单位", "牵头处置舆情", "办结", "时限数", "按时率"]
    assert ["植物保护研究所", "3", "1", "4", "75.0%", "0", "2", "0", "0"] in assessment
    assert ["农业经济与信息研究所", "2", "0", "1", "0.0%", "1", "0", "0", "0"] in assessment
    doc = Document(io.BytesIO(resp.data))
    assert doc.paragraphs[0].runs[0]._element.rPr.rFonts.get(qn("w:eastAsia")) == "方正小标宋简体"

    text, tables = text_of(web.get("/reports/log.docx?date=2026-09-12").data)
    assert "舆情日志" in text and "2026年9月12日" in text and "发布记录1条" in text
    # the record's own number (seq), never the statement id beside it (issue 27, item 13)
    seq = reg.cast.office.get(f"/statements/{reg.statements['s1']}").get_json()["ledger_seq"]
    assert tables and ["10:00", "发布", "回应s1", "植物保护研究所", f"记录第 {seq} 号"] in tables[-1]
    today = periods.today().isoformat()
    text, tables = text_of(web.get(f"/reports/log.docx?date={today}").data)
    steps = [row[3] for row in tables[0][1:]]
    assert steps.count("登记") == 8 and "办结" in steps and "回应" in steps

    resp = reg.cast.office.get(f"/cases/export.xlsx?{P1}")
    assert resp.status_code == 200 and resp.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(resp.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:4] == ("编号", "标题", "来源", "发现时间")
    by_title = {r[1]: r for r in rows[1:]}
    assert sorted(by_title) == ["舆情c1", "舆情c2", "舆情c3", "舆情c4", "舆情c5"]
    c3 = by_title["舆情c3"]
    assert c3[3] == datetime(2026, 9, 30, 23, 30) and c3[4] == "一般" and c3[6] == "农业经济与信息研究所"
    assert c3[11] == "回应：已超时"
    assert by_title["舆情c1"][10] == datetime(2026, 9, 10, 16, 0) and by_title["舆情c1"][5] == "已办结"
    resp = reg.cast.office.get(f"/cases/export.xlsx?{P1}&unit=A&level=3")
    assert [r[1] for r in list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))[1:]] == [
        "舆情c5", "舆情c1"]
    # a unit's drafter gets its own unit's cases, every period
    resp = reg.cast["drafter", reg.cast.b].get("/cases/export.xlsx")
    titles = [r[1] for r in list(load_workbook(io.BytesIO(resp.data)).active.iter_rows(values_only=True))[1:]]
    assert sorted(titles) == ["舆情c3", "舆情c4", "舆情c6"]


def test_leaders_see_their_unit_and_others_are_refused(app: Flask) -> None:
    a, b = unit(app, "A", "植物保护研究所"), unit(app, "B", "农业经济与信息研究所")
    user(app, a, "leader", username="lead_a")
    user(app, a, "drafter", username="draft_a")
    office = user(app, unit(app, "OFFICE", "院办公室"), "office", username="office")
    leader = login(app, "lead_a")
    page = leader.get("/reports?period=week")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "植物保护研究所" in html and 'id="unit"' not in html and 'href="/reports"' in html
    assert leader.get(f"/reports?unit={b}").status_code == 403
    assert leader.get(f"/reports/bulletin.docx?unit={b}").status_code == 403
    drafter = login(app, "draft_a")
    assert drafter.get("/reports").status_code == 403
    assert 'href="/reports"' not in drafter.get("/cases").get_data(as_text=True)
    assert drafter.get("/reports/log.docx").status_code == 403
    assert app.test_client().get("/reports").status_code == 302  # to the sign-in page

    web = login(app, "office")
    for preset in ("week", "month", "quarter", "year"):
        assert web.get(f"/reports?period={preset}").status_code == 200
    resp = web.get("/reports?period=custom&from=2026-02-30&to=2026-03-01")
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert 'class="field-error"' in html and "日期格式应为 YYYY-MM-DD" in html
    assert web.get("/reports/log.docx?date=2026-9-1").status_code == 400
    assert web.get("/reports/bulletin.docx?from=2026-10-02&to=2026-10-01").status_code == 400
    resp = Api(app, office).get("/cases/export.xlsx?level=9")
    assert resp.status_code == 400 and "level" in resp.get_json()["error"]["fields"]
    assert app.test_client().get("/api/v1/cases/export.xlsx").status_code == 401
