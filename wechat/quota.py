"""The mass-send quota as a resource (interface §14): periods, allocation by priority, waiting statements.

Every decision takes the period's row lock first (`_period_locked`), so two workers at midnight, a
statement going live and the periodic step all decide one after the other on what the one before left:
one mass send per slot, never two, whatever Redis forgot.

- A `mass_send` statement going live with a slot left takes it at once, together with any statements
  still waiting from an earlier period (up to 8, by priority then approval time; the first is the headline).
- With no slot, `urgent` and `high` go out at once as a free publication (`NoSlot`: the channel publishes
  and office is told what spent the quota); `normal` and `low` wait (`Waiting`) for the next period, whose
  opening the worker's periodic step (`open_period`) or their own next attempt notices, whichever is first.
"""

from __future__ import annotations

import json
import logging
import re
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import current_app
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app.door import transition
from app.extensions import db, get_redis
from app.models import User
from app.notifications import notify
from app.notifications.texts import _m
from app.register import people
from app.timeutil import SHANGHAI, utcnow
from app.tx import begin_write
from publishing import outbox
from publishing.models import Action, Delivery, DeliveryState, Release
from review.models import Priority, Revision, Statement
from wechat.lifecycle import MASS_ITEM, MASS_SEND, ItemEvent, MassEvent
from wechat.models import ItemState, MassItem, MassPeriod, MassSend, MassState

log = logging.getLogger(__name__)

ACCOUNT_LIMITS = {"subscription": 1, "service": 4}
#: Articles one mass send may carry.
MAX_ARTICLES = 8
#: Mass sends that hold (or held) the period's slot.
SPENDING = (MassState.RESERVED, MassState.SUBMITTING, MassState.SENDING, MassState.SENT)
#: The order waiting statements go in: most urgent first, then by approval time.
QUEUE_ORDER = (MassItem.priority_rank, MassItem.approved_at, MassItem.id)
#: The `mid` of a mass-sent article's URL: its msg_data_id.
MID = re.compile(r"[?&]mid=(\d+)")


def mid_of(url: str) -> str | None:
    """The msg_data_id in a mass-sent article's URL (after a 45065 answer it is known only from there)."""
    found = MID.search(url)
    return found.group(1) if found else None


def account_type() -> str:
    value = current_app.config.get("WECHAT_ACCOUNT_TYPE") or "subscription"
    if value not in ACCOUNT_LIMITS:
        raise ValueError(f"WECHAT_ACCOUNT_TYPE must be subscription or service, not {value!r}")
    return str(value)


def period_limit() -> int:
    return ACCOUNT_LIMITS[account_type()]


def period_bounds(at: datetime) -> tuple[datetime, datetime]:
    """The quota period holding `at`, as aware UTC bounds: a Shanghai day (subscription), a Shanghai
    calendar month (service), or a window of WECHAT_MASS_PERIOD_SECONDS from the epoch (tests, demos)."""
    seconds = current_app.config.get("WECHAT_MASS_PERIOD_SECONDS")
    if seconds:
        stamp = int(at.timestamp())
        begin = datetime.fromtimestamp(stamp - stamp % int(seconds), UTC)
        return begin, begin + timedelta(seconds=int(seconds))
    local = at.astimezone(SHANGHAI)
    if account_type() == "service":
        first = local.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        following = (first + timedelta(days=32)).replace(day=1)
    else:
        first = local.replace(hour=0, minute=0, second=0, microsecond=0)
        following = first + timedelta(days=1)  # Shanghai keeps UTC+8 all year: a day is 24 hours
    return first.astimezone(UTC), following.astimezone(UTC)


def _period_locked(now: datetime) -> MassPeriod:
    """The current period's row, made if new, and locked for this transaction (the caller began writing)."""
    start, end = period_bounds(now)
    insert = pg_insert if db.session.get_bind().dialect.name == "postgresql" else sqlite_insert
    db.session.execute(insert(MassPeriod).values(start=start, end=end, used=0, limit=period_limit())
                       .on_conflict_do_nothing(index_elements=["start"]))
    period = db.session.scalar(select(MassPeriod).where(MassPeriod.start == start).with_for_update()
                               .execution_options(populate_existing=True))
    assert period is not None
    return period


