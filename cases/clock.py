"""Case clocks: when each deadline falls due, and the sweep that announces 50 %, 80 % and overdue.

Deadlines are counted from the moment the item was discovered, in Asia/Shanghai. `h` is clock
hours; `wd` is Chinese working days, statutory holidays and make-up working days included: the office's
table of calendar days first (`CalendarDay`, issue 29), then the `chinese-calendar` package, then, for a
year neither knows, Monday to Friday. A period of working days ends at 24:00 of its last working day, the
discovery day itself not counted (民法典 第二百零一条、第二百零三条).
"""

from __future__ import annotations

import functools
import json
import logging
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import chinese_calendar
from flask import current_app
from sqlalchemy import Row, Select, func, select, text, update

from app import notifications, register, settings
from app.extensions import db
from app.models import User
from app.notifications.inbox import Notice
from app.notifications.texts import _m
from app.timeutil import SHANGHAI, format_local, utcnow
from app.tx import begin_write
from cases.models import CalendarDay, Case, CaseStatus, DayKind, Deadline, DeadlineKind

log = logging.getLogger(__name__)

K = DeadlineKind
#: 国办发〔2016〕61号 (48 h) and 80号 (authoritative information within 5 h, a press conference within 24 h).
DEFAULT_DEADLINES: dict[int, dict[str, str]] = {
    1: {K.AUTHORITATIVE_RELEASE: "5h", K.PRESS_CONFERENCE: "24h"},
    2: {K.AUTHORITATIVE_RELEASE: "5h", K.PRESS_CONFERENCE: "24h"},
    3: {K.RESPONSE: "48h"},
    4: {K.RESPONSE: "48h"},
}
SPEC_RE = re.compile(r"^([1-9][0-9]{0,3})(h|wd)$")
THRESHOLDS = (50, 80, 100)
_warned_years: set[int] = set()


def is_workday(day: date, days: Mapping[date, bool] | None = None) -> bool:
    """A Chinese working day: as the office's table says (`days`: day → works), else as the library says;
    for a year the library does not know yet, Monday to Friday (logged)."""
    if days and day in days:
        return days[day]
    return _library_workday(day)


@functools.lru_cache(maxsize=4096)
def _library_workday(day: date) -> bool:
    """The library's answer, kept: it validates every call (~25 µs); a calendar change counts thousands of clocks."""
    try:
        return bool(chinese_calendar.is_workday(day))
    except NotImplementedError:
        if day.year not in _warned_years:
            _warned_years.add(day.year)
            log.warning("chinese-calendar has no holidays for %s: counting Monday–Friday as working days", day.year)
        return day.weekday() < 5


def calendar_knows(year: int) -> bool:
    """Whether statutory holidays of `year` are known (the settings page says so when not)."""
    try:
        chinese_calendar.is_workday(date(year, 1, 1))
    except NotImplementedError:
        return False
    return True


def due_at(start: datetime, spec: str, days: Mapping[date, bool] | None = None) -> datetime:
    """The moment a deadline of `spec` ("5h", "48h", "5wd") counted from `start` falls due (aware UTC);
    `days` is the office's table (`calendar_days()`), none by default."""
    match = SPEC_RE.match(spec)
    if not match:
        raise ValueError(f"deadline {spec!r}: expected e.g. 5h or 3wd")
    count, unit = int(match[1]), match[2]
    if unit == "h":
        return start + timedelta(hours=count)
    day = start.astimezone(SHANGHAI).date()
    left = count
    while left:
        day += timedelta(days=1)
        if is_workday(day, days):
            left -= 1
    return datetime.combine(day + timedelta(days=1), time(0), tzinfo=SHANGHAI).astimezone(start.tzinfo)


#: PostgreSQL advisory lock between a calendar change (exclusive) and the clocks being set (shared): a clock set
#: with the old table is committed before the change reads the open clocks, or it is set with the new table.
#: SQLite needs none: every writer holds the database's one write lock (`app.tx.begin_write`).
CALENDAR_LOCK = 0x48590029


def calendar_days(*, exclusive: bool = False) -> dict[date, bool]:
    """The office's table of calendar days as {day: is a working day}, read under the calendar lock
    (`exclusive` for the change that rewrites it). Joins the caller's write transaction."""
    if db.session.get_bind().dialect.name == "postgresql":
        lock = "pg_advisory_xact_lock" if exclusive else "pg_advisory_xact_lock_shared"
        db.session.execute(text(f"SELECT {lock}(:key)"), {"key": CALENDAR_LOCK})
    rows = db.session.execute(select(CalendarDay.day, CalendarDay.kind))
    return {day: kind == DayKind.WORKDAY for day, kind in rows}


