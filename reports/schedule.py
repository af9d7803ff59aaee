"""Documents made on schedule: each morning the day before's 舆情日志, each Monday the last week's 通报.

The worker's sweep asks what is due from the clock alone, so a Redis flush or a restart loses nothing:
a file missing at 07:00 or later is made at the next sweep. When the worker was down for days, the gap
after the last file of each kind is filled too (at most `BACKFILL` periods back), oldest first; the office
is told of the newest of each kind only, so a week's outage does not fill its inbox. UNIQUE(kind,
period_first) keeps one file per period however many workers race, and only the worker whose row went in
tells the office.
"""

from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import force_locale
from sqlalchemy import func, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app import notifications
from app.extensions import db
from app.notifications import Message, _m
from app.timeutil import SHANGHAI, utcnow
from app.tx import begin_write
from reports import documents
from reports.freshness import office_people
from reports.models import FileKind, ReportFile
from reports.period import Period

#: Offices open at eight; the documents are waiting by seven.
MORNING = time(7, 0)
#: How far back a gap is filled: a month of daily logs, two months of weekly bulletins.
BACKFILL = {FileKind.DAILY_LOG: 31, FileKind.WEEKLY_BULLETIN: 8}
STEP = {FileKind.DAILY_LOG: timedelta(days=1), FileKind.WEEKLY_BULLETIN: timedelta(days=7)}


def due(now: datetime) -> list[tuple[FileKind, Period]]:
    """The latest daily log and weekly bulletin whose moment (07:00, Monday 07:00) has come."""
    local = now.astimezone(SHANGHAI)
    day = local.date() if local.time() >= MORNING else local.date() - timedelta(days=1)
    yesterday = day - timedelta(days=1)
    monday = local.date() - timedelta(days=local.weekday())
    if local < datetime.combine(monday, MORNING, tzinfo=SHANGHAI):
        monday -= timedelta(days=7)
    return [(FileKind.DAILY_LOG, Period(yesterday, yesterday)),
            (FileKind.WEEKLY_BULLETIN, Period(monday - timedelta(days=7), monday - timedelta(days=1)))]


def pending(now: datetime) -> list[tuple[FileKind, Period]]:
    """What `sweep` should make, oldest first: each kind's latest due period and, when files of that kind
    exist, every period between the last one made and it (bounded by `BACKFILL`). A new installation
    starts with the latest only: nothing is made for days before it existed."""
    wanted: list[tuple[FileKind, Period]] = []
    for kind, latest in due(now):
        last = db.session.scalar(select(func.max(ReportFile.period_first)).where(ReportFile.kind == kind.value))
        periods = [latest]
        if last is not None:
            first = latest.first
            while len(periods) < BACKFILL[kind] and first - STEP[kind] > last:
                first -= STEP[kind]
                periods.append(Period(first, first + STEP[kind] - timedelta(days=1)))
        wanted += [(kind, period) for period in reversed(periods)]
    db.session.rollback()
    return wanted


def _make(kind: FileKind, period: Period, now: datetime) -> bytes:
    with force_locale("zh_Hans_CN"):
        if kind == FileKind.DAILY_LOG:
            return documents.log_docx(period.first, None)
        return documents.bulletin_docx(period, None, now)


def _title(kind: FileKind, period: Period) -> Message:
    if kind == FileKind.DAILY_LOG:
        return _m("舆情日志（%(day)s）已生成", day=period.first.isoformat())
    return _m("舆情工作通报（%(first)s至%(last)s）已生成", first=period.first.isoformat(),
                   last=period.last.isoformat())


def sweep(now: datetime | None = None) -> int:
    """Make what is due and not yet made; returns files made."""
    now = now or utcnow()
    made = 0
    newest = {kind: period for kind, period in due(now)}
    for kind, period in pending(now):
        exists = db.session.scalar(select(ReportFile.id).where(ReportFile.kind == kind.value,
                                                               ReportFile.period_first == period.first))
        db.session.rollback()  # end the read before the (possibly slow) document is made
        if exists is not None:
            continue
        content = _make(kind, period, now)  # outside the write transaction: no lock held while it is built
        begin_write()
        insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
        new_id = db.session.scalar(
            insert(ReportFile).values(kind=kind.value, period_first=period.first, period_last=period.last,
                                      content=content, created_at=now)
            .on_conflict_do_nothing(index_elements=["kind", "period_first"]).returning(ReportFile.id))
        if new_id is not None:
            made += 1
        if new_id is not None and newest[kind] == period:
            notifications.notify("report_ready", f"report_file:{kind.value}:{period.first}", office_people(),
                                 subject=_title(kind, period), body=_m("可在“督查与考核”页面下载。"),
                                 url=f"/reports/files/{new_id}")
        db.session.commit()
    return made