# --- allocation ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Bundled:
    """The statement is article `article_idx` of mass send `mass_send_id`."""

    mass_send_id: int
    article_idx: int


@dataclass(frozen=True)
class Waiting:
    """No slot: wait for the period starting at `until`."""

    until: datetime


@dataclass(frozen=True)
class NoSlot:
    """No slot and too urgent to wait: publish freely now."""


@dataclass(frozen=True)
class Switched:
    """A leader or office switched it to a free publication while it waited."""


Allocation = Bundled | Waiting | NoSlot | Switched


def _queue(limit: int) -> list[MassItem]:
    return list(db.session.scalars(
        select(MassItem).where(MassItem.state == ItemState.WAITING)
        .order_by(*QUEUE_ORDER).limit(limit).with_for_update()
        .execution_options(populate_existing=True)
    ))


def _bundle(period: MassPeriod, members: list[MassItem]) -> MassSend:
    """Take the period's slot for these waiting items, in this order; their workers are woken after commit."""
    mass = MassSend(period_start=period.start, state=MassState.RESERVED)
    db.session.add(mass)
    db.session.flush()
    period.used += 1
    for idx, item in enumerate(members, 1):
        transition(item, MASS_ITEM, ItemEvent.BUNDLED, actor=None, values={"mass_send_id": mass.id, "article_idx": idx},
                   after={"state": ItemState.BUNDLED.value, "mass_send_id": mass.id, "article_idx": idx})
    outbox.ready_now([m.delivery_id for m in members])
    log.info("mass send %s takes the slot of %s for %d article(s)", mass.id, period.start, len(members))
    return mass


def _item_locked(delivery_id: int) -> MassItem | None:
    return db.session.scalar(select(MassItem).where(MassItem.delivery_id == delivery_id).with_for_update()
                             .execution_options(populate_existing=True))


def allocate(delivery_id: int, statement_id: int, priority: str, approved_at: datetime) -> Allocation:
    """Decide what a live `mass_send` delivery does now (its claimant asks; see the module docstring)."""
    begin_write()
    now = utcnow()
    period = _period_locked(now)
    item = _item_locked(delivery_id)
    if item is not None and item.state == ItemState.BUNDLED:
        mass = db.session.get(MassSend, item.mass_send_id)
        if mass is not None and mass.state not in (MassState.NO_QUOTA, MassState.FAILED, MassState.CANCELLED):
            db.session.commit()
            return Bundled(mass.id, item.article_idx or 1)
        # its mass send found no quota, failed (a retry by office) or dissolved: it queues again
        transition(item, MASS_ITEM, ItemEvent.REQUEUED, actor=None, values={"mass_send_id": None, "article_idx": None})
    elif item is not None and item.state == ItemState.SWITCHED:
        db.session.commit()
        return Switched()
    elif item is not None and item.state == ItemState.WITHDRAWN:
        db.session.rollback()
        raise RuntimeError(f"delivery {delivery_id}: a withdrawn mass send cannot be published")
    if period.used < period.limit:
        if item is None:
            item = _new_item(delivery_id, statement_id, priority, approved_at)
        members = _queue(MAX_ARTICLES)
        if any(m.id == item.id for m in members):
            mass = _bundle(period, members)
            idx = next(m.article_idx for m in members if m.id == item.id)
            db.session.commit()
            return Bundled(mass.id, idx or 1)
        _bundle(period, members)  # eight more urgent ones fill it: this one waits for the next
        db.session.commit()
        return Waiting(period.end)
    if priority in (Priority.URGENT, Priority.HIGH):
        db.session.commit()
        return NoSlot()
    if item is None:
        _new_item(delivery_id, statement_id, priority, approved_at)
    db.session.commit()
    return Waiting(period.end)


def _new_item(delivery_id: int, statement_id: int, priority: str, approved_at: datetime) -> MassItem:
    item = MassItem(delivery_id=delivery_id, statement_id=statement_id, state=ItemState.WAITING,
                    priority_rank=Priority(priority).rank, approved_at=approved_at, queued_at=utcnow())
    db.session.add(item)
    db.session.flush()
    return item


