"""督查与考核: the period's figures (interface §12), each one SQL aggregate over the register and the ledger.

A case belongs to the period of its `discovered_at` (Asia/Shanghai dates, both inclusive); its deadlines
and first response are counted with it. Statements count when their ledger entry (published, retracted,
corrected) or their channel's publication falls in the period. A unit's figures are those of the cases it
leads and the statements it issued. Nothing here loops over ORM rows: each query answers grouped numbers.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Interval, Select, and_, case, func, literal, literal_column, select, union_all

from app.extensions import db
from app.models import Unit
from app.timeutil import utcnow
from cases.models import Case, CaseResponse, CaseStatus, Deadline, DeadlineKind, Source
from publishing.models import Delivery, LedgerEntry, LedgerKind, Release
from reports.period import Period
from review.models import Channel, Statement

UNASSESSED = "unassessed"
#: Days without a publication after which a channel is amber (the office is told) and red (国办秘函〔2019〕19号).
STALE_DAYS, RED_DAYS = 10, 14


def _dialect() -> str:
    return db.session.get_bind().dialect.name


def _cases(period: Period, unit: Unit | None) -> list[ColumnElement[bool]]:
    where = [Case.discovered_at >= period.lo, Case.discovered_at < period.hi]
    if unit is not None:
        where.append(Case.lead_unit_id == unit.id)
    return where


def _counts(query: Select) -> dict[Any, int]:
    return {key: int(n) for key, n in db.session.execute(query)}


def case_counts(period: Period, unit: Unit | None, now: datetime) -> dict[str, Any]:
    """Cases by level, source, status and lead unit; how many, closed, and open ones past a deadline.

    One scan of the period's cases, grouped by all four at once (a few hundred groups at most), summed
    into each breakdown here; the open overdue ones are a count over the same rows.
    """
    where = _cases(period, unit)
    overdue = case((and_(Case.status != CaseStatus.CLOSED.value, Case.next_due_at <= now), 1), else_=0)
    groups = db.session.execute(
        select(Case.level, Case.source, Case.status, Case.lead_unit_id, func.count(), func.sum(overdue))
        .where(*where).group_by(Case.level, Case.source, Case.status, Case.lead_unit_id)
    ).all()
    codes = dict(db.session.execute(select(Unit.id, Unit.code)).all()) if groups else {}
    by_level: Counter[Any] = Counter()
    by_source: Counter[str] = Counter()
    by_status: Counter[str] = Counter()
    by_unit: Counter[str] = Counter()
    overdue_open = 0
    for level, source, status, unit_id, n, late in groups:
        by_level[level] += n
        by_source[source] += n
        by_status[status] += n
        by_unit[codes.get(unit_id, str(unit_id))] += n
        overdue_open += int(late or 0)
    return {
        "by_level": {**{str(level): by_level[level] for level in (1, 2, 3, 4)}, UNASSESSED: by_level[None]},
        "by_source": {s.value: by_source[s.value] for s in Source},
        "by_status": {s.value: by_status[s.value] for s in CaseStatus},
        "by_unit": dict(sorted(by_unit.items())),
        "total": sum(by_status.values()),
        "closed": by_status[CaseStatus.CLOSED.value],
        "overdue_open": overdue_open,
    }


def _state_sums(now: datetime) -> list[Any]:
    met = Deadline.met_at.is_not(None)
    unmet, waived = Deadline.met_at.is_(None), Deadline.waived_at.is_not(None)
    return [
        func.count(),
        func.sum(case((and_(met, Deadline.met_at <= Deadline.due_at), 1), else_=0)),
        func.sum(case((and_(met, Deadline.met_at > Deadline.due_at), 1), else_=0)),
        func.sum(case((and_(unmet, Deadline.waived_at.is_(None), Deadline.due_at <= now), 1), else_=0)),
        func.sum(case((and_(unmet, waived), 1), else_=0)),
    ]


def _figures(total: int, met: int, late: int, overdue: int, waived: int) -> dict[str, Any]:
    """A waived clock (its case closed before it fell due, interface §20) is neither decided nor pending."""
    decided = met + late + overdue
    return {"total": total, "met": met, "met_late": late, "overdue": overdue, "waived": waived,
            "pending": total - decided - waived, "on_time_rate": round(met / decided, 4) if decided else None}


def deadline_counts(period: Period, unit: Unit | None, now: datetime) -> dict[str, dict[str, Any]]:
    """Per kind: total, met, met late, overdue, waived, pending, and on-time rate (met ÷ those decided, None if none).

    Only the clocks in force count: one a re-assessment replaced is history. A clock starts at its case's
    discovery (interface §8), so `started_at` places it in the period without reading the cases, except
    to know a unit's.
    """
    query = (select(Deadline.kind, *_state_sums(now))
             .where(Deadline.started_at >= period.lo, Deadline.started_at < period.hi,
                    Deadline.superseded_at.is_(None)).group_by(Deadline.kind))
    if unit is not None:
        query = query.join(Case, Case.id == Deadline.case_id).where(Case.lead_unit_id == unit.id)
    rows = db.session.execute(query).all()
    found = {kind: _figures(int(t), int(m or 0), int(late or 0), int(o or 0), int(w or 0))
             for kind, t, m, late, o, w in rows}
    return {k.value: found.get(k.value, _figures(0, 0, 0, 0, 0)) for k in DeadlineKind}


def _hours(later: Any, earlier: Any) -> ColumnElement[float]:
    if _dialect() == "postgresql":
        return func.extract("epoch", later - earlier) / 3600.0
    return (func.julianday(later) - func.julianday(earlier)) * 24.0


def _first_responses(period: Period, unit: Unit | None) -> Select:
    """Each graded case of the period with its first counted response: (level, hours after discovery)
    as (key, value). `first_response_at` is kept by the services (cases.links.note_counted)."""
    return (select(Case.level.label("key"), _hours(Case.first_response_at, Case.discovered_at).label("value"))
            .where(*_cases(period, unit), Case.level.is_not(None), Case.first_response_at.is_not(None)))


def percentile(sorted_values: Sequence[float], fraction: float) -> float:
    """Linear interpolation between closest ranks, as PostgreSQL's `percentile_cont`."""
    position = (len(sorted_values) - 1) * fraction
    low, high = math.floor(position), math.ceil(position)
    return sorted_values[low] + (sorted_values[high] - sorted_values[low]) * (position - low)