def year_source(year: int, days: Iterable[date]) -> str:
    """Where the working days of `year` come from: `library` (the office's days override it where set),
    `table` (the library does not know the year; the office's days and weekends), or `weekends` only."""
    if calendar_knows(year):
        return "library"
    return "table" if any(day.year == year for day in days) else "weekends"


def _check_table(raw: Any) -> dict[int, dict[str, str]]:
    table = json.loads(raw) if isinstance(raw, str) else raw
    if not isinstance(table, Mapping):
        raise ValueError("CASE_DEADLINES must be a JSON object keyed by level")
    out: dict[int, dict[str, str]] = {}
    for level, kinds in table.items():
        if str(level) not in ("1", "2", "3", "4") or not isinstance(kinds, Mapping):
            raise ValueError(f"CASE_DEADLINES: bad level {level!r}")
        for kind, spec in kinds.items():
            if kind not in {k.value for k in K} or not isinstance(spec, str) or not SPEC_RE.match(spec):
                raise ValueError(f"CASE_DEADLINES: bad entry {kind!r}: {spec!r}")
        out[int(level)] = {str(k): str(v) for k, v in kinds.items()}
    return out


#: The `app.settings` key under which an admin keeps the clocks (`cases.clock_settings`).
SETTINGS_KEY = "case_deadlines"


def configured_table() -> dict[int, dict[str, str]]:
    """The defaults, with each level named in `CASE_DEADLINES` replaced by its configured clocks."""
    table = {level: dict(kinds) for level, kinds in DEFAULT_DEADLINES.items()}
    raw = current_app.config.get("CASE_DEADLINES")
    if raw:
        try:
            table.update(_check_table(raw))
        except ValueError as exc:
            log.error("ignoring CASE_DEADLINES (%s); using the defaults", exc)
    return table


def deadline_table() -> dict[int, dict[str, str]]:
    """The clocks in force: what an admin saved (`/admin/deadlines`), else the configuration's."""
    table = configured_table()
    stored = settings.get(SETTINGS_KEY)
    if stored:
        try:
            table.update(_check_table(stored))
        except ValueError as exc:
            log.error("ignoring the stored case deadlines (%s); using the configured ones", exc)
    return table


class Clock(Protocol):
    """Anything that runs a clock the sweep announces: a case's `Deadline`, an interaction (interface §15).

    `alerted` is the last threshold announced, `next_alert_at` the moment of the next one (None: nothing left
    to announce); both move on only in the transaction that creates the notices they stand for."""

    started_at: datetime
    due_at: datetime
    alerted: int
    next_alert_at: datetime | None


def alert_moment(clock: Clock, threshold: int) -> datetime:
    """When `threshold` per cent of the clock's time has gone."""
    return clock.started_at + (clock.due_at - clock.started_at) * threshold / 100


def next_alert(clock: Clock, thresholds: Sequence[int] = THRESHOLDS, *, running: bool = True) -> None:
    """Point `next_alert_at` at the next of `thresholds` not yet announced; None when none remains or the clock
    has stopped (`running` false)."""
    upcoming = [t for t in thresholds if t > clock.alerted] if running else []
    clock.next_alert_at = alert_moment(clock, upcoming[0]) if upcoming else None


def crossed(clock: Clock, now: datetime, thresholds: Sequence[int] = THRESHOLDS) -> list[int]:
    """The thresholds the clock has crossed by `now` and not yet announced, in order; moves `alerted` and
    `next_alert_at` on past them. The caller creates one notice per threshold in the same transaction."""
    done = [t for t in thresholds if t > clock.alerted and alert_moment(clock, t) <= now]
    if done:
        clock.alerted = done[-1]
    next_alert(clock, thresholds)
    return done


def schedule_alerts(deadline: Deadline) -> None:
    """Point `next_alert_at` at the next threshold not yet announced, or None when none remains."""
    next_alert(deadline, running=deadline.met_at is None and deadline.superseded_at is None
               and deadline.waived_at is None)


def meets(kind: str, form: str) -> bool:
    """`authoritative_release` and `response` are met by any counted response; a press conference by one."""
    return kind != K.PRESS_CONFERENCE or form == K.PRESS_CONFERENCE


