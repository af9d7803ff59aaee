"""代理 (stand-ins): an expert or leader who is away names a colleague of the same unit to act for a period.

The stand-in sees the principal's role's work in their work lists and decides in their own name, recorded
"on behalf of" the principal (shown as 代 X). Separation of duties is judged on the person who acts: a
stand-in never reviews a text they wrote or approves a text twice. Every grant and revocation is audited.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from pydantic import Field, StringConstraints
from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.orm import aliased

from app import audit
from app.errors import Forbidden, Invalid, NotFound, WrongRole
from app.extensions import db
from app.models import Role, User
from app.notifications import notify
from app.openapi import Out
from app.timeutil import format_local, iso, utcnow
from app.tx import begin_write
from app.validation import Body, Moment, Msg, parse
from review import labels
from review.models import Delegation

#: The roles whose work a stand-in can take over: review and approval (drafting needs no stand-in).
ROLES = (Role.EXPERT, Role.LEADER)
#: The longest absence one grant covers; a longer one is a change of roles for the admin.
MAX_DAYS = 92
ROLE_WORK = {Role.EXPERT: _l("专家审核"), Role.LEADER: _l("领导审批")}
#: Notifications are stored once for every reader, in the institution's language (as review/notices.py).
_WORK_WORD = {Role.EXPERT: "专家审核", Role.LEADER: "领导审批"}


class DelegationIn(Body):
    """`POST /delegations`: name a stand-in of your unit for one of your review roles, for a period."""

    deputy: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=64),
                      Field(description="username of the stand-in (same unit)")]
    role: Annotated[Literal["expert", "leader"], Msg(lambda: _("应为 expert 或 leader"))]
    starts_at: Annotated[Moment | None, Field(description="default: now")] = None
    ends_at: Moment
    note: Annotated[str | None, Field(max_length=500)] = None
    principal: Annotated[str | None, Field(max_length=64,
                                           description="admin only: whose stand-in (default: the caller)")] = None


class DelegationOut(Out):
    """A stand-in grant (代理)."""

    id: int
    principal: str
    deputy: str
    role: str
    starts_at: datetime
    ends_at: datetime
    note: str
    active: bool
    revoked_at: datetime | None


class DelegationList(Out):
    """The caller's grants: those they gave and those they hold."""

    given: list[DelegationOut]
    received: list[DelegationOut]


def _current(now: datetime) -> ColumnElement[bool]:
    return and_(Delegation.revoked_at.is_(None), Delegation.starts_at <= now, Delegation.ends_at > now)


def principals(user: User, role: Role, *, now: datetime | None = None) -> list[User]:
    """Whom `user` stands in for in `role` right now: active principals of their own unit who hold the role."""
    principal = aliased(User)
    rows = db.session.scalars(
        select(principal)
        .join(Delegation, Delegation.principal_id == principal.id)
        .where(Delegation.deputy_id == user.id, Delegation.role == role.value, _current(now or utcnow()),
               principal.unit_id == user.unit_id, principal.active.is_(True))
        .order_by(Delegation.starts_at, Delegation.id)
    )
    return [p for p in dict.fromkeys(rows) if p.has_role(role)]


def delegated_roles(user: User) -> set[Role]:
    """The review roles `user` holds today through a stand-in grant (one indexed query)."""
    now = utcnow()
    found = db.session.scalars(
        select(Delegation.role).where(Delegation.deputy_id == user.id, _current(now)).distinct()
    )
    return {Role(r) for r in found if r in {x.value for x in ROLES}} if user.active else set()


def may_act(user: User, role: Role) -> bool:
    """The user holds `role`, or stands in for someone who does."""
    return user.has_role(role) or bool(principals(user, role))


def require_role(user: User, *roles: Role) -> None:
    """403 wrong_role unless the user holds (or stands in for) one of `roles`."""
    if any(may_act(user, role) for role in roles):
        return
    raise WrongRole(_("需要以下角色之一：%(roles)s", roles="、".join(labels.ROLE[r] for r in roles)))


def acting_for(user: User, role: Role, requested: str | None = None) -> User | None:
    """On whose behalf `user` acts in `role`: None in their own right, else the principal.

    Someone who holds the role acts in their own right unless they name a principal (`on_behalf_of`);
    someone who holds it only as a stand-in acts for their principal (the first, if several).
    """
    if not requested and user.has_role(role):
        return None  # in their own right: no query (the common case, on every decision)
    covered = principals(user, role)
    if requested:
        chosen = next((p for p in covered if p.username == requested), None)
        if chosen is None:
            raise Invalid(_("输入有误"),
                          fields={"on_behalf_of": _("您目前不是该人员的代理人（代理未生效、已过期或已撤销）")})
        return chosen
    if covered:
        return covered[0]
    raise WrongRole(_("需要以下角色之一：%(roles)s", roles=labels.ROLE[role]))


def _any_current(role: Role, now: datetime) -> bool:
    """Is any grant in `role` in force? One plain query over a small table; most of the time none is, and the
    joined queries over aliased people below cost a request several milliseconds of Python each."""
    return db.session.scalar(
        select(Delegation.id).where(Delegation.role == role.value, _current(now)).limit(1)) is not None


def deputies_of(unit_id: int, role: Role) -> list[User]:
    """Active stand-ins of `role` holders in a unit (they are told of work, as the holders are)."""
    if not _any_current(role, utcnow()):
        return []
    deputy = aliased(User)
    principal = aliased(User)
    return list(db.session.scalars(
        select(deputy).join(Delegation, Delegation.deputy_id == deputy.id)
        .join(principal, principal.id == Delegation.principal_id)
        .where(Delegation.role == role.value, _current(utcnow()), principal.unit_id == unit_id,
               deputy.unit_id == unit_id, deputy.active.is_(True)).distinct()
    ))