def open_period() -> int | None:
    """The worker's periodic step: a period with a slot and statements waiting sends them (one mass send).
    Returns the new mass send's id, or None."""
    if db.session.scalar(select(func.count()).select_from(MassItem).where(MassItem.state == ItemState.WAITING)) == 0:
        db.session.rollback()
        return None
    begin_write()
    period = _period_locked(utcnow())
    if period.used >= period.limit:
        db.session.commit()
        return None
    members = _queue(MAX_ARTICLES)
    if not members:
        db.session.commit()
        return None
    mass = _bundle(period, members)
    mass_id = mass.id
    db.session.commit()
    return mass_id


def spenders(period_start: datetime) -> list[dict[str, Any]]:
    """The statements whose mass sends hold the period's quota: id and title, in sending order."""
    rows = db.session.execute(
        select(MassItem.statement_id, Revision.title)
        .join(MassSend, MassSend.id == MassItem.mass_send_id)
        .join(Release, Release.statement_id == MassItem.statement_id)
        .join(Revision, Revision.id == Release.revision_id)
        .where(MassSend.period_start == period_start, MassSend.state.in_(SPENDING),
               MassItem.state == ItemState.BUNDLED)
        .order_by(MassSend.id, MassItem.article_idx)
    ).all()
    return [{"id": r.statement_id, "title": r.title} for r in rows]


def tell_office_quota_spent(statement_id: int, title: str, unit_name: str) -> None:
    """`wechat_quota_spent` (interface §14): an urgent statement went out as a free publication; name what
    spent the quota. Its own transaction; once per statement."""
    begin_write()
    period = _period_locked(utcnow())
    spent = spenders(period.start)
    if spent:
        names = "；".join(f"#{s['id']}「{s['title']}」" for s in spent)
    else:
        names = _("在微信公众平台上直接群发（不经本系统）")
    st = db.session.get(Statement, statement_id)
    assert st is not None
    notify("wechat_quota_spent", f"wechat_quota_spent:{statement_id}", people(st.unit, "office"),
           subject=_m("今日群发名额已用完：「%(title)s」改为发布（不推送给粉丝）", title=title),
           body=_m("%(unit)s的「%(title)s」为紧急/重要回应，本期群发名额已被占用，已立即以发布方式发出，"
                   "粉丝不会收到推送。占用名额的群发：%(names)s。如需推送，请在下一期名额开放后另行群发。",
                   unit=unit_name, title=title, names=names),
           url=f"/statements/{statement_id}")
    db.session.commit()


# --- the mass send's steps, each one transaction ----------------------------------------------------


def get(mass_send_id: int) -> MassSend:
    mass = db.session.scalar(select(MassSend).where(MassSend.id == mass_send_id)
                             .execution_options(populate_existing=True))
    assert mass is not None
    db.session.rollback()
    return mass


def members(mass_send_id: int) -> list[tuple[int, int, str]]:
    """The mass send's articles in order: (article_idx, delivery id, delivery key)."""
    rows = db.session.execute(
        select(MassItem.article_idx, MassItem.delivery_id, Delivery.delivery_key)
        .join(Delivery, Delivery.id == MassItem.delivery_id)
        .where(MassItem.mass_send_id == mass_send_id, MassItem.state == ItemState.BUNDLED)
        .order_by(MassItem.article_idx)
    ).all()
    db.session.rollback()
    return [(r.article_idx, r.delivery_id, r.delivery_key) for r in rows]


def member_drafts(delivery_ids: list[int]) -> dict[int, str | None]:
    """Each member's own staged draft (its article, rendered and checked at staging)."""
    rows = db.session.execute(select(Delivery.id, Delivery.data).where(Delivery.id.in_(delivery_ids))).all()
    db.session.rollback()
    return {r.id: (r.data or {}).get("media_id") for r in rows}


