"""What a page pulls in (styles, scripts, the icon, pictures) never writes the session: a browser fetches them
while the sign-in form is being served, and a cookie written by one of them (carrying the session as it was
before the form's CSRF token) used to overwrite the form's, so signing in failed with 页面已过期 now and then.
A session that holds a person is still protected: used from another address or browser, it is no longer fresh."""

from __future__ import annotations

import re
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.factories import PASSWORD, Office


def session_of(app: Flask, resp: Any) -> dict[str, Any] | None:
    """The session a response writes (decoded), or None when it writes none."""
    name = app.config["SESSION_COOKIE_NAME"]
    for header in resp.headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            value = header.split(";", 1)[0].split("=", 1)[1]
            return dict(app.session_interface.get_signing_serializer(app).loads(value))  # type: ignore[attr-defined]
    return None


def sign_in_form(app: Flask, web: FlaskClient) -> str:
    """Open the sign-in form as `/` sends an anonymous reader there (with 请先登录); its CSRF token."""
    assert web.get("/").status_code == 302
    found = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', web.get("/login").get_data(as_text=True))
    assert found
    return found.group(1)


def test_static_files_and_the_icon_leave_the_session_alone(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/").status_code == 302  # anonymous: a flash (请先登录) is put in the session
    for path in ("/static/huiying.css", "/favicon.ico"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert "Set-Cookie" not in resp.headers, (path, resp.headers.get("Set-Cookie"))


def test_a_missing_picture_answered_last_leaves_the_sign_in_form_working(app: Flask) -> None:
    """A picture that is not there is answered with the error page, whose layout reads the flashes and makes a
    CSRF token: as the answer to an <img>, sent with the cookie of before the form, it writes nothing."""
    office = Office(app, "IMG")
    web = app.test_client()
    assert web.get("/").status_code == 302
    before_the_form = web.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert before_the_form is not None
    token = sign_in_form(app, web)

    late = app.test_client()
    late.set_cookie(app.config["SESSION_COOKIE_NAME"], before_the_form.value)
    picture = late.get("/static/no-such-picture.png", headers={"Sec-Fetch-Dest": "image", "Sec-Fetch-Mode": "no-cors"})
    assert picture.status_code == 404
    assert session_of(app, picture) is None, picture.headers.get("Set-Cookie")
    # the same address opened as a page shows the flash and may well write the session
    page = late.get("/static/no-such-picture.png", headers={"Sec-Fetch-Dest": "document"})
    assert page.status_code == 404 and session_of(app, page) is not None

    signed = web.post("/login", data={"username": office.drafter.user.username, "password": PASSWORD,
                                      "csrf_token": token})
    assert signed.status_code == 302


def test_a_session_used_from_another_browser_is_no_longer_fresh(app: Flask) -> None:
    """Flask-Login's session protection still guards a signed-in person's session (basic mode: marked not fresh,
    still signed in); only a session that holds nobody is left alone."""
    office = Office(app, "FRS")
    web = app.test_client()
    web.environ_base.update({"HTTP_USER_AGENT": "Phone/1", "REMOTE_ADDR": "10.0.0.7"})
    token = sign_in_form(app, web)
    signed = web.post("/login", data={"username": office.drafter.user.username, "password": PASSWORD,
                                      "csrf_token": token})
    assert signed.status_code == 302 and (session_of(app, signed) or {}).get("_fresh") is True
    assert session_of(app, web.get("/account")) is None  # the same browser: nothing to write

    web.environ_base.update({"HTTP_USER_AGENT": "Other/2", "REMOTE_ADDR": "198.51.100.9"})
    moved = web.get("/account")
    assert moved.status_code == 200  # basic protection: still signed in
    written = session_of(app, moved)
    assert written is not None and written["_fresh"] is False and written["_user_id"]
