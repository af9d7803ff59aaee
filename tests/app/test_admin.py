"""Administration (interface §11): users, tokens, the account page and the audit trail, as people see them."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import ApiToken, AuditEvent, User
from app.timeutil import utcnow
from tests.factories import PASSWORD, Api, Office, user
from tests.review.test_browser import PHONE, assert_fits_the_phone, phone  # noqa: F401
from tests.review.test_browser import sign_in as phone_sign_in

STRONG = "violet tractor sings at dawn"


class Institution(Office):
    """The usual cast plus an admin."""

    def __init__(self, app: Flask) -> None:
        super().__init__(app, "ADM")
        self.admin = Api(app, user(app, self.office_unit, "admin"))


@pytest.fixture
def inst(app: Flask) -> Institution:
    return Institution(app)


def sign_in(app: Flask, username: str, password: str = PASSWORD) -> FlaskClient:
    web = app.test_client()
    page = web.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
    assert token
    resp = web.post("/login", data={"username": username, "password": password, "csrf_token": token.group(1)})
    assert resp.status_code == 302, resp.get_data(as_text=True)
    return web


def csrf_of(web: FlaskClient, path: str = "/") -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', web.get(path).get_data(as_text=True))
    assert found
    return found.group(1)


def events(app: Flask, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action)))
        db.session.expunge_all()
        return rows


# The API ---------------------------------------------------------------------------------------------

def test_admin_creates_and_changes_users_over_the_api(app: Flask, inst: Institution) -> None:
    resp = inst.admin.post("/users", {"username": "li", "name": "李明", "unit": inst.unit, "roles": ["drafter"],
                                      "email": "li@example.org", "phone": "0371-65711111"})
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["roles"] == ["drafter"] and body["unit"] == inst.unit and body["active"] is True
    assert len(body["password"]) >= 12  # chosen by the server, answered this once
    sign_in(app, "li", body["password"])
    given = inst.admin.post("/users", {"username": "wang", "unit": inst.unit, "roles": ["expert"],
                                       "password": "a long password"})
    assert given.status_code == 201 and "password" not in given.get_json()

    changed = inst.admin.put("/users/li", {"roles": ["drafter", "expert"], "phone": "138 0013 8000", "name": "李敏"})
    assert changed.status_code == 200
    assert changed.get_json()["roles"] == ["drafter", "expert"] and changed.get_json()["name"] == "李敏"
    [event] = events(app, "user.update")
    assert event.before["roles"] == ["drafter"] and event.after["roles"] == ["drafter", "expert"]
    listed = inst.admin.get("/users?per_page=100").get_json()
    assert "li" in [u["username"] for u in listed["items"]] and listed["total"] == len(listed["items"])


def test_only_admins_administer_people(app: Flask, inst: Institution) -> None:
    for caller in (inst.drafter, inst.office, inst.leader):
        assert caller.get("/users").status_code == 403
        assert caller.post("/users", {"username": "x", "unit": inst.unit, "roles": ["drafter"]}).status_code == 403
        assert caller.put(f"/users/{inst.drafter.user.username}", {"active": False}).status_code == 403
    assert app.test_client().get("/api/v1/users").status_code == 401


def test_bad_user_input_names_the_field(inst: Institution) -> None:
    def fields(resp: Any) -> dict[str, str]:
        assert resp.status_code == 400, resp.get_json()
        return resp.get_json()["error"]["fields"]

    assert "roles" in fields(inst.admin.post("/users", {"username": "a", "unit": inst.unit, "roles": ["boss"]}))
    assert "roles" in fields(inst.admin.post("/users", {"username": "a", "unit": inst.unit, "roles": "drafter"}))
    assert "unit" in fields(inst.admin.post("/users", {"username": "a", "unit": "NOPE", "roles": ["drafter"]}))
    assert "username" in fields(inst.admin.post("/users", {"username": inst.drafter.user.username,
                                                           "unit": inst.unit, "roles": ["drafter"]}))
    assert "email" in fields(inst.admin.put(f"/users/{inst.drafter.user.username}", {"email": "not an address"}))
    assert "active" in fields(inst.admin.put(f"/users/{inst.drafter.user.username}", {"active": "no"}))
    me = inst.admin.user.username
    assert "active" in fields(inst.admin.put(f"/users/{me}", {"active": False}))
    assert "roles" in fields(inst.admin.put(f"/users/{me}", {"roles": ["office"]}))
    assert inst.admin.put("/users/nobody", {"active": False}).status_code == 404


def test_deactivation_ends_sessions_and_tokens_and_reactivation_restores_sign_in(app: Flask, inst: Institution
                                                                                  ) -> None:
    name = inst.drafter.user.username
    web = sign_in(app, name)
    assert inst.admin.put(f"/users/{name}", {"active": False}).get_json()["active"] is False
    assert web.get("/").status_code == 302
    assert inst.drafter.get("/statements").status_code == 401
    refused = app.test_client().post("/login", data={"username": name, "password": PASSWORD,
                                                     "csrf_token": ""})
    assert refused.status_code != 302
    assert inst.admin.put(f"/users/{name}", {"active": True}).status_code == 200
    sign_in(app, name)
    assert inst.drafter.get("/statements").status_code == 401  # its tokens were revoked for good (issue 28 item 10)


# Tokens ------------------------------------------------------------------------------------------------

def test_an_expired_token_no_longer_authenticates(app: Flask, inst: Institution) -> None:
    assert inst.drafter.get("/statements").status_code == 200
    with app.app_context():
        for token in db.session.scalars(select(ApiToken)):
            if token.user.username == inst.drafter.user.username:
                token.expires_at = utcnow() - timedelta(seconds=1)
        db.session.commit()
    resp = inst.drafter.get("/statements")
    assert resp.status_code == 401 and resp.get_json()["error"]["code"] == "unauthenticated"


def test_admin_creates_a_token_shown_once_lists_and_revokes_it(app: Flask, inst: Institution) -> None:
    web = sign_in(app, inst.admin.user.username)
    token = csrf_of(web, "/admin/tokens")
    resp = web.post("/admin/tokens", data={"csrf_token": token, "username": inst.expert.user.username,
                                           "label": "门户对接", "expires_at": "2099-12-31"})
    assert resp.status_code == 201
    secret = re.search(r'<code class="secret">([^<]+)</code>', resp.get_data(as_text=True)).group(1)
    client = app.test_client()
    assert client.get("/api/v1/statements", headers={"Authorization": f"Bearer {secret}"}).status_code == 200
    page = web.get("/admin/tokens").get_data(as_text=True)
    assert "门户对接" in page and secret not in page and "2099-12-31" in page
    with app.app_context():
        row = db.session.scalar(select(ApiToken).where(ApiToken.label == "门户对接"))
        assert row is not None
        token_id = row.id
    assert web.post("/admin/tokens", data={"csrf_token": token, "revoke": str(token_id)}).status_code == 302
    assert client.get("/api/v1/statements", headers={"Authorization": f"Bearer {secret}"}).status_code == 401
    assert len(events(app, "token.revoke")) == 1
    past = web.post("/admin/tokens", data={"csrf_token": token, "username": inst.expert.user.username,
                                           "expires_at": "2001-01-01"}, follow_redirects=True)
    assert past.status_code == 400 and "应在将来" in past.get_data(as_text=True)


def test_admin_creates_a_unit_with_its_register_over_the_api(app: Flask, inst: Institution) -> None:
    body = {"code": "ZWS", "name": "植物营养与资源环境研究所", "parent": inst.unit,
            "first_responsible": inst.leader.user.username, "spokespersons": [inst.drafter.user.username],
            "duty_phone": "0371-65712222"}
    resp = inst.admin.post("/units", body)
    assert resp.status_code == 201, resp.get_json()
    created = resp.get_json()
    assert (created["code"], created["name"], created["parent"]) == ("ZWS", "植物营养与资源环境研究所", inst.unit)
    assert created["first_responsible"]["username"] == inst.leader.user.username
    assert [p["username"] for p in created["spokespersons"]] == [inst.drafter.user.username]
    assert created["direct_responsible"] is None and created["duty_phone"] == "0371-65712222"
    assert inst.office.get("/units/ZWS").get_json() == created
    [event] = events(app, "unit.create")[-1:]
    assert event.after["code"] == "ZWS" and event.after["first_responsible"] == inst.leader.user.username
    # a drafter can now be put in the new unit
    assert inst.admin.post("/users", {"username": "zws1", "unit": "ZWS", "roles": ["drafter"]}).status_code == 201


def test_a_unit_is_created_whole_or_not_at_all(app: Flask, inst: Institution) -> None:
    def error(body: dict[str, Any]) -> dict[str, Any]:
        resp = inst.admin.post("/units", body)
        assert resp.status_code == 400, resp.get_json()
        return resp.get_json()["error"]

    assert error({"code": inst.unit, "name": "重名"})["fields"]["code"]
    assert set(error({"name": "无代码"})["fields"]) == {"code"}
    assert set(error({"code": "a/b", "name": "斜杠"})["fields"]) == {"code"}
    assert set(error({"code": "NEW", "name": "新", "parent": "NOPE", "first_responsible": "nobody",
                      "duty_phone": "call me"})["fields"]) == {"parent", "first_responsible", "duty_phone"}
    assert inst.office.get("/units/NEW").status_code == 404  # nothing half-made
    assert inst.leader.post("/units", {"code": "X1", "name": "x"}).get_json()["error"]["code"] == "forbidden"
    assert app.test_client().post("/api/v1/units", json={"code": "X1", "name": "x"}).status_code == 401


# Pages -------------------------------------------------------------------------------------------------

def test_admin_creates_a_user_in_the_browser_and_errors_sit_beside_the_field(app: Flask, inst: Institution) -> None:
    web = sign_in(app, inst.admin.user.username)
    token = csrf_of(web, "/admin/users")
    bad = web.post("/admin/users", data={"csrf_token": token, "username": "zhao", "unit": inst.unit,
                                         "roles": ["drafter"], "email": "zhao@"}, follow_redirects=True)
    assert bad.status_code == 400
    assert re.search(r'id="email"[^>]*>\s*<p class="field-error" role="alert">格式不正确', bad.get_data(as_text=True))
    ok = web.post("/admin/users", data={"csrf_token": token, "username": "zhao", "name": "赵", "unit": inst.unit,
                                        "roles": ["drafter", "expert"]})
    assert ok.status_code == 201 and "初始密码" in ok.get_data(as_text=True)
    password = re.search(r'<code class="secret">([^<]+)</code>', ok.get_data(as_text=True)).group(1)
    sign_in(app, "zhao", password)
    page = web.get("/admin/users").get_data(as_text=True)
    assert "zhao" in page and "起草人、专家" in page
    assert app.test_client().get("/admin/users").status_code == 302
    assert sign_in(app, inst.office.user.username).get("/admin/users").status_code == 403


def test_admin_creates_a_unit_in_the_browser(app: Flask, inst: Institution) -> None:
    web = sign_in(app, inst.admin.user.username)
    page = web.get("/admin/units").get_data(as_text=True)
    assert 'action="/admin/units"' in page and 'name="code"' in page
    token = csrf_of(web, "/admin/units")
    bad = web.post("/admin/units", data={"csrf_token": token, "code": inst.unit, "name": "重复"},
                   follow_redirects=True)
    assert bad.status_code == 400 and 'value="重复"' in bad.get_data(as_text=True)
    assert re.search(r'<label for="code">[^<]*</label>\s*<input id="code"[^>]*>\s*<p class="hint"[^>]*>[^<]*</p>\s*'
                     r'<p class="field-error" role="alert">已存在', bad.get_data(as_text=True))
    ok = web.post("/admin/units", data={"csrf_token": token, "code": "ZWS", "name": "植物营养与资源环境研究所",
                                        "parent": inst.unit, "spokespersons": inst.drafter.user.username,
                                        "duty_phone": "0371-65712222"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/admin/units/ZWS"
    listed = web.get("/admin/units").get_data(as_text=True)
    assert "植物营养与资源环境研究所" in listed and "0371-65712222" in listed
    office = sign_in(app, inst.office.user.username)
    assert office.post("/admin/units", data={"csrf_token": csrf_of(office), "code": "X1", "name": "x"}
                       ).status_code == 403


def test_force_reset_sends_the_person_to_the_account_page_until_they_choose_a_password(app: Flask,
                                                                                        inst: Institution) -> None:
    name = inst.drafter.user.username
    before = sign_in(app, name)
    admin = sign_in(app, inst.admin.user.username)
    token = csrf_of(admin, f"/admin/users/{name}")
    assert admin.post(f"/admin/users/{name}", data={"csrf_token": token, "action": "force_reset"}).status_code == 302
    assert before.get("/").status_code == 302 and "/login" in before.get("/").headers["Location"]
    web = sign_in(app, name)
    resp = web.get("/cases")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/account")
    token = csrf_of(web, "/account")
    weak = web.post("/account", data={"csrf_token": token, "action": "password", "current_password": PASSWORD,
                                      "new_password": "password123", "new_password_again": "password123"},
                    follow_redirects=True)
    assert weak.status_code == 400 and "太容易被猜到" in weak.get_data(as_text=True)
    wrong = web.post("/account", data={"csrf_token": token, "action": "password", "current_password": "nope",
                                       "new_password": STRONG, "new_password_again": STRONG},
                     follow_redirects=True)
    assert wrong.status_code == 400 and "当前密码不正确" in wrong.get_data(as_text=True)
    ok = web.post("/account", data={"csrf_token": token, "action": "password", "current_password": PASSWORD,
                                    "new_password": STRONG, "new_password_again": STRONG})
    assert ok.status_code == 302
    assert web.get("/cases").status_code == 200  # still signed in here, free to work
    sign_in(app, name, STRONG)
    [event] = events(app, "user.password_change")
    assert set(event.before) == set(event.after) == {"session_epoch", "must_change_password"}  # no secrets


def test_a_password_change_and_sign_out_everywhere_end_other_sessions(app: Flask, inst: Institution) -> None:
    name = inst.expert.user.username
    other = sign_in(app, name)
    web = sign_in(app, name)
    token = csrf_of(web, "/account")
    assert web.post("/account", data={"csrf_token": token, "action": "password", "current_password": PASSWORD,
                                      "new_password": STRONG, "new_password_again": STRONG}).status_code == 302
    assert other.get("/").status_code == 302
    assert web.get("/").status_code == 200
    elsewhere = sign_in(app, name, STRONG)
    token = csrf_of(web, "/account")
    assert web.post("/account", data={"csrf_token": token, "action": "sign_out_everywhere"}).status_code == 302
    assert web.get("/").status_code == 302 and elsewhere.get("/").status_code == 302


def test_an_admin_unlocks_from_the_user_page(app: Flask, inst: Institution) -> None:
    name = inst.leader.user.username
    for i in range(6):
        app.test_client().post("/login", data={"username": name, "password": "guess"},
                               environ_base={"REMOTE_ADDR": f"10.7.0.{i}"})
    admin = sign_in(app, inst.admin.user.username)
    token = csrf_of(admin, f"/admin/users/{name}")
    assert admin.post(f"/admin/users/{name}", data={"csrf_token": token, "action": "unlock"}).status_code == 302
    assert len(events(app, "user.unlock")) == 1
    sign_in(app, name)


# The audit trail ---------------------------------------------------------------------------------------

def test_the_audit_trail_filters_and_exports(app: Flask, inst: Institution) -> None:
    name = inst.drafter.user.username
    assert inst.admin.put(f"/users/{name}", {"phone": "0371-65711111"}).status_code == 200
    inst.draft()
    resp = inst.office.get(f"/audit?object_type=user&object_id={name}&action=user")
    assert resp.status_code == 200, resp.get_json()
    items = resp.get_json()["items"]
    assert [e["action"] for e in items] == ["user.update", "user.create"]
    assert items[0]["actor"] == inst.admin.user.username and items[0]["object_id"] == name
    assert items[0]["before"]["phone"] == "" and items[0]["after"]["phone"] == "0371-65711111"
    assert inst.office.get("/audit?object_type=statement").get_json()["total"] == 1
    assert inst.office.get(f"/audit?actor={inst.admin.user.username}").get_json()["total"] == 1
    assert inst.office.get("/audit?from=2001-01-01&to=2001-12-31").get_json()["total"] == 0
    assert inst.office.get("/audit?object_type=planet").status_code == 400
    assert inst.office.get("/audit?from=yesterday").get_json()["error"]["fields"]["from"]
    assert inst.drafter.get("/audit").status_code == 403 and inst.leader.get("/audit.csv").status_code == 403

    exported = inst.admin.get(f"/audit.csv?object_type=user&object_id={name}")
    assert exported.status_code == 200 and exported.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(exported.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0][:4] == ["id", "at", "actor", "action"] and len(rows) == 3
    web = sign_in(app, inst.office.user.username)
    page = web.get(f"/admin/audit?object_type=user&object_id={name}").get_data(as_text=True)
    assert "user.update" in page and "0371-65711111" in page and "/api/v1/audit.csv?" in page


def test_every_change_of_a_person_is_audited_with_before_and_after(app: Flask, inst: Institution) -> None:
    name = inst.expert.user.username
    inst.admin.put(f"/users/{name}", {"active": False})
    inst.admin.put(f"/users/{name}", {"active": True})
    updates = events(app, "user.update")
    assert [(e.before["active"], e.after["active"]) for e in updates] == [(True, False), (False, True)]
    with app.app_context():
        person = User.by_username(name)
        assert person is not None and all(e.object_id == person.id for e in updates)


@pytest.mark.browser
def test_administration_pages_fit_a_phone(app: Flask, inst: Institution, server: str, phone: Any) -> None:  # noqa: F811
    inst.admin.put(f"/users/{inst.drafter.user.username}", {"phone": "0371-65711111"})
    phone_sign_in(phone, server, inst.admin.user.username)
    for path in ("/admin/users", f"/admin/users/{inst.drafter.user.username}", "/admin/tokens", "/admin/audit",
                 "/account"):
        phone.goto(f"{server}{path}")
        assert phone.locator("h1").count() == 1
        assert_fits_the_phone(phone)
    assert PHONE["width"] == 390
