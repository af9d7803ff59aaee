"""A case answered by a statement, end to end through the API: linking, the people told at each step,
publishing by the real worker, and the case's clock stopped at the ledger entry's time."""

from __future__ import annotations

from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from publishing import outbox
from publishing.models import Delivery, LedgerEntry
from tests.cases.helpers import Cast, ago
from tests.factories import Api, user
from tests.publishing.helpers import drain


def inbox(api: Api, kind: str) -> list[dict[str, Any]]:
    resp = api.get("/notifications?unread=true")
    assert resp.status_code == 200
    return [n for n in resp.get_json()["items"] if n["kind"] == kind]


def test_publishing_a_linked_statement_answers_the_case(app: Flask) -> None:
    cast = Cast(app)
    expert, expert2 = cast["expert", cast.a], Api(app, user(app, cast.a, "expert"))
    case = cast.at("handling", discovered_at=ago(hours=2))
    assert case["level"] == 3 and case["deadlines"][0]["kind"] == "response"

    # a case of another unit cannot be named; nothing is written
    other = cast.case(units=[cast.b])
    resp = cast.drafter.post("/statements", {"title": "回应", "body": "经核实，网传信息不实。",
                                            "channels": ["portal"], "case_ids": [case["id"], other["id"]]})
    assert resp.status_code == 400 and "case_ids" in resp.get_json()["error"]["fields"]
    assert cast.drafter.get("/statements").get_json()["total"] == 0

    resp = cast.drafter.post("/statements", {"title": "关于种子质量问题的说明", "body": "经核实，网传信息不实。",
                                            "channels": ["portal"], "case_ids": [case["id"]]})
    assert resp.status_code == 201, resp.get_json()
    st = resp.get_json()
    assert st["case_ids"] == [case["id"]]
    linked = cast.drafter.get(f"/cases/{case['id']}").get_json()
    assert [s["id"] for s in linked["statements"]] == [st["id"]]

    # the experts are told when it waits for them, the leaders when it reaches them
    assert cast.drafter.post(f"/statements/{st['id']}/submit").status_code == 200
    assert len(inbox(expert, "review_requested")) == 1 and len(inbox(expert2, "review_requested")) == 1
    assert not inbox(cast.leader, "review_requested")
    resp = expert.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"],
                                                           "stage": "expert", "decision": "approve"})
    assert resp.status_code == 201
    assert len(inbox(cast.leader, "review_requested")) == 1
    resp = cast.leader.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"],
                                                                "stage": "leader", "decision": "approve"})
    assert resp.status_code == 201 and resp.get_json()["status"] == "approved"

    drain(app)
    case = cast.drafter.get(f"/cases/{case['id']}").get_json()
    assert case["status"] == "responded"
    assert case["statements"][0]["status"] == "published"
    with app.app_context():
        entry = db.session.scalar(select(LedgerEntry).where(LedgerEntry.statement_id == st["id"],
                                                            LedgerEntry.kind == "published"))
        assert entry is not None
    response = next(d for d in case["deadlines"] if d["kind"] == "response")
    assert response["state"] == "met"
    assert response["met_at"][:19] == entry.at[:19]  # the ledger entry's time, not the worker's clock
    assert [e["kind"] for e in case["events"]][-1] == "responded"
    assert len(inbox(cast.drafter, "statement_published")) == 1


def test_changes_requested_and_a_failed_delivery_are_told(app: Flask) -> None:
    cast = Cast(app)
    expert = cast["expert", cast.a]
    st = cast.drafter.post("/statements", {"title": "说明", "body": "经核实，网传信息不实。",
                                           "channels": ["portal"]}).get_json()
    cast.drafter.post(f"/statements/{st['id']}/submit")
    resp = expert.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"],
                                                           "stage": "expert", "decision": "request_changes",
                                                           "comment": "请补充检测数据"})
    assert resp.status_code == 201
    told = inbox(cast.drafter, "changes_requested")
    assert len(told) == 1 and "请补充检测数据" in told[0]["body"]

    cast.drafter.put(f"/statements/{st['id']}", {"body": "经核实，网传信息不实。检测合格。"})
    st = cast.drafter.post(f"/statements/{st['id']}/submit").get_json()
    expert.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"], "stage": "expert",
                                                    "decision": "approve"})
    cast.leader.post(f"/statements/{st['id']}/reviews", {"revision_hash": st["revision"]["hash"],
                                                         "stage": "leader", "decision": "approve"})
    with app.app_context():
        delivery_id = db.session.scalar(select(Delivery.id).where(Delivery.statement_id == st["id"]))
        token = outbox.claim(delivery_id)
        assert token is not None and outbox.fail(delivery_id, token, "HTTP 400：字段不合法")
    told = inbox(cast.office, "delivery_failed")
    assert len(told) == 1 and "HTTP 400" in told[0]["body"]
    assert len(inbox(cast.leader, "delivery_failed")) == 1


def test_draft_the_response_from_the_case_page(app: Flask) -> None:
    """起草回应: the editor opens with the case linked and the priority its level asks for."""
    from tests.publishing.test_pages import login

    cast = Cast(app)
    case = cast.at("handling")
    cast.office.post(f"/cases/{case['id']}/assessment", {"level": 2, "rationale": "升级为重大", "must_respond": True})
    web = login(app, cast.drafter.user.username)
    home = web.get("/").get_data(as_text=True)
    assert "待我处置的舆情" in home and case["title"] in home  # waiting for the lead unit's answer
    page = web.get(f"/cases/{case['id']}").get_data(as_text=True)
    assert f"case_id={case['id']}" in page and "priority=urgent" in page
    editor = web.get(f"/statements/new?unit={cast.a}&priority=urgent&case_id={case['id']}").get_data(as_text=True)
    assert f'value="{case["id"]}"' in editor and case["title"] in editor
    assert '<option value="urgent" selected>' in editor
    token = editor.split('name="csrf_token" value="')[1].split('"')[0]
    resp = web.post("/statements/new", data={
        "csrf_token": token, "title": "关于种子质量问题的说明", "digest": "", "body": "经核实，网传信息不实。",
        "priority": "urgent", "channels": ["portal"], "go_live_at": "", "agencies": "",
        "case_ids": f"#{case['id']}, 99999"})
    # an unknown case: said beside the field on the editor it redirects back to (post/redirect/get), nothing saved
    assert resp.status_code == 302 and resp.headers["Location"].split("?")[0].endswith("/statements/new")
    shown = web.get(resp.headers["Location"])
    assert shown.status_code == 400 and "舆情不存在或无权查看" in shown.get_data(as_text=True)
    assert "关于种子质量问题的说明" in shown.get_data(as_text=True)  # what was typed is kept
    assert cast.drafter.get(f"/cases/{case['id']}").get_json()["statements"] == []
    resp = web.post("/statements/new", data={
        "csrf_token": token, "title": "关于种子质量问题的说明", "digest": "", "body": "经核实，网传信息不实。",
        "priority": "urgent", "channels": ["portal"], "go_live_at": "", "agencies": "",
        "case_ids": f"#{case['id']}"})
    assert resp.status_code == 302
    linked = cast.drafter.get(f"/cases/{case['id']}").get_json()["statements"]
    assert len(linked) == 1 and linked[0]["title"] == "关于种子质量问题的说明"
