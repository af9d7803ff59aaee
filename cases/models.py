"""Opinion cases (舆情台账): the case, its timeline of events, its deadlines, responses and statements."""

from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Date, ForeignKey, Index, String, Table, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.models import Unit, User
from app.timeutil import UTCDateTime, utcnow


class CaseStatus(enum.StrEnum):
    """interface §8: registered → assessed → assigned → handling → responded → closed."""

    REGISTERED = "registered"
    ASSESSED = "assessed"
    ASSIGNED = "assigned"
    HANDLING = "handling"
    RESPONDED = "responded"
    CLOSED = "closed"


OPEN = frozenset(s for s in CaseStatus if s != CaseStatus.CLOSED)


class Source(enum.StrEnum):
    """Where the item was found (seed 二(一): portals, forums, Weibo, hotlines, news comments, the press …)."""

    PORTAL = "portal"
    FORUM = "forum"
    WEIBO = "weibo"
    WECHAT = "wechat"
    SHORT_VIDEO = "short_video"
    ONLINE_PETITION = "online_petition"
    HOTLINE = "hotline"
    NEWS_COMMENT = "news_comment"
    PRESS = "press"
    SUPERIOR = "superior"
    OTHER = "other"


class ResponseForm(enum.StrEnum):
    STATEMENT = "statement"
    EXPERT_INTERPRETATION = "expert_interpretation"
    PRESS_CONFERENCE = "press_conference"
    MEDIA_INTERVIEW = "media_interview"
    OTHER = "other"


class DeadlineKind(enum.StrEnum):
    AUTHORITATIVE_RELEASE = "authoritative_release"
    PRESS_CONFERENCE = "press_conference"
    RESPONSE = "response"


class DeadlineState(enum.StrEnum):
    PENDING = "pending"
    MET = "met"
    MET_LATE = "met_late"
    OVERDUE = "overdue"
    #: interface §20: the case was closed before this clock fell due, without it being met; neither met nor overdue.
    WAIVED = "waived"


class EventKind(enum.StrEnum):
    """The timeline's entries: what happened, in order. The case's `status` is a stored column that the same
    service moves through the door (`cases.rules.CASE_FLOW`) in the transaction that adds the entry."""

    REGISTERED = "registered"
    ASSESSED = "assessed"
    ASSIGNED = "assigned"
    ACCEPTED = "accepted"
    FEEDBACK = "feedback"
    RESPONDED = "responded"
    STATEMENT_LINKED = "statement_linked"
    STATEMENT_UNLINKED = "statement_unlinked"
    CLOSED = "closed"
    #: 归口报送: recorded by reports (an upward report naming the case); the status does not move.
    REPORTED_UPWARD = "reported_upward"
    #: The office changed the calendar of working days and open `wd` clocks moved (old and new due time).
    DEADLINES_MOVED = "deadlines_moved"


class DayKind(enum.StrEnum):
    """What the office declared a calendar day to be, over `chinesecalendar` (interface §8, working days)."""

    HOLIDAY = "holiday"
    #: A make-up working day (调休上班) or any day the institution works although the library says otherwise.
    WORKDAY = "workday"


#: Sorting key of open cases without a level: first, because grading them is the next thing to do.
UNGRADED_RANK = 0
CLOSED_RANK = 9

case_units = Table(
    "case_units",
    db.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
    # "cases of my unit": the visibility filter of every list
    Index("ix_case_units_unit", "unit_id", "case_id"),
)

case_assisting_units = Table(
    "case_assisting_units",
    db.metadata,
    Column("case_id", ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True),
    Column("unit_id", ForeignKey("units.id"), primary_key=True),
)


