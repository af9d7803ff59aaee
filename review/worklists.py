"""Work lists: what waits on a person, most urgent and oldest first.

Each list is one indexed query (`ix_statements_work`: unit, status, pending stage, priority
rank, updated_at) that loads exactly what a list row shows, and a count; no per-row queries.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask_babel import lazy_gettext as _l
from flask_babel import lazy_pgettext as _lp
from sqlalchemy import ColumnElement, Select, and_, exists, or_, select
from sqlalchemy.orm import joinedload, load_only, raiseload

from app import paging
from app.extensions import db
from app.models import Role, Unit, User
from app.paging import Cut
from review.delegation import delegated_roles
from review.models import Decision, Revision, Stage, Statement, Status, Verdict

#: Items per list on the home page; the rest are a click away ("查看全部"), paged.
FIRST = Cut(1, 20)


def _not_mine(user: User) -> ColumnElement[bool]:
    """Statements the user may still review: never wrote a revision of, never approved this text."""
    wrote = exists().where(Revision.statement_id == Statement.id, Revision.author_id == user.id)
    # separation of duties is by text (interface §3, rule 3): an approval of this exact hash in any round counts
    current_hash = (select(Revision.hash).where(Revision.id == Statement.current_revision_id)
                    .correlate_except(Revision).scalar_subquery())
    approved = exists().where(
        Decision.statement_id == Statement.id,
        Decision.reviewer_id == user.id,
        Decision.revision_hash == current_hash,
        Decision.decision == Verdict.APPROVE.value,
    )
    return and_(~wrote, ~approved)


def _waiting_on(user: User, stage: Stage) -> ColumnElement[bool]:
    return and_(
        Statement.unit_id == user.unit_id,
        Statement.status == Status.IN_REVIEW.value,
        Statement.pending_stage == stage.value,
        _not_mine(user),
    )


def to_review(user: User) -> ColumnElement[bool]:
    """待我审核: the expert's unit, waiting on an expert, not written or approved by them."""
    return _waiting_on(user, Stage.EXPERT)


def to_approve(user: User) -> ColumnElement[bool]:
    """待我审批: the leader's unit, waiting on the leader, not written or approved by them."""
    return _waiting_on(user, Stage.LEADER)


def to_confirm(user: User) -> ColumnElement[bool]:
    """待机构确认: waiting on other bodies' confirmation; the office sees every unit."""
    where = and_(Statement.status == Status.IN_REVIEW.value, Statement.pending_stage == Stage.AGENCY.value)
    if user.has_role(Role.OFFICE):
        return where
    return and_(Statement.unit_id == user.unit_id, where)


def my_drafts(user: User) -> ColumnElement[bool]:
    """我的草稿: drafts the user started."""
    return and_(Statement.author_id == user.id, Statement.status == Status.DRAFT.value)


def returned(user: User) -> ColumnElement[bool]:
    """退回修改: the unit's statements sent back for changes."""
    return and_(Statement.unit_id == user.unit_id, Statement.status == Status.CHANGES_REQUESTED.value)


@dataclass(frozen=True)
class Kind:
    """One work list: its name in URLs, its heading, who has it, and its condition."""

    name: str
    title: str
    roles: tuple[Role, ...]
    where: Callable[[User], ColumnElement[bool]]


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind("review", _l("待我审核"), (Role.EXPERT,), to_review),
        Kind("approve", _l("待我审批"), (Role.LEADER,), to_approve),
        Kind("confirm", _l("待机构确认"), (Role.DRAFTER, Role.OFFICE), to_confirm),
        Kind("drafts", _l("我的草稿"), (Role.DRAFTER,), my_drafts),
        Kind("returned", _lp("status", "退回修改"), (Role.DRAFTER,), returned),
    )
}


def kinds_for(user: User) -> list[Kind]:
    """The lists this user has, in the order the page shows them; a stand-in (代理) has their principal's."""
    roles = set(user.roles) | delegated_roles(user)
    return [k for k in KINDS.values() if roles.intersection(k.roles)]


WORK_ORDER = (Statement.priority_rank, Statement.updated_at, Statement.id)
RECENT_ORDER = (Statement.updated_at.desc(), Statement.id.desc())


def page(ids: Select[tuple[int]], order: tuple[Any, ...], at: Cut) -> list[Statement]:
    """One page of the statements `ids` selects, loading only what a list row shows.

    The page is cut from the ids alone (an index scan for work lists); only its rows are then
    joined to their unit and current revision, in one query.
    """
    chosen = paging.window(ids.order_by(*order), at).subquery()
    query = (
        select(Statement)
        .join(chosen, Statement.id == chosen.c.id)
        .options(
            load_only(
                Statement.unit_id, Statement.priority, Statement.priority_rank, Statement.status,
                Statement.pending_stage, Statement.current_revision_id, Statement.submitted_at, Statement.updated_at,
            ),
            joinedload(Statement.unit).load_only(Unit.name),
            joinedload(Statement.current_revision).load_only(Revision.title, Revision.number).raiseload("*"),
            raiseload("*"),
        )
        .order_by(*order)
    )
    return list(db.session.scalars(query).unique())


@dataclass
class Worklist:
    """A page of one work list and how many items it has in all."""

    kind: Kind
    items: list[Statement]
    total: int


def fetch(user: User, kind: Kind, at: Cut = FIRST) -> Worklist:
    """One page of the list `kind` for `user`: two queries, whatever the page size (none past the end)."""
    ids = select(Statement.id).where(kind.where(user))
    total = paging.count(ids)
    return Worklist(kind, page(ids, WORK_ORDER, at) if total > at.offset else [], total)


def for_user(user: User) -> list[Worklist]:
    """Every work list of the user, each cut at the first page (`FIRST`)."""
    return [fetch(user, kind) for kind in kinds_for(user)]


def search(user: User, *, status: str | None, unit_id: int | None, q: str) -> Select[tuple[int]]:
    """The ids for the statement list: what the user may see (as the API), filtered."""
    ids = select(Statement.id)
    if not user.sees_all_units:
        ids = ids.where(Statement.unit_id == user.unit_id)
    if status:
        ids = ids.where(Statement.status == status)
    if unit_id is not None:
        ids = ids.where(Statement.unit_id == unit_id)
    if q:
        like = f"%{q.replace('%', '').replace('_', '')}%"
        ids = ids.join(Statement.current_revision).where(
            or_(Revision.title.ilike(like), Revision.body.ilike(like), Revision.digest.ilike(like))
        )
    return ids
