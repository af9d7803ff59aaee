"""Post/redirect/get for every HTML form (issue 11, bug 4).

A refused form used to answer with a page at the POST address: a refresh sent it again and a phone that
restored the tab asked that address with GET and got a 405. Now every form redirects; the page it lands on
shows the refusal beside the field and what was typed, once.
"""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select

from app.extensions import db
from review.models import Statement
from tests.app.test_admin import Institution, csrf_of, sign_in
from tests.cases.helpers import Cast
from tests.publishing.helpers import drain
from tests.review.test_browser import assert_fits_the_phone, phone  # noqa: F401
from tests.review.test_browser import sign_in as phone_sign_in

pytestmark = pytest.mark.usefixtures("redis_client")


def refused(web: FlaskClient, path: str, data: dict[str, Any], page: str | None = None, *,
            status: int = 400) -> str:
    """POST a form that will be refused: the answer is a redirect to `page` (default: `path`), whose GET shows
    the refusal once and a second GET does not."""
    resp = web.post(path, data={"csrf_token": csrf_of(web, page or path), **data})
    assert resp.status_code == 302, (path, resp.status_code)
    assert resp.headers["Location"].split("?")[0].endswith(page or path)
    shown = web.get(resp.headers["Location"])
    assert shown.status_code == status, shown.get_data(as_text=True)[:500]
    body = html.unescape(shown.get_data(as_text=True))
    again = html.unescape(web.get(resp.headers["Location"]).get_data(as_text=True))
    assert 'role="alert"' in body and 'class="form-error"' not in again  # shown once
    return body


def count_statements(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Statement)) or 0


def test_review_forms(app: Flask) -> None:
    office = Institution(app)
    web = sign_in(app, office.drafter.user.username)
    body = refused(web, "/statements/new", {"title": "", "digest": "我的摘要", "body": "我输入的正文段落",
                                            "priority": "normal", "channels": "portal"})
    assert "我输入的正文段落" in body and "我的摘要" in body
    assert count_statements(app) == 0
    st = office.submitted(channels=["portal"])
    body = refused(web, f"/statements/{st['id']}/edit", {"title": "x" * 80, "body": "改后的正文", "priority": "normal",
                                                        "channels": "portal"})
    assert "改后的正文" in body and "x" * 80 in body
    expert = sign_in(app, office.expert.user.username)
    body = refused(expert, f"/statements/{st['id']}/reviews", {
        "revision_hash": st["revision"]["hash"], "stage": "expert", "decision": "request_changes", "comment": " "},
        page=f"/statements/{st['id']}")
    assert "退回修改或否决时必须填写意见" in body
    # a phone restoring a tab left on a form's address is sent to the page the form is on
    restored = expert.get(f"/statements/{st['id']}/reviews")
    assert restored.status_code == 302 and restored.headers["Location"].endswith(f"/statements/{st['id']}")


def test_publishing_forms(app: Flask) -> None:
    office = Institution(app)
    st = office.approved(channels=["portal"])
    drain(app)
    leader = sign_in(app, office.leader.user.username)
    body = refused(leader, f"/statements/{st['id']}/retract", {"reason": "x" * 2001}, page=f"/statements/{st['id']}")
    assert "x" * 2001 in body  # what was typed, beside the refusal
    assert re.search(r'<details class="action-form" id="retract"\s+open', body)  # the form stays open
    later = office.approved(channels=["portal"], go_live_at="2099-01-01T09:00:00+08:00")
    body = refused(leader, f"/statements/{later['id']}/cancel", {"reason": "y" * 2001},
                   page=f"/statements/{later['id']}")
    assert "理由不能超过 2000 个字符" in body and "y" * 2001 in body


def test_cases_forms(app: Flask) -> None:
    cast = Cast(app)
    web = sign_in(app, "drafter_a")
    body = refused(web, "/cases/new", {"title": "标题保留", "summary": "我写的摘要", "source": "forum",
                                       "source_url": "ftp://x", "units": "A"})
    assert "标题保留" in body and "我写的摘要" in body
    case = cast.at("handling")
    body = refused(web, f"/cases/{case['id']}/feedback", {"note": ""}, page=f"/cases/{case['id']}")
    assert 'class="field-error"' in body


def test_reports_admin_and_account_forms(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("handling")
    office = sign_in(app, "office")
    body = refused(office, f"/reports/upward?case={case['id']}", {"recipient": "", "method": "fax",
                                                                  "reported_at": "2026-11-02T09:30",
                                                                  "reference": "我填的文号"},
                   page="/reports/upward")
    assert "我填的文号" in body
    admin = sign_in(app, "admin")
    body = refused(admin, "/admin/units/A", {"name": "植保所新名", "duty_phone": "电话?",
                                             "first_responsible": "nobody"})
    assert "植保所新名" in body
    body = refused(admin, "/admin/users", {"username": "zhao", "name": "赵某", "unit": "A", "roles": "drafter",
                                           "email": "zhao@", "password": "Never-Kept-42"})
    assert "赵某" in body and "Never-Kept-42" not in body
    body = refused(admin, "/admin/tokens", {"username": "drafter_a", "label": "门户对接", "expires_at": "2001-01-01"})
    assert "门户对接" in body
    body = refused(admin, "/admin/users/drafter_a", {"action": "save", "name": "起草人甲", "unit": "A",
                                                      "email": "bad@", "roles": "drafter"})
    assert "起草人甲" in body
    mine = sign_in(app, "drafter_a")
    body = refused(mine, "/account", {"action": "password", "current_password": "nope", "new_password": "a",
                                      "new_password_again": "b"})
    assert "两次输入的新密码不一致" in body


@pytest.mark.browser
def test_a_refused_form_on_a_phone_keeps_its_text_and_survives_a_refresh(
    app: Flask, phone: Any, server: str  # noqa: F811
) -> None:
    office = Institution(app)
    phone_sign_in(phone, server, office.drafter.user.username)
    phone.goto(f"{server}/statements/new")
    phone.fill("#title", "")
    phone.fill("#body", "深夜写下的正文，不能丢。")
    phone.get_by_role("button", name="保存").click()
    phone.wait_for_url(f"{server}/statements/new")
    assert phone.input_value("#body") == "深夜写下的正文，不能丢。"
    error = phone.locator(".field-error[role='alert']").first
    assert error.is_visible()
    box = error.bounding_box()
    assert box is not None and 0 <= box["y"] <= 844, box  # scrolled into view
    assert_fits_the_phone(phone)
    dialogs: list[str] = []
    phone.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    response = phone.reload()
    assert response is not None and response.request.method == "GET" and response.status == 200
    assert dialogs == [] and count_statements(app) == 0
    # a tab restored on a form's address opens the page instead of a 405
    st = office.submitted(channels=["portal"])
    response = phone.goto(f"{server}/statements/{st['id']}/submit")
    assert response is not None and response.status == 200 and phone.url == f"{server}/statements/{st['id']}"
