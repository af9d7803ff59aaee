"""What people see of publishing: the statement page's deliveries, retract and correct forms, the desk."""

from __future__ import annotations

import re
from typing import Any

from tests.factories import PASSWORD, Office
from tests.publishing.helpers import deliveries, drain


def login(app: Any, username: str) -> Any:
    web = app.test_client()
    page = web.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    resp = web.post("/login", data={"username": username, "password": PASSWORD, "csrf_token": token})
    assert resp.status_code == 302
    return web


def csrf(web: Any, path: str) -> str:
    page = web.get(path).get_data(as_text=True)
    return re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)


def test_statement_page_shows_deliveries_and_leader_retracts_through_the_form(app: Any) -> None:
    office = Office(app, "ZBS")
    st = office.approved(channels=["portal"])
    leader = login(app, office.leader.user.username)
    page = leader.get(f"/statements/{st['id']}").get_data(as_text=True)
    assert 'data-channel="portal" data-state="pending"' in page and "data-live-url" in page
    drain(app)
    page = leader.get(f"/statements/{st['id']}").get_data(as_text=True)
    assert 'data-state="published"' in page and f"/releases/{st['id']}" in page
    token = csrf(leader, f"/statements/{st['id']}")
    resp = leader.post(f"/statements/{st['id']}/retract", data={"reason": "", "confirm_retract": "yes",
                                                                "csrf_token": token})
    assert resp.status_code == 302
    assert office.leader.get(f"/statements/{st['id']}").get_json()["status"] == "published"
    resp = leader.post(f"/statements/{st['id']}/retract", data={"reason": "数据有误", "confirm_retract": "yes",
                                                                "csrf_token": token})
    assert resp.status_code == 302
    assert office.leader.get(f"/statements/{st['id']}").get_json()["status"] == "retracted"
    drain(app)
    assert deliveries(app, st["id"])["portal"]["state"] == "retracted"


def test_drafter_starts_a_correction_from_the_page(app: Any) -> None:
    office = Office(app, "ZBS")
    st = office.approved(channels=["portal"])
    drain(app)
    drafter = login(app, office.drafter.user.username)
    token = csrf(drafter, f"/statements/{st['id']}")
    resp = drafter.post(f"/statements/{st['id']}/correct", data={"csrf_token": token})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/edit")
    listed = office.drafter.get("/statements?status=draft").get_json()["items"]
    assert [s["corrects"] for s in listed] == [st["id"]]


def test_office_desk_lists_failed_deliveries(app: Any) -> None:
    app.config["PORTAL_WEBHOOK_URL"] = "http://127.0.0.1:9/refused"  # nothing listens on port 9
    office = Office(app, "ZBS")
    st = office.approved(channels=["portal"])
    from app.extensions import db
    from publishing import outbox

    with app.app_context():
        d = deliveries(app, st["id"])["portal"]
        token = outbox.claim(d["id"])
        outbox.fail(d["id"], token, "门户推送被拒绝：HTTP 400")
        db.session.remove()
    desk = login(app, office.office.user.username)
    page = desk.get("/desk").get_data(as_text=True)
    assert "门户推送被拒绝：HTTP 400" in page and "发布队列" in page
    assert office.office.get(f"/statements/{st['id']}").get_json()["status"] == "failed"
    token = csrf(desk, "/desk")
    resp = desk.post(f"/desk/deliveries/{st['id']}/portal/retry", data={"csrf_token": token})
    assert resp.status_code == 302
    assert deliveries(app, st["id"])["portal"]["state"] == "pending"
    assert login(app, office.drafter.user.username).get("/desk").status_code == 403
