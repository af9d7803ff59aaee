"""Screenshots and documents attached to a case (issue 27, item 11): checked by content as evidence is, added by
the people who may act on the case, listed and served on its page to those who may see it, audited."""

from __future__ import annotations

import io
import re
from typing import Any

from flask import Flask
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests.cases.helpers import Cast
from tests.factories import Api, unit, user
from tests.review.test_evidence import PDF, png
from tests.review.test_web import Browser, section, text


def attach(browser: Browser, case_id: int, data: bytes, name: str, **kw: Any) -> Any:
    return browser.post(f"/cases/{case_id}/attachments", {"file": (io.BytesIO(data), name)},
                        content_type="multipart/form-data", **kw)


def api_attach(api: Api, case_id: int, data: bytes, name: str) -> Any:
    return api.client.post(f"/api/v1/cases/{case_id}/attachments", headers=api.headers,
                           data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")


def test_a_screenshot_is_attached_listed_and_served_like_evidence(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("assigned")  # A leads, B assists
    drafter = Browser(app, "drafter_a")
    shot = png()
    resp = attach(drafter, case["id"], shot, "微博截图.png")
    assert resp.status_code == 302, text(resp)
    listed = section(drafter.get(f"/cases/{case['id']}"), "attachments")
    assert "微博截图.png" in listed
    href = re.search(r'href="(/cases/\d+/attachments/\d+)"', listed)
    assert href is not None
    got = drafter.get(href.group(1))
    assert got.status_code == 200 and got.data == shot and got.mimetype == "image/png"
    assert "no-store" in got.headers["Cache-Control"] and got.headers["X-Content-Type-Options"] == "nosniff"
    # an assisting unit's leader may add one too, and a PDF is welcome
    assert attach(Browser(app, "leader_b"), case["id"], PDF, "情况说明.pdf").status_code == 302
    assert "情况说明.pdf" in section(Browser(app, "office").get(f"/cases/{case['id']}"), "attachments")
    # a unit that has nothing to do with the case sees neither the case nor its files
    unit(app, "C", "园艺研究所")
    user(app, "C", "drafter", username="drafter_c")
    assert Browser(app, "drafter_c").get(href.group(1)).status_code == 403
    with app.app_context():
        audited = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "case.attach")).all()
        assert len(audited) == 2 and {a.object_id for a in audited} == {case["id"]}


def test_attachments_are_checked_by_content_and_refused_beside_the_field(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("assigned")
    drafter = Browser(app, "drafter_a")
    resp = attach(drafter, case["id"], b"<html><script>alert(1)</script>", "截图.png", follow_redirects=True)
    assert resp.status_code == 400
    assert 'class="field-error"' in section(resp, "attachments")
    assert "截图.png" not in section(drafter.get(f"/cases/{case['id']}"), "attachments")
    assert api_attach(cast.drafter, case["id"], b"", "empty.png").status_code == 400
    # who may not act on the case may not add to it
    resp = api_attach(cast["expert", cast.a], case["id"], png(), "x.png")
    assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_role"
    resp = api_attach(cast.drafter, case["id"], PDF, "复函.pdf")
    assert resp.status_code == 201, resp.get_json()
    body = resp.get_json()
    assert body["name"] == "复函.pdf" and body["mime"] == "application/pdf" and body["url"].startswith("/cases/")
    closed = cast.at("closed")
    resp = api_attach(cast.office, closed["id"], png(), "late.png")
    assert resp.status_code == 409 and resp.get_json()["error"]["code"] == "wrong_state"