def drive(mass_send_id: int) -> str | None:
    """Take the mass send for one step: a lease as long as a delivery's claim (DELIVERY_LEASE_SECONDS), so two
    members' workers do not call WeChat at once, and a worker that died holding it is replaced as soon as its
    claim would be. Should two overlap all the same, the clientmsgid keeps it one push."""
    token = str(uuid.uuid4())
    now = utcnow()
    begin_write()
    taken = db.session.execute(
        update(MassSend).where(MassSend.id == mass_send_id,
                               (MassSend.driver_until.is_(None)) | (MassSend.driver_until < now))
        .values(driver_token=token, driver_until=now + outbox.lease())
    ).rowcount
    db.session.commit()
    return token if taken == 1 else None


def let_go(mass_send_id: int, token: str) -> None:
    begin_write()
    db.session.execute(update(MassSend).where(MassSend.id == mass_send_id, MassSend.driver_token == token)
                       .values(driver_token=None, driver_until=None))
    db.session.commit()


def _locked(mass_send_id: int) -> MassSend:
    mass = db.session.scalar(select(MassSend).where(MassSend.id == mass_send_id).with_for_update()
                             .execution_options(populate_existing=True))
    assert mass is not None
    return mass


def _refund(period_start: datetime) -> None:
    """Give a mass send's slot back to the period that counted it (it never reached WeChat's count)."""
    db.session.execute(update(MassPeriod).where(MassPeriod.start == period_start, MassPeriod.used > 0)
                       .values(used=MassPeriod.used - 1))


def _step(mass_send_id: int, event: MassEvent, values: dict[str, Any], *, wake: bool = False,
          period_used: int | None = None, refund: bool = False) -> MassSend | None:
    """One step of the mass send in its own transaction; None when it had already moved on."""
    begin_write()
    # the period row first, as every decision takes it (the refund's UPDATE locks the same row)
    period = _period_locked(utcnow()) if (period_used is not None or refund) else None
    mass = _locked(mass_send_id)
    if not MASS_SEND.allows(mass.state, event):
        db.session.rollback()
        return None
    transition(mass, MASS_SEND, event, actor=None, values=values,
               after={"state": MASS_SEND.target(mass.state, event),
                      **{k: v for k, v in values.items() if k in ("msg_id", "error", "clientmsgid")}})
    if refund:
        _refund(mass.period_start)
    elif period is not None and period_used is not None and mass.period_start == period.start:
        period.used = period_used
        period.spent_elsewhere_at = utcnow()
    if wake:
        outbox.ready_now([m.delivery_id for m in db.session.scalars(
            select(MassItem).where(MassItem.mass_send_id == mass_send_id))])
    db.session.commit()
    return mass


def submitting(mass_send_id: int, clientmsgid: str, media_id: str) -> MassSend | None:
    return _step(mass_send_id, MassEvent.SUBMITTING,
                 {"clientmsgid": clientmsgid, "media_id": media_id, "submitted_at": utcnow()})


def accepted(mass_send_id: int, msg_id: str, msg_data_id: str | None) -> MassSend | None:
    """WeChat took it (msg_id); an outcome that arrived before we knew the msg_id is applied now."""
    mass = _step(mass_send_id, MassEvent.ACCEPTED, {"msg_id": msg_id, "msg_data_id": msg_data_id}, wake=True)
    stray = _stray_event(msg_id)
    if mass is not None and stray is not None:
        first = stray["urls"].get("1")
        record(msg_id, status=stray["status"], sent_count=stray["sent_count"], total_count=stray["total_count"],
               urls=stray["urls"], msg_data_id=mid_of(first) if first else None)
    return mass


#: MASSSENDJOBFINISH events for a msg_id we did not know yet, kept this long.
STRAY_TTL = 7 * 86400


def keep_stray_event(msg_id: str, event: dict[str, Any]) -> None:
    """The outcome of a mass send whose sender died before recording its msg_id: the retry's 45065 tells the
    msg_id, and `accepted` applies this then (WeChat pushes the event once)."""
    get_redis().set(f"huiying:wechat:mass-event:{msg_id}", json.dumps(event), ex=STRAY_TTL)


def _stray_event(msg_id: str) -> dict[str, Any] | None:
    try:
        raw = get_redis().get(f"huiying:wechat:mass-event:{msg_id}")
    except RedisError:
        return None
    return json.loads(raw) if raw else None


