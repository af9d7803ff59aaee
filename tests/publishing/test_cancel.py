"""取消发布: a scheduled statement can be stopped before its go-live time (issue 11, bug 1's second half).

Nothing has been said yet, so nothing may reach a channel, the public pages or the public record; the people
who worked on it are told, and the audit trail names who stopped it.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from app.notifications.models import Notification
from app.timeutil import utcnow
from publishing.models import LedgerEntry
from tests.factories import Office
from tests.publishing.helpers import deliveries, drain
from tests.publishing.test_pages import csrf, login
from tests.review.test_browser import assert_fits_the_phone, phone, sign_in  # noqa: F401

LATER = "2099-01-01T09:00:00+08:00"


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


def test_the_leader_cancels_a_scheduled_statement_from_its_page(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"], go_live_at=LATER)
    assert st["status"] == "scheduled"
    leader = login(app, office.leader.user.username)
    page = leader.get(f"/statements/{st['id']}").get_data(as_text=True)
    assert 'id="cancel-release"' in page and "上线前可以取消" in page
    assert 'id="retract"' not in page  # one clear action before go-live, not the public retraction
    token = csrf(leader, f"/statements/{st['id']}")
    resp = leader.post(f"/statements/{st['id']}/cancel", data={"csrf_token": token, "reason": "口径待统一"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/statements/{st['id']}")
    page = leader.get(resp.headers["Location"]).get_data(as_text=True)
    assert "已取消发布：该回应不会发出" in page and "取消发布，未曾发出" in page and "口径待统一" in page
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "retracted"
    assert deliveries(app, st["id"])["portal"]["state"] == "retracted"
    drain(app)  # nothing is due, nothing goes out
    assert deliveries(app, st["id"])["portal"]["state"] == "retracted"
    with app.app_context():
        assert db.session.scalars(select(LedgerEntry)).all() == []  # never said: not on the public record
        audit = db.session.scalars(select(AuditEvent.action).where(AuditEvent.object_id == st["id"])).all()
        assert "statement.cancel" in audit
        told = {n.recipient.username for n in db.session.scalars(select(Notification).where(
            Notification.kind == "release_cancelled"))}
    assert office.drafter.user.username in told and office.leader.user.username not in told  # not the actor
    assert app.test_client().get(f"/releases/{st['id']}").status_code == 404
    assert "未曾发出" not in app.test_client().get("/record").get_data(as_text=True)
    # the drafter may start again from its text
    drafter = login(app, office.drafter.user.username)
    page = drafter.get(f"/statements/{st['id']}").get_data(as_text=True)
    assert f"/statements/new?copy={st['id']}" in page and "起草更正" not in page
    editor = drafter.get(f"/statements/new?copy={st['id']}").get_data(as_text=True)
    assert "关于网传小麦品种问题的回应" in editor and "经核实，网传信息不实。" in editor


def test_only_what_has_not_gone_out_can_be_cancelled(app: Flask, office: Office) -> None:
    now = office.approved(channels=["portal"])  # go-live at once
    leader = login(app, office.leader.user.username)
    token = csrf(leader, f"/statements/{now['id']}")
    resp = leader.post(f"/statements/{now['id']}/cancel", data={"csrf_token": token}, follow_redirects=True)
    assert resp.status_code == 409 and "只有尚未到发布时间的定时发布可以取消" in resp.get_data(as_text=True)
    later = office.approved(channels=["portal"], go_live_at=LATER)
    drafter = login(app, office.drafter.user.username)
    assert 'id="cancel-release"' not in drafter.get(f"/statements/{later['id']}").get_data(as_text=True)
    resp = drafter.post(f"/statements/{later['id']}/cancel", data={"csrf_token": csrf(drafter, "/")})
    assert resp.status_code == 403
    other = login(app, Office(app, "NJS").leader.user.username)
    assert other.post(f"/statements/{later['id']}/cancel", data={"csrf_token": csrf(other, "/")}).status_code == 403
    assert office.drafter.get(f"/statements/{later['id']}").get_json()["status"] == "scheduled"


def test_a_due_release_is_no_longer_cancellable(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"], go_live_at=LATER)
    with app.app_context():
        from publishing.models import Release

        rel = db.session.scalar(select(Release).where(Release.statement_id == st["id"]))
        rel.go_live_at = utcnow() - timedelta(seconds=1)  # the go-live job is about to run
        db.session.commit()
    leader = login(app, office.leader.user.username)
    resp = leader.post(f"/statements/{st['id']}/cancel", data={"csrf_token": csrf(leader, "/")},
                       follow_redirects=True)
    assert resp.status_code == 409 and "已到发布时间" in resp.get_data(as_text=True)


def test_the_desk_lists_scheduled_statements_with_their_cancel(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"], go_live_at=LATER)
    desk = login(app, office.leader.user.username)
    page = desk.get("/desk").get_data(as_text=True)
    assert 'id="scheduled"' in page and "关于网传小麦品种问题的回应" in page and "发布到门户网站" in page
    assert f'action="/statements/{st["id"]}/cancel"' in page
    office_desk = login(app, office.office.user.username).get("/desk").get_data(as_text=True)
    assert "关于网传小麦品种问题的回应" in office_desk and f'/statements/{st["id"]}/cancel' not in office_desk
    resp = desk.post(f"/statements/{st['id']}/cancel", data={"csrf_token": csrf(desk, "/desk"), "from": "desk"})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/desk")
    page = desk.get("/desk").get_data(as_text=True)
    assert "已取消发布" in page and "没有等待上线的定时发布" in page


@pytest.mark.browser
def test_cancel_before_go_live_on_a_phone(app: Flask, office: Office, phone: Any, server: str  # noqa: F811
                                          ) -> None:
    st = office.approved(channels=["portal"], go_live_at=LATER)
    sign_in(phone, server, office.leader.user.username)
    phone.goto(f"{server}/desk")
    row = phone.locator(f".scheduled-release[data-statement='{st['id']}']")
    assert "2099-01-01 09:00" in row.inner_text()
    assert_fits_the_phone(phone)
    phone.goto(f"{server}/statements/{st['id']}")
    assert "上线前可以取消" in phone.locator("#publishing").inner_text()
    phone.get_by_text("取消发布", exact=True).click()
    phone.fill("#cancel-reason", "数据需再核实")
    assert_fits_the_phone(phone)
    phone.get_by_role("button", name="确认取消，不再发出").click()
    phone.wait_for_url(f"{server}/statements/{st['id']}")
    from playwright.sync_api import expect

    expect(phone.locator(".flashes")).to_contain_text("已取消发布")
    expect(phone.locator("#cancelled")).to_contain_text("未曾发出")
    assert phone.locator("#cancel-release").count() == 0
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "retracted"
    assert_fits_the_phone(phone)


def test_the_api_cancels_as_the_page_does(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"], go_live_at=LATER)
    path = f"/statements/{st['id']}/cancel"
    refused = office.drafter.post(path, {"reason": "不是领导"})
    assert refused.status_code == 403 and refused.get_json()["error"]["code"] == "wrong_role"
    too_long = office.leader.post(path, {"reason": "x" * 2001})
    assert too_long.status_code == 400 and too_long.get_json()["error"]["fields"] == {"reason": "过长"}
    not_text = office.leader.post(path, {"reason": 5})
    assert not_text.status_code == 400 and "reason" in not_text.get_json()["error"]["fields"]
    resp = office.leader.post(path, {"reason": "口径调整，暂缓发布"})
    assert resp.status_code == 200, resp.get_json()
    assert resp.get_json()["status"] == "retracted"
    again = office.leader.post(path, {})
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "wrong_state"
    drain(app)
    with app.app_context():
        assert db.session.scalars(select(LedgerEntry)).all() == []  # nothing was said: nothing on the record
        audit = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "statement.cancel")).all()
        assert [a.after["reason"] for a in audit] == ["口径调整，暂缓发布"]
    assert all(d["state"] != "published" for d in deliveries(app, st["id"]).values())
    published = office.leader.post(f"/statements/{office.approved(channels=['portal'])['id']}/cancel", {})
    assert published.status_code == 409  # gone out (or going): retract instead
