"""`/account` (interface §11): every person sees their own open sessions (device and browser, address, signed in
at, last seen) and tokens, and can end one session, or all the others, from any of them."""

from __future__ import annotations

import re

from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests.app.test_admin import STRONG, csrf_of
from tests.factories import PASSWORD, Api, Office, user

IPHONE = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
          "Mobile/15E148 MicroMessenger/8.0.49(0x18003137) NetType/WIFI Language/zh_CN")
WINDOWS = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
           "Safari/537.36 Edg/126.0.0.0")
ANDROID = ("Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/126.0.0.0 "
           "Mobile Safari/537.36")


def browser(app: Flask, username: str, agent: str, address: str, *, remember: bool = False) -> FlaskClient:
    """A browser with its own User-Agent and address, signed in as `username`."""
    web = app.test_client()
    web.environ_base.update({"HTTP_USER_AGENT": agent, "REMOTE_ADDR": address})
    csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', web.get("/login").get_data(as_text=True))
    assert csrf
    data = {"username": username, "password": PASSWORD, "csrf_token": csrf.group(1)}
    if remember:
        data["remember"] = "y"
    assert web.post("/login", data=data).status_code == 302
    return web


def signed_in(web: FlaskClient) -> bool:
    return web.get("/account").status_code == 200


def session_ids(page: str) -> list[int]:
    return [int(i) for i in re.findall(r'id="session-(\d+)"', page)]


def test_each_browser_is_listed_and_one_can_be_ended_from_another(app: Flask) -> None:
    office = Office(app, "ACC")
    name = office.drafter.user.username
    phone = browser(app, name, IPHONE, "10.0.0.7")
    desk = browser(app, name, WINDOWS, "192.168.1.20")
    page = desk.get("/account").get_data(as_text=True)
    assert "微信 · iPhone" in page and "Edge · Windows" in page
    assert "10.0.0.7" in page and "192.168.1.20" in page
    assert "登录于" in page and "最近活动" in page and "本设备" in page
    phone_id, desk_id = sorted(session_ids(page))
    # The page offers to end the other browser, not this one (that is 退出).
    assert f'name="session" value="{phone_id}"' in page and f'name="session" value="{desk_id}"' not in page

    ended = desk.post("/account", data={"action": "end_session", "session": str(phone_id),
                                        "csrf_token": csrf_of(desk, "/account")})
    assert ended.status_code == 302
    assert not signed_in(phone) and signed_in(desk)
    assert session_ids(desk.get("/account").get_data(as_text=True)) == [desk_id]
    with app.app_context():
        [event] = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "user.session_end"))
        assert event.before == {"session": phone_id, "device": "微信 · iPhone"}
        assert event.after == {"session": phone_id, "ended": True}
    # Ended is ended: the same id cannot be ended twice, nor someone else's.
    again = desk.post("/account", data={"action": "end_session", "session": str(phone_id),
                                        "csrf_token": csrf_of(desk, "/account")})
    assert again.status_code == 404 and "该登录不存在或已结束" in again.get_data(as_text=True)


def test_someone_elses_session_cannot_be_ended(app: Flask) -> None:
    office = Office(app, "ACC")
    victim = browser(app, office.leader.user.username, ANDROID, "10.0.0.9")
    victim_id = session_ids(victim.get("/account").get_data(as_text=True))[0]
    other = browser(app, office.drafter.user.username, WINDOWS, "10.0.0.10")
    refused = other.post("/account", data={"action": "end_session", "session": str(victim_id),
                                           "csrf_token": csrf_of(other, "/account")})
    assert refused.status_code == 404 and signed_in(victim)
    assert str(victim_id) not in re.findall(r'id="session-(\d+)"', other.get("/account").get_data(as_text=True))


def test_ending_all_others_keeps_this_browser_and_beats_remember_me(app: Flask) -> None:
    office = Office(app, "ACC")
    name = office.expert.user.username
    remembered = browser(app, name, ANDROID, "10.0.0.2", remember=True)
    other = browser(app, name, IPHONE, "10.0.0.3")
    here = browser(app, name, WINDOWS, "10.0.0.4")
    assert len(session_ids(here.get("/account").get_data(as_text=True))) == 3
    resp = here.post("/account", data={"action": "end_other_sessions", "csrf_token": csrf_of(here, "/account")})
    assert resp.status_code == 302
    assert signed_in(here) and not signed_in(other)
    # The remember-me cookie names the same session: it does not bring the ended one back.
    session_cookie = remembered.get_cookie("session")
    assert session_cookie is not None
    remembered.delete_cookie("session")
    assert remembered.get_cookie("remember_token") is not None
    assert not signed_in(remembered)
    assert len(session_ids(here.get("/account").get_data(as_text=True))) == 1


def test_a_password_change_keeps_this_browser_listed_and_ends_the_others(app: Flask) -> None:
    office = Office(app, "ACC")
    name = office.drafter.user.username
    other = browser(app, name, IPHONE, "10.0.0.5")
    here = browser(app, name, WINDOWS, "10.0.0.6")
    before = session_ids(here.get("/account").get_data(as_text=True))
    resp = here.post("/account", data={"action": "password", "current_password": PASSWORD, "new_password": STRONG,
                                       "new_password_again": STRONG, "csrf_token": csrf_of(here, "/account")})
    assert resp.status_code == 302
    assert not signed_in(other) and signed_in(here)
    after = session_ids(here.get("/account").get_data(as_text=True))
    assert len(after) == 1 and after[0] in before  # the same session, carried over to the new epoch


def test_tokens_are_listed_beside_the_sessions(app: Flask) -> None:
    office = Office(app, "ACC")
    who = user(app, office.unit, "drafter")
    Api(app, who)  # creates a token for that person
    page = browser(app, who.username, WINDOWS, "10.0.0.8").get("/account").get_data(as_text=True)
    assert 'id="sessions"' in page and 'id="tokens"' in page and "撤销" in page