def set_deadlines(case: Case, level: int, counted: Iterable[tuple[str, datetime]], now: datetime) -> list[Deadline]:
    """(Re)compute a case's clocks for `level`; met ones are kept, open ones replaced (kept as history).

    `counted` are the case's counted responses as (form, time): a new clock they already satisfy
    starts met. Returns the clocks now in force. Joins the caller's transaction.
    """
    specs = deadline_table()[level]
    days = calendar_days()
    current = list(db.session.scalars(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.superseded_at.is_(None))
    ))
    in_force: list[Deadline] = []
    for old in current:
        if old.met_at is not None:
            in_force.append(old)
        elif old.kind in specs and old.spec == specs[old.kind] and old.started_at == case.discovered_at:
            in_force.append(old)
        else:
            old.superseded_at = now
            old.next_alert_at = None
    have = {d.kind for d in in_force}
    responses = sorted(counted, key=lambda r: r[1])
    for kind, spec in specs.items():
        if kind in have:
            continue
        deadline = Deadline(case_id=case.id, kind=kind, spec=spec, started_at=case.discovered_at, alerted=0,
                            due_at=due_at(case.discovered_at, spec, days))
        deadline.met_at = next((at for form, at in responses if meets(kind, form)), None)
        # Thresholds already behind us when the clock is set are still announced, once each.
        schedule_alerts(deadline)
        db.session.add(deadline)
        in_force.append(deadline)
    db.session.flush()
    refresh_case(case, in_force)
    return in_force


def refresh_case(case: Case, deadlines: Iterable[Deadline] | None = None) -> None:
    """Keep the case's denormalised `next_due_at` (nearest unmet due moment) for the register's order."""
    if deadlines is None:
        deadlines = db.session.scalars(
            select(Deadline).where(Deadline.case_id == case.id, Deadline.superseded_at.is_(None))
        )
    open_dues = [d.due_at for d in deadlines if d.met_at is None and d.superseded_at is None]
    case.next_due_at = min(open_dues) if open_dues and case.is_open else None


def stop(case: Case, form: str, at: datetime) -> list[Deadline]:
    """A counted response of `form` at `at` meets every open clock it satisfies; returns those.

    A closed case's clocks are frozen (interface §20): a statement published after closing meets none.
    """
    stopped: list[Deadline] = []
    if not case.is_open:
        return stopped
    for deadline in db.session.scalars(
        select(Deadline).where(Deadline.case_id == case.id, Deadline.superseded_at.is_(None),
                               Deadline.met_at.is_(None))
    ):
        if meets(deadline.kind, form):
            deadline.met_at = at
            schedule_alerts(deadline)
            stopped.append(deadline)
    db.session.flush()
    refresh_case(case)
    return stopped


# The sweep ------------------------------------------------------------------------------------

#: Who hears of each threshold (interface §9), as kinds of `app.register.people`.
AUDIENCE = {50: ("spokespersons", "drafters"), 80: ("direct",), 100: ("first", "direct", "office")}


def _notice(deadline: Deadline, case: Case, threshold: int, recipients: list[User]) -> Notice:
    from cases.labels import DEADLINE_KIND  # labels are translated lazily: import where a request may not exist

    # kept as messages: each recipient reads them in their own language (app.notifications.texts)
    kind_name = DEADLINE_KIND.get(deadline.kind, deadline.kind)
    due = format_local(deadline.due_at)
    if threshold == 100:
        subject = _m("【已超时】%(title)s：%(kind)s已超过时限（%(due)s）",
                          title=case.title, kind=kind_name, due=due)
    else:
        subject = _m("【时限提醒】%(title)s：%(kind)s已用去 %(p)d%% 的时间，%(due)s 到期",
                          title=case.title, kind=kind_name, p=threshold, due=due)
    body = _m("舆情：%(title)s\n时限：%(kind)s，%(due)s 到期\n请及时处置。", title=case.title, kind=kind_name,
                   due=due)
    return Notice("deadline_overdue" if threshold == 100 else "deadline_warning", f"deadline:{deadline.id}:{threshold}",
                  tuple(recipients), subject, body, f"/cases/{case.id}")


def announce(deadline: Deadline, case: Case, now: datetime,
             audiences: dict[tuple[int, int], list[User]]) -> list[Notice]:
    """The notices of every threshold the clock has crossed by `now` and not yet announced, each once; moves
    `alerted` and `next_alert_at` on with them. `audiences` caches the people per (unit, threshold)."""
    notices = []
    for threshold in crossed(deadline, now):
        key = (case.lead_unit_id, threshold)
        if key not in audiences:
            audiences[key] = register.people(case.lead_unit, *AUDIENCE[threshold])
        notices.append(_notice(deadline, case, threshold, audiences[key]))
    schedule_alerts(deadline)
    return notices


#: Clocks handled per transaction: a catch-up after a long stop never holds the write lock for long.
SWEEP_CHUNK = 500


