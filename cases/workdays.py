"""The office's calendar of working days (issue 29): holidays and make-up working days a year at a time.

`chinesecalendar` learns each year's 放假安排 only with a release after the State Council publishes it (around
November); until then, and for the institution's own closures, the office types the days in, one line per range
as the notice reads ("2027-02-06 至 2027-02-13 春节", "2027-02-14 调休上班"). Saving a year moves every open
`wd` clock at once, in the same transaction, recorded on each case's timeline and audited.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import delete, select

from app import audit, notifications
from app.errors import Invalid, WrongRole
from app.extensions import db
from app.models import Role, User
from app.timeutil import SHANGHAI, iso, utcnow
from app.tx import begin_write
from cases import clock
from cases.models import CalendarDay, DayKind, EventKind
from cases.timeline import add_events

#: Longest range of one line: a slip of a month or year ("2027-02-06 至 2027-12-13") is refused, not saved.
RANGE_MAX_DAYS = 31
NOTE_MAX = 64
TEXT_MAX = 20_000
#: Words that make a line's days working days (调休上班, 补班, 工作日); any other line declares holidays.
WORK_WORDS = ("上班", "补班", "工作日", "workday")

_DATE = r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})(?![0-9A-Za-z])\s*日?"
_SEPARATOR = r"(?:至|到|~|～|—|–|-)"
_LINE = re.compile(rf"^{_DATE}(?:\s*{_SEPARATOR}\s*{_DATE})?(.*)$")
#: What a note cannot hold: a second date or a separator left over from a range typed wrong, which would
#: otherwise make a one-day line of it.
_MISTYPED = re.compile(rf"^{_SEPARATOR}|\d{{4}}\s*[-/.年]\s*\d{{1,2}}")


@dataclass(frozen=True)
class Span:
    """One line of the table: the days `first`…`last` (inclusive) are `kind`, for the reason in `note`."""

    first: date
    last: date
    kind: DayKind
    note: str


@dataclass
class Calendar:
    """The audited object: one year's table (audit object type `calendar`, object id the year)."""

    id: int


def may_edit(user: User) -> None:
    """The office keeps the calendar; an admin may too (403 wrong_role for everyone else)."""
    if not user.has_role(Role.OFFICE, Role.ADMIN):
        raise WrongRole(_("只有院办公室或系统管理员可以修改工作日历"))


def this_year() -> int:
    """The current year in Asia/Shanghai."""
    return utcnow().astimezone(SHANGHAI).year


def _day(year: str, month: str, day: str) -> date | None:
    try:
        return date(int(year), int(month), int(day))
    except ValueError:
        return None


def parse(text: str, year: int) -> list[Span]:
    """The lines typed for `year`, as spans; blank lines and lines starting with # are skipped.

    Raises Invalid naming every bad line as field `text.<n>` (n from 1) with a message that repeats its number.
    """
    if len(text) > TEXT_MAX:
        raise Invalid(_("工作日历有误"), fields={"text": _("不能超过 %(n)d 个字符", n=TEXT_MAX)})
    fields: dict[str, str] = {}
    spans: list[Span] = []
    seen: dict[date, int] = {}
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        problem, span = _line(line, year)
        if span is not None:
            taken = sorted({seen[d] for d in _days(span) if d in seen})
            if taken:
                problem = _("与第 %(m)d 行的日期重叠", m=taken[0])
            else:
                seen.update((d, number) for d in _days(span))
                spans.append(span)
        if problem:
            fields[f"text.{number}"] = _("第 %(n)d 行：%(problem)s", n=number, problem=problem)
    if fields:
        raise Invalid(_("工作日历有误"), fields=fields)
    return sorted(spans, key=lambda s: s.first)


def _line(line: str, year: int) -> tuple[str, Span | None]:
    """One line read: ("", span) or (what is wrong, None)."""
    match = _LINE.match(line)
    if not match:
        return _("应为“2027-02-06 至 2027-02-13 春节”或“2027-02-14 调休上班”"), None
    first = _day(*match.group(1, 2, 3))
    last = _day(*match.group(4, 5, 6)) if match[4] else first
    if first is None or last is None:
        return _("日期不存在"), None
    if last < first:
        return _("结束日期早于开始日期"), None
    if first.year != year or last.year != year:
        return _("日期不在 %(year)d 年内", year=year), None
    if (last - first).days >= RANGE_MAX_DAYS:
        return _("一段不能超过 %(n)d 天", n=RANGE_MAX_DAYS), None
    note = match[7].strip().lstrip(":：,，;；").strip()
    if _MISTYPED.search(note):
        return _("应为“2027-02-06 至 2027-02-13 春节”或“2027-02-14 调休上班”"), None
    if len(note) > NOTE_MAX:
        return _("说明不能超过 %(n)d 个字", n=NOTE_MAX), None
    kind = DayKind.WORKDAY if any(word in note.lower() for word in WORK_WORDS) else DayKind.HOLIDAY
    return "", Span(first, last, kind, note)


