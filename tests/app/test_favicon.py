"""Every page has an icon (issue 27, item 17): browsers ask for /favicon.ico on every page, which was a 404."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask

from tests.factories import Office
from tests.review.test_browser import phone, sign_in  # noqa: F401


def test_favicon_is_served_and_named_by_every_page(app: Flask) -> None:
    web = app.test_client()
    icon = web.get("/favicon.ico")
    assert icon.status_code == 200 and icon.mimetype in ("image/x-icon", "image/vnd.microsoft.icon")
    assert icon.data[:4] == b"\x00\x00\x01\x00"  # an ICO file, as the name promises
    assert "max-age" in icon.headers.get("Cache-Control", "")
    for path in ("/login", "/releases", "/record", "/verify"):
        page = web.get(path).get_data(as_text=True)
        assert '<link rel="icon"' in page, path


@pytest.mark.browser
def test_no_page_of_a_session_asks_for_a_missing_file(app: Flask, server: str, phone: Any) -> None:  # noqa: F811
    office = Office(app, "ZBS")
    missing: list[str] = []
    phone.on("response", lambda r: missing.append(r.url) if r.status == 404 else None)
    sign_in(phone, server, office.drafter.user.username)
    for path in ("/statements/new", "/releases", "/record"):
        phone.goto(f"{server}{path}")
        phone.wait_for_load_state("networkidle")
    got = phone.request.get(f"{server}/favicon.ico")
    assert got.status == 200
    assert missing == []
