"""A period nobody chose ends today (Asia/Shanghai), never in the future (interface §20, issue 27 item 9).

"Today" is pinned through the reports' clock (`reports.period.utcnow`) to 15 October 2026, 10:00 in Shanghai;
one case was found on 10 October and one on 20 October (after "today"), so a default that still ran to the
31st would count both.
"""

from __future__ import annotations

import io
import re

import pytest
from docx import Document
from flask import Flask
from openpyxl import load_workbook

from reports import period as periods
from tests.cases.helpers import Cast
from tests.publishing.test_pages import login
from tests.reports.helpers import at, local


@pytest.fixture
def cast(app: Flask, monkeypatch: pytest.MonkeyPatch) -> Cast:
    cast = Cast(app)
    cast.case(title="十月十日的舆情", discovered_at=at("2026-10-10 09:00"))
    cast.case(title="十月二十日的舆情", discovered_at=at("2026-10-20 09:00"))
    monkeypatch.setattr(periods, "utcnow", lambda: local("2026-10-15 10:00"))
    return cast


def paragraphs(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def test_the_summary_and_the_export_default_to_today(cast: Cast) -> None:
    summary = cast.office.get("/reports/summary")
    assert summary.status_code == 200
    body = summary.get_json()
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-10-15")
    assert body["cases"]["total"] == 1
    # `from` alone: the period runs to today
    assert cast.office.get("/reports/summary?from=2026-09-01").get_json()["to"] == "2026-10-15"
    sheet = load_workbook(io.BytesIO(cast.office.get("/cases/export.xlsx?from=2026-10-01").data)).active
    assert [row[1] for row in list(sheet.iter_rows(values_only=True))[1:]] == ["十月十日的舆情"]


def test_the_page_presets_and_documents_stop_at_today(cast: Cast, app: Flask) -> None:
    web = login(app, "office")
    html = web.get("/reports").get_data(as_text=True)
    assert "2026-10-01 — 2026-10-15" in html
    assert re.search(r'id="to" name="to" value="2026-10-15"', html)
    assert re.search(r'id="log-date" name="date" value="2026-10-15"', html)
    assert "bulletin.docx?from=2026-10-01&amp;to=2026-10-15" in html
    for preset, first in (("week", "2026-10-12"), ("month", "2026-10-01"), ("quarter", "2026-10-01"),
                          ("year", "2026-01-01")):
        assert f"{first} — 2026-10-15" in web.get(f"/reports?period={preset}").get_data(as_text=True), preset
    # a past period chosen by hand keeps its own last day, and the log offers that day
    html = web.get("/reports?period=custom&from=2026-09-01&to=2026-09-30").get_data(as_text=True)
    assert re.search(r'id="log-date" name="date" value="2026-09-30"', html)

    text = paragraphs(web.get("/reports/bulletin.docx").data)
    assert "（2026年10月1日—2026年10月15日）" in text and "本期共监测收集舆情1起" in text
    assert "2026年10月15日" in paragraphs(web.get("/reports/log.docx").data)
    upward = web.get("/reports/upward").get_data(as_text=True)
    assert 'value="2026-10-15"' in upward and 'value="2026-10-31"' not in upward
