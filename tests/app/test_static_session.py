"""Files a page pulls in (styles, scripts, the icon) never write the session: a browser fetches them while the
sign-in form is being served, and a cookie written by one of them (carrying the session as it was before the
form's CSRF token) used to overwrite the form's, so signing in failed with 页面已过期 now and then."""

from __future__ import annotations

from flask import Flask


def test_static_files_and_the_icon_leave_the_session_alone(app: Flask) -> None:
    client = app.test_client()
    assert client.get("/").status_code == 302  # anonymous: a flash (请先登录) is put in the session
    for path in ("/static/huiying.css", "/favicon.ico"):
        resp = client.get(path)
        assert resp.status_code == 200, path
        assert "Set-Cookie" not in resp.headers, (path, resp.headers.get("Set-Cookie"))
