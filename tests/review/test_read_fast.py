"""The read API's fast path (review/rows.py): the same statement objects as the ORM serializer, byte for byte,
with strong ETags so a client revalidates with `If-None-Match` and gets 304 (issue 13)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.extensions import db
from review.models import Revision, Statement
from review.serialize import statement_json
from tests.factories import Office


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "FST")


def orm_bytes(app: Flask, statement_id: int) -> bytes:
    """What `GET /statements/{id}` answered before the fast path: `jsonify(statement_json(st))`."""
    with app.test_request_context():
        st = db.session.get(Statement, statement_id)
        assert st is not None
        return app.json.response(statement_json(st)).get_data()


def variety(office: Office) -> list[dict[str, Any]]:
    """Statements in most shapes an object takes: draft, reviewed with confirmations and comments, sent back and
    edited, approved with deliveries, asked of one expert, saved before checks were stored."""
    draft = office.draft(channels=["portal"])
    confirmed = office.submitted(agencies=["河南省农业农村厅"])
    assert office.review(office.expert, confirmed, "expert", comment="同意").status_code == 201
    assert office.drafter.post(f"/statements/{confirmed['id']}/confirmations", {
        "revision_hash": confirmed["revision"]["hash"], "agency": "河南省农业农村厅", "contact": "王处长",
        "method": "phone", "note": "电话确认 \"引号\" \\ 与换行\n"}).status_code == 201
    assert office.expert2.post(f"/statements/{confirmed['id']}/comments", {
        "revision_hash": confirmed["revision"]["hash"], "comment": "第二段请注明出处"}).status_code == 201
    returned = office.submitted(channels=["portal"], body="经核实，网传信息不实。\n\n- 一\n- 二")
    assert office.review(office.expert, returned, "expert", "request_changes", "请补充时间").status_code == 201
    assert office.drafter.put(f"/statements/{returned['id']}", {"body": "经核实，网传信息不实。特此说明。"}
                              ).status_code == 200
    approved = office.approved(channels=["portal", "wechat"], priority="urgent")
    asked = office.drafter.post(f"/statements/{office.draft()['id']}/submit",
                                {"reviewers": [office.expert2.user.username]}).get_json()
    legacy = office.draft(title="旧稿", body="早于检查的稿件 https://example.com/a")
    with office.app.app_context():
        db.session.execute(update(Revision).where(Revision.statement_id == legacy["id"]).values(checks=None))
        db.session.commit()
    return [draft, confirmed, returned, approved, asked, legacy]


def test_get_answers_byte_for_byte_what_the_orm_serializer_answers(app: Flask, office: Office) -> None:
    made = variety(office)
    for st in made:
        resp = office.office.get(f"/statements/{st['id']}")
        assert resp.status_code == 200 and resp.mimetype == "application/json"
        assert resp.get_data() == orm_bytes(app, st["id"]), st["id"]
    approved = office.office.get(f"/statements/{made[3]['id']}").get_json()
    assert {d["channel"] for d in approved["deliveries"]} == {"portal", "wechat"}
    assert approved["reviews"][0]["on_behalf_of"] is None
    assert office.office.get(f"/statements/{made[4]['id']}").get_json()["requested_reviewers"] == [
        office.expert2.user.username]
    assert office.office.get(f"/statements/{made[5]['id']}").get_json()["revision"]["checks"]  # checked now


def test_lists_answer_what_the_orm_serializer_answers(app: Flask, office: Office) -> None:
    made = variety(office)
    resp = office.office.get("/statements?per_page=100")
    assert resp.status_code == 200
    listed = resp.get_json()
    assert listed["total"] == len(made) and len(listed["items"]) == len(made)
    with app.test_request_context():
        ordered = db.session.scalars(select(Statement).order_by(Statement.updated_at.desc(), Statement.id.desc()))
        expected = {"items": [statement_json(st) for st in ordered], "total": len(made)}
        assert resp.get_data() == app.json.response(expected).get_data()
    page = office.drafter.get("/statements?per_page=2&page=2&q=网传").get_json()
    assert page["total"] == 5 and len(page["items"]) == 2  # all but the legacy one say 网传
    assert office.office.get("/statements?status=approved").get_json()["items"][0]["id"] == made[3]["id"]


def revalidate(who: Any, st: dict[str, Any], tag: str) -> Any:
    return who.client.get(f"/api/v1/statements/{st['id']}", headers={**who.headers, "If-None-Match": tag})


def test_strong_etag_revalidates_to_304_until_anything_in_the_object_changes(office: Office) -> None:
    st = office.submitted(channels=["portal"])
    first = office.expert.get(f"/statements/{st['id']}")
    tag = first.headers["ETag"]
    assert not tag.startswith("W/") and st["revision"]["hash"][:16] in tag and "in_review" in tag
    assert first.headers["Cache-Control"] == "private, no-cache"
    again = revalidate(office.expert, st, tag)
    assert again.status_code == 304 and again.get_data() == b"" and again.headers["ETag"] == tag
    # a comment changes neither status nor version, and still changes the object: the tag must move
    assert office.expert2.post(f"/statements/{st['id']}/comments", {
        "revision_hash": st["revision"]["hash"], "comment": "请核对日期"}).status_code == 201
    changed = revalidate(office.expert, st, tag)
    assert changed.status_code == 200 and changed.headers["ETag"] != tag
    assert changed.get_json()["comments"][0]["comment"] == "请核对日期"
    decided = revalidate(office.expert, st, changed.headers["ETag"])
    assert decided.status_code == 304
    assert office.review(office.expert, st, "expert").status_code == 201
    moved = revalidate(office.expert, st, changed.headers["ETag"])
    assert moved.status_code == 200 and moved.get_json()["pending_stage"] == "leader"


def test_fast_get_keeps_the_visibility_rules(app: Flask, office: Office) -> None:
    st = office.draft()
    other = Office(app, "FS2")
    resp = other.drafter.get(f"/statements/{st['id']}")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_unit"
    assert other.office.get(f"/statements/{st['id']}").status_code == 200  # the office sees every unit
    missing = office.drafter.get("/statements/987654")
    assert missing.status_code == 404 and missing.get_json()["error"]["code"] == "not_found"
    assert [i["id"] for i in other.drafter.get("/statements").get_json()["items"]] == []
