"""Registering a case once (interface §20): the Idempotency-Key of POST /cases and of the intake form, and the
warning when a case of the same title was registered within a day."""

from __future__ import annotations

import re
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update

from app.extensions import db
from cases.models import Case, CaseIntakeKey
from tests.cases.helpers import Cast
from tests.factories import Api
from tests.review.test_web import Browser, text

BODY = {"title": "网传某品种小麦种子质量问题", "summary": "微博用户称购买的种子发芽率低。", "source": "weibo",
        "units": ["A"]}
KEY_RE = re.compile(r'name="intake_key" value="([^"]+)"')


def cases_count(app: Flask) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count(Case.id))) or 0


def post(api: Api, body: dict[str, Any], key: str | None = None) -> Any:
    headers = {**api.headers, **({"Idempotency-Key": key} if key else {})}
    return api.client.post("/api/v1/cases", json=body, headers=headers)


def test_the_same_key_answers_the_first_case(app: Flask) -> None:
    cast = Cast(app)
    first = post(cast.office, BODY, "form-7f3a")
    assert first.status_code == 201 and first.get_json()["warnings"] == []
    again = post(cast.office, {**BODY, "summary": "第二次提交"}, "form-7f3a")
    assert again.status_code == 200
    assert again.get_json()["id"] == first.get_json()["id"] and again.get_json()["summary"] == BODY["summary"]
    assert cases_count(app) == 1
    # the key is the caller's: another person's same key is another case
    other = post(cast.drafter, {**BODY, "title": "另一条"}, "form-7f3a")
    assert other.status_code == 201 and other.get_json()["id"] != first.get_json()["id"]
    # a day later the key is free again
    with app.app_context():
        db.session.execute(update(CaseIntakeKey).values(created_at=datetime.now(UTC) - timedelta(hours=25)))
        db.session.commit()
    later = post(cast.office, {**BODY, "title": "一天后的新舆情"}, "form-7f3a")
    assert later.status_code == 201 and cases_count(app) == 3
    assert post(cast.office, {**BODY, "title": "x"}, "form-7f3a").get_json()["id"] == later.get_json()["id"]


def test_a_bad_key_is_invalid_and_a_refused_body_keeps_the_key_free(app: Flask) -> None:
    cast = Cast(app)
    resp = post(cast.office, BODY, "k" * 129)
    assert resp.status_code == 400 and "Idempotency-Key" in resp.get_json()["error"]["fields"]
    resp = post(cast.office, {**BODY, "source": "nowhere"}, "k1")
    assert resp.status_code == 400 and cases_count(app) == 0
    assert post(cast.office, BODY, "k1").status_code == 201


def test_two_submits_racing_with_one_key_make_one_case(app: Flask) -> None:
    cast = Cast(app)
    callers = [Api(app, cast.office.user) for _ in range(4)]
    answers: list[Any] = []
    start = threading.Barrier(len(callers))

    def submit(api: Api) -> None:
        start.wait()
        answers.append(post(api, BODY, "race-1"))

    threads = [threading.Thread(target=submit, args=(api,)) for api in callers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.get_json()["id"] for a in answers}) == 1 and cases_count(app) == 1


def test_a_same_title_case_within_a_day_is_a_warning(app: Flask) -> None:
    cast = Cast(app)
    first = post(cast.office, BODY).get_json()
    resp = post(cast.office, {**BODY, "title": "网传某品种小麦种子质量问题！ "})  # the same once normalized
    assert resp.status_code == 201
    [warning] = resp.get_json()["warnings"]
    assert warning["code"] == "similar_title" and warning["case_id"] == first["id"]
    assert warning["url"] == f"/cases/{first['id']}"
    assert post(cast.office, {**BODY, "title": "网传某品种玉米种子质量问题"}).get_json()["warnings"] == []
    # a unit that cannot see the earlier case is not told of it
    assert post(cast["drafter", cast.b], {**BODY, "units": ["B"]}).get_json()["warnings"] == []


def test_the_form_submitted_twice_registers_once(app: Flask) -> None:
    Cast(app)
    browser = Browser(app, "drafter_a")
    key = KEY_RE.search(text(browser.get("/cases/new")))
    assert key is not None
    form = {"title": "论坛反映试验田焚烧秸秆", "summary": "有网民发帖", "source": "forum", "units": ["A"],
            "discovered_at": "", "intake_key": key.group(1)}
    first = browser.post("/cases/new", form)
    assert first.status_code == 302
    again = browser.post("/cases/new", form)  # Back, then 登记 again
    assert again.status_code == 302 and again.headers["Location"] == first.headers["Location"]
    assert "已经提交过" in text(browser.get(again.headers["Location"]))
    assert cases_count(app) == 1
    # a new form has a new key
    assert KEY_RE.search(text(browser.get("/cases/new"))).group(1) != key.group(1)  # type: ignore[union-attr]


def test_the_form_asks_before_registering_a_same_title_case(app: Flask) -> None:
    cast = Cast(app)
    first = post(cast.office, BODY).get_json()
    browser = Browser(app, "drafter_a")
    key = KEY_RE.search(text(browser.get("/cases/new")))
    assert key is not None
    form = {**BODY, "summary": "另一位同事也看到了", "discovered_at": "", "intake_key": key.group(1)}
    page = browser.post("/cases/new", form, follow_redirects=True)
    assert page.status_code == 409 and cases_count(app) == 1
    body = text(page)
    assert f'href="/cases/{first["id"]}"' in body and 'name="confirm_similar"' in body
    assert "另一位同事也看到了" in body and key.group(1) in body  # what was typed, and the same key
    resp = browser.post("/cases/new", {**form, "confirm_similar": "on"})
    assert resp.status_code == 302 and cases_count(app) == 2
    assert resp.headers["Location"] != f"/cases/{first['id']}"