def deputies_for(people: list[User], role: Role) -> list[User]:
    """The active stand-ins of these particular people in `role` (a requested reviewer who is away)."""
    if not people or not _any_current(role, utcnow()):
        return []
    deputy = aliased(User)
    return list(db.session.scalars(
        select(deputy).join(Delegation, Delegation.deputy_id == deputy.id)
        .where(Delegation.principal_id.in_([p.id for p in people]), Delegation.role == role.value,
               _current(utcnow()), deputy.active.is_(True)).distinct()
    ))


def _snapshot(d: Delegation) -> dict[str, Any]:
    return {"principal": d.principal.username, "deputy": d.deputy.username, "role": d.role,
            "starts_at": iso(d.starts_at), "ends_at": iso(d.ends_at), "revoked_at": iso(d.revoked_at)}


def create(actor: User, data: Mapping[str, Any] | Any) -> Delegation:
    """Grant a stand-in (the principal themselves, or an admin for them); the stand-in is told."""
    values = parse(DelegationIn, data)
    begin_write()
    principal = actor
    if values.principal and values.principal != actor.username:
        if not actor.has_role(Role.ADMIN):
            raise Forbidden(_("只能为自己指定代理人"))
        found = User.by_username(values.principal)
        if found is None:
            raise Invalid(_("输入有误"), fields={"principal": _("没有这个用户")})
        principal = found
    role = Role(values.role)
    fields: dict[str, str] = {}
    if not principal.has_role(role):
        fields["role"] = _("只能委托自己担任的审核角色")
    deputy = User.by_username(values.deputy)
    if deputy is None or not deputy.active:
        fields["deputy"] = _("没有这个用户，或该用户已停用")
    elif deputy.id == principal.id:
        fields["deputy"] = _("不能指定自己为代理人")
    elif deputy.unit_id != principal.unit_id:
        fields["deputy"] = _("代理人须为本单位人员")
    now = utcnow()
    starts = values.starts_at or now
    if values.ends_at <= now:
        fields["ends_at"] = _("结束时间已过")
    elif values.ends_at <= starts:
        fields["ends_at"] = _("结束时间须晚于开始时间")
    elif values.ends_at - starts > timedelta(days=MAX_DAYS):
        fields["ends_at"] = _("一次代理最长 %(n)d 天", n=MAX_DAYS)
    if not fields:
        overlapping = db.session.scalar(select(Delegation.id).where(
            Delegation.principal_id == principal.id, Delegation.role == role.value,
            Delegation.revoked_at.is_(None), Delegation.starts_at < values.ends_at, Delegation.ends_at > starts,
        ).limit(1))
        if overlapping is not None:
            fields["starts_at"] = _("这段时间已有代理人，请先撤销原来的代理")
    if fields:
        raise Invalid(_("输入有误"), fields=fields)
    assert deputy is not None
    grant = Delegation(principal_id=principal.id, deputy_id=deputy.id, role=role.value, starts_at=starts,
                       ends_at=values.ends_at, note=(values.note or "").strip(), created_by_id=actor.id)
    grant.principal, grant.deputy = principal, deputy
    db.session.add(grant)
    db.session.flush()
    audit.record(actor, "delegation.create", grant, after=_snapshot(grant))
    notify("delegation", f"delegation:{grant.id}", [deputy],
           subject=f"{principal.name} 请您代理{_WORK_WORD[role]}",
           body=(f"{format_local(starts)} 至 {format_local(values.ends_at)}，{principal.name} 的{_WORK_WORD[role]}"
                 f"工作由您代理；您以本人名义办理，记录为“代 {principal.name}”。"),
           url="/delegations")
    db.session.commit()
    return grant


def revoke(actor: User, delegation_id: int) -> Delegation:
    """End a grant now (the principal, the stand-in, or an admin); the record stays."""
    begin_write()
    grant = db.session.get(Delegation, delegation_id)
    if grant is None or not (actor.id in (grant.principal_id, grant.deputy_id) or actor.has_role(Role.ADMIN)):
        raise NotFound(_("没有这项代理"))
    if grant.revoked_at is not None:
        return grant
    before = _snapshot(grant)
    grant.revoked_at, grant.revoked_by_id = utcnow(), actor.id
    audit.record(actor, "delegation.revoke", grant, before=before, after=_snapshot(grant))
    db.session.commit()
    return grant


def mine(user: User) -> tuple[list[Delegation], list[Delegation]]:
    """The grants the user gave and those they hold, newest first (ended ones included, for the record)."""
    given = db.session.scalars(select(Delegation).where(Delegation.principal_id == user.id)
                               .order_by(Delegation.ends_at.desc(), Delegation.id.desc()).limit(50))
    received = db.session.scalars(select(Delegation).where(Delegation.deputy_id == user.id)
                                  .order_by(Delegation.ends_at.desc(), Delegation.id.desc()).limit(50))
    return list(given), list(received)


def is_active(d: Delegation, now: datetime | None = None) -> bool:
    now = now or utcnow()
    return d.revoked_at is None and d.starts_at <= now < d.ends_at


def delegation_json(d: Delegation) -> dict[str, Any]:
    return {"id": d.id, "principal": d.principal.username, "deputy": d.deputy.username, "role": d.role,
            "starts_at": iso(d.starts_at), "ends_at": iso(d.ends_at), "note": d.note, "active": is_active(d),
            "revoked_at": iso(d.revoked_at)}


def colleagues(user: User) -> list[User]:
    """Who may stand in for `user`: the active people of their unit, but themselves."""
    return list(db.session.scalars(select(User).where(User.unit_id == user.unit_id, User.active.is_(True),
                                                      User.id != user.id).order_by(User.display_name, User.username)))
