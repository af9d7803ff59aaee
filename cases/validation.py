"""Turning what a client sent about a case into checked values, every problem named by its field."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from flask_babel import gettext as _

from app import params
from app.models import Unit
from app.timeutil import utcnow
from app.validation import Errors, parse
from cases.models import ResponseForm, Source
from cases.schemas import (  # noqa: F401 (the limits are imported from here by others)
    CLOCK_SKEW,
    NOTE_MAX,
    SUMMARY_MAX,
    TITLE_MAX,
    UNITS_MAX,
    URL_MAX,
    AcceptanceIn,
    AssessmentIn,
    AssignmentIn,
    CaseIn,
    CloseIn,
    FeedbackIn,
    ResponseIn,
)

# Field readers for forms that have no model yet (reports/upward.py); the API bodies use cases/schemas.py.

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
        parsed = params.moment(value)
    except params.Unreadable as exc:
        errors.add(name, exc.message)
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
    """`POST /cases` (`CaseIn`), then the units' codes."""
    values = parse(CaseIn, data)
    errors = Errors()
    found = units(values.units, "units", errors, required=True) if "units" in values.model_fields_set \
        else [default_unit]
    errors.raise_if_any()
    return CaseInput(values.title, values.summary or "", values.source, values.source_url,
                     values.discovered_at or utcnow(), found)


@dataclass
class AssessmentInput:
    level: int
    rationale: str
    must_respond: bool


def assessment_input(data: Any) -> AssessmentInput:
    """`POST /cases/{id}/assessment` (`AssessmentIn`)."""
    values = parse(AssessmentIn, data)
    return AssessmentInput(values.level, values.rationale, values.must_respond)


@dataclass
class AssignmentInput:
    lead_unit: Unit
    assisting_units: list[Unit]
    note: str


def assignment_input(data: Any) -> AssignmentInput:
    """`POST /cases/{id}/assignment` (`AssignmentIn`), then the units."""
    values = parse(AssignmentIn, data)
    errors = Errors()
    lead = Unit.by_code(values.lead_unit)
    if lead is None:
        errors.add("lead_unit", _("未知单位：%(code)s", code=values.lead_unit[:32]))
    assisting = units(values.assisting_units, "assisting_units", errors, required=False)
    if lead is not None and any(u.id == lead.id for u in assisting):
        errors.add("assisting_units", _("牵头单位不必再列为协办单位"))
    errors.raise_if_any()
    assert lead is not None
    return AssignmentInput(lead, assisting, values.note or "")


def note_input(data: Any, *, required: bool) -> str:
    """`POST /cases/{id}/acceptance` (`AcceptanceIn`) and `/feedback` (`FeedbackIn`: required): a note."""
    return parse(FeedbackIn if required else AcceptanceIn, data).note or ""


@dataclass
class ResponseInput:
    form: ResponseForm
    statement_id: int | None
    held_at: datetime | None
    note: str
    evidence_url: str | None


def response_input(data: Any) -> ResponseInput:
    """`POST /cases/{id}/responses` (`ResponseIn`): a statement, or a held event with its time."""
    values = parse(ResponseIn, data)
    errors = Errors()
    statement_id, held_at = values.statement_id, values.held_at
    if values.form == ResponseForm.STATEMENT:
        held_at = None
        if statement_id is None:
            errors.add("statement_id", _("以发布回应的形式回应时必须指明回应稿编号"))
    else:
        statement_id = None
        if held_at is None:
            errors.add("held_at", _("必填"))
    errors.raise_if_any()
    return ResponseInput(values.form, statement_id, held_at, values.note or "", values.evidence_url)


@dataclass
class CloseInput:
    outcome: str
    no_response_reason: str


def close_input(data: Any) -> CloseInput:
    """`POST /cases/{id}/close` (`CloseIn`)."""
    values = parse(CloseIn, data)
    return CloseInput(values.outcome, values.no_response_reason or "")