def _median_p90(timed: Any) -> dict[Any, dict[str, float]]:
    """Median and 90th percentile of `timed.c.value` per `timed.c.key` (a subquery), rounded to 0.01."""
    found: dict[Any, tuple[float, float]] = {}
    if _dialect() == "postgresql":
        for key, median, p90 in db.session.execute(
            select(timed.c.key, func.percentile_cont(0.5).within_group(timed.c.value),
                   func.percentile_cont(0.9).within_group(timed.c.value)).group_by(timed.c.key)
        ):
            found[key] = (float(median), float(p90))
    else:  # SQLite has no ordered-set aggregates: the sorted values per key, one number each
        values: dict[Any, list[float]] = {}
        for key, value in db.session.execute(select(timed.c.key, timed.c.value).order_by(timed.c.key, timed.c.value)):
            values.setdefault(key, []).append(float(value))
        found = {key: (percentile(v, 0.5), percentile(v, 0.9)) for key, v in values.items()}
    return {key: {"median": round(median, 2), "p90": round(p90, 2)} for key, (median, p90) in found.items()}


NO_TIMES = {"median": None, "p90": None}


def response_hours(period: Period, unit: Unit | None) -> dict[str, dict[str, float | None]]:
    """Per level: median and 90th percentile of hours from discovery to the first counted response."""
    found = _median_p90(_first_responses(period, unit).subquery())
    return {str(level): found.get(level, NO_TIMES) for level in (1, 2, 3, 4)}


