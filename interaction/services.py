"""One function per step of an interaction: check rights, apply the step through the door, append the event,
commit (interface §15). The JSON API, the web page and WeChat's callback only call these."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from app import audit, notifications, register
from app.door import transition
from app.errors import Invalid, NotFound, WrongState, WrongUnit
from app.extensions import db
from app.models import Unit, User
from app.notifications import _m
from app.paging import Cut
from app.timeutil import iso, utcnow
from app.tx import begin_write
from app.validation import parse
from interaction import clock, rules
from interaction.models import Channel, EventKind, Interaction, InteractionEvent, InteractionStatus
from interaction.rules import INTERACTION_FLOW, InteractionStep
from interaction.schemas import MAX_DUE, TEXT_MAX, AssignIn, InteractionIn, InteractionQuery, clean_text

#: What a case made from an interaction gives as its source (interface §8's sources).
CASE_SOURCE = {Channel.WECHAT_COMMENT: "wechat", Channel.WECHAT_MESSAGE: "wechat",
               Channel.PORTAL_MESSAGE: "portal", Channel.HOTLINE: "hotline"}


def follower_key(openid: str) -> str:
    """The only trace of a follower's openid kept: HMAC-SHA256 keyed with the app's SECRET_KEY (interface §15)."""
    secret = str(current_app.config["SECRET_KEY"]).encode()
    return hmac.new(secret, b"interaction-openid:" + openid.encode(), hashlib.sha256).hexdigest()


def get(actor: User, interaction_id: int, *, for_update: bool = False) -> Interaction:
    """The interaction if it exists (404) and the actor may see it (403 wrong_unit); `for_update` locks it
    first and reads it afresh (after `begin_write()`)."""
    if for_update:
        db.session.execute(select(Interaction.id).where(Interaction.id == interaction_id).with_for_update())
        item = db.session.scalar(select(Interaction).where(Interaction.id == interaction_id)
                                 .execution_options(populate_existing=True))
    else:
        item = db.session.get(Interaction, interaction_id)
    if item is None:
        raise NotFound(_("互动不存在"))
    if not rules.can_see(actor, item):
        raise WrongUnit(_("只能查看本单位的互动"))
    return item


def _event(item: Interaction, kind: EventKind, actor: User | None, data: dict[str, Any],
           at: datetime | None = None) -> None:
    db.session.add(InteractionEvent(interaction_id=item.id, kind=kind.value, actor_id=actor.id if actor else None,
                                    at=at or utcnow(), data=data))


def _unit(code: str, field: str = "unit") -> Unit:
    unit = Unit.by_code(code)
    if unit is None:
        raise Invalid(_("输入有误"), fields={field: _("未知单位：%(code)s", code=code)})
    return unit


def _notify_assigned(item: Interaction, unit: Unit) -> None:
    notifications.notify(
        "interaction_assigned", f"interaction:{item.id}:assigned:{unit.id}",
        register.people(unit, "drafters", "leaders"),
        subject=_m("【互动待答复】#%(id)d 群众留言已分派给本单位", id=item.id),
        body=_m("留言：%(text)s", text=item.text[:40]), url=f"/interactions/{item.id}")


def _assign(actor: User | None, item: Interaction, unit: Unit) -> None:
    before = item.unit.code if item.unit else None
    transition(item, INTERACTION_FLOW, InteractionStep.ASSIGN, actor=actor, values={"unit_id": unit.id},
               before={"status": item.status, "unit": before}, after={"status": "assigned", "unit": unit.code})
    item.unit = unit
    _event(item, EventKind.ASSIGNED, actor, {"unit": unit.code, "from": before})
    _notify_assigned(item, unit)


@dataclass
class Intake:
    interaction: Interaction
    created: bool


def _existing(channel: str, external_id: str) -> Interaction | None:
    return db.session.scalar(select(Interaction).where(Interaction.channel == channel,
                                                       Interaction.external_id == external_id))


def _receive(item: Interaction, actor: User | None, unit: Unit | None, given_due: datetime | None) -> None:
    """Add a message just received, its clock, its audit and its first event; assign it when a unit is named."""
    clock.start(item, given_due)
    db.session.add(item)
    db.session.flush()
    audit.record(actor, "interaction.create", item, after={"channel": item.channel, "external_id": item.external_id,
                                                            "status": item.status})
    _event(item, EventKind.RECEIVED, actor, {"channel": item.channel, "received_at": iso(item.received_at)},
           at=item.created_at)
    if unit is not None:
        _assign(actor, item, unit)


def intake(actor: User, data: Any) -> Intake:
    """`POST /interactions`: 201 a new interaction, 200 the one this channel + external_id already made."""
    begin_write()
    rules.may_post(actor)
    values = parse(InteractionIn, data)
    if values.due_at is not None and not values.received_at < values.due_at <= values.received_at + MAX_DUE:
        raise Invalid(_("输入有误"), fields={"due_at": _("应晚于 received_at，且在一年之内")})
    unit = _unit(values.unit) if values.unit else None
    found = _existing(values.channel, values.external_id)
    if found is not None:
        return Intake(found, created=False)
    item = Interaction(channel=values.channel, external_id=values.external_id, author=values.author or None,
                       text=values.text, received_at=values.received_at, status=InteractionStatus.NEW,
                       created_by=actor.id, created_at=utcnow())
    try:
        _receive(item, actor, unit, values.due_at)
        db.session.commit()
    except IntegrityError:  # the same message posted twice at once: the first insert won
        db.session.rollback()
        found = _existing(values.channel, values.external_id)
        if found is None:
            raise
        return Intake(found, created=False)
    return Intake(item, created=True)


def receive_follower_message(openid: str, msg_id: str, text: str, create_time: datetime,
                             nickname: str | None = None) -> bool:
    """A follower's text message pushed to /wechat/callback (`MsgType=text`; wechat registers its callback to
    call this): kept once per `MsgId` (a unique index decides, whatever the number of pushes and workers),
    `received_at` = its CreateTime, for the office to assign. True when it was new."""
    text = clean_text(text)[:TEXT_MAX]
    if not text or not msg_id:
        return False
    begin_write()
    if _existing(Channel.WECHAT_MESSAGE, msg_id) is not None:
        db.session.rollback()
        return False
    item = Interaction(channel=Channel.WECHAT_MESSAGE, external_id=msg_id, author=(nickname or "")[:64] or None,
                       author_key=follower_key(openid), text=text, received_at=create_time,
                       status=InteractionStatus.NEW, created_at=utcnow())
    try:
        _receive(item, None, None, None)
        notifications.notify(
            "interaction_assigned", f"interaction:{item.id}:new", register.office_people(),
            subject=_m("【新互动】#%(id)d 粉丝留言待分派", id=item.id),
            body=_m("留言：%(text)s", text=item.text[:40]), url=f"/interactions/{item.id}")
        db.session.commit()
    except IntegrityError:  # a repeated push racing the first
        db.session.rollback()
        return False
    return True


def assign(actor: User, interaction_id: int, data: Any) -> Interaction:
    """分派: the office hands a message to a unit (again, while no reply is drafted)."""
    begin_write()
    item = get(actor, interaction_id, for_update=True)
    rules.may_assign(actor)
    values = parse(AssignIn, data)
    unit = _unit(values.unit)
    INTERACTION_FLOW.target(item.status, InteractionStep.ASSIGN)  # 409 before anything is written
    if item.unit_id == unit.id:
        raise WrongState(_("已分派给该单位"))
    _assign(actor, item, unit)
    db.session.commit()
    return item


def escalate(actor: User, interaction_id: int) -> Interaction:
    """转为舆情: a case made from the message (its source from the channel) and linked both ways."""
    from cases import services as cases

    begin_write()
    item = get(actor, interaction_id, for_update=True)
    rules.may_escalate(actor, item)
    INTERACTION_FLOW.target(item.status, InteractionStep.LINK_CASE)
    if item.case_id is not None:
        raise WrongState(_("已转为舆情 #%(id)d", id=item.case_id))
    lead = item.unit or actor.unit
    title = " ".join(item.text.split())
    data = {"title": title[:60] + ("…" if len(title) > 60 else ""), "summary": item.text,
            "source": CASE_SOURCE[Channel(item.channel)], "discovered_at": iso(item.received_at),
            "units": [lead.code]}

    def link(case: Any) -> None:
        transition(item, INTERACTION_FLOW, InteractionStep.LINK_CASE, actor=actor, values={"case_id": case.id},
                   after={"status": item.status, "case_id": case.id})
        _event(item, EventKind.CASE_LINKED, actor, {"case_id": case.id})

    cases.intake(actor, data, before_commit=link)
    return item


def page(actor: User, query: InteractionQuery, cut: Cut) -> tuple[list[Interaction], int]:
    """The desk's list: open ones by time left (nearest due first), then the rest newest first."""
    conditions: list[Any] = []
    if not actor.sees_all_units:
        conditions.append(Interaction.unit_id == actor.unit_id)
    if query.unit:
        unit = Unit.by_code(query.unit)
        if unit is None:
            return [], 0
        conditions.append(Interaction.unit_id == unit.id)
    if query.status is not None:
        conditions.append(Interaction.status == query.status.value)
    if query.channel is not None:
        conditions.append(Interaction.channel == query.channel.value)
    open_states = [s.value for s in (InteractionStatus.NEW, InteractionStatus.ASSIGNED,
                                     InteractionStatus.REPLY_PENDING)]
    if query.overdue:
        conditions += [Interaction.status.in_(open_states), Interaction.due_at <= utcnow()]
    total = db.session.scalar(select(func.count()).select_from(Interaction).where(*conditions)) or 0
    is_open = Interaction.status.in_(open_states)
    rows = db.session.scalars(
        select(Interaction).where(*conditions)
        .options(selectinload(Interaction.events), selectinload(Interaction.unit))
        .order_by(case((is_open, 0), else_=1), Interaction.due_at, Interaction.id)
        .offset(cut.offset).limit(cut.per_page)
    ).all()
    return list(rows), total
