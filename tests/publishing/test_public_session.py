"""The public pages and what they pull in (the QR code, the feed, the public API) leave an anonymous session
alone: a phone that read them and then signs in must not lose the sign-in form's CSRF token to a response that
was still on its way (CI saw 页面已过期 on `/login` now and then, after /releases, /record and /releases/<id>)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.factories import PASSWORD, Office
from tests.publishing.helpers import drain

PHONE = {"HTTP_USER_AGENT": "Mozilla/5.0 (Linux; Android 14; Pixel 8) Mobile", "REMOTE_ADDR": "10.0.0.7"}


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "ZBS")


@pytest.fixture
def published(app: Flask, office: Office) -> dict[str, Any]:
    st = office.approved(channels=["portal"])
    drain(app)
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "published"
    return st


def phone(app: Flask, cookie: str | None = None) -> FlaskClient:
    """A browser on a phone; with `cookie`, one whose session cookie is that value (a request sent earlier)."""
    web = app.test_client()
    web.environ_base.update(PHONE)
    if cookie is not None:
        web.set_cookie(app.config["SESSION_COOKIE_NAME"], cookie)
    return web


def session_cookie(app: Flask, web: FlaskClient) -> str:
    found = web.get_cookie(app.config["SESSION_COOKIE_NAME"])
    assert found is not None
    return found.value


def written_session(app: Flask, headers: Any) -> str | None:
    """The session cookie a response sets, or None."""
    name = app.config["SESSION_COOKIE_NAME"]
    for header in headers.getlist("Set-Cookie"):
        if header.startswith(f"{name}="):
            return str(header.split(";", 1)[0].split("=", 1)[1])
    return None


def test_a_qr_code_answered_after_the_sign_in_form_leaves_its_csrf_token(app: Flask, office: Office,
                                                                          published: dict[str, Any]) -> None:
    """The order of a phone that reads a release and then taps 登录: `/` sends it to the form with 请先登录 (a
    non-empty anonymous session), the form puts its CSRF token in the session, and the release page's QR code,
    requested with the cookie of before the form, is answered last. Its cookie, if it set one, is the one the
    browser keeps."""
    web = phone(app)
    assert web.get(f"/releases/{published['id']}").status_code == 200
    assert web.get("/").status_code == 302  # 请先登录: a flash in the session
    before_the_form = session_cookie(app, web)
    form = web.get("/login?next=%2F")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', form.get_data(as_text=True))
    assert form.status_code == 200 and token

    late = phone(app, before_the_form).get(f"/releases/{published['id']}/qr.svg")
    assert late.status_code == 200 and late.mimetype == "image/svg+xml"
    overwritten = written_session(app, late.headers)
    if overwritten is not None:  # what the browser does with a cookie that arrives last
        web.set_cookie(app.config["SESSION_COOKIE_NAME"], overwritten)

    signed = web.post("/login?next=%2F", data={"username": office.drafter.user.username, "password": PASSWORD,
                                               "csrf_token": token.group(1)})
    assert signed.status_code == 302, signed.get_data(as_text=True)[:400]
    assert signed.headers["Location"] == "/"
    assert web.get("/").status_code == 200  # signed in


@pytest.mark.parametrize("path", ["/releases", "/record", "/releases/{id}", "/releases/{id}/qr.svg",
                                  "/releases/feed.xml", "/verify", "/api/v1/public/releases", "/api/v1/ledger",
                                  "/favicon.ico", "/static/huiying.css"])
def test_public_pages_do_not_send_an_anonymous_session_back(app: Flask, published: dict[str, Any],
                                                           path: str) -> None:
    """With a flash waiting (请先登录) or the sign-in form's token in the session, reading a public page or what
    it pulls in changes nothing there, so no cookie is sent back to overwrite a newer one."""
    web = phone(app)
    assert web.get("/").status_code == 302
    with_a_flash = session_cookie(app, web)
    web.get("/login")
    with_a_token = session_cookie(app, web)
    # /verify holds a form: it rightly puts a token into a session that has none
    for cookie in [with_a_token] if path == "/verify" else [with_a_flash, with_a_token]:
        resp = phone(app, cookie).get(path.format(id=published["id"]))
        assert resp.status_code == 200, (path, resp.status_code)
        assert written_session(app, resp.headers) is None, (path, resp.headers.get("Set-Cookie"))