def statement_times(period: Period, unit: Unit | None) -> dict[str, dict[str, float | None]]:
    """For statements that went live in the period: hours from (last) submission to the leader's approval,
    and minutes from approval to going live on every channel; median and p90 of each."""
    live = [Release.published_at >= period.lo, Release.published_at < period.hi]
    if unit is not None:
        live.append(Statement.unit_id == unit.id)
    review = (select(literal("review").label("key"), _hours(Release.approved_at, Statement.submitted_at).label("value"))
              .select_from(Release).join(Statement, Statement.id == Release.statement_id)
              .where(*live, Statement.submitted_at.is_not(None)))
    release = (select(literal("release").label("key"),
                      (_hours(Release.published_at, Release.approved_at) * 60.0).label("value"))
               .select_from(Release).join(Statement, Statement.id == Release.statement_id).where(*live))
    found = _median_p90(union_all(review, release).subquery())
    return {"submission_to_approval_hours": found.get("review", NO_TIMES),
            "approval_to_live_minutes": found.get("release", NO_TIMES)}


def _ledger_bounds(period: Period) -> list[ColumnElement[bool]]:
    # `at` is the hashed ISO text in UTC (`…+00:00`), which sorts as the instants it names.
    lo, hi = (moment.astimezone(UTC).isoformat() for moment in (period.lo, period.hi))
    return [LedgerEntry.at >= lo, LedgerEntry.at < hi]


def statement_counts(period: Period, unit: Unit | None) -> dict[str, Any]:
    """Ledger entries of the period by kind, and channel publications by channel."""
    query = (select(LedgerEntry.kind, func.count()).select_from(LedgerEntry).where(*_ledger_bounds(period))
             .where(LedgerEntry.kind.in_([LedgerKind.PUBLISHED.value, LedgerKind.RETRACTED.value,
                                          LedgerKind.CORRECTED.value])).group_by(LedgerEntry.kind))
    if unit is not None:
        query = query.join(Statement, Statement.id == LedgerEntry.statement_id).where(Statement.unit_id == unit.id)
    kinds = _counts(query)
    channels = (select(Delivery.channel, func.count())
                .where(Delivery.published_at >= period.lo, Delivery.published_at < period.hi)
                .group_by(Delivery.channel))
    if unit is not None:
        channels = channels.join(Statement, Statement.id == Delivery.statement_id).where(Statement.unit_id == unit.id)
    by_channel = _counts(channels)
    return {
        "published": kinds.get(LedgerKind.PUBLISHED.value, 0),
        "retracted": kinds.get(LedgerKind.RETRACTED.value, 0),
        "corrected": kinds.get(LedgerKind.CORRECTED.value, 0),
        "by_channel": {c.value: by_channel.get(c.value, 0) for c in Channel},
    }


def last_published() -> dict[str, datetime | None]:
    """When each channel last put something out (the institution's portal and account, whatever the unit).

    One MAX per channel: each is the end of an index range (channel, published_at), not a scan.
    """
    return {c.value: db.session.scalar(select(func.max(Delivery.published_at)).where(Delivery.channel == c.value))
            for c in Channel}


