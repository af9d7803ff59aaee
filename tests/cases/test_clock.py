"""Case clocks: hours and Chinese working days, overrides, re-assessment, and the sweep's exactly-once alerts."""

from __future__ import annotations

import logging
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import func, select, update

from app.extensions import db
from app.models import User
from app.notifications.models import Notification
from app.timeutil import SHANGHAI
from cases import clock
from cases.models import Case, Deadline
from tests.cases.helpers import Cast


def cst(*args: int) -> datetime:
    return datetime(*args, tzinfo=SHANGHAI)


@pytest.mark.parametrize("start, spec, due", [
    (cst(2025, 9, 30, 10), "5h", cst(2025, 9, 30, 15)),
    (cst(2025, 9, 30, 22), "48h", cst(2025, 10, 2, 22)),
    # National Day 2025: 10-01…10-08 off, Sunday 09-28 and Saturday 10-11 make-up working days.
    (cst(2025, 9, 30, 10), "1wd", cst(2025, 10, 10)),
    (cst(2025, 9, 30, 10), "2wd", cst(2025, 10, 11)),
    (cst(2025, 9, 30, 10), "3wd", cst(2025, 10, 12)),  # the make-up Saturday counts
    (cst(2025, 9, 26, 18), "1wd", cst(2025, 9, 29)),   # found Friday evening: the make-up Sunday counts
    (cst(2025, 9, 26, 18), "3wd", cst(2025, 10, 1)),
    (cst(2025, 10, 3, 9), "1wd", cst(2025, 10, 10)),   # found on a holiday
    (cst(2025, 10, 11, 9), "1wd", cst(2025, 10, 14)),  # found on the make-up Saturday: Sunday is off
])
def test_due_moments(start: datetime, spec: str, due: datetime) -> None:
    assert clock.due_at(start.astimezone(UTC), spec) == due


def test_a_year_the_calendar_does_not_know_falls_back_to_weekends_and_says_so(
        caplog: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    year = 2099
    monkeypatch.setattr(clock.log, "disabled", False)  # alembic's fileConfig disables loggers it does not name
    assert not clock.calendar_knows(year)
    clock._warned_years.discard(year)
    with caplog.at_level(logging.WARNING, logger="cases.clock"):
        # Friday 2099-01-02 → Monday 01-05, Tuesday 01-06
        assert clock.due_at(cst(year, 1, 2, 9).astimezone(UTC), "2wd") == cst(year, 1, 7)
    assert any(str(year) in r.getMessage() for r in caplog.records)
    assert clock.calendar_knows(2025)


@pytest.fixture
def app_config() -> dict[str, Any]:
    return {"CASE_DEADLINES": '{"4": {"response": "5wd"}, "2": {"authoritative_release": "3h"}}'}


def test_case_deadlines_override_levels_by_configuration(app: Flask) -> None:
    cast = Cast(app)
    found = cst(2025, 9, 30, 10).isoformat()
    case = cast.case(discovered_at=found)
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 4, "rationale": "一般"}).get_json()
    [response] = case["deadlines"]
    # 10-09, 10-10, 10-11 (make-up), 10-13, 10-14 → 24:00 of 10-14
    assert datetime.fromisoformat(response["due_at"]) == cst(2025, 10, 15)
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 2, "rationale": "升级"}).get_json()
    assert [(d["kind"], datetime.fromisoformat(d["due_at"])) for d in case["deadlines"]] == [
        ("authoritative_release", cst(2025, 9, 30, 13))]
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 3, "rationale": "回落"}).get_json()
    assert [d["kind"] for d in case["deadlines"]] == ["response"]  # level 3 keeps the default 48 h
    assert datetime.fromisoformat(case["deadlines"][0]["due_at"]) == cst(2025, 10, 2, 10)


def test_reassessment_keeps_met_clocks_and_meets_new_ones_with_earlier_responses(app: Flask) -> None:
    cast = Cast(app)
    case = cast.at("responded")  # level 3: `response` met by an expert interpretation
    [met] = case["deadlines"]
    assert met["state"] == "met"
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 4, "rationale": "降级"}).get_json()
    assert case["deadlines"] == [met]  # same clock, same met_at
    case = cast.office.post(f"/cases/{case['id']}/assessment", {"level": 1, "rationale": "升级"}).get_json()
    by_kind = {d["kind"]: d for d in case["deadlines"]}
    assert set(by_kind) == {"response", "authoritative_release", "press_conference"}
    assert by_kind["response"] == met
    assert by_kind["authoritative_release"]["met_at"] == met["met_at"]  # any counted response meets it
    assert by_kind["press_conference"]["met_at"] is None  # only a press conference does
    with app.app_context():
        # the clocks replaced on the way are kept as history, not shown
        rows = db.session.scalars(select(Deadline).where(Deadline.case_id == case["id"])).all()
        assert len(rows) == 3


