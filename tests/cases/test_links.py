"""Statements answering cases: links, and a published statement recording the response by itself."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select

from app.errors import Invalid
from app.extensions import db
from app.models import User
from cases import links, queries
from cases.models import CaseEvent, CaseResponse, CaseStatement
from tests.cases.helpers import Cast


def statement(cast: Cast, who: Any = None) -> dict[str, Any]:
    resp = (who or cast.drafter).post("/statements", {"title": "关于种子质量问题的说明", "body": "经核实……"})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def link(app: Flask, statement_id: int, case_ids: list[int], username: str = "drafter_a") -> list[int]:
    with app.app_context():
        actor = User.by_username(username)
        assert actor is not None
        found = links.link_statements(statement_id, case_ids, actor)
        db.session.commit()
        return [c.id for c in found]


def publish(app: Flask, statement_id: int, at: datetime) -> list[int]:
    with app.app_context():
        changed = links.record_statement_published(statement_id, at)
        db.session.commit()
        return changed


def test_publishing_a_linked_statement_records_the_response_once(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    other = cast.at("assessed")
    st = statement(cast)
    assert link(app, st["id"], [case["id"], other["id"]]) == [case["id"], other["id"]]
    with app.app_context():
        assert [c.id for c in links.cases_for_statement(st["id"])] == [case["id"], other["id"]]
    shown = cast.drafter.get(f"/cases/{case['id']}").get_json()
    assert shown["statements"] == [{"id": st["id"], "title": "关于种子质量问题的说明", "status": "draft",
                                    "published_at": None}]
    at = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=1)
    assert publish(app, st["id"], at) == [case["id"], other["id"]]
    assert publish(app, st["id"], at + timedelta(minutes=5)) == []  # idempotent
    for case_id in (case["id"], other["id"]):
        shown = cast.drafter.get(f"/cases/{case_id}").get_json()
        assert shown["status"] == "responded"
        assert [e["kind"] for e in shown["events"]].count("responded") == 1
        assert datetime.fromisoformat(shown["statements"][0]["published_at"]) == at
        assert all(datetime.fromisoformat(d["met_at"]) == at for d in shown["deadlines"])
    with app.app_context():
        assert db.session.scalar(select(func.count(CaseResponse.id)).where(CaseResponse.counted)) == 2


def test_a_statement_response_counts_only_once_published(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    st = statement(cast)
    resp = cast.drafter.post(f"/cases/{case['id']}/responses", {"form": "statement", "statement_id": st["id"]})
    assert resp.status_code == 201, resp.get_json()
    shown = resp.get_json()
    assert shown["status"] == "handling" and shown["deadlines"][0]["met_at"] is None
    assert [s["id"] for s in shown["statements"]] == [st["id"]]
    again = cast.drafter.post(f"/cases/{case['id']}/responses", {"form": "statement", "statement_id": st["id"]})
    assert again.status_code == 400 and "statement_id" in again.get_json()["error"]["fields"]
    # without a counted response only the lead unit's leader may close, and with a reason
    assert cast.office.post(f"/cases/{case['id']}/close", {"outcome": "x"}).status_code == 403
    at = datetime.now(UTC).replace(microsecond=0)
    assert publish(app, st["id"], at) == [case["id"]]
    shown = cast.drafter.get(f"/cases/{case['id']}").get_json()
    assert shown["status"] == "responded" and shown["deadlines"][0]["state"] == "met"
    assert cast.office.post(f"/cases/{case['id']}/close", {"outcome": "已回应"}).status_code == 201


def test_a_statement_of_another_unit_cannot_be_recorded(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    st = statement(cast, cast["drafter", "B"])
    resp = cast.drafter.post(f"/cases/{case['id']}/responses", {"form": "statement", "statement_id": st["id"]})
    assert resp.status_code == 400 and "statement_id" in resp.get_json()["error"]["fields"]


def test_unknown_or_invisible_case_ids_are_400_on_case_ids_and_link_nothing(app: Flask) -> None:
    cast = Cast(app)
    mine = cast.case()
    theirs = cast.case(units=["B"])
    st = statement(cast)
    for ids in ([theirs["id"]], [mine["id"], 999999]):
        with pytest.raises(Invalid) as refused:
            link(app, st["id"], ids)
        assert "case_ids" in (refused.value.fields or {})
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(CaseStatement)) == 0
        office = User.by_username("office")
        drafter = User.by_username("drafter_a")
        assert office is not None and drafter is not None
        assert queries.visible_case_ids(office) == {mine["id"], theirs["id"]}
        assert queries.visible_case_ids(drafter) == {mine["id"]}
        assert queries.visible_case_ids(drafter, [theirs["id"], mine["id"], 5]) == {mine["id"]}


def test_relinking_drops_unpublished_links_and_keeps_the_history(app: Flask) -> None:
    cast = Cast(app)
    first, second = cast.case(), cast.case()
    st = statement(cast)
    link(app, st["id"], [first["id"]])
    link(app, st["id"], [second["id"]])
    with app.app_context():
        assert [c.id for c in links.cases_for_statement(st["id"])] == [second["id"]]
        kinds = list(db.session.scalars(
            select(CaseEvent.kind).where(CaseEvent.case_id == first["id"]).order_by(CaseEvent.id)))
    assert kinds == ["registered", "statement_linked", "statement_unlinked"]
