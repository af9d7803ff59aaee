"""The cases API as an integrator sees it: the object, the flow, order, bad input, the register's list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.extensions import db
from app.models import AuditEvent
from cases.models import Case, CaseEvent
from tests.cases.helpers import Cast, ago

CASE_KEYS = {"id", "title", "summary", "source", "source_url", "discovered_at", "status", "level", "must_respond",
             "lead_unit", "assisting_units", "units", "responsible", "deadlines", "events", "statements",
             "created_at"}


def counts(app: Flask) -> tuple[int, int, int]:
    with app.app_context():
        return (db.session.scalar(select(func.count(Case.id))) or 0,
                db.session.scalar(select(func.count(CaseEvent.id))) or 0,
                db.session.scalar(select(func.count(AuditEvent.id))) or 0)


def test_a_case_from_registration_to_close(app: Flask) -> None:
    cast = Cast(app)
    case = cast.case(discovered_at=ago(hours=2))
    assert CASE_KEYS <= set(case)
    assert case["status"] == "registered" and case["level"] is None and case["deadlines"] == []
    assert case["lead_unit"] == "A" and case["units"] == ["A"] and case["source_url"] == "https://weibo.com/1234/abcd"
    assert case["responsible"]["first"]["username"] == "leader_a"
    assert case["responsible"]["direct"]["username"] == "leader2_a"
    assert [p["username"] for p in case["responsible"]["spokespersons"]] == ["drafter_a"]
    assert case["responsible"]["duty_phone"] == "0371-65711111"
    assert [e["kind"] for e in case["events"]] == ["registered"] and case["events"][0]["actor"] == "office"

    case = cast.office.post(f"/cases/{case['id']}/assessment",
                            {"level": 3, "rationale": "涉及种子质量", "must_respond": True}).get_json()
    assert case["status"] == "assessed" and case["level"] == 3 and case["must_respond"] is True
    [clock] = case["deadlines"]
    discovered = datetime.fromisoformat(case["discovered_at"])
    assert clock["kind"] == "response" and clock["state"] == "pending" and clock["met_at"] is None
    assert datetime.fromisoformat(clock["due_at"]) - discovered == timedelta(hours=48)

    case = cast.office.post(f"/cases/{case['id']}/assignment",
                            {"lead_unit": "A", "assisting_units": ["B"], "note": "请植保所牵头"}).get_json()
    assert case["status"] == "assigned" and case["assisting_units"] == ["B"] and set(case["units"]) == {"A", "B"}
    case = cast.drafter.post(f"/cases/{case['id']}/acceptance", {}).get_json()
    assert case["status"] == "handling"
    for n in range(2):
        resp = cast["leader", "B"].post(f"/cases/{case['id']}/feedback", {"note": f"协办进展 {n}"})
        assert resp.status_code == 201 and resp.get_json()["status"] == "handling"
    held = ago(minutes=30)
    case = cast.drafter.post(f"/cases/{case['id']}/responses", {
        "form": "press_conference", "held_at": held, "note": "召开新闻发布会", "evidence_url": "https://example.cn/fb",
    }).get_json()
    assert case["status"] == "responded"
    assert case["deadlines"][0]["state"] == "met"
    assert datetime.fromisoformat(case["deadlines"][0]["met_at"]) == datetime.fromisoformat(held)
    case = cast.office.post(f"/cases/{case['id']}/close", {"outcome": "已澄清"}).get_json()
    assert case["status"] == "closed"
    assert [e["kind"] for e in case["events"]] == [
        "registered", "assessed", "assigned", "accepted", "feedback", "feedback", "responded", "closed"]
    with app.app_context():
        actions = list(db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.object_type == "case").order_by(AuditEvent.id)))
    assert actions == ["case.create", "case.assess", "case.assign", "case.accept", "case.feedback",
                       "case.feedback", "case.respond", "case.close"]


@pytest.mark.parametrize("status, step, body", [
    ("registered", "acceptance", {}),
    ("registered", "assignment", {"lead_unit": "A"}),
    ("registered", "close", {"outcome": "x", "no_response_reason": "不予回应"}),
    ("registered", "responses", {"form": "other", "held_at": ago(minutes=1)}),
    ("assessed", "acceptance", {}),
    ("assigned", "responses", {"form": "other", "held_at": ago(minutes=1)}),
    ("handling", "acceptance", {}),
    ("responded", "acceptance", {}),
])
def test_a_step_out_of_order_is_409_and_changes_nothing(app: Flask, status: str, step: str, body: dict[str, Any]
                                                        ) -> None:
    cast = Cast(app)
    case = cast.at(status)
    before = counts(app)
    who = cast.office if step == "assignment" else cast.leader if step == "close" else cast.drafter
    resp = who.post(f"/cases/{case['id']}/{step}", body)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "wrong_state", resp.get_json()
    assert counts(app) == before


@pytest.mark.parametrize("step, who, body", [
    ("assessment", "office", {"level": 1, "rationale": "再研判"}),
    ("assignment", "office", {"lead_unit": "A"}),
    ("acceptance", "drafter", {}),
    ("feedback", "office", {"note": "补充"}),
    ("responses", "drafter", {"form": "other", "held_at": ago(minutes=1)}),
    ("close", "office", {"outcome": "再次办结"}),
])
def test_acting_on_a_closed_case_is_409(app: Flask, step: str, who: str, body: dict[str, Any]) -> None:
    cast = Cast(app)
    case = cast.at("closed")
    before = counts(app)
    resp = (cast.office if who == "office" else cast.drafter).post(f"/cases/{case['id']}/{step}", body)
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "wrong_state"
    assert counts(app) == before


def test_reassessment_while_open_keeps_the_status_and_recomputes_the_clocks(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 1, "rationale": "事态升级"}).get_json()
    assert case["status"] == "handling" and case["level"] == 1
    assert sorted(d["kind"] for d in case["deadlines"]) == ["authoritative_release", "press_conference"]
    assessed = [e for e in case["events"] if e["kind"] == "assessed"]
    assert [e["data"]["level"] for e in assessed] == [3, 1] and assessed[-1]["data"]["previous_level"] == 3


BAD_CASES = [
    ({"units": ["A", "NOPE"]}, "units"),
    ({"units": []}, "units"),
    ({"units": "A"}, "units"),
    ({"discovered_at": (datetime.now(UTC) + timedelta(hours=1)).isoformat()}, "discovered_at"),
    ({"discovered_at": "2026-03-01 09:00"}, "discovered_at"),
    ({"discovered_at": "yesterday"}, "discovered_at"),
    ({"source_url": "ftp://example.cn/x"}, "source_url"),
    ({"source_url": "javascript:alert(1)"}, "source_url"),
    ({"source_url": "https://"}, "source_url"),
    ({"source_url": "https://example.cn/" + "a" * 2000}, "source_url"),
    ({"summary": "长" * 5001}, "summary"),
    ({"title": ""}, "title"),
    ({"title": "题" * 101}, "title"),
    ({"source": "tiktok"}, "source"),
]


@pytest.mark.parametrize("change, field", BAD_CASES)
def test_bad_intake_is_400_on_the_field_and_writes_nothing(app: Flask, change: dict[str, Any], field: str) -> None:
    cast = Cast(app)
    before = counts(app)
    body = {"title": "网传试验站污染", "summary": "…", "source": "forum", "units": ["A"], **change}
    resp = cast.office.post("/cases", body)
    assert resp.status_code == 400, resp.get_json()
    error = resp.get_json()["error"]
    assert error["code"] == "invalid" and field in error["fields"], error
    assert counts(app) == before


def test_oversize_and_malformed_bodies(app: Flask) -> None:
    cast = Cast(app)
    resp = cast.office.client.post("/api/v1/cases", data=b"{" + b" " * (1024 * 1024 + 10) + b"}",
                                   headers={**cast.office.headers, "Content-Type": "application/json"})
    assert resp.status_code == 413 and resp.get_json()["error"]["code"] == "too_large"
    resp = cast.office.client.post("/api/v1/cases", data=b"{not json",
                                   headers={**cast.office.headers, "Content-Type": "application/json"})
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid"
    assert app.test_client().post("/api/v1/cases", json={"title": "x"}).status_code == 401
    assert app.test_client().get("/api/v1/cases").status_code == 401


@pytest.mark.parametrize("step, who, state, body, field", [
    ("assessment", "office", "registered", {"level": 5, "rationale": "x"}, "level"),
    ("assessment", "office", "registered", {"level": 2}, "rationale"),
    ("assessment", "office", "registered", {"level": 2, "rationale": "x", "must_respond": "yes"}, "must_respond"),
    ("assignment", "office", "assessed", {"lead_unit": "NOPE"}, "lead_unit"),
    ("assignment", "office", "assessed", {"lead_unit": "A", "assisting_units": ["ZZ"]}, "assisting_units"),
    ("feedback", "office", "assigned", {"note": "  "}, "note"),
    ("responses", "drafter", "handling", {"form": "statement"}, "statement_id"),
    ("responses", "drafter", "handling", {"form": "statement", "statement_id": 999999}, "statement_id"),
    ("responses", "drafter", "handling", {"form": "press_conference"}, "held_at"),
    ("responses", "drafter", "handling", {"form": "other", "held_at": ago(hours=-3)}, "held_at"),
    ("responses", "drafter", "handling", {"form": "other", "held_at": ago(hours=1), "evidence_url": "file:///etc"},
     "evidence_url"),
    ("responses", "drafter", "handling", {"form": "telegram", "held_at": ago(hours=1)}, "form"),
    ("close", "office", "responded", {"outcome": ""}, "outcome"),
])
def test_bad_steps_are_400_on_the_field_and_change_nothing(app: Flask, step: str, who: str, state: str,
                                                           body: dict[str, Any], field: str) -> None:
    cast = Cast(app)
    case = cast.at(state)
    before = counts(app)
    resp = (cast.office if who == "office" else cast.drafter).post(f"/cases/{case['id']}/{step}", body)
    assert resp.status_code == 400, resp.get_json()
    assert field in resp.get_json()["error"]["fields"]
    assert counts(app) == before


def test_missing_case_is_404(app: Flask) -> None:
    cast = Cast(app)
    assert cast.office.get("/cases/424242").status_code == 404
    assert cast.office.post("/cases/424242/feedback", {"note": "x"}).get_json()["error"]["code"] == "not_found"


def test_register_list_filters_most_urgent_first_and_pages(app: Flask) -> None:
    cast = Cast(app)
    general = cast.at("assessed", title="一般舆情")
    cast.office.post(f"/cases/{general['id']}/assessment", {"level": 4, "rationale": "一般"})
    major = cast.case(title="重大舆情", source="press")
    cast.office.post(f"/cases/{major['id']}/assessment", {"level": 2, "rationale": "重大"})
    late = cast.case(title="超时舆情", discovered_at=ago(hours=60))
    cast.office.post(f"/cases/{late['id']}/assessment", {"level": 3, "rationale": "较大"})
    ungraded = cast.case(title="待研判舆情", units=["B"])
    closed = cast.at("closed", title="已办结舆情")

    items = cast.office.get("/cases").get_json()["items"]
    assert [c["id"] for c in items] == [ungraded["id"], major["id"], late["id"], general["id"], closed["id"]]
    listing = cast.office.get("/cases?overdue=true").get_json()
    assert [c["id"] for c in listing["items"]] == [late["id"]] and listing["total"] == 1
    assert listing["items"][0]["deadlines"][0]["state"] == "overdue"
    assert [c["id"] for c in cast.office.get("/cases?level=2").get_json()["items"]] == [major["id"]]
    assert [c["id"] for c in cast.office.get("/cases?source=press").get_json()["items"]] == [major["id"]]
    assert [c["id"] for c in cast.office.get("/cases?status=closed").get_json()["items"]] == [closed["id"]]
    assert [c["id"] for c in cast.office.get("/cases?unit=B").get_json()["items"]] == [ungraded["id"], closed["id"]]
    assert [c["id"] for c in cast.office.get("/cases?q=超时").get_json()["items"]] == [late["id"]]
    page = cast.office.get("/cases?per_page=2&page=2").get_json()
    assert page["total"] == 5 and [c["id"] for c in page["items"]] == [late["id"], general["id"]]
    assert cast.drafter.get("/cases").get_json()["total"] == 4  # unit A's, not B's ungraded one
    for query, field in (("level=9", "level"), ("status=open", "status"), ("unit=ZZ", "unit"),
                         ("source=tv", "source"), ("overdue=maybe", "overdue"), ("per_page=500", "per_page")):
        resp = cast.office.get(f"/cases?{query}")
        assert resp.status_code == 400 and field in resp.get_json()["error"]["fields"], query


def test_two_people_taking_the_same_step_at_once_one_wins(app: Flask) -> None:
    import threading

    cast = Cast(app)
    case = cast.at("assigned")
    answers: list[int] = []
    barrier = threading.Barrier(2)
    for who in (cast.drafter, cast.leader):  # the token's first use of the minute writes: not part of the race
        who.get(f"/cases/{case['id']}")

    def accept(who: Any) -> None:
        barrier.wait()
        answers.append(who.post(f"/cases/{case['id']}/acceptance", {"note": "我来"}).status_code)

    threads = [threading.Thread(target=accept, args=(who,)) for who in (cast.drafter, cast.leader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(answers) == [201, 409]
    shown = cast.office.get(f"/cases/{case['id']}").get_json()
    assert [e["kind"] for e in shown["events"]].count("accepted") == 1