def freshness(now: datetime) -> dict[str, int | None]:
    """Whole days since each channel last published (None: never), as `{portal_days, wechat_days}`."""
    return {f"{channel}_days": (None if at is None else max(0, (now - at) // timedelta(days=1)))
            for channel, at in last_published().items()}


def summary(period: Period, unit: Unit | None, now: datetime | None = None) -> dict[str, Any]:
    """The whole answer of `GET /api/v1/reports/summary`."""
    now = now or utcnow()
    return {
        "from": period.first.isoformat(),
        "to": period.last.isoformat(),
        "unit": unit.code if unit is not None else None,
        "cases": case_counts(period, unit, now),
        "deadlines": deadline_counts(period, unit, now),
        "response_hours": response_hours(period, unit),
        "statements": {**statement_counts(period, unit), **statement_times(period, unit)},
        "freshness": freshness(now),
    }


def _local_day(column: Any) -> ColumnElement[Any]:
    """The Asia/Shanghai date of a stored UTC time (UTC+8 all year: no daylight saving since 1991)."""
    if _dialect() == "postgresql":
        return func.date(column + literal_column("interval '8 hours'", Interval()))
    return func.date(column, "+8 hours")


def weekly(period: Period, unit: Unit | None) -> list[dict[str, Any]]:
    """Cases discovered and counted responses held, per week (Monday first) of the period."""
    day = _local_day(Case.discovered_at)
    found = {str(d): n for d, n in _counts(select(day, func.count()).select_from(Case)
                                           .where(*_cases(period, unit)).group_by(day)).items()}
    held = _local_day(CaseResponse.held_at)
    answered = (select(held, func.count()).select_from(CaseResponse).join(Case, Case.id == CaseResponse.case_id)
                .where(CaseResponse.counted.is_(True), CaseResponse.held_at >= period.lo,
                       CaseResponse.held_at < period.hi).group_by(held))
    if unit is not None:
        answered = answered.where(Case.lead_unit_id == unit.id)
    responses = {str(day): n for day, n in _counts(answered).items()}  # PostgreSQL dates, SQLite text
    weeks: list[dict[str, Any]] = []
    start = period.first - timedelta(days=period.first.weekday())
    while start <= period.last:
        days = [str(start + timedelta(days=i)) for i in range(7)]
        weeks.append({"week": start.isoformat(), "cases": sum(found.get(d, 0) for d in days),
                      "responses": sum(responses.get(d, 0) for d in days)})
        start += timedelta(days=7)
    return weeks


def assessment(period: Period, unit: Unit | None, now: datetime | None = None) -> list[dict[str, Any]]:
    """考核 table: per unit, cases led and closed, deadline outcomes, statements, retractions, corrections."""
    now = now or utcnow()
    units = select(Unit.id, Unit.code, Unit.name).order_by(Unit.code)
    if unit is not None:
        units = units.where(Unit.id == unit.id)
    rows = {uid: {"unit": code, "name": name, "cases": 0, "closed": 0, "deadlines": 0, "met": 0, "met_late": 0,
                  "overdue": 0, "waived": 0, "on_time_rate": None, "statements": 0, "retracted": 0, "corrected": 0}
            for uid, code, name in db.session.execute(units)}
    closed = func.sum(case((Case.status == CaseStatus.CLOSED.value, 1), else_=0))
    for uid, n, done in db.session.execute(select(Case.lead_unit_id, func.count(), closed)
                                           .where(*_cases(period, unit)).group_by(Case.lead_unit_id)):
        if uid in rows:
            rows[uid].update(cases=int(n), closed=int(done or 0))
    for uid, total, met, late, overdue, waived in db.session.execute(
        select(Case.lead_unit_id, *_state_sums(now)).select_from(Deadline).join(Case, Case.id == Deadline.case_id)
        .where(*_cases(period, unit), Deadline.superseded_at.is_(None)).group_by(Case.lead_unit_id)
    ):
        if uid in rows:
            figures = _figures(int(total), int(met or 0), int(late or 0), int(overdue or 0), int(waived or 0))
            rows[uid].update(deadlines=figures["total"], met=figures["met"], met_late=figures["met_late"],
                             overdue=figures["overdue"], waived=figures["waived"], on_time_rate=figures["on_time_rate"])
    names = {LedgerKind.PUBLISHED.value: "statements", LedgerKind.RETRACTED.value: "retracted",
             LedgerKind.CORRECTED.value: "corrected"}
    for uid, kind, n in db.session.execute(
        select(Statement.unit_id, LedgerEntry.kind, func.count()).select_from(LedgerEntry)
        .join(Statement, Statement.id == LedgerEntry.statement_id)
        .where(*_ledger_bounds(period), LedgerEntry.kind.in_(list(names))).group_by(Statement.unit_id, LedgerEntry.kind)
    ):
        if uid in rows:
            rows[uid][names[kind]] = int(n)
    return list(rows.values())
