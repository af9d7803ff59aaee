"""Cases' request and answer models (interface §8): `cases/validation.py` validates with these, then looks up
what needs the database (units, statements); openapi.json describes the same models."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from flask_babel import gettext as _
from pydantic import BeforeValidator, Field, StrictBool, StringConstraints, field_validator

from app.openapi import Out
from app.schemas import Person
from app.timeutil import utcnow
from app.validation import Body, Moment, Msg, Paging, Query, RowId, fail
from cases.models import CaseStatus, DayKind, DeadlineKind, DeadlineState, ResponseForm, Source

TITLE_MAX, SUMMARY_MAX, NOTE_MAX, URL_MAX, UNITS_MAX = 100, 5000, 5000, 2000, 50
#: Clocks of phones and servers disagree a little; a discovery time this far ahead is still "now".
CLOCK_SKEW = timedelta(minutes=2)


def _blank_is_none(value: Any) -> Any:
    return None if value == "" else value


def _link(value: str | None) -> str | None:
    if value is None:
        return None
    value = value.strip()
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
        raise fail(_("应为以 http:// 或 https:// 开头的网址"))
    return value


def _not_ahead(value: datetime | None) -> datetime | None:
    if value is not None and value > utcnow() + CLOCK_SKEW:
        raise fail(_("不能晚于当前时间"))
    return value


def _level(value: Any) -> Any:
    if isinstance(value, str) and value.isascii() and value.isdigit() and len(value) == 1:
        return int(value)  # a form's select sends text
    if isinstance(value, bool):
        raise fail(_("应为 1（特别重大）、2（重大）、3（较大）或 4（一般）"))
    return value


Required = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=NOTE_MAX),
                     Msg(None, string_too_short=lambda: _("必填"))]
Optional = Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=NOTE_MAX)]
Link = Annotated[Annotated[str, Field(max_length=URL_MAX)] | None, BeforeValidator(_blank_is_none),
                 Field(description="http(s); never fetched")]
Past = Annotated[Moment | None, BeforeValidator(_blank_is_none)]
Codes = Annotated[list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]],
                  Field(max_length=UNITS_MAX), Msg(lambda: _("应为单位代码列表"),
                                                   too_long=lambda: _("最多 %(n)d 个单位", n=UNITS_MAX))]


class CaseIn(Body):
    """`POST /cases` (drafter, office) → 201 the case, status `registered`."""

    title: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=TITLE_MAX)]
    summary: Annotated[str | None, StringConstraints(strip_whitespace=True, max_length=SUMMARY_MAX)] = None
    source: Annotated[Source, Msg(lambda: _("未知来源，应为 %(s)s 之一", s="、".join(s.value for s in Source)))]
    source_url: Link = None
    discovered_at: Annotated[Past, Field(description="default now; never in the future")] = None
    units: Annotated[Codes, Field(min_length=1, description="unit codes; the first leads; default the caller's")
                     ] = None  # type: ignore[assignment]

    @field_validator("source_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _link(value)

    @field_validator("discovered_at")
    @classmethod
    def _past(cls, value: datetime | None) -> datetime | None:
        return _not_ahead(value)


class AssessmentIn(Body):
    """`POST /cases/{id}/assessment` (office, or a leader of the lead unit): level and deadlines."""

    level: Annotated[Literal[1, 2, 3, 4], BeforeValidator(_level),
                     Field(description="1 特别重大, 2 重大, 3 较大, 4 一般"),
                     Msg(lambda: _("应为 1（特别重大）、2（重大）、3（较大）或 4（一般）"))]
    rationale: Required
    must_respond: Annotated[StrictBool, Msg(lambda: _("应为 true 或 false"))] = False


class AssignmentIn(Body):
    """`POST /cases/{id}/assignment` (office)."""

    lead_unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32),
                         Msg(lambda: _("必填"))]
    assisting_units: Annotated[Codes, Field(description="unit codes")] = []
    note: Optional = None


class AcceptanceIn(Body):
    """`POST /cases/{id}/acceptance` (the lead unit)."""

    note: Optional = None


class FeedbackIn(Body):
    """`POST /cases/{id}/feedback`: 反馈, any number."""

    note: Required


class ResponseIn(Body):
    """`POST /cases/{id}/responses`: a statement (`statement_id`), or a held event (`held_at`)."""

    form: Annotated[ResponseForm, Msg(lambda: _("应为 %(s)s 之一", s="、".join(f.value for f in ResponseForm)))]
    statement_id: Annotated[RowId | None, Field(description="required for `statement`"),
                            Msg(lambda: _("以发布回应的形式回应时必须指明回应稿编号"))] = None
    held_at: Annotated[Past, Field(description="required for the other forms; not in the future")] = None
    note: Optional = None
    evidence_url: Link = None

    @field_validator("evidence_url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return _link(value)

    @field_validator("held_at")
    @classmethod
    def _past(cls, value: datetime | None) -> datetime | None:
        return _not_ahead(value)


class CloseIn(Body):
    """`POST /cases/{id}/close` (office, or a leader of the lead unit)."""

    outcome: Required
    no_response_reason: Optional = None


class CaseFilters(Query):
    """Filters of `GET /cases` and of the register's export."""

    status: Annotated[CaseStatus | None, Msg(lambda: _("未知状态"))] = None
    level: Annotated[int | None, Field(ge=1, le=4), Msg(lambda: _("应为 1–4"))] = None
    unit: Annotated[str | None, Field(max_length=32, description="unit code")] = None
    source: Annotated[Source | None, Msg(lambda: _("未知来源"))] = None
    overdue: Annotated[bool, Msg(lambda: _("应为 true 或 false"))] = False
    q: Annotated[str, Field(description="words in the title or summary")] = ""


