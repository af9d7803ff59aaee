"""Closing a case freezes its clocks (interface §20): a clock still running becomes `waived`, an overdue one stays
overdue, and the page, the API, the 专报, the export and the reports agree, now and days later."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from typing import Any

from docx import Document
from flask import Flask
from openpyxl import load_workbook
from sqlalchemy import select

from app.extensions import db
from app.notifications.models import Notification
from cases import clock
from cases.models import Deadline
from tests.cases.helpers import Cast, ago
from tests.publishing.helpers import drain
from tests.review.test_web import Browser, section

REASON = "经核实系误传，当事网民已删帖"


def closed_level_1(cast: Cast) -> dict[str, Any]:
    """A level-1 case found 6 h ago (release due at 5 h: overdue; press conference at 24 h: running),
    closed by the lead unit's leader without a public response."""
    case = cast.case(discovered_at=ago(hours=6))
    resp = cast.office.post(f"/cases/{case['id']}/assessment",
                            {"level": 1, "rationale": "涉及重大", "must_respond": False})
    assert resp.status_code == 201, resp.get_json()
    resp = cast.leader.post(f"/cases/{case['id']}/close", {"outcome": "已核实", "no_response_reason": REASON})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def test_closing_waives_the_running_clock_and_keeps_the_overdue_one(app: Flask) -> None:
    cast = Cast(app)
    case = closed_level_1(cast)
    states = {d["kind"]: d["state"] for d in case["deadlines"]}
    assert states == {"authoritative_release": "overdue", "press_conference": "waived"}
    waived = next(d for d in case["deadlines"] if d["kind"] == "press_conference")
    assert waived["met_at"] is None and waived["waived_at"] == case["closed_at"]
    assert cast.office.get(f"/cases/{case['id']}").get_json()["deadlines"] == case["deadlines"]

    # two days on, when the press conference would have fallen due: still waived, and nobody is told
    later = datetime.now(UTC) + timedelta(days=2)
    with app.app_context():
        by_kind = {d.kind: d for d in db.session.scalars(select(Deadline).where(Deadline.case_id == case["id"]))}
        assert by_kind["press_conference"].state(later).value == "waived"
        assert by_kind["authoritative_release"].state(later).value == "overdue"
    with app.app_context():
        clock.sweep(later)
        sent = db.session.scalars(select(Notification.key).where(Notification.key.like("deadline:%"))).all()
        assert not [k for k in sent if k.startswith(f"deadline:{by_kind['press_conference'].id}:")]


def test_the_page_shows_the_frozen_clocks_with_the_closing_reason(app: Flask) -> None:
    cast = Cast(app)
    case = closed_level_1(cast)
    clocks = section(Browser(app, "office").get(f"/cases/{case['id']}"), "deadlines")
    assert "剩余" not in clocks and "countdown-green" not in clocks
    assert "已免除" in clocks and REASON in clocks
    # the overdue clock is frozen at the closing moment: 6 h after discovery, 1 h past its 5 h
    assert "已超时 1 小时 0 分" in clocks or "已超时 0 小时 59 分" in clocks


def test_the_report_and_the_export_say_waived(app: Flask) -> None:
    cast = Cast(app)
    case = closed_level_1(cast)
    doc = Document(io.BytesIO(cast.office.get(f"/cases/{case['id']}/report.docx").data))
    clocks = doc.tables[-1]
    states = {r.cells[0].text: r.cells[3].text for r in clocks.rows[1:]}
    assert states["召开新闻发布会"].startswith("已免除") and REASON in states["召开新闻发布会"]
    assert states["发布权威信息"] == "已超时"
    sheet = load_workbook(io.BytesIO(cast.office.get("/cases/export.xlsx").data)).active
    [row] = [r for r in sheet.iter_rows(values_only=True) if r[0] == case["id"]]
    assert any(isinstance(v, str) and "召开新闻发布会：已免除" in v for v in row)


def test_a_statement_published_after_closing_leaves_the_clocks_frozen(app: Flask) -> None:
    cast = Cast(app)
    case = cast.case(discovered_at=ago(hours=1))
    assert cast.office.post(f"/cases/{case['id']}/assessment",
                            {"level": 1, "rationale": "涉及重大", "must_respond": True}).status_code == 201
    st = cast.drafter.post("/statements", {"title": "关于种子质量问题的说明", "body": "经核实，网传信息不实。",
                                           "channels": ["portal"], "case_ids": [case["id"]]}).get_json()
    assert cast.drafter.post(f"/statements/{st['id']}/submit").status_code == 200
    for who, stage in ((cast["expert", cast.a], "expert"), (cast.leader, "leader")):
        resp = who.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"], "stage": stage,
                                                            "decision": "approve"})
        assert resp.status_code == 201, resp.get_json()
    # closed while the approved statement waits for its worker
    resp = cast.leader.post(f"/cases/{case['id']}/close", {"outcome": "已核实", "no_response_reason": REASON})
    assert resp.status_code == 201, resp.get_json()
    drain(app)
    after = cast.office.get(f"/cases/{case['id']}").get_json()
    assert after["statements"][0]["status"] == "published" and after["status"] == "closed"
    assert {d["kind"]: (d["state"], d["met_at"]) for d in after["deadlines"]} == {
        "authoritative_release": ("waived", None), "press_conference": ("waived", None)}
