"""代理 (stand-ins) and requested reviewers: who sees the work, who may act, how it is recorded and told."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent, User
from app.notifications.models import Notification
from review import worklists
from tests.factories import Api, Office, unit, user
from tests.review.test_preview import element
from tests.review.test_web import Browser, text


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def soon(hours: float = 8) -> str:
    return (datetime.now(UTC) + timedelta(hours=hours)).isoformat()


def name_stand_in(who: Api, deputy: Api, role: str, **extra: Any) -> dict[str, Any]:
    resp = who.post("/delegations", {"deputy": deputy.user.username, "role": role, "ends_at": soon(), **extra})
    assert resp.status_code == 201, resp.get_json()
    return resp.get_json()


def at_leader_stage(office: Office) -> dict[str, Any]:
    st = office.submitted()
    assert office.review(office.expert, st, "expert").status_code == 201
    return st


def lists_of(app: Flask, username: str) -> dict[str, list[int]]:
    with app.app_context():
        person = User.by_username(username)
        assert person is not None
        return {w.kind.name: [s.id for s in w.items] for w in worklists.for_user(person)}


def inbox(app: Flask, username: str) -> list[tuple[str, str]]:
    with app.app_context():
        person = User.by_username(username)
        assert person is not None
        return [(n.kind, n.subject) for n in db.session.scalars(
            select(Notification).where(Notification.recipient_id == person.id).order_by(Notification.id))]


def test_stand_in_sees_the_leaders_work_and_approves_as_dai(app: Flask, office: Office) -> None:
    stand_in = office.expert2  # an expert of the unit, not a leader
    grant = name_stand_in(office.leader, stand_in, "leader", note="出差")
    assert grant["principal"] == office.leader.user.username and grant["active"] is True
    assert ("delegation", f"{office.leader.user.username} 请您代理领导审批") in inbox(app, stand_in.user.username)

    st = at_leader_stage(office)
    assert lists_of(app, stand_in.user.username)["approve"] == [st["id"]]
    assert any(kind == "review_requested" and "待领导审批" in subject
               for kind, subject in inbox(app, stand_in.user.username)), "the stand-in is told, as the leader is"

    resp = office.review(stand_in, st, "leader")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["status"] in ("approved", "publishing", "published")
    leader_review = body["reviews"][-1]
    assert leader_review["reviewer"] == stand_in.user.username
    assert leader_review["on_behalf_of"] == office.leader.user.username
    with app.app_context():
        events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "review.leader.approve")).all()
        assert [(e.actor.username, e.after["on_behalf_of"]) for e in events] == [
            (stand_in.user.username, office.leader.user.username)]
        assert db.session.scalar(select(AuditEvent.id).where(AuditEvent.action == "delegation.create")) is not None

    page = text(Browser(app, office.drafter.user.username).get(f"/statements/{st['id']}"))
    assert f"（代 {office.leader.user.username}）" in page


def test_separation_of_duties_holds_for_the_person_who_acts(app: Flask, office: Office) -> None:
    # the drafter stands in for the leader: their own text never reaches them
    name_stand_in(office.leader, office.drafter, "leader")
    st = at_leader_stage(office)
    assert "approve" in lists_of(app, office.drafter.user.username)
    assert lists_of(app, office.drafter.user.username)["approve"] == []
    resp = office.review(office.drafter, st, "leader")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "self_review"

    # the expert who approved this text cannot approve it again as the leader's stand-in
    other = Office(app, "NJS")
    name_stand_in(other.leader, other.expert, "leader")
    st2 = other.submitted()
    assert other.review(other.expert, st2, "expert").status_code == 201
    assert other.expert.get(f"/statements/{st2['id']}").get_json()["pending_stage"] == "leader"
    assert lists_of(app, other.expert.user.username)["approve"] == []
    resp = other.review(other.expert, st2, "leader")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "duplicate_reviewer"


def test_no_grant_no_right_and_a_revoked_one_ends_at_once(app: Flask, office: Office) -> None:
    st = at_leader_stage(office)
    resp = office.review(office.expert2, st, "leader")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_role"

    grant = name_stand_in(office.leader, office.expert2, "leader")
    assert st["id"] in lists_of(app, office.expert2.user.username)["approve"]
    resp = office.leader.post(f"/delegations/{grant['id']}/revoke")
    assert resp.status_code == 200 and resp.get_json()["active"] is False
    assert "approve" not in lists_of(app, office.expert2.user.username)
    resp = office.review(office.expert2, st, "leader")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_role"

    # a grant that has not started yet gives nothing either
    start = (datetime.now(UTC) + timedelta(hours=2)).isoformat()
    name_stand_in(office.leader, office.expert2, "leader", starts_at=start, ends_at=soon(4))
    assert "approve" not in lists_of(app, office.expert2.user.username)
    listed = office.expert2.get("/delegations").get_json()
    assert [d["principal"] for d in listed["received"]] == [office.leader.user.username] * 2


def test_grants_are_checked(app: Flask, office: Office) -> None:
    other = Office(app, "NJS")
    cases = [
        ({"deputy": other.expert.user.username, "role": "leader"}, "deputy"),      # another unit
        ({"deputy": office.leader.user.username, "role": "leader"}, "deputy"),     # oneself
        ({"deputy": "nobody", "role": "leader"}, "deputy"),
        ({"deputy": office.expert.user.username, "role": "expert"}, "role"),       # a role not held
        ({"deputy": office.expert.user.username, "role": "drafter"}, "role"),
        ({"deputy": office.expert.user.username, "role": "leader", "ends_at": "2020-01-01T00:00:00+08:00"},
         "ends_at"),
        ({"deputy": office.expert.user.username, "role": "leader", "ends_at": soon(24 * 100)}, "ends_at"),
        ({"deputy": office.expert.user.username, "role": "leader", "ends_at": "2031-01-01T09:00"}, "ends_at"),
    ]
    for body, field in cases:
        resp = office.leader.post("/delegations", {"ends_at": soon(), **body})
        assert resp.status_code == 400, (body, resp.get_json())
        assert field in resp.get_json()["error"]["fields"], (body, resp.get_json())
    name_stand_in(office.leader, office.expert, "leader")
    resp = office.leader.post("/delegations", {"deputy": office.expert2.user.username, "role": "leader",
                                               "ends_at": soon()})
    assert resp.status_code == 400 and "starts_at" in resp.get_json()["error"]["fields"], "one stand-in at a time"
    # only the principal names their stand-in (an admin may do it for them)
    resp = office.drafter.post("/delegations", {"deputy": office.expert.user.username, "role": "leader",
                                                "ends_at": soon(), "principal": office.leader.user.username})
    assert resp.status_code == 403
    admin = Api(app, user(app, office.office_unit, "admin"))
    resp = admin.post("/delegations", {"deputy": office.expert.user.username, "role": "expert",
                                       "principal": office.expert2.user.username, "ends_at": soon()})
    assert resp.status_code == 201 and resp.get_json()["principal"] == office.expert2.user.username
    # a stranger cannot end someone else's grant
    resp = other.leader.post(f"/delegations/{resp.get_json()['id']}/revoke")
    assert resp.status_code == 404


def test_a_reviewer_who_holds_the_role_acts_in_their_own_right_unless_they_say_otherwise(
        app: Flask, office: Office) -> None:
    app.config["EXPERT_APPROVALS_REQUIRED"] = 2
    name_stand_in(office.expert, office.expert2, "expert")
    st = office.submitted()
    resp = office.review(office.expert2, st, "expert")
    assert resp.status_code == 201 and resp.get_json()["reviews"][-1]["on_behalf_of"] is None
    # the same person cannot approve the same text again by naming their principal: one person, one approval
    resp = office.expert2.post(f"/statements/{st['id']}/reviews", {
        "revision_hash": st["revision"]["hash"], "stage": "expert", "decision": "approve",
        "on_behalf_of": office.expert.user.username})
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "duplicate_reviewer"
    # naming someone one does not stand in for is refused on the field
    resp = office.expert2.post(f"/statements/{st['id']}/reviews", {
        "revision_hash": st["revision"]["hash"], "stage": "expert", "decision": "request_changes",
        "comment": "请补充数据来源", "on_behalf_of": office.leader.user.username})
    assert resp.status_code == 400 and "on_behalf_of" in resp.get_json()["error"]["fields"]
    resp = office.expert2.post(f"/statements/{st['id']}/reviews", {
        "revision_hash": st["revision"]["hash"], "stage": "expert", "decision": "request_changes",
        "comment": "请补充数据来源", "on_behalf_of": office.expert.user.username})
    assert resp.status_code == 201
    assert resp.get_json()["reviews"][-1]["on_behalf_of"] == office.expert.user.username


def test_the_review_form_offers_acting_for_the_principal(app: Flask, office: Office) -> None:
    name_stand_in(office.leader, office.expert2, "leader")
    st = at_leader_stage(office)
    web = Browser(app, office.expert2.user.username)
    page = web.get(f"/statements/{st['id']}")
    form = element(page, "review")
    assert 'name="on_behalf_of"' in form and f"（代 {office.leader.user.username}）" in form
    assert "本人（" not in form, "without the leader role of their own the stand-in acts only for the leader"
    resp = web.post(f"/statements/{st['id']}/reviews", {
        "revision_hash": st["revision"]["hash"], "stage": "leader", "decision": "approve", "comment": "",
        "on_behalf_of": office.leader.user.username, "confirm_release": "yes"})
    assert resp.status_code == 302
    stored = office.drafter.get(f"/statements/{st['id']}").get_json()
    assert stored["reviews"][-1]["on_behalf_of"] == office.leader.user.username


def test_delegation_page_names_a_stand_in(app: Flask, office: Office) -> None:
    web = Browser(app, office.leader.user.username)
    page = web.get("/delegations")
    assert page.status_code == 200 and 'id="new-delegation"' in page.get_data(as_text=True)
    resp = web.post("/delegations", {"deputy": office.expert.user.username, "role": "leader",
                                     "starts_at": "", "ends_at": "2020-01-01T09:00"})
    assert resp.status_code == 302
    page = web.get("/delegations")
    assert page.status_code == 400 and "结束时间已过" in text(page)
    later = (datetime.now(UTC) + timedelta(days=2)).astimezone().strftime("%Y-%m-%dT%H:%M")
    resp = web.post("/delegations", {"deputy": office.expert.user.username, "role": "leader", "ends_at": later,
                                     "note": "出差"})
    assert resp.status_code == 302
    page = text(web.get("/delegations"))
    assert "生效中" in page and office.expert.user.username in page
    held = text(Browser(app, office.expert.user.username).get("/delegations"))
    assert f"代 {office.leader.user.username}" in held


def test_drafter_requests_experts_and_only_they_are_told(app: Flask, office: Office) -> None:
    st = office.draft()
    resp = office.drafter.post(f"/statements/{st['id']}/submit", {"reviewers": [office.expert2.user.username]})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["requested_reviewers"] == [office.expert2.user.username]
    asked = inbox(app, office.expert2.user.username)
    assert [k for k, _s in asked] == ["review_requested"] and asked[0][1].startswith("请您审核")
    assert inbox(app, office.expert.user.username) == []
    # the request names who is expected, not who may: another expert of the unit may still review
    assert office.review(office.expert, resp.get_json(), "expert").status_code == 201

    plain = office.draft()
    assert office.drafter.post(f"/statements/{plain['id']}/submit").status_code == 200
    assert len(inbox(app, office.expert.user.username)) == 1, "without a request every expert is told"


def test_requested_reviewers_are_checked(app: Flask, office: Office) -> None:
    other = Office(app, "NJS")
    st = office.draft()
    for names in ([other.expert.user.username], ["nobody"], [office.leader.user.username], "x", [1]):
        resp = office.drafter.post(f"/statements/{st['id']}/submit", {"reviewers": names})
        assert resp.status_code == 400 and "reviewers" in resp.get_json()["error"]["fields"], names
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "draft"
    # an expert who wrote a revision cannot be asked
    writer = Api(app, user(app, office.unit, "drafter", "expert"))
    mine = writer.post("/statements", {"title": "关于小麦的说明", "body": "经核实，不实。"}).get_json()
    resp = writer.post(f"/statements/{mine['id']}/submit", {"reviewers": [writer.user.username]})
    assert resp.status_code == 400


def test_submit_form_offers_the_units_experts(app: Flask, office: Office) -> None:
    st = office.draft()
    web = Browser(app, office.drafter.user.username)
    page = text(web.get(f"/statements/{st['id']}"))
    assert 'name="reviewers"' in page and office.expert.user.username in page
    assert office.leader.user.username not in page.split('class="submit-form"')[1].split("</form>")[0]
    resp = web.post(f"/statements/{st['id']}/submit", {"reviewers": office.expert.user.username})
    assert resp.status_code == 302
    page = text(web.get(f"/statements/{st['id']}"))
    assert "指定审核专家" in page
    assert [k for k, _s in inbox(app, office.expert.user.username)] == ["review_requested"]
    assert inbox(app, office.expert2.user.username) == []


def test_stand_in_of_another_unit_is_impossible_even_after_a_move(app: Flask, office: Office) -> None:
    name_stand_in(office.leader, office.expert2, "leader")
    st = at_leader_stage(office)
    unit(app, "NJS")
    with app.app_context():
        from app.models import Unit

        moved = User.by_username(office.expert2.user.username)
        target = Unit.by_code("NJS")
        assert moved is not None and target is not None
        moved.unit_id = target.id
        db.session.commit()
    assert "approve" not in lists_of(app, office.expert2.user.username) or \
        lists_of(app, office.expert2.user.username)["approve"] == []
    resp = office.review(office.expert2, st, "leader")
    assert resp.status_code == 403
