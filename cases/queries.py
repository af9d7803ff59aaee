"""Reading the register (舆情台账): who sees which cases, filters, most urgent first."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import Select, func, or_, select
from sqlalchemy.orm import selectinload

from app import paging
from app.errors import Invalid
from app.extensions import db
from app.models import Role, Unit, User
from app.paging import Cut
from app.timeutil import utcnow
from app.validation import parse_query
from cases.models import Case, CaseStatus, case_units
from cases.schemas import CaseFilters


def _visible(query: Select, user: User) -> Select:
    if user.sees_all_units:
        return query
    mine = select(case_units.c.case_id).where(case_units.c.unit_id == user.unit_id)
    return query.where(Case.id.in_(mine))


def visible_case_ids(user: User, among: Iterable[int] | None = None) -> set[int]:
    """The ids of cases `user` may see (office and admin: all; others: their unit's), limited to `among`."""
    query = _visible(select(Case.id), user)
    if among is not None:
        ids = [i for i in among if isinstance(i, int)]
        if not ids:
            return set()
        query = query.where(Case.id.in_(ids))
    return set(db.session.scalars(query))


def visible_cases(user: User, ids: Iterable[int]) -> list[Case]:
    """The cases among `ids` that `user` may see, by id (a statement's `case_ids` as its page names them)."""
    visible = visible_case_ids(user, ids)
    return list(db.session.scalars(select(Case).where(Case.id.in_(visible)).order_by(Case.id))) if visible else []


@dataclass
class Filters:
    """`GET /cases` and the register page: every filter is optional."""

    status: str | None = None
    level: int | None = None
    unit: Unit | None = None
    source: str | None = None
    overdue: bool = False
    q: str = ""


def parse_filters(args: Mapping[str, str]) -> Filters:
    """Query-string filters (`CaseFilters`), then the unit's code; 400 invalid naming any not understood."""
    wanted = parse_query(CaseFilters, args, _("筛选条件有误"))
    unit = Unit.by_code(wanted.unit) if wanted.unit else None
    if wanted.unit and unit is None:
        raise Invalid(_("筛选条件有误"), fields={"unit": _("未知单位：%(code)s", code=wanted.unit[:32])})
    return Filters(status=wanted.status.value if wanted.status else None, level=wanted.level, unit=unit,
                   source=wanted.source.value if wanted.source else None, overdue=wanted.overdue,
                   q=wanted.q.strip()[:100])


def register_query(user: User, filters: Filters, now: datetime | None = None) -> Select:
    """The visible cases matching `filters`, unordered."""
    query = _visible(select(Case), user)
    if filters.status:
        query = query.where(Case.status == filters.status)
    if filters.level:
        query = query.where(Case.level == filters.level)
    if filters.unit is not None:
        query = query.where(Case.id.in_(select(case_units.c.case_id).where(case_units.c.unit_id == filters.unit.id)))
    if filters.source:
        query = query.where(Case.source == filters.source)
    if filters.overdue:
        # next_due_at is the nearest unmet due moment of an open case (None once closed or all met)
        query = query.where(Case.next_due_at <= (now or utcnow()))
    if filters.q:
        like = f"%{filters.q.replace('%', '').replace('_', '')}%"
        query = query.where(or_(Case.title.ilike(like), Case.summary.ilike(like)))
    return query


def _count(user: User, filters: Filters, query: Select) -> int:
    """How many cases the register holds for this person: the unfiltered count straight from an index."""
    if filters == Filters():
        if user.sees_all_units:
            return db.session.scalar(select(func.count()).select_from(Case)) or 0
        return db.session.scalar(
            select(func.count()).select_from(case_units).where(case_units.c.unit_id == user.unit_id)) or 0
    return db.session.scalar(query.with_only_columns(func.count(Case.id)).order_by(None)) or 0


def page(user: User, filters: Filters, at: Cut, *, whole: bool = False) -> tuple[list[Case], int]:
    """One page of the register, most urgent first (open before closed, level, then nearest due).

    `whole` loads each case's collections in a few batched queries, for answers that show them all.
    """
    query = register_query(user, filters)
    total = _count(user, filters, query)
    query = query.order_by(Case.urgency_rank, Case.next_due_at.asc().nulls_last(), Case.id.desc())
    if whole:
        query = query.options(*(selectinload(rel) for rel in (
            Case.units, Case.assisting_units, Case.events, Case.deadlines, Case.responses, Case.statement_links)))
    return paging.page_of(query, at, total=total)



def waiting_for(user: User, *, limit: int = 20) -> tuple[list[Case], int]:
    """待我处置: open cases that wait on this person's step, most urgent first, and how many in all.

    The office grades and hands over new cases and watches every overdue one; a lead unit's leader may
    grade its own cases; its drafters and leaders accept what was handed to them and answer it.
    """
    open_ = Case.status != CaseStatus.CLOSED.value
    conditions = []
    if user.has_role(Role.OFFICE):
        conditions.append(Case.status.in_([CaseStatus.REGISTERED.value, CaseStatus.ASSESSED.value]))
        conditions.append(open_ & (Case.next_due_at <= utcnow()))
    own = Case.lead_unit_id == user.unit_id
    if user.has_role(Role.LEADER):
        conditions.append(own & (Case.status == CaseStatus.REGISTERED.value))
    if user.has_role(Role.DRAFTER, Role.LEADER):
        conditions.append(own & Case.status.in_([CaseStatus.ASSIGNED.value, CaseStatus.HANDLING.value]))
    if not conditions:
        return [], 0
    query = _visible(select(Case), user).where(or_(*conditions))
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(db.session.scalars(
        query.order_by(Case.urgency_rank, Case.next_due_at.asc().nulls_last(), Case.id.desc()).limit(limit)))
    return rows, total