# The sweep ----------------------------------------------------------------------------------------


def _assessed(cast: Cast, level: int = 3, hours_ago: float = 1) -> tuple[int, datetime]:
    found = datetime.now(UTC) - timedelta(hours=hours_ago)
    case = cast.case(discovered_at=found.isoformat())
    resp = cast.office.post(f"/cases/{case['id']}/assessment", {"level": level, "rationale": "研判"})
    assert resp.status_code == 201
    return case["id"], datetime.fromisoformat(resp.get_json()["discovered_at"])


def _notes(app: Flask) -> list[tuple[str, str, str]]:
    with app.app_context():
        rows = db.session.execute(
            select(Notification.kind, Notification.key, User.username)
            .join(User, User.id == Notification.recipient_id)
            .where(Notification.key.like("deadline:%")).order_by(Notification.id)
        ).all()
    return [(k, key.rsplit(":", 1)[1], who) for k, key, who in rows]


def _sweep(app: Flask, now: datetime) -> int:
    with app.app_context():
        return clock.sweep(now)


def test_sweep_announces_50_80_and_overdue_once_each_to_the_right_people(app: Flask) -> None:
    cast = Cast(app)
    case_id, found = _assessed(cast)  # level 3: 48 h
    assert _sweep(app, found + timedelta(hours=23)) == 0
    assert _sweep(app, found + timedelta(hours=24, seconds=1)) == 1
    assert _sweep(app, found + timedelta(hours=25)) == 0
    assert _notes(app) == [("deadline_warning", "50", "drafter_a")]  # spokesperson and the unit's drafter
    assert _sweep(app, found + timedelta(hours=38.5)) == 1
    assert _notes(app)[-1] == ("deadline_warning", "80", "leader2_a")  # the direct responsible person
    assert _sweep(app, found + timedelta(hours=48, seconds=1)) == 3
    assert _sweep(app, found + timedelta(hours=49)) == 0
    assert sorted(_notes(app)[-3:]) == sorted([("deadline_overdue", "100", "leader_a"),
                                               ("deadline_overdue", "100", "leader2_a"),
                                               ("deadline_overdue", "100", "office")])
    with app.app_context():
        deadline = db.session.scalar(select(Deadline).where(Deadline.case_id == case_id))
        assert deadline is not None and deadline.alerted == 100 and deadline.next_alert_at is None


def test_thresholds_crossed_while_no_worker_ran_are_announced_late_not_lost(app: Flask) -> None:
    cast = Cast(app)
    _, found = _assessed(cast, hours_ago=50)
    assert _sweep(app, datetime.now(UTC)) == 5
    assert sorted(t for _, t, _ in _notes(app)) == ["100", "100", "100", "50", "80"]
    assert _sweep(app, datetime.now(UTC)) == 0


def test_a_lost_cursor_still_notifies_once(app: Flask) -> None:
    """A worker killed after notifying but before moving on: the unique key holds on the next run."""
    cast = Cast(app)
    case_id, found = _assessed(cast)
    assert _sweep(app, found + timedelta(hours=30)) == 1
    with app.app_context():
        db.session.execute(update(Deadline).where(Deadline.case_id == case_id)
                           .values(alerted=0, next_alert_at=found + timedelta(hours=24)))
        db.session.commit()
    assert _sweep(app, found + timedelta(hours=30)) == 0
    assert len(_notes(app)) == 1


def test_two_workers_sweeping_at_once_notify_once(app: Flask) -> None:
    cast = Cast(app)
    for _ in range(5):
        _assessed(cast, hours_ago=50)
    created: list[int] = []
    errors: list[BaseException] = []
    barrier = threading.Barrier(2)

    def work() -> None:
        try:
            barrier.wait()
            created.append(_sweep(app, datetime.now(UTC)))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(created)[0] >= 0 and sum(created) == 25 and len(_notes(app)) == 25


def test_met_and_closed_clocks_are_not_swept(app: Flask) -> None:
    cast = Cast(app)
    met = cast.at("responded")
    closed_id, _ = _assessed(cast, hours_ago=1)
    resp = cast.leader.post(f"/cases/{closed_id}/close", {"outcome": "撤销", "no_response_reason": "重复登记"})
    assert resp.status_code == 201
    assert _sweep(app, datetime.now(UTC) + timedelta(days=5)) == 0
    with app.app_context():
        assert db.session.scalar(select(func.count(Deadline.id)).where(Deadline.next_alert_at.is_not(None))) == 0
        case = db.session.get(Case, met["id"])
        assert case is not None and case.next_due_at is None
