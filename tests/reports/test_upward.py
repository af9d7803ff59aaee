"""归口报送 recorded on a case and on a bulletin, and the documents the worker makes each morning."""

from __future__ import annotations

import io
import re
from datetime import datetime
from typing import Any

from docx import Document
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.timeutil import SHANGHAI
from reports import schedule
from reports.models import ReportFile, UpwardReport
from tests.cases.helpers import Cast
from tests.factories import unit, user
from tests.publishing.test_pages import login


def form_token(web: Any, path: str) -> str:
    page = web.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def post(web: Any, path: str, **fields: Any) -> Any:
    token = form_token(web, path)
    return web.post(path, data={"csrf_token": token, **fields}, content_type="multipart/form-data")


def doc_text(data: bytes) -> str:
    return "\n".join(p.text for p in Document(io.BytesIO(data)).paragraphs)


def test_a_case_reported_upward_with_its_file(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    web = login(app, "office")
    path = f"/reports/upward?case={case['id']}"
    resp = post(web, path, recipient="", method="fax", reported_at="2026-11-02T09:30")
    assert resp.status_code == 302  # post/redirect/get: the page shows the refusal and what was typed
    resp = web.get(resp.headers["Location"])
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert html.count('class="field-error"') == 2 and "请选择报送方式" in html and "必填" in html
    resp = post(web, path, recipient="省农业农村厅办公室", method="document", reported_at="2026-11-02T09:30",
                reference="豫农科办〔2026〕8号", note="专报已报送",
                file=(io.BytesIO(b"%PDF-1.4 zhuanbao"), "专报.pdf"))
    assert resp.status_code == 302
    page = web.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert "归口报送" in page and "报送至 省农业农村厅办公室 · 豫农科办〔2026〕8号" in page
    events = cast.office.get(f"/cases/{case['id']}").get_json()["events"]
    assert events[-1]["kind"] == "reported_upward" and events[-1]["data"]["recipient"] == "省农业农村厅办公室"
    assert cast.office.get(f"/cases/{case['id']}").get_json()["status"] == "handling"  # reporting moves nothing
    with app.app_context():
        row = db.session.scalar(select(UpwardReport))
        assert row is not None and row.reported_at == datetime(2026, 11, 2, 9, 30, tzinfo=SHANGHAI)
        assert (row.file_name, row.file_size) == ("专报.pdf", 17)
        assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "upward_report.create")) is not None
        report_id = row.id
    listing = web.get(path).get_data(as_text=True)
    assert "省农业农村厅办公室" in listing and "专报.pdf" in listing
    assert web.get(f"/reports/upward/{report_id}/file").data == b"%PDF-1.4 zhuanbao"
    # the lead unit's drafter sees it and may record too; another unit's people may not
    drafter = login(app, "drafter_a")
    assert drafter.get(f"/reports/upward/{report_id}/file").status_code == 200
    assert post(drafter, path, recipient="省委网信办", method="phone", reported_at="2026-11-02T10:00",
                reference="0371-12345678").status_code == 302
    assisting = login(app, "drafter_b")  # sees the case (its unit assists) but does not speak for it
    assert assisting.get(path).status_code == 200
    assert post(assisting, path, recipient="x", method="phone", reported_at="2026-11-02T10:00").status_code == 403
    user(app, unit(app, "C"), "drafter", username="drafter_c")
    stranger = login(app, "drafter_c")
    assert stranger.get(path).status_code == 403
    assert stranger.get(f"/reports/upward/{report_id}/file").status_code == 403
    assert post(login(app, "expert_a"), path, recipient="x", method="phone",
                reported_at="2026-11-02T10:00").status_code == 403

    bulletin = doc_text(web.get("/reports/bulletin.docx?from=2026-11-01&to=2026-11-30").data)
    assert "六、归口报送情况" in bulletin
    assert ("11月02日 09:30向省农业农村厅办公室报送：网传某品种小麦种子质量问题（公文（文号） 豫农科办〔2026〕8号），"
            "附件：专报.pdf") in bulletin
    assert "本期无归口报送记录。" in doc_text(web.get("/reports/bulletin.docx?from=2026-10-01&to=2026-10-31").data)


def test_a_bulletin_reported_upward_is_the_office_s_to_record(app: Flask) -> None:
    Cast(app)
    web = login(app, "office")
    resp = post(web, "/reports/upward", recipient="省农业农村厅", method="system", reference="",
                reported_at="2026-11-03T08:00", **{"from": "2026-10-01", "to": ""})
    assert resp.status_code == 302
    resp = web.get(resp.headers["Location"])
    assert resp.status_code == 400
    html = resp.get_data(as_text=True)
    assert html.count('class="field-error"') == 2  # the system's name and the period's end
    resp = post(web, "/reports/upward", recipient="省农业农村厅", method="system", reference="政务舆情报送系统",
                reported_at="2026-11-03T08:00", **{"from": "2026-10-01", "to": "2026-10-31"})
    assert resp.status_code == 302
    assert "舆情工作通报 2026-10-01—2026-10-31" in web.get("/reports/upward").get_data(as_text=True)
    leader = login(app, "leader_a")
    resp = post(leader, "/reports/upward", recipient="x", method="phone", reported_at="2026-11-03T08:00",
                **{"from": "2026-10-01", "to": "2026-10-31"})
    assert resp.status_code == 403