def sweep(now: datetime | None = None) -> int:
    """Announce every threshold crossed since the last sweep; returns notifications created.

    One indexed query over the deadlines whose next alert is due, so the cost follows the open clocks,
    in chunks of SWEEP_CHUNK clocks, each its own short transaction with one batched insert of its
    notifications. Safe to run from any number of workers at once and after any crash: the
    notification's unique key (`deadline:{id}:{threshold}`, recipient) makes each announcement once,
    and `alerted` only moves on in the same transaction as the notifications it stands for.
    """
    audiences: dict[tuple[int, int], list[User]] = {}  # one lookup per unit and threshold, not per clock

    def due(now: datetime) -> Select[tuple[Deadline, Case]]:
        return (select(Deadline, Case).join(Case, Case.id == Deadline.case_id)
                .where(Deadline.next_alert_at <= now).order_by(Deadline.next_alert_at, Deadline.id)
                .with_for_update(of=Deadline, skip_locked=True))

    def handle(row: Row[tuple[Deadline, Case]], now: datetime) -> list[Notice]:
        deadline, case = row
        if not case.is_open:
            deadline.next_alert_at = None
            return []
        return announce(deadline, case, now, audiences)

    return sweep_clocks(due, handle, now)


def sweep_clocks(due: Callable[[datetime], Select[Any]], handle: Callable[[Any, datetime], list[Notice]],
                 now: datetime | None = None) -> int:
    """The sweep's loop, for every kind of clock: `due(now)` selects (and locks, skipping locked rows) the rows
    whose next alert has come; `handle(row, now)` moves a row's clock on and returns its notices. Chunks of
    SWEEP_CHUNK rows, each one short write transaction with one batched insert of its notifications; returns
    how many were created. The notification's unique (key, recipient) makes each announcement once."""
    now = now or utcnow()
    created = 0
    while True:
        begin_write()
        rows = db.session.execute(due(now).limit(SWEEP_CHUNK)).all()
        notices: list[Notice] = []
        with db.session.no_autoflush:
            for row in rows:
                notices += handle(row, now)
        created += notifications.notify_many(notices)
        db.session.commit()
        if len(rows) < SWEEP_CHUNK:
            return created


# A changed calendar -----------------------------------------------------------------------------


#: Cases per statement when a calendar change rewrites their nearest due moment (well under SQLite's 32,766).
RECOMPUTE_CHUNK = 1000


@dataclass
class Moved:
    """One case whose open `wd` clocks a calendar change moved: each clock with its due time before."""

    case: Case
    deadlines: list[tuple[Deadline, datetime]] = field(default_factory=list)


def recompute(days: Mapping[date, bool], now: datetime) -> tuple[list[Moved], list[Notice]]:
    """Count every open `wd` clock of an open case again with the table `days`; returns the cases moved and the
    notices of thresholds a clock moved earlier has now crossed (a threshold already announced stays announced,
    so a clock moved later is not announced again). Locks the clocks and their cases; joins the caller's write
    transaction, which adds the notices and commits."""
    rows = db.session.execute(
        select(Deadline, Case)
        .join(Case, Case.id == Deadline.case_id)
        .where(Deadline.superseded_at.is_(None), Deadline.met_at.is_(None), Deadline.waived_at.is_(None),
               Deadline.spec.like("%wd"), Case.status != CaseStatus.CLOSED)
        .order_by(Deadline.case_id, Deadline.id)
        .with_for_update(of=(Deadline, Case))
    ).all()
    moved: dict[int, Moved] = {}
    notices: list[Notice] = []
    audiences: dict[tuple[int, int], list[User]] = {}
    with db.session.no_autoflush:
        for deadline, case in rows:
            new = due_at(deadline.started_at, deadline.spec, days)
            if new == deadline.due_at:
                continue
            moved.setdefault(case.id, Moved(case)).deadlines.append((deadline, deadline.due_at))
            deadline.due_at = new
            notices += announce(deadline, case, now, audiences)
    db.session.flush()
    ids = list(moved)
    for start in range(0, len(ids), RECOMPUTE_CHUNK):
        # the register's order: each moved case's nearest unmet due moment, one statement per chunk of cases
        chunk = ids[start:start + RECOMPUTE_CHUNK]
        nearest = (select(func.min(Deadline.due_at))
                   .where(Deadline.case_id == Case.id, Deadline.met_at.is_(None), Deadline.superseded_at.is_(None))
                   .scalar_subquery())
        db.session.execute(update(Case).where(Case.id.in_(chunk)).values(next_due_at=nearest)
                           .execution_options(synchronize_session=False))
    for change in moved.values():
        db.session.expire(change.case, ["next_due_at"])
    return list(moved.values()), notices
