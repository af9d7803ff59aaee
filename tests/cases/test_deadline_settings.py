"""Case deadline settings (interface §11): an admin edits the clocks by level at /admin/deadlines; the configuration
(`CASE_DEADLINES`, else 61号/80号) is the default; the clock reads what was saved; every change is audited."""

from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import select

from app.extensions import db
from app.models import AuditEvent
from tests.app.test_admin import csrf_of, sign_in
from tests.cases.helpers import Cast
from tests.cases.test_clock import cst

PAGE = "/admin/deadlines"


def form(web: FlaskClient, **changes: str) -> dict[str, str]:
    """The page's form as it stands, with `changes` (`n-4-response="5"`, `u-4-response="wd"`)."""
    page = web.get(PAGE).get_data(as_text=True)
    numbers = dict(re.findall(r'name="(n-\d-[a-z_]+)"[^>]*value="([^"]*)"', page))
    units = {name: "wd" if wd else "h" for name, wd in re.findall(
        r'name="(u-\d-[a-z_]+)"[^>]*>\s*<option value="h"\s*(?:selected)?>[^<]*</option>\s*'
        r'<option value="wd"\s*(selected)?>', page)}
    assert len(numbers) == len(units) == 12
    return {**numbers, **units, "csrf_token": csrf_of(web, PAGE), **changes}


def events(app: Flask) -> list[AuditEvent]:
    with app.app_context():
        rows = list(db.session.scalars(select(AuditEvent).where(AuditEvent.object_type == "setting")
                                       .order_by(AuditEvent.id)))
        db.session.expunge_all()
        return rows


def test_admin_sets_a_clock_and_the_next_assessment_uses_it(app: Flask) -> None:
    cast = Cast(app)
    web = sign_in(app, "admin")
    page = web.get(PAGE)
    assert page.status_code == 200 and "舆情处置时限" in page.get_data(as_text=True)
    assert 'value="48"' in page.get_data(as_text=True)  # level 3/4 response: 48 h by 61号
    saved = web.post(PAGE, data=form(web, **{"n-4-response": "5", "u-4-response": "wd",
                                             "n-2-authoritative_release": "3"}))
    assert saved.status_code == 302
    case = cast.case(discovered_at=cst(2025, 9, 30, 10).isoformat())
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 4, "rationale": "一般"}).get_json()
    [response] = case["deadlines"]
    assert datetime.fromisoformat(response["due_at"]) == cst(2025, 10, 15)  # five working days after the holiday
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 2, "rationale": "升级"}).get_json()
    due = {d["kind"]: datetime.fromisoformat(d["due_at"]) for d in case["deadlines"]}
    assert due == {"authoritative_release": cst(2025, 9, 30, 13), "press_conference": cst(2025, 10, 1, 10)}

    [event] = events(app)
    assert event.action == "settings.case_deadlines.update" and event.before == {"value": None}
    assert event.after["value"]["4"] == {"response": "5wd"}
    assert event.after["value"]["2"] == {"authoritative_release": "3h", "press_conference": "24h"}
    audit = cast.admin.get("/audit?object_type=settings").get_json()
    assert [e["action"] for e in audit["items"]] == ["settings.case_deadlines.update"]


@pytest.mark.parametrize(("changes", "field", "message"), [
    ({"n-1-authoritative_release": "0"}, "1.authoritative_release", "应为 1–9999 小时或工作日"),
    ({"n-3-response": "-4"}, "3.response", "应为 1–9999 小时或工作日"),
    ({"n-3-response": "两天"}, "3.response", "应为 1–9999 小时或工作日"),
    ({"n-3-response": "10000"}, "3.response", "应为 1–9999 小时或工作日"),
    ({"u-4-response": "days"}, "4.response", "应为 1–9999 小时或工作日"),
    ({"n-4-response": ""}, "4", "每个级别至少需要一个时限"),
])
def test_bad_clocks_are_refused_beside_the_field_and_nothing_is_stored(
    app: Flask, changes: dict[str, str], field: str, message: str
) -> None:
    Cast(app)
    web = sign_in(app, "admin")
    resp = web.post(PAGE, data=form(web, **changes))
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert message in page and "时限设置有误" in page
    for name, value in changes.items():
        assert f'value="{value}"' in page or name.startswith("u-") or not value  # what was typed is kept
    assert events(app) == []


def test_only_an_admin_sets_deadlines(app: Flask) -> None:
    cast = Cast(app)
    leader = sign_in(app, cast.leader.user.username)
    assert leader.get(PAGE).status_code == 403
    office = sign_in(app, cast.office.user.username)
    page = office.get(PAGE)  # the office keeps the calendar of working days on this page, not the clocks
    assert page.status_code == 200 and 'id="calendar-text"' in page.get_data(as_text=True)
    assert 'name="n-4-response"' not in page.get_data(as_text=True)
    for web in (office, leader):
        assert web.post(PAGE, data={"csrf_token": csrf_of(web), "n-4-response": "1"}).status_code == 403
    assert events(app) == []


@pytest.mark.parametrize("app_config", [{"CASE_DEADLINES": '{"4": {"response": "72h"}}'}])
def test_the_configuration_is_the_default_and_reset_returns_to_it(app: Flask) -> None:
    cast = Cast(app)
    web = sign_in(app, "admin")
    assert 'id="n-4-response" name="n-4-response" type="text"' in web.get(PAGE).get_data(as_text=True)
    assert 'value="72"' in web.get(PAGE).get_data(as_text=True)
    web.post(PAGE, data=form(web, **{"n-4-response": "12"}))
    assess = {"level": 4, "rationale": "一般"}
    case = cast.office.post(f"/cases/{cast.case()['id']}/assessment", assess).get_json()
    assert case["deadlines"][0]["kind"] == "response"
    started = datetime.fromisoformat(case["discovered_at"])
    assert datetime.fromisoformat(case["deadlines"][0]["due_at"]) - started == timedelta(hours=12)

    assert web.post(PAGE, data={"csrf_token": csrf_of(web, PAGE), "action": "reset"}).status_code == 302
    case = cast.office.post(f"/cases/{cast.case()['id']}/assessment", assess).get_json()
    started = datetime.fromisoformat(case["discovered_at"])
    assert datetime.fromisoformat(case["deadlines"][0]["due_at"]) - started == timedelta(hours=72)
    update, reset = events(app)
    assert reset.action == "settings.case_deadlines.reset" and reset.before == update.after
    assert reset.after == {"value": None}
