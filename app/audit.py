"""The audit trail: every service adds one event to the session before it commits."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any

from flask import has_request_context, request
from flask_babel import gettext as _
from sqlalchemy import Select, or_, select
from sqlalchemy.orm import selectinload

from app import paging, params
from app.errors import Invalid
from app.extensions import db
from app.models import AuditEvent, Unit, User
from app.paging import Cut
from app.schemas import AuditQuery
from app.spreadsheet import csv_text
from app.timeutil import SHANGHAI
from app.validation import parse_query


def record(
    actor: User | None,
    action: str,
    obj: Any,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event for `obj` (committed with the state change it describes)."""
    return record_row(actor, action, type(obj).__name__.lower(), getattr(obj, "id", None), before=before, after=after)


def record_row(
    actor: User | None,
    action: str,
    object_type: str,
    object_id: int | None,
    *,
    before: dict[str, Any] | None = None,
    after: dict[str, Any] | None = None,
) -> AuditEvent:
    """Add an audit event for a row named by type and id, for steps that change a row without loading it."""
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        before=before,
        after=after,
        remote_addr=request.remote_addr if has_request_context() else None,
    )
    db.session.add(event)
    return event


# Reading the trail (interface §11 `GET /api/v1/audit`) -------------------------------------------------

#: The contract's object types and the model each is recorded under.
OBJECT_TYPES = {"statement": "statement", "case": "case", "user": "user", "unit": "unit", "token": "apitoken",
                "terms": "terms", "delivery": "delivery", "settings": "setting", "delegation": "delegation",
                "calendar": "calendar", "interaction": "interaction"}
_CONTRACT_TYPE = {stored: name for name, stored in OBJECT_TYPES.items()}
EXPORT_LIMIT = 50_000


@dataclass
class Filters:
    """What the audit viewer and `GET /audit` filter by; every field optional."""

    actor: str = ""
    action: str = ""
    object_type: str = ""
    object_id: str = ""
    start: datetime | None = None
    end: datetime | None = None


def _bound(value: date | datetime | None, *, end: bool) -> datetime | None:
    """A moment as given, or a day as a whole day in Asia/Shanghai (`to` includes it)."""
    if value is None or isinstance(value, datetime):
        return value
    start = datetime.combine(value, time.min, tzinfo=SHANGHAI)
    return start + timedelta(days=1) if end else start


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Filters from a query string (`actor`, `action`, `object_type`, `object_id`, `from`, `to`: `AuditQuery`);
    400 if bad."""
    wanted = parse_query(AuditQuery, args, _("筛选条件有误"))
    if wanted.object_id.strip() and not wanted.object_type:
        raise Invalid(_("按对象筛选时须同时指定对象类型"), fields={"object_type": _("必填")})
    return Filters(actor=wanted.actor.strip(), action=wanted.action.strip(), object_type=wanted.object_type or "",
                   object_id=wanted.object_id.strip(), start=_bound(wanted.from_, end=False),
                   end=_bound(wanted.to, end=True))


def _object_key(object_type: str, object_id: str) -> int | None:
    """The stored id of an object named as the contract names it (username, unit code, numeric id)."""
    if object_type == "user":
        user = User.by_username(object_id)
        return user.id if user else None
    if object_type == "unit":
        unit = Unit.by_code(object_id)
        return unit.id if unit else None
    found = params.id_or_text(object_id)
    return found if isinstance(found, int) else None  # no row has it: the filter matches nothing


def _query(filters: Filters) -> Select[AuditEvent]:
    query = select(AuditEvent)
    if filters.actor:
        actor = User.by_username(filters.actor)
        query = query.where(AuditEvent.actor_id == (actor.id if actor else -1))
    if filters.action:
        query = query.where(or_(AuditEvent.action == filters.action,
                                AuditEvent.action.startswith(filters.action + ".", autoescape=True)))
    if filters.object_type:
        query = query.where(AuditEvent.object_type == OBJECT_TYPES[filters.object_type])
        if filters.object_id:
            query = query.where(AuditEvent.object_id == (_object_key(filters.object_type, filters.object_id) or -1))
    if filters.start:
        query = query.where(AuditEvent.at >= filters.start)
    if filters.end:
        query = query.where(AuditEvent.at < filters.end)
    return query


def search(filters: Filters, at: Cut) -> tuple[list[AuditEvent], int]:
    """One page of events, newest first, and how many match in all."""
    query = _query(filters)
    return paging.page_of(query.options(selectinload(AuditEvent.actor))
                          .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()), at, total=paging.count(query))


def event_json(event: AuditEvent) -> dict[str, Any]:
    """An event as the API and the CSV show it: objects named as the contract names them."""
    object_id: Any = event.object_id
    if event.object_type == "user" and event.object_id is not None:
        user = db.session.get(User, event.object_id)
        object_id = user.username if user else event.object_id
    elif event.object_type == "unit" and event.object_id is not None:
        unit = db.session.get(Unit, event.object_id)
        object_id = unit.code if unit else event.object_id
    return {
        "id": event.id, "at": event.at.isoformat(), "actor": event.actor.username if event.actor else None,
        "action": event.action, "object_type": _CONTRACT_TYPE.get(event.object_type, event.object_type),
        "object_id": object_id, "before": event.before, "after": event.after, "remote_addr": event.remote_addr,
    }


CSV_COLUMNS = ("id", "at", "actor", "action", "object_type", "object_id", "before", "after", "remote_addr")


def to_csv(filters: Filters) -> str:
    """The matching events (newest first, at most `EXPORT_LIMIT`) as CSV with a BOM, for Excel and WPS."""
    out = io.StringIO()
    out.write("\ufeff")
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    rows = db.session.scalars(_query(filters).options(selectinload(AuditEvent.actor))
                              .order_by(AuditEvent.at.desc(), AuditEvent.id.desc()).limit(EXPORT_LIMIT))
    for event in rows:
        item = event_json(event)
        for name in ("before", "after"):
            item[name] = json.dumps(item[name], ensure_ascii=False, sort_keys=True) if item[name] is not None else ""
        writer.writerow([csv_text(item[c]) for c in CSV_COLUMNS])
    return out.getvalue()
