"""The office's calendar of working days (issue 29): a year chinesecalendar does not know yet, typed in as the
State Council's notice reads; open working-day clocks follow at once, recorded, and nobody is told twice."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select, update

from app.extensions import db
from app.models import AuditEvent
from app.timeutil import SHANGHAI
from cases import clock
from cases.models import Case
from tests.app.test_admin import csrf_of, sign_in
from tests.cases.helpers import Cast, ago
from tests.cases.test_clock import _notes, _sweep, cst

PAGE = "/admin/deadlines"

SPRING_FESTIVAL_2027 = "2027-02-06 至 2027-02-13 春节\n2027-02-14 调休上班\n"


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CASE_DEADLINES": '{"4": {"response": "5wd"}}'}


def _found_at(app: Flask, case_id: int, moment: datetime) -> None:
    """Move a case's discovery to `moment` (the intake refuses a future one; 2027 is ahead of the tests' clock)."""
    with app.app_context():
        db.session.execute(update(Case).where(Case.id == case_id).values(discovered_at=moment))
        db.session.commit()


def _assess(cast: Cast, case_id: int) -> datetime:
    resp = cast.office.post(f"/cases/{case_id}/assessment", {"level": 4, "rationale": "一般"})
    assert resp.status_code == 201, resp.get_json()
    [deadline] = resp.get_json()["deadlines"]
    return datetime.fromisoformat(deadline["due_at"])


def _due(cast: Cast, case_id: int) -> datetime:
    [deadline] = cast.office.get(f"/cases/{case_id}").get_json()["deadlines"]
    return datetime.fromisoformat(deadline["due_at"])


def test_a_2027_spring_festival_entered_moves_a_5_working_day_clock_across_it(app: Flask) -> None:
    cast = Cast(app)
    assert not clock.calendar_knows(2027)
    before = cast.office.get("/calendar?year=2027").get_json()
    assert before["source"] == "weekends" and before["days"] == [] and before["text"] == ""
    case_id = cast.case()["id"]
    _found_at(app, case_id, cst(2027, 2, 4, 10))  # a Thursday, two days before the festival
    # weekends only: Fri 02-05, Mon 02-08 … Thu 02-11 → 24:00 of 02-11
    assert _assess(cast, case_id) == cst(2027, 2, 12)

    resp = cast.office.put("/calendar?year=2027", {"text": SPRING_FESTIVAL_2027})
    assert resp.status_code == 200, resp.get_json()
    saved = resp.get_json()
    # Fri 02-05, 02-06…02-13 off, Sun 02-14 make-up day, Mon 02-15 … Wed 02-17 → 24:00 of 02-17
    assert _due(cast, case_id) == cst(2027, 2, 18)
    assert saved["source"] == "table" and saved["changed"] is True and saved["notified"] == 0
    assert saved["text"] == "2027-02-06 至 2027-02-13 春节\n2027-02-14 调休上班"
    assert [(d["day"], d["kind"]) for d in saved["days"]][-2:] == [("2027-02-13", "holiday"), ("2027-02-14", "workday")]
    assert len(saved["days"]) == 9 and saved["updated_by"] == "office"
    [moved] = saved["moved"]
    assert moved["case_id"] == case_id and moved["deadlines"] == [
        {"kind": "response", "from": cst(2027, 2, 12).astimezone(UTC).isoformat(),
         "to": cst(2027, 2, 18).astimezone(UTC).isoformat()}]

    case = cast.office.get(f"/cases/{case_id}").get_json()
    event = case["events"][-1]
    assert event["kind"] == "deadlines_moved" and event["actor"] == "office"
    assert event["data"]["deadlines"] == moved["deadlines"] and event["data"]["year"] == 2027
    page = sign_in(app, "office").get(f"/cases/{case_id}").get_data(as_text=True)
    assert "工作日历调整" in page and "2027-02-12 00:00" in page and "2027-02-18 00:00" in page

    # the same table again changes nothing and records nothing
    again = cast.office.put("/calendar?year=2027", {"text": SPRING_FESTIVAL_2027}).get_json()
    assert again["changed"] is False and again["moved"] == []
    assert [e["kind"] for e in cast.office.get(f"/cases/{case_id}").get_json()["events"]].count("deadlines_moved") == 1
    # a case assessed from now on counts with the table
    other = cast.case()["id"]
    _found_at(app, other, cst(2027, 2, 4, 10))
    assert _assess(cast, other) == cst(2027, 2, 18)

    with app.app_context():
        audit = [(e.action, e.object_type, e.object_id, e.before, e.after) for e in db.session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["calendar.update", "case.deadlines_moved"]))
            .order_by(AuditEvent.id))]
    assert audit == [
        ("calendar.update", "calendar", 2027, {"text": ""}, {"text": saved["text"]}),
        ("case.deadlines_moved", "case", case_id, {"response": moved["deadlines"][0]["from"]},
         {"response": moved["deadlines"][0]["to"]}),
    ]
    listed = cast.office.get("/audit?object_type=calendar").get_json()
    assert [(e["action"], e["object_id"]) for e in listed["items"]] == [("calendar.update", 2027)]


def test_emptying_the_table_moves_the_clock_back_and_a_known_year_is_overridden(app: Flask) -> None:
    cast = Cast(app)
    case_id = cast.case()["id"]
    _found_at(app, case_id, cst(2027, 2, 4, 10))
    _assess(cast, case_id)
    cast.office.put("/calendar?year=2027", {"text": SPRING_FESTIVAL_2027})
    assert cast.office.put("/calendar?year=2027", {"text": ""}).get_json()["moved"][0]["case_id"] == case_id
    assert _due(cast, case_id) == cst(2027, 2, 12)
    # 2025 is known to the library; an institution's own closure overrides it (National Day: 10-01…10-08 off)
    known = cast.admin.put("/calendar?year=2025", {"text": "2025-10-09 院庆闭馆"}).get_json()
    assert known["source"] == "library" and known["days"] == [{"day": "2025-10-09", "kind": "holiday",
                                                               "note": "院庆闭馆"}]
    with app.app_context():
        # found 09-30: 10-09 is closed, so 10-10, 10-11 (make-up), 10-13 … → 1 wd ends with 10-10
        assert clock.due_at(cst(2025, 9, 30, 10), "1wd", clock.calendar_days()) == cst(2025, 10, 11)


def _lines(first: date, last: date, note: str) -> dict[int, str]:
    """Lines for first…last, one per year touched (each year is its own table)."""
    out: dict[int, str] = {}
    for year in range(first.year, last.year + 1):
        a, b = max(first, date(year, 1, 1)), min(last, date(year, 12, 31))
        out[year] = f"{a} 至 {b} {note}" if a != b else f"{a} {note}"
    return out


def _put(cast: Cast, tables: dict[int, str]) -> list[dict[str, Any]]:
    answers = []
    for year, text in tables.items():
        resp = cast.office.put(f"/calendar?year={year}", {"text": text})
        assert resp.status_code == 200, resp.get_json()
        answers.append(resp.get_json())
    return answers


@pytest.mark.parametrize("app_config", [{"CASE_DEADLINES": '{"4": {"response": "1wd"}}'}])
def test_a_clock_moved_earlier_notifies_once_and_one_moved_later_is_not_announced_again(app: Flask) -> None:
    cast = Cast(app)
    found = (datetime.now(UTC) - timedelta(days=3)).astimezone(SHANGHAI)
    day = found.date()
    far = _lines(day + timedelta(days=1), day + timedelta(days=25), "闭馆")
    near = _lines(day + timedelta(days=1), day + timedelta(days=1), "调休上班")
    years = set(far) | set(near)
    _put(cast, far)  # closed for 25 days: a 1 wd clock is far away
    case_id = cast.case(discovered_at=found.isoformat())["id"]
    due = _assess(cast, case_id)
    assert due > found + timedelta(days=25)
    assert _sweep(app, datetime.now(UTC)) == 0 and _notes(app) == []

    # the next day declared a working day: 1 wd ends at 24:00 of it, two days ago — 50 %, 80 % and 100 % crossed
    answers = _put(cast, {year: near.get(year, "") for year in years})
    assert _due(cast, case_id) == datetime.combine(day + timedelta(days=2), datetime.min.time(), tzinfo=SHANGHAI)
    assert sum(a["notified"] for a in answers) == 5
    expected = sorted([("deadline_warning", "50", "drafter_a"), ("deadline_warning", "80", "leader2_a"),
                       ("deadline_overdue", "100", "leader_a"), ("deadline_overdue", "100", "leader2_a"),
                       ("deadline_overdue", "100", "office")])
    assert sorted(_notes(app)) == expected
    assert _sweep(app, datetime.now(UTC)) == 0

    # later again, then earlier again: every threshold was announced; nobody hears of it twice
    _put(cast, {year: far.get(year, "") for year in years})
    assert _due(cast, case_id) > datetime.now(UTC) + timedelta(days=20)
    assert _sweep(app, datetime.now(UTC) + timedelta(days=40)) == 0
    assert sum(a["notified"] for a in _put(cast, {year: near.get(year, "") for year in years})) == 0
    assert sorted(_notes(app)) == expected
    kinds = [e["kind"] for e in cast.office.get(f"/cases/{case_id}").get_json()["events"]]
    assert kinds.count("deadlines_moved") == 3


@pytest.mark.parametrize("app_config", [{"CASE_DEADLINES": '{"3": {"response": "5wd"}, "4": {"response": "5wd"}}'}])
def test_met_closed_and_hour_clocks_do_not_move(app: Flask) -> None:
    cast = Cast(app)
    ids = {name: cast.case()["id"] for name in ("met", "closed", "hours")}
    for case_id in ids.values():
        _found_at(app, case_id, cst(2027, 2, 4, 10))
    _assess(cast, ids["closed"])
    assert cast.leader.post(f"/cases/{ids['closed']}/close", {"outcome": "撤销", "no_response_reason": "重复登记"}
                            ).status_code == 201
    assert cast.office.post(f"/cases/{ids['hours']}/assessment", {"level": 2, "rationale": "重大"}).status_code == 201
    steps = [(cast.office, "assessment", {"level": 3, "rationale": "较大"}),
             (cast.office, "assignment", {"lead_unit": cast.a}), (cast.drafter, "acceptance", {}),
             (cast.drafter, "responses", {"form": "expert_interpretation", "held_at": ago(minutes=5)})]
    for who, path, body in steps:
        assert who.post(f"/cases/{ids['met']}/{path}", body).status_code == 201
    before = {name: cast.office.get(f"/cases/{case_id}").get_json()["deadlines"] for name, case_id in ids.items()}
    assert [d["state"] for d in before["met"]] == ["met"] and [d["state"] for d in before["closed"]] == ["waived"]

    saved = cast.office.put("/calendar?year=2027", {"text": SPRING_FESTIVAL_2027}).get_json()
    assert saved["changed"] is True and saved["moved"] == []
    assert {name: cast.office.get(f"/cases/{case_id}").get_json()["deadlines"]
            for name, case_id in ids.items()} == before


@pytest.mark.parametrize(("text", "field", "message"), [
    ("2027-02-13 至 2027-02-06 春节", "text.1", "第 1 行：结束日期早于开始日期"),
    ("2027-02-06 至 2027-02-13 春节\n\n2027-02-30 调休上班", "text.3", "第 3 行：日期不存在"),
    ("# 2027 年放假安排\n2027-02-06至2027-02-13 春节\n2027-02-10 上班", "text.3", "第 3 行：与第 2 行的日期重叠"),
    ("2026-12-31 至 2027-01-01 元旦", "text.1", "第 1 行：日期不在 2027 年内"),
    ("2027-01-01 至 2027-03-01 春节", "text.1", "第 1 行：一段不能超过 31 天"),
    ("春节 2027-02-06", "text.1", "第 1 行：应为“2027-02-06 至 2027-02-13 春节”或“2027-02-14 调休上班”"),
    ("2027-02-06 2027-02-13 春节", "text.1", "第 1 行：应为“2027-02-06 至 2027-02-13 春节”或“2027-02-14 调休上班”"),
    ("2027-02-06 至 2027-02-1x 春节", "text.1", "第 1 行：应为“2027-02-06 至 2027-02-13 春节”或“2027-02-14 调休上班”"),
])
def test_bad_ranges_are_400_naming_the_line_and_nothing_is_stored(app: Flask, text: str, field: str,
                                                                  message: str) -> None:
    cast = Cast(app)
    resp = cast.office.put("/calendar?year=2027", {"text": text})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["code"] == "invalid" and error["message"] == "工作日历有误" and error["fields"] == {field: message}
    assert cast.office.get("/calendar?year=2027").get_json()["days"] == []


@pytest.mark.parametrize(("query", "body"), [
    ("?year=1999", {"text": ""}), ("?year=二〇二七", {"text": ""}), ("?year=2027", {"text": 5}),
    ("?year=2027", {"text": "x" * 20_001}), ("?year=2027", ["2027-02-06"]),
])
def test_bad_requests_are_400_never_500(app: Flask, query: str, body: Any) -> None:
    cast = Cast(app)
    resp = cast.office.put(f"/calendar{query}", body)
    assert resp.status_code == 400 and resp.get_json()["error"]["code"] == "invalid"


def test_only_the_office_and_admin_change_the_calendar_and_everyone_reads_it(app: Flask) -> None:
    cast = Cast(app)
    for who in (cast.drafter, cast.leader, cast["expert", cast.a]):
        resp = who.put("/calendar?year=1999", {"text": "nonsense"})
        assert resp.status_code == 403 and resp.get_json()["error"]["code"] == "wrong_role"
        assert who.get("/calendar").get_json()["year"] == datetime.now(SHANGHAI).year
    assert cast.admin.put("/calendar?year=2027", {"text": "2027-02-14 补班"}).get_json()["days"][0]["kind"] == "workday"


# The page: /admin/deadlines, 工作日历 -----------------------------------------------------------------------

def _last_known_year() -> int:
    year = 2004
    while clock.calendar_knows(year + 1):
        year += 1
    return year


def test_the_office_saves_a_year_on_the_page_and_a_bad_line_is_named_beside_what_was_typed(app: Flask) -> None:
    cast = Cast(app)
    web = sign_in(app, "office")
    page = web.get("/admin/deadlines?year=2027").get_data(as_text=True)
    assert "工作日历" in page and 'name="year" value="2027"' in page
    bad = "2027-02-06 至 2027-02-13 春节\n2027-02-14 调休上班\n2027-10-08 至 2027-10-01 国庆节"
    resp = web.post("/admin/deadlines/calendar", data={"csrf_token": csrf_of(web, PAGE), "year": "2027", "text": bad})
    assert resp.status_code == 400
    page = resp.get_data(as_text=True)
    assert "第 3 行：结束日期早于开始日期" in page and "2027-10-08 至 2027-10-01 国庆节</textarea>" in page
    assert cast.office.get("/calendar?year=2027").get_json()["days"] == []

    resp = web.post("/admin/deadlines/calendar", data={"csrf_token": csrf_of(web, PAGE), "year": "2027",
                                                       "text": SPRING_FESTIVAL_2027})
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/admin/deadlines?year=2027#calendar")
    page = web.get("/admin/deadlines?year=2027").get_data(as_text=True)
    assert "已保存 2027 年的工作日历" in page
    assert "2027-02-06 至 2027-02-13 春节\n2027-02-14 调休上班</textarea>" in page
    assert cast.office.get("/calendar?year=2027").get_json()["source"] == "table"
    assert web.get("/admin/deadlines?year=二〇二七").status_code == 400
    drafter = sign_in(app, "drafter_a")
    assert drafter.get(PAGE).status_code == 403
    assert drafter.post("/admin/deadlines/calendar", data={
        "csrf_token": csrf_of(drafter), "year": "2027", "text": ""}).status_code == 403
    assert cast.office.get("/calendar?year=2027").get_json()["days"] != []


@pytest.mark.parametrize(("month", "day", "warned"), [(10, 31, False), (11, 1, True)])
def test_from_1_november_the_page_warns_while_next_year_is_weekends_only(
        app: Flask, monkeypatch: pytest.MonkeyPatch, month: int, day: int, warned: bool) -> None:
    Cast(app)
    year = _last_known_year()
    monkeypatch.setattr("cases.settings_page.utcnow", lambda: cst(year, month, day, 9).astimezone(UTC))
    web = sign_in(app, "office")
    page = web.get(f"/admin/deadlines?year={year}").get_data(as_text=True)
    assert f'id="source-{year}"' in page and f'id="source-{year + 1}"' in page
    assert ("calendar-gap" in page) is warned
    assert (f"{year + 1} 年的节假日安排尚未录入" in page) is warned
    assert "只按周末" in page and "法定节假日来自 chinesecalendar" in page
    saved = web.post("/admin/deadlines/calendar", data={"csrf_token": csrf_of(web, PAGE), "year": str(year + 1),
                                                        "text": f"{year + 1}-01-01 元旦"})
    assert saved.status_code == 302
    page = web.get(f"/admin/deadlines?year={year}").get_data(as_text=True)
    assert "calendar-gap" not in page and "按本页录入的 1 天和周末" in page