class Case(Model):
    """One item of public opinion the institution must handle (seed 二(一)–(五))."""

    __tablename__ = "cases"
    __table_args__ = (
        # The register's first page: most urgent first (level, then nearest due).
        Index("ix_cases_register", "urgency_rank", "next_due_at", "id"),
        Index("ix_cases_lead_register", "lead_unit_id", "urgency_rank", "next_due_at"),
        # The overdue filter: open cases whose nearest unmet deadline has passed.
        Index("ix_cases_next_due", "next_due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(100))
    summary: Mapped[str] = mapped_column(Text, default="")
    source: Mapped[str] = mapped_column(String(16))
    #: Kept as text, never fetched.
    source_url: Mapped[str | None] = mapped_column(String(2000))
    discovered_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default=CaseStatus.REGISTERED, index=True)
    #: Bumped by every transition (app/door.py).
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    level: Mapped[int | None] = mapped_column()
    must_respond: Mapped[bool] = mapped_column(default=False)
    lead_unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    created_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    outcome: Mapped[str | None] = mapped_column(Text)
    # Denormalised by the services so the register is an index scan, not a per-row computation.
    urgency_rank: Mapped[int] = mapped_column(default=UNGRADED_RANK)
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The earliest counted response's time (None until one): the reports' response time is one column
    #: read per case instead of a join and an aggregate over every response (cases.links.note_counted).
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    lead_unit: Mapped[Unit] = relationship(foreign_keys=[lead_unit_id])
    creator: Mapped[User] = relationship(foreign_keys=[created_by])
    units: Mapped[list[Unit]] = relationship(secondary=case_units, order_by=Unit.code)
    assisting_units: Mapped[list[Unit]] = relationship(secondary=case_assisting_units, order_by=Unit.code)
    events: Mapped[list[CaseEvent]] = relationship(order_by="CaseEvent.id", back_populates="case")
    deadlines: Mapped[list[Deadline]] = relationship(
        order_by="Deadline.id", primaryjoin="and_(Deadline.case_id == Case.id, Deadline.superseded_at.is_(None))",
        viewonly=True,
    )
    responses: Mapped[list[CaseResponse]] = relationship(order_by="CaseResponse.id")
    statement_links: Mapped[list[CaseStatement]] = relationship(order_by="CaseStatement.statement_id")
    attachments: Mapped[list[CaseAttachment]] = relationship(order_by="CaseAttachment.id", viewonly=True)

    @property
    def is_open(self) -> bool:
        return self.status != CaseStatus.CLOSED

    @property
    def closing_reason(self) -> str:
        """Why it was closed, shown beside its waived clocks: the reason for not responding, else the outcome."""
        closed = [e for e in self.events if e.kind == EventKind.CLOSED]
        data = closed[-1].data if closed else {}
        return str(data.get("no_response_reason") or data.get("outcome") or self.outcome or "")


class CaseEvent(Model):
    """One entry of a case's timeline: who did what, when, with what details."""

    __tablename__ = "case_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    case: Mapped[Case] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()


class Deadline(Model):
    """A clock on a case: due at `due_at`, counted from `started_at`, stopped by `met_at`.

    `next_alert_at` is the next 50 %/80 %/100 % moment not yet announced (None when met, superseded or
    past every threshold): the sweep's one indexed query. `alerted` is the last threshold announced.
    """

    __tablename__ = "deadlines"
    __table_args__ = (Index("ix_deadlines_next_alert", "next_alert_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    spec: Mapped[str] = mapped_column(String(16))
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    met_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    alerted: Mapped[int] = mapped_column(default=0)
    next_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Set when a re-assessment replaced this clock; kept as history, no longer shown or swept.
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: The closing moment, when the case was closed while this clock still ran (interface §20: frozen as `waived`).
    waived_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    case: Mapped[Case] = relationship()

    def state(self, now: datetime | None = None) -> DeadlineState:
        """pending, met, met_late, overdue (interface §8) or waived (§20: frozen when its case was closed)."""
        if self.met_at is not None:
            return DeadlineState.MET if self.met_at <= self.due_at else DeadlineState.MET_LATE
        if self.waived_at is not None:
            return DeadlineState.WAIVED
        return DeadlineState.OVERDUE if (now or utcnow()) >= self.due_at else DeadlineState.PENDING

    def fraction(self, now: datetime | None = None) -> float:
        """How much of the allowed time has gone (0 … 1+), for countdown colours."""
        total = (self.due_at - self.started_at).total_seconds()
        if total <= 0:
            return 1.0
        return max(0.0, ((now or utcnow()) - self.started_at).total_seconds() / total)


class CaseResponse(Model):
    """A public response to a case in one of the seed's forms, with its evidence.

    A `statement` response counts only once that statement is published (its ledger time is `held_at`).
    """

    __tablename__ = "case_responses"
    __table_args__ = (UniqueConstraint("case_id", "statement_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    form: Mapped[str] = mapped_column(String(24))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    held_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="")
    evidence_url: Mapped[str | None] = mapped_column(String(2000))
    counted: Mapped[bool] = mapped_column(default=False)
    recorded_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    recorder: Mapped[User | None] = relationship()


class CaseStatement(Model):
    """A statement written in answer to a case (its `case_ids`); `published_at` is its ledger time."""

    __tablename__ = "case_statements"
    __table_args__ = (Index("ix_case_statements_statement", "statement_id"),)

    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), primary_key=True)
    linked_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class CaseIntakeKey(Model):
    """An `Idempotency-Key` of `POST /cases` (interface §20): the same key from the same person within
    INTAKE_KEY_HOURS answers the case it first made, so a resubmitted form never registers a case twice.

    Kept in the database, unique per (actor, key): with several workers the insert decides, exactly.
    """

    __tablename__ = "case_intake_keys"
    __table_args__ = (UniqueConstraint("actor_id", "key", name="uq_case_intake_keys_actor_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    key: Mapped[str] = mapped_column(String(128))
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class CaseAttachment(Model):
    """A screenshot or document kept with a case as evidence of what was said (a PDF or an image).

    The bytes are stored once under their sha256 (MEDIA_ROOT/cases/); each row is one person adding them to
    one case, named as uploaded, served only to people who may see that case.
    """

    __tablename__ = "case_attachments"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    sha256: Mapped[str] = mapped_column(String(64))
    ext: Mapped[str] = mapped_column(String(4))
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column()
    #: The file name as uploaded, for people to recognise it (never used as a path).
    name: Mapped[str] = mapped_column(String(128))
    uploaded_by: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    uploader: Mapped[User] = relationship()


class CalendarDay(Model):
    """One day the office declared a holiday or a working day: it overrides `chinesecalendar` for that day, and
    for a year the library does not know yet it is, with weekends, the only source (issue 29)."""

    __tablename__ = "calendar_days"

    day: Mapped[date] = mapped_column(Date, primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    note: Mapped[str] = mapped_column(String(64), default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    updated_by: Mapped[User | None] = relationship()