def _days(span: Span) -> list[date]:
    return [span.first + timedelta(days=n) for n in range((span.last - span.first).days + 1)]


def spans(year: int) -> list[Span]:
    """The stored days of `year` joined into ranges of consecutive days of one kind and note."""
    rows = db.session.scalars(
        select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.day)
    )
    out: list[Span] = []
    for row in rows:
        kind = DayKind(row.kind)
        last = out[-1] if out else None
        if last and last.kind == kind and last.note == row.note and last.last + timedelta(days=1) == row.day:
            out[-1] = Span(last.first, row.day, kind, row.note)
        else:
            out.append(Span(row.day, row.day, kind, row.note))
    return out


def as_text(table: list[Span]) -> str:
    """The table as the lines `parse` reads back to the same table."""
    lines = []
    for span in table:
        days = span.first.isoformat() if span.first == span.last else f"{span.first} 至 {span.last}"
        note = span.note
        if span.kind == DayKind.WORKDAY and not any(word in note.lower() for word in WORK_WORDS):
            note = f"上班 {note}".strip()
        lines.append(f"{days} {note}".strip())
    return "\n".join(lines)


def describe(year: int) -> dict[str, Any]:
    """What `GET /calendar?year=` answers: where the year's working days come from, its days, its text."""
    table = spans(year)
    last = db.session.scalar(
        select(CalendarDay).where(CalendarDay.day >= date(year, 1, 1), CalendarDay.day <= date(year, 12, 31))
        .order_by(CalendarDay.updated_at.desc()).limit(1)
    )
    return {
        "year": year,
        "source": clock.year_source(year, [s.first for s in table]),
        "library_knows": clock.calendar_knows(year),
        "days": [{"day": d.isoformat(), "kind": s.kind.value, "note": s.note} for s in table for d in _days(s)],
        "text": as_text(table),
        "updated_at": iso(last.updated_at) if last else None,
        "updated_by": last.updated_by.username if last and last.updated_by else None,
    }


@dataclass
class Change:
    """What saving a year did: whether the table changed, the cases whose clocks moved, notifications raised."""

    changed: bool
    moved: list[clock.Moved]
    notified: int


def replace_year(actor: User, year: int, text: str) -> Change:
    """Make `text` the table of `year` and move every open `wd` clock to it, in one transaction: each moved case
    gets a `deadlines_moved` event (old and new due time) and an audit entry; thresholds a clock moved earlier has
    crossed are announced now, once. Nothing happens when the table stays the same."""
    may_edit(actor)
    wanted = parse(text, year)
    begin_write()
    clock.calendar_days(exclusive=True)  # holds off clocks being set until this change commits
    before = spans(year)
    if before == wanted:
        db.session.rollback()
        return Change(False, [], 0)
    now = utcnow()
    db.session.execute(delete(CalendarDay).where(CalendarDay.day >= date(year, 1, 1),
                                                 CalendarDay.day <= date(year, 12, 31)))
    db.session.add_all(CalendarDay(day=d, kind=s.kind.value, note=s.note, updated_at=now, updated_by_id=actor.id)
                       for s in wanted for d in _days(s))
    db.session.flush()
    audit.record(actor, "calendar.update", Calendar(year), before={"text": as_text(before)},
                 after={"text": as_text(wanted)})
    moved, notices = clock.recompute(clock.calendar_days(exclusive=True), now)
    events = {}
    for change in moved:
        dues = [{"kind": d.kind, "from": iso(old), "to": iso(d.due_at)} for d, old in change.deadlines]
        events[change.case] = {"year": year, "deadlines": dues}
        audit.record(actor, "case.deadlines_moved", change.case,
                     before={d["kind"]: d["from"] for d in dues}, after={d["kind"]: d["to"] for d in dues})
    add_events(EventKind.DEADLINES_MOVED, actor, events, now)
    notified = notifications.notify_many(notices)
    db.session.commit()
    return Change(True, moved, notified)


def moved_json(change: Change) -> list[dict[str, Any]]:
    """The cases a change moved, for the API's answer and the page's message."""
    return [{"case_id": m.case.id, "title": m.case.title,
             "deadlines": [{"kind": d.kind, "from": iso(old), "to": iso(d.due_at)} for d, old in m.deadlines]}
            for m in change.moved]
