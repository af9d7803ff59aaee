"""Issue 28 items 5, 6, 9 and 10 (and issue 27 item 17): sign-in throttling that cannot lock the owner out,
forced password changes that hold for the API too, the institution's words in the password policy, and tokens
that stay revoked after a deactivation."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app import auth
from app.extensions import db
from app.models import ApiToken, AuditEvent, User
from tests.app.test_admin import STRONG, Institution, csrf_of, sign_in
from tests.factories import PASSWORD, Api, Office


@pytest.fixture
def inst(app: Flask) -> Institution:
    return Institution(app)


def code(resp: Any) -> str:
    return resp.get_json()["error"]["code"]


# 5. Sign-in throttling: per (user, address) and per address; a slowdown per user, never a lock ---------------

@pytest.fixture
def proxied(app: Flask, monkeypatch: pytest.MonkeyPatch) -> dict[str, float]:
    """Addresses from X-Forwarded-For (one trusted proxy), no CSRF in the form, and a clock the test moves."""
    app.config["WTF_CSRF_ENABLED"] = False
    clock = {"now": 1_900_000_000.0}
    monkeypatch.setattr(auth, "_now", lambda: clock["now"], raising=False)
    return clock


def attempt(app: Flask, username: str, address: str, password: str = "wrong guess",
            client: FlaskClient | None = None) -> Any:
    return (client or app.test_client()).post("/login", data={"username": username, "password": password},
                                              headers={"X-Forwarded-For": address})


def counting_checks(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    checked: list[str] = []
    real = User.check_password

    def spy(self: User, password: str) -> bool:
        checked.append(password)
        return real(self, password)

    monkeypatch.setattr(User, "check_password", spy)
    return checked


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_five_guesses_from_five_addresses_do_not_keep_the_leader_out(app: Flask, office: Office,
                                                                     proxied: dict[str, float]) -> None:
    leader = office.leader.user.username
    assert [attempt(app, leader, f"10.3.0.{i}").status_code for i in range(5)] == [200] * 5
    # the leader, on a new device at home, with the right password
    assert attempt(app, leader, "10.2.0.2", PASSWORD).status_code == 302


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_one_address_guessing_at_one_user_is_stopped_after_five(app: Flask, office: Office, proxied: dict[str, float],
                                                                monkeypatch: pytest.MonkeyPatch) -> None:
    name = office.drafter.user.username
    checked = counting_checks(monkeypatch)
    assert [attempt(app, name, "10.6.0.1").status_code for _ in range(5)] == [200] * 5
    refused = attempt(app, name, "10.6.0.1", PASSWORD)
    assert refused.status_code == 429 and "一分钟后再试" in refused.get_data(as_text=True)
    assert len(checked) == 5  # the sixth was not checked
    assert attempt(app, name, "10.6.0.2", PASSWORD).status_code == 302  # the owner, elsewhere, is not held back


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_a_spread_out_attack_makes_each_new_browser_wait_but_never_locks(app: Flask, office: Office,
                                                                         proxied: dict[str, float],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    leader = office.leader.user.username
    known = app.test_client()
    assert attempt(app, leader, "10.2.0.1", PASSWORD, client=known).status_code == 302  # the leader's own browser
    assert known.post("/logout").status_code == 302
    for i in range(auth.SLOWDOWN_AFTER):  # a botnet: every guess from another address
        assert attempt(app, leader, f"10.3.1.{i}").status_code == 200
    checked = counting_checks(monkeypatch)

    # a new browser must first wait, and its password is not checked meanwhile …
    first = attempt(app, leader, "10.2.0.2", PASSWORD)
    assert first.status_code == 429 and first.headers["Retry-After"] == str(auth.SLOWDOWN_FIRST_SECONDS)
    assert "请等待 5 秒后再次登录" in first.get_data(as_text=True)
    proxied["now"] += 3
    early = attempt(app, leader, "10.2.0.2", PASSWORD)
    assert early.status_code == 429 and early.headers["Retry-After"] == "2"
    assert checked == []
    # … and once it has waited, the right password gets in
    proxied["now"] += 2
    assert attempt(app, leader, "10.2.0.2", PASSWORD).status_code == 302
    # the browser the leader signed in with before does not wait at all
    assert attempt(app, leader, "10.2.0.1", PASSWORD, client=known).status_code == 302

    # an attacking address gets one check per wait, and the waits grow with the failures …
    for i in range(auth.FAILURES_ALLOWED):
        assert attempt(app, leader, f"10.3.9.{i}").status_code == 429
        proxied["now"] += auth.SLOWDOWN_FIRST_SECONDS
        assert attempt(app, leader, f"10.3.9.{i}").status_code == 200  # checked, wrong
        assert attempt(app, leader, f"10.3.9.{i}").status_code == 429  # and waits again
    assert attempt(app, leader, "10.3.9.99").headers["Retry-After"] == str(2 * auth.SLOWDOWN_FIRST_SECONDS)
    # … but never beyond the cap: the owner always gets in after at most that long
    for i in range(30):
        attempt(app, leader, f"10.4.0.{i}")
        proxied["now"] += auth.SLOWDOWN_MAX_SECONDS
        assert attempt(app, leader, f"10.4.0.{i}").status_code == 200
    owner = attempt(app, leader, "10.2.0.3", PASSWORD)
    assert owner.status_code == 429 and owner.headers["Retry-After"] == str(auth.SLOWDOWN_MAX_SECONDS)
    proxied["now"] += auth.SLOWDOWN_MAX_SECONDS
    assert attempt(app, leader, "10.2.0.3", PASSWORD).status_code == 302


@pytest.mark.parametrize("app_config", [{"TRUSTED_PROXIES": 1}])
def test_an_admin_lifts_the_slowdown(app: Flask, office: Office, proxied: dict[str, float]) -> None:
    name = office.expert.user.username
    for i in range(auth.SLOWDOWN_AFTER):
        attempt(app, name, f"10.8.0.{i}")
    assert attempt(app, name, "10.8.1.1", PASSWORD).status_code == 429
    with app.test_request_context():
        assert auth.unlock(name) is True
    assert attempt(app, name, "10.8.1.1", PASSWORD).status_code == 302


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "SEC")


# 6. A forced password change holds for the session's API calls too ------------------------------------------

def test_after_a_forced_reset_the_session_api_answers_403_until_the_password_changes(app: Flask, inst: Institution
                                                                                     ) -> None:
    name = inst.drafter.user.username
    admin = sign_in(app, inst.admin.user.username)
    token = csrf_of(admin, f"/admin/users/{name}")
    assert admin.post(f"/admin/users/{name}", data={"csrf_token": token, "action": "force_reset"}).status_code == 302
    web = sign_in(app, name)
    refused = web.get("/api/v1/statements")
    assert refused.status_code == 403 and code(refused) == "password_change_required"
    assert "/account" in refused.get_json()["error"]["message"]
    write = web.post("/api/v1/statements", json={"title": "标题", "body": "正文"},
                     headers={"X-CSRFToken": csrf_of(web, "/account")})
    assert write.status_code == 403 and code(write) == "password_change_required"
    assert app.test_client().get("/api/v1/statements").status_code == 401  # no credentials: still 401
    assert web.get("/api/v1/ledger").status_code == 200  # the public record stays public
    assert web.get("/api/v1/openapi.json").status_code == 200
    assert inst.drafter.get("/statements").status_code == 200  # an integration's bearer token is not a session
    token = csrf_of(web, "/account")
    assert web.post("/account", data={"csrf_token": token, "action": "password", "current_password": PASSWORD,
                                      "new_password": STRONG, "new_password_again": STRONG}).status_code == 302
    assert web.get("/api/v1/statements").status_code == 200


# 9. The password policy: the institution's words, everywhere; a change after anyone else set it -------------

@pytest.fixture
def named(app: Flask, inst: Institution) -> Institution:
    """A leader 张建国 registered, and a unit whose name has 实验室."""
    inst.admin.put(f"/users/{inst.leader.user.username}", {"name": "张建国"})
    with app.app_context():
        from app import accounts

        accounts.create_unit("LAB", "作物遗传育种实验室")
    return inst


WEAK = ("zhangjianguo1", "shiyanshi123", "Huiying2026!", "password1234", "zuowuyichuan9")


def test_the_account_page_refuses_the_institution_s_words(app: Flask, named: Institution) -> None:
    web = sign_in(app, named.drafter.user.username)
    token = csrf_of(web, "/account")
    for weak in WEAK:
        resp = web.post("/account", data={"csrf_token": token, "action": "password", "current_password": PASSWORD,
                                          "new_password": weak, "new_password_again": weak}, follow_redirects=True)
        assert resp.status_code == 400 and "太容易被猜到" in resp.get_data(as_text=True), weak


def test_an_admin_set_password_is_checked_and_must_be_changed_at_first_sign_in(app: Flask, named: Institution
                                                                               ) -> None:
    for weak in WEAK:
        resp = named.admin.post("/users", {"username": "sun", "unit": named.unit, "roles": ["drafter"],
                                           "password": weak})
        assert resp.status_code == 400 and "password" in resp.get_json()["error"]["fields"], weak
    made = named.admin.post("/users", {"username": "sun", "name": "孙", "unit": named.unit, "roles": ["drafter"],
                                       "password": STRONG})
    assert made.status_code == 201 and made.get_json()["must_change_password"] is True
    web = sign_in(app, "sun", STRONG)
    assert web.get("/cases").headers["Location"].endswith("/account")
    # in the browser: the field says why
    admin = sign_in(app, named.admin.user.username)
    token = csrf_of(admin, "/admin/users")
    page = admin.post("/admin/users", data={"csrf_token": token, "username": "qian", "unit": named.unit,
                                            "roles": ["drafter"], "password": "password1234"}, follow_redirects=True)
    assert page.status_code == 400
    assert re.search(r'id="password"[^>]*>\s*<p class="hint"[^>]*>[^<]*</p>\s*'
                     r'<p class="field-error" role="alert">[^<]*太容易被猜到', page.get_data(as_text=True))


def test_generated_passwords_are_strong_and_must_be_changed(app: Flask, inst: Institution) -> None:
    made = inst.admin.post("/users", {"username": "zhou", "unit": inst.unit, "roles": ["expert"]})
    assert made.status_code == 201 and made.get_json()["must_change_password"] is True
    secret = made.get_json()["password"]
    with app.test_request_context():
        from app.accounts import password_hints, password_problem

        assert password_problem(secret, password_hints("zhou")) is None
    web = sign_in(app, "zhou", secret)
    assert web.get("/").headers["Location"].endswith("/account")
    result = app.test_cli_runner().invoke(args=["users", "create", "wu", "--unit", inst.unit, "--role", "leader"])
    assert result.exit_code == 0
    with app.app_context():
        person = User.by_username("wu")
        assert person is not None and person.must_change_password


def test_the_cli_checks_a_password_given_on_stdin(app: Flask, named: Institution) -> None:
    runner = app.test_cli_runner()
    weak = runner.invoke(args=["users", "create", "zheng", "--unit", named.unit, "--role", "drafter",
                               "--password-stdin"], input="Huiying2026!\n")
    assert weak.exit_code == 1 and "太容易被猜到" in weak.output
    ok = runner.invoke(args=["users", "create", "zheng", "--unit", named.unit, "--role", "drafter",
                             "--password-stdin"], input=STRONG + "\n")
    assert ok.exit_code == 0, ok.output
    # typed at the operator's shell by the person it is for (the first admin): theirs, no change forced
    with app.app_context():
        person = User.by_username("zheng")
        assert person is not None and not person.must_change_password


def test_the_demo_people_sign_in_without_a_forced_change(app: Flask) -> None:
    assert app.test_cli_runner().invoke(args=["demo"]).exit_code == 0
    web = sign_in(app, "zbs_drafter", "huiying-demo")
    assert web.get("/").status_code == 200
    assert web.get("/api/v1/statements").status_code == 200


# 10. Deactivation revokes tokens for good ---------------------------------------------------------------------

def test_a_token_stays_revoked_after_the_person_is_reactivated(app: Flask, inst: Institution) -> None:
    name = inst.drafter.user.username
    assert inst.drafter.get("/statements").status_code == 200
    assert inst.admin.put(f"/users/{name}", {"active": False}).status_code == 200
    assert inst.drafter.get("/statements").status_code == 401
    assert inst.admin.put(f"/users/{name}", {"active": True}).status_code == 200
    assert inst.drafter.get("/statements").status_code == 401
    with app.app_context():
        person = User.by_username(name)
        assert person is not None
        tokens = list(db.session.scalars(select(ApiToken).where(ApiToken.user_id == person.id)))
        assert tokens and all(t.revoked for t in tokens)
        revocations = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "token.revoke")).all()
        assert [e.object_id for e in revocations] == [t.id for t in tokens]
    assert Api(app, inst.drafter.user).get("/statements").status_code == 200  # a token made afresh works