def test_the_morning_log_and_monday_bulletin_are_made_once_and_announced(app: Flask) -> None:
    cast = Cast(app)
    cast.case(discovered_at="2026-11-29T10:00:00+08:00")
    monday_morning = datetime(2026, 11, 30, 7, 5, tzinfo=SHANGHAI)
    assert [(k.value, p.first.isoformat(), p.last.isoformat()) for k, p in schedule.due(monday_morning)] == [
        ("daily_log", "2026-11-29", "2026-11-29"), ("weekly_bulletin", "2026-11-23", "2026-11-29")]
    before = datetime(2026, 11, 30, 6, 59, tzinfo=SHANGHAI)
    assert [(p.first.isoformat(), p.last.isoformat()) for _, p in schedule.due(before)] == [
        ("2026-11-28", "2026-11-28"), ("2026-11-16", "2026-11-22")]
    with app.app_context():
        assert schedule.sweep(monday_morning) == 2
        assert schedule.sweep(monday_morning) == 0
        files = {f.kind: f.id for f in db.session.scalars(select(ReportFile))}
    ready = [n for n in cast.office.get("/notifications").get_json()["items"] if n["kind"] == "report_ready"]
    assert sorted(n["subject"] for n in ready) == ["舆情工作通报（2026-11-23至2026-11-29）已生成",
                                                   "舆情日志（2026-11-29）已生成"]
    web = login(app, "office")
    page = web.get("/reports").get_data(as_text=True)
    assert f"/reports/files/{files['daily_log']}" in page
    resp = web.get(f"/reports/files/{files['weekly_bulletin']}")
    assert resp.status_code == 200 and "（2026年11月23日—2026年11月29日）" in doc_text(resp.data)
    assert "本期共监测收集舆情1起" in doc_text(resp.data)
    assert "舆情日志" in doc_text(web.get(f"/reports/files/{files['daily_log']}").data)
    assert login(app, "leader_a").get(f"/reports/files/{files['daily_log']}").status_code == 403


def test_days_the_worker_was_down_are_filled_in_and_only_the_newest_announced(app: Flask) -> None:
    cast = Cast(app)
    cast.case(discovered_at="2026-11-26T10:00:00+08:00")
    with app.app_context():
        assert schedule.sweep(datetime(2026, 11, 26, 7, 30, tzinfo=SHANGHAI)) == 2  # log 11-25, bulletin 11-16
    for n in cast.office.get("/notifications").get_json()["items"]:
        cast.office.post(f"/notifications/{n['id']}/read", {})
    # the worker is down from Thursday to Monday morning
    monday_morning = datetime(2026, 11, 30, 7, 5, tzinfo=SHANGHAI)
    with app.app_context():
        assert schedule.sweep(monday_morning) == 5
        assert schedule.sweep(monday_morning) == 0
        made = sorted((f.kind, f.period_first.isoformat()) for f in db.session.scalars(select(ReportFile)))
    assert made == [("daily_log", f"2026-11-{d}") for d in range(25, 30)] + [
        ("weekly_bulletin", "2026-11-16"), ("weekly_bulletin", "2026-11-23")]
    unread = [n["subject"] for n in cast.office.get("/notifications").get_json()["items"]
              if n["kind"] == "report_ready" and not n.get("read_at")]
    assert sorted(unread) == ["舆情工作通报（2026-11-23至2026-11-29）已生成", "舆情日志（2026-11-29）已生成"]


def test_a_new_installation_makes_only_the_latest_documents(app: Flask) -> None:
    with app.app_context():
        assert [(k.value, p.first.isoformat()) for k, p in
                schedule.pending(datetime(2026, 11, 30, 7, 5, tzinfo=SHANGHAI))] == [
            ("daily_log", "2026-11-29"), ("weekly_bulletin", "2026-11-23")]


def test_a_bulletin_s_file_is_opened_only_by_those_it_is_listed_for(app: Flask) -> None:
    """Issue 28 item 7: the file of an upward report follows the list's scoping, not just its id."""
    Cast(app)
    office = login(app, "office")
    resp = post(office, "/reports/upward", recipient="省农业农村厅", method="document", reference="豫农科办〔2026〕9号",
                reported_at="2026-11-03T08:00", file=(io.BytesIO(b"%PDF-1.4 tongbao"), "通报.pdf"),
                **{"from": "2026-10-01", "to": "2026-10-31"})
    assert resp.status_code == 302
    with app.app_context():
        report_id = db.session.scalar(select(UpwardReport.id).where(UpwardReport.case_id.is_(None)))
    assert office.get(f"/reports/upward/{report_id}/file").data == b"%PDF-1.4 tongbao"
    leader = login(app, "leader_a")
    assert "通报.pdf" not in leader.get("/reports/upward").get_data(as_text=True)  # not listed for a unit's leader …
    assert leader.get(f"/reports/upward/{report_id}/file").status_code == 403  # … nor served by its id