def finished(mass_send_id: int) -> MassSend | None:
    return _step(mass_send_id, MassEvent.FINISHED, {"finished_at": utcnow()}, wake=True)


def failed(mass_send_id: int, reason: str, *, refund: bool) -> MassSend | None:
    """WeChat refused it (`refund`: it never counted) or the send failed; every member fails with `reason`."""
    return _step(mass_send_id, MassEvent.FAILED, {"error": reason[:1000], "finished_at": utcnow()},
                 wake=True, refund=refund)


def no_quota(mass_send_id: int) -> MassSend | None:
    """WeChat answered 45028: the period is spent (maybe from the WeChat console); its members queue again."""
    return _step(mass_send_id, MassEvent.NO_QUOTA, {"error": "45028", "finished_at": utcnow()}, wake=True,
                 period_used=period_limit())


def record(msg_id: str, *, status: str, sent_count: int | None, total_count: int | None,
           urls: dict[str, str], msg_data_id: str | None) -> int | None:
    """MASSSENDJOBFINISH: counts, article URLs and the outcome of the mass send with this msg_id."""
    begin_write()
    mass = db.session.scalar(select(MassSend).where(MassSend.msg_id == msg_id).with_for_update()
                             .execution_options(populate_existing=True))
    if mass is None or mass.state not in (MassState.SENDING, MassState.SENT):
        db.session.rollback()
        return None
    values: dict[str, Any] = {"sent_count": sent_count, "total_count": total_count,
                              "article_urls": {**(mass.article_urls or {}), **urls}}
    if msg_data_id and not mass.msg_data_id:
        values["msg_data_id"] = msg_data_id
    transition(mass, MASS_SEND, MassEvent.RECORDED, actor=None, values=values,
               after={"status": status, "sent_count": sent_count, "total_count": total_count})
    mass_id, state = mass.id, mass.state
    db.session.commit()
    if status == "send success":
        finished(mass_id)
    elif state == MassState.SENDING:
        failed(mass_id, failure_reason(status), refund=False)
    else:
        _step(mass_id, MassEvent.RECORDED, {}, wake=True)
    return mass_id


def failure_reason(status: str) -> str:
    """The office's words for a failed mass send's Status (MASSSENDJOBFINISH)."""
    if status == "err(40002)":
        return _("群发提交后 30 分钟内未在手机上确认（群发保护），已按发送失败处理")
    if status == "err(40001)":
        return _("公众号管理员在手机上拒绝了此次群发（群发保护）")
    return _("群发失败：微信返回 %(status)s", status=status)


def mark_unconfirmed_told(mass_send_id: int, statement_id: int, title: str) -> None:
    """群发保护: still unconfirmed after 10 minutes; office is told once."""
    begin_write()
    mass = _locked(mass_send_id)
    if mass.unconfirmed_notified_at is not None or mass.state != MassState.SENDING:
        db.session.rollback()
        return
    mass.unconfirmed_notified_at = utcnow()
    st = db.session.get(Statement, statement_id)
    assert st is not None
    notify("wechat_mass_unconfirmed", f"wechat_mass_unconfirmed:{mass_send_id}", people(st.unit, "office"),
           subject=_m("请在手机上确认群发：「%(title)s」", title=title),
           body=_m("「%(title)s」的群发已提交 10 分钟，仍在等待公众号管理员在手机上确认（群发保护）。"
                   "请在手机上确认群发；30 分钟内未确认将按发送失败处理。", title=title),
           url=f"/statements/{statement_id}")
    db.session.commit()


# --- withdrawing, switching ------------------------------------------------------------------------


@dataclass(frozen=True)
class Out:
    """What a withdrawn member left at WeChat: an article of a submitted mass send (msg_id known or not)."""

    mass_send_id: int
    msg_id: str | None
    article_idx: int


