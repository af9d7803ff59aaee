"""Turning what a client sent about a case into checked values, every problem named by its field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _

from app.api import require_mapping
from app.errors import Invalid
from app.models import Unit
from app.security import MAX_ID
from app.timeutil import utcnow
from cases.models import ResponseForm, Source

TITLE_MAX, SUMMARY_MAX, NOTE_MAX, URL_MAX, UNITS_MAX = 100, 5000, 5000, 2000, 50
#: Clocks of phones and servers disagree a little; a discovery time this far ahead is still "now".
CLOCK_SKEW = timedelta(minutes=2)


class Errors:
    """Every problem of one request, by field; raised together as 400 invalid."""

    def __init__(self) -> None:
        self.fields: dict[str, str] = {}

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, message)

    def raise_if_any(self) -> None:
        if self.fields:
            raise Invalid(_("输入有误"), fields=self.fields)


def text(data: dict[str, Any], name: str, errors: Errors, *, required: bool, hi: int) -> str:
    value = data.get(name)
    if value is None:
        value = ""
    if not isinstance(value, str):
        errors.add(name, _("必须是字符串"))
        return ""
    value = value.strip()
    if required and not value:
        errors.add(name, _("必填"))
    elif len(value) > hi:
        errors.add(name, _("不能超过 %(n)d 个字符（当前 %(m)d 个）", n=hi, m=len(value)))
    return value


def when(data: dict[str, Any], name: str, errors: Errors, *, required: bool) -> datetime | None:
    """ISO 8601 with an offset, not in the future."""
    value = data.get(name)
    if value is None or value == "":
        if required:
            errors.add(name, _("必填"))
        return None
    if not isinstance(value, str):
        errors.add(name, _("必须是 ISO 8601 时间字符串"))
        return None
    try:
        parsed = datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        errors.add(name, _("时间格式无效，应为 ISO 8601，例如 2026-03-01T09:00:00+08:00"))
        return None
    if parsed.tzinfo is None or parsed.utcoffset() is None:
        errors.add(name, _("时间必须带时区偏移，例如 +08:00"))
        return None
    if parsed.year < 2000:  # year 1 at +08:00 is before datetime's range once in UTC
        errors.add(name, _("时间超出范围（2000–2100 年）"))
        return None
    if parsed > utcnow() + CLOCK_SKEW:
        errors.add(name, _("不能晚于当前时间"))
        return None
    return parsed


def link(data: dict[str, Any], name: str, errors: Errors) -> str | None:
    """An http(s) address kept as text (never fetched), or None."""
    value = data.get(name)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        errors.add(name, _("必须是字符串"))
        return None
    value = value.strip()
    if len(value) > URL_MAX:
        errors.add(name, _("不能超过 %(n)d 个字符（当前 %(m)d 个）", n=URL_MAX, m=len(value)))
    else:
        parts = urlsplit(value)
        if parts.scheme.lower() not in ("http", "https") or not parts.netloc or any(c.isspace() for c in value):
            errors.add(name, _("应为以 http:// 或 https:// 开头的网址"))
    return value


def units(value: Any, name: str, errors: Errors, *, required: bool) -> list[Unit]:
    """Unit codes → units, in the order given, without repeats."""
    if value is None:
        if required:
            errors.add(name, _("必填"))
        return []
    if not isinstance(value, list) or not all(isinstance(c, str) and c for c in value):
        errors.add(name, _("应为单位代码列表"))
        return []
    codes = list(dict.fromkeys(c.strip() for c in value))
    if required and not codes:
        errors.add(name, _("至少一个单位"))
    if len(codes) > UNITS_MAX:
        errors.add(name, _("最多 %(n)d 个单位", n=UNITS_MAX))
        return []
    found = []
    for code in codes:
        unit = Unit.by_code(code)
        if unit is None:
            errors.add(name, _("未知单位：%(code)s", code=code[:32]))
            return []
        found.append(unit)
    return found


@dataclass
class CaseInput:
    title: str
    summary: str
    source: Source
    source_url: str | None
    discovered_at: datetime
    units: list[Unit] = field(default_factory=list)


def case_input(data: Any, default_unit: Unit) -> CaseInput:
    """`POST /cases`."""
    data = require_mapping(data)
    errors = Errors()
    title = text(data, "title", errors, required=True, hi=TITLE_MAX)
    summary = text(data, "summary", errors, required=False, hi=SUMMARY_MAX)
    source = None
    try:
        source = Source(data.get("source"))
    except ValueError:
        errors.add("source", _("未知来源，应为 %(s)s 之一", s="、".join(s.value for s in Source)))
    source_url = link(data, "source_url", errors)
    discovered = when(data, "discovered_at", errors, required=False) if "discovered_at" in data else None
    found = units(data.get("units"), "units", errors, required=True) if "units" in data else [default_unit]
    errors.raise_if_any()
    assert source is not None
    return CaseInput(title, summary, source, source_url, discovered or utcnow(), found)


@dataclass
class AssessmentInput:
    level: int
    rationale: str
    must_respond: bool


def assessment_input(data: Any) -> AssessmentInput:
    """`POST /cases/{id}/assessment`."""
    data = require_mapping(data)
    errors = Errors()
    level = data.get("level")
    if isinstance(level, str) and level.isdigit():
        level = int(level)
    if not isinstance(level, int) or isinstance(level, bool) or level not in (1, 2, 3, 4):
        errors.add("level", _("应为 1（特别重大）、2（重大）、3（较大）或 4（一般）"))
    rationale = text(data, "rationale", errors, required=True, hi=NOTE_MAX)
    must = data.get("must_respond", False)
    if not isinstance(must, bool):
        errors.add("must_respond", _("应为 true 或 false"))
    errors.raise_if_any()
    assert isinstance(level, int)
    return AssessmentInput(level, rationale, bool(must))


@dataclass
class AssignmentInput:
    lead_unit: Unit
    assisting_units: list[Unit]
    note: str


def assignment_input(data: Any) -> AssignmentInput:
    """`POST /cases/{id}/assignment`."""
    data = require_mapping(data)
    errors = Errors()
    lead = None
    code = data.get("lead_unit")
    if not isinstance(code, str) or not code.strip():
        errors.add("lead_unit", _("必填"))
    else:
        lead = Unit.by_code(code.strip())
        if lead is None:
            errors.add("lead_unit", _("未知单位：%(code)s", code=code[:32]))
    assisting = units(data.get("assisting_units", []), "assisting_units", errors, required=False)
    if lead is not None and any(u.id == lead.id for u in assisting):
        errors.add("assisting_units", _("牵头单位不必再列为协办单位"))
    note = text(data, "note", errors, required=False, hi=NOTE_MAX)
    errors.raise_if_any()
    assert lead is not None
    return AssignmentInput(lead, assisting, note)


def note_input(data: Any, *, required: bool) -> str:
    """`POST /cases/{id}/acceptance` and `/feedback`: a note."""
    data = require_mapping(data)
    errors = Errors()
    note = text(data, "note", errors, required=required, hi=NOTE_MAX)
    errors.raise_if_any()
    return note


@dataclass
class ResponseInput:
    form: ResponseForm
    statement_id: int | None
    held_at: datetime | None
    note: str
    evidence_url: str | None


def response_input(data: Any) -> ResponseInput:
    """`POST /cases/{id}/responses`: a statement, or a held event with its time."""
    data = require_mapping(data)
    errors = Errors()
    form = None
    try:
        form = ResponseForm(data.get("form"))
    except ValueError:
        errors.add("form", _("应为 %(s)s 之一", s="、".join(f.value for f in ResponseForm)))
    statement_id = data.get("statement_id")
    held_at = None
    if form == ResponseForm.STATEMENT:
        if not isinstance(statement_id, int) or isinstance(statement_id, bool) or not 0 < statement_id <= MAX_ID:
            errors.add("statement_id", _("以发布回应的形式回应时必须指明回应稿编号"))
            statement_id = None
    else:
        statement_id = None
        held_at = when(data, "held_at", errors, required=form is not None)
    note = text(data, "note", errors, required=False, hi=NOTE_MAX)
    evidence_url = link(data, "evidence_url", errors)
    errors.raise_if_any()
    assert form is not None
    return ResponseInput(form, statement_id, held_at, note, evidence_url)


@dataclass
class CloseInput:
    outcome: str
    no_response_reason: str


def close_input(data: Any) -> CloseInput:
    """`POST /cases/{id}/close`."""
    data = require_mapping(data)
    errors = Errors()
    outcome = text(data, "outcome", errors, required=True, hi=NOTE_MAX)
    reason = text(data, "no_response_reason", errors, required=False, hi=NOTE_MAX)
    errors.raise_if_any()
    return CloseInput(outcome, reason)