class CaseQuery(CaseFilters, Paging):
    """`GET /cases`: the filters and the page."""


# --- answers ----------------------------------------------------------------------------------------------

class Responsible(Out):
    first: Person | None
    direct: Person | None
    spokespersons: list[Person]
    duty_phone: str


class DeadlineOut(Out):
    kind: DeadlineKind
    due_at: datetime | None
    met_at: datetime | None
    state: DeadlineState
    waived_at: datetime | None = Field(None, description="the closing moment, when the case was closed before "
                                                         "this clock fell due (state `waived`)")


class EventOut(Out):
    kind: str
    actor: str | None
    at: datetime
    data: Any


class LinkedStatement(Out):
    id: int
    title: str
    status: str | None
    published_at: datetime | None


class CaseAttachmentOut(Out):
    """A file attached to a case (`POST /cases/{id}/attachments`); `url` serves it to whoever may see the case."""

    id: int
    name: str
    mime: str
    size: int
    sha256: str
    url: str


class CaseResponseOut(Out):
    form: ResponseForm
    statement_id: int | None
    held_at: datetime | None
    note: str
    evidence_url: str | None
    counted: bool
    recorded_by: str | None
    at: datetime | None


class CaseOut(Out):
    """A case (interface §8)."""

    id: int
    title: str
    summary: str
    source: Source
    source_url: str | None
    discovered_at: datetime
    status: CaseStatus
    level: Literal[1, 2, 3, 4] | None
    must_respond: bool
    lead_unit: str
    assisting_units: list[str]
    units: list[str]
    responsible: Responsible
    deadlines: list[DeadlineOut]
    events: list[EventOut]
    statements: list[LinkedStatement]
    responses: list[CaseResponseOut]
    outcome: str | None
    closed_at: datetime | None
    created_at: datetime


class IntakeWarning(Out):
    """Something the registrar should look at; the case was registered all the same."""

    code: Literal["similar_title"]
    message: str
    case_id: int
    title: str
    url: str


class CaseRegistered(CaseOut):
    """The answer of `POST /cases`: the case, and `warnings` (a same-title case registered within 24 h)."""

    warnings: list[IntakeWarning]


class CaseList(Out):
    """A page of cases, most urgent first."""

    items: list[CaseOut]
    total: int


# --- the calendar of working days (issue 29) ---------------------------------------------------------------

class CalendarQuery(Query):
    """`GET|PUT /calendar?year=`: the year, by default the current one (Asia/Shanghai)."""

    year: Annotated[int | None, Field(ge=2000, le=2100), Msg(lambda: _("应为 2000–2100 的年份"))] = None


class CalendarIn(Body):
    """`PUT /calendar?year=` (office, admin): the year's whole table, one line per range, replacing what was there."""

    text: Annotated[str, Field(max_length=20_000, description=(
        "one line per range: `2027-02-06 至 2027-02-13 春节` (holidays), `2027-02-14 调休上班` (a line whose note "
        "says 上班, 补班 or 工作日 declares working days); blank lines and lines starting with # are skipped; "
        "a bad line is 400 `invalid` with `fields` `text.<line number>`")),
                    Msg(lambda: _("应为文本，每行一段日期"))]


class CalendarDayOut(Out):
    day: date
    kind: DayKind
    note: str


class CalendarOut(Out):
    """One year of the calendar: where its working days come from, and the office's days."""

    year: int
    source: Literal["library", "table", "weekends"] = Field(description=(
        "`library`: chinesecalendar knows the year (the days here override it); `table`: it does not, the days "
        "here and weekends decide; `weekends`: neither, Monday to Friday are working days"))
    library_knows: bool
    days: list[CalendarDayOut]
    text: str = Field(description="the days as the lines `PUT` reads")
    updated_at: datetime | None
    updated_by: str | None


class MovedDeadline(Out):
    kind: DeadlineKind
    from_: datetime = Field(alias="from")
    to: datetime


class MovedCase(Out):
    case_id: int
    title: str
    deadlines: list[MovedDeadline]


class CalendarSaved(CalendarOut):
    """The year as saved, and the open working-day clocks the change moved (recorded on each case's timeline)."""

    changed: bool
    moved: list[MovedCase]
    notified: int = Field(description="notifications raised for thresholds a clock moved earlier has crossed")