def withdraw(delivery_id: int) -> Out | None:
    """A `mass_send` delivery is taken down: waiting, or in a mass send not yet submitted, it simply leaves
    (the others keep their order, a mass send left empty gives its slot back); in a submitted one, its own
    article must be deleted at WeChat (the answer says which)."""
    begin_write()
    _period_locked(utcnow())
    item = _item_locked(delivery_id)
    if item is None or item.state in (ItemState.WITHDRAWN, ItemState.SWITCHED):
        db.session.commit()
        return None
    if item.state == ItemState.WAITING:
        transition(item, MASS_ITEM, ItemEvent.WITHDRAWN, actor=None)
        db.session.commit()
        return None
    mass = _locked(item.mass_send_id) if item.mass_send_id else None
    if mass is None or mass.state in (MassState.NO_QUOTA, MassState.CANCELLED, MassState.FAILED):
        transition(item, MASS_ITEM, ItemEvent.WITHDRAWN, actor=None)
        db.session.commit()
        return None
    if mass.state == MassState.RESERVED:
        transition(item, MASS_ITEM, ItemEvent.WITHDRAWN, actor=None)
        rest = list(db.session.scalars(
            select(MassItem).where(MassItem.mass_send_id == mass.id, MassItem.state == ItemState.BUNDLED)
            .order_by(MassItem.article_idx).with_for_update()))
        for idx, other in enumerate(rest, 1):
            other.article_idx = idx
        if rest:
            transition(mass, MASS_SEND, MassEvent.REGROUPED, actor=None,
                       after={"articles": [o.delivery_id for o in rest]})
            outbox.ready_now([o.delivery_id for o in rest])
        else:
            transition(mass, MASS_SEND, MassEvent.CANCELLED, actor=None)
            _refund(mass.period_start)
        db.session.commit()
        return None
    out = Out(mass.id, mass.msg_id, item.article_idx or 1)
    db.session.commit()
    return out


def switch_to_publish(actor: User, statement: Statement) -> bool:
    """A waiting statement goes out as a free publication (its unit's leader or office decided, interface
    §14); in the caller's transaction. False when it is not waiting for quota."""
    d = db.session.scalar(select(Delivery).where(Delivery.statement_id == statement.id, Delivery.channel == "wechat",
                                                 Delivery.action == Action.PUBLISH,
                                                 Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING])))
    if d is None:
        return False
    _period_locked(utcnow())
    item = _item_locked(d.id)
    if item is None or item.state != ItemState.WAITING:
        return False
    transition(item, MASS_ITEM, ItemEvent.SWITCHED, actor=actor, after={"state": ItemState.SWITCHED.value,
                                                                     "wechat_mode": "publish"})
    outbox.ready_now([d.id])
    return True


# --- what the pages and the API show --------------------------------------------------------------


@dataclass(frozen=True)
class Status:
    account_type: str
    period_start: datetime
    period_end: datetime
    used: int
    limit: int
    waiting: list[int]

    @property
    def left(self) -> int:
        return max(0, self.limit - self.used)


def status() -> Status:
    """GET /api/v1/wechat/quota: this period's count and the waiting statements in the order they will go."""
    start, end = period_bounds(utcnow())
    row = db.session.execute(select(MassPeriod.used, MassPeriod.limit).where(MassPeriod.start == start)).first()
    waiting = list(db.session.scalars(
        select(MassItem.statement_id).where(MassItem.state == ItemState.WAITING)
        .order_by(*QUEUE_ORDER)))
    limit = row.limit if row is not None else period_limit()
    return Status(account_type(), start, end, row.used if row is not None else 0, limit, waiting)


def waiting_details() -> list[dict[str, Any]]:
    """The waiting statements for /desk: id, title, priority, when approved, in sending order."""
    rows = db.session.execute(
        select(MassItem.statement_id, MassItem.approved_at, Statement.priority, Revision.title)
        .join(Statement, Statement.id == MassItem.statement_id)
        .join(Release, Release.statement_id == MassItem.statement_id)
        .join(Revision, Revision.id == Release.revision_id)
        .where(MassItem.state == ItemState.WAITING)
        .order_by(*QUEUE_ORDER)
    ).all()
    return [{"id": r.statement_id, "title": r.title, "priority": r.priority, "approved_at": r.approved_at}
            for r in rows]
