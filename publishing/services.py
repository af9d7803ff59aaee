"""Publishing's state changes: stage a release at approval, retract, retry a failed delivery."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from sqlalchemy import select

from app.door import transition
from app.errors import NotFound, WrongState
from app.extensions import db
from app.models import Role, User
from app.notifications import notify
from app.register import people
from app.timeutil import format_local, utcnow
from app.tx import after_commit, begin_write
from app.validation import parse
from publishing import ledger, queues
from publishing.lifecycle import DELIVERY, DeliveryEvent
from publishing.models import Action, Delivery, DeliveryState, LedgerKind, Release
from publishing.schemas import CancelIn, RetractIn
from review import lifecycle, rules
from review.lifecycle import STATEMENT, StatementEvent
from review.models import Channel, Statement, Status
from review.services import get_statement

RETRACTABLE = frozenset({
    Status.APPROVED, Status.SCHEDULED, Status.PUBLISHING, Status.PUBLISHED, Status.PARTIALLY_PUBLISHED,
    Status.FAILED,
})


def stage_release(statement: Statement, actor: User) -> Status:
    """The release step of the leader's approval (declared to review at start-up), in its transaction.

    Adds the release and one outbox row per channel, queues them once the approval commits, and answers
    the status the approval leads to: `approved`, or `scheduled` when the go-live time is still ahead.
    """
    now = utcnow()
    go_live = statement.go_live_at if statement.go_live_at and statement.go_live_at > now else now
    rev = statement.approved_revision
    if rev is None:
        raise RuntimeError("release step called without an approved revision")
    release = Release(statement=statement, revision=rev, revision_hash=rev.hash, approved_by_id=actor.id,
                      approved_at=now, go_live_at=go_live)
    db.session.add(release)
    deliveries = [
        Delivery(release=release, statement_id=statement.id, channel=channel, action=Action.PUBLISH,
                 state=DeliveryState.PENDING, priority=statement.priority, due_at=go_live,
                 data={"mode": statement.wechat_mode} if channel == Channel.WECHAT else {})
        for channel in statement.channels
    ]
    db.session.add_all(deliveries)
    db.session.flush()
    plan = [(d.id, d.priority, d.delivery_key) for d in deliveries]

    def enqueue() -> None:
        for delivery_id, priority, key in plan:
            if go_live > utcnow():
                queues.enqueue_stage(delivery_id, priority, key=key)
            queues.enqueue(delivery_id, priority, go_live, key=key)

    after_commit(db.session, enqueue)
    return Status.SCHEDULED if go_live > now else Status.APPROVED


def retract(actor: User, statement_id: int, data: Any) -> Statement:
    """A leader takes a statement down from every channel; the record keeps it, the ledger says so."""
    rules.require_role(actor, Role.LEADER)
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st)
    reason = parse(RetractIn, data, _("撤回必须填写理由")).reason  # 1–2,000 characters
    release = db.session.scalar(select(Release).where(Release.statement_id == st.id))
    if st.status not in RETRACTABLE or release is None:
        raise WrongState(_("只有已批准或已发布的回应可以撤回"))
    before = {"status": st.status}
    takedown = _take_down(actor, st, release, reason.strip())
    transition(st, STATEMENT, StatementEvent.RETRACTED, actor=actor, before=before,
               after={"status": Status.RETRACTED.value, "reason": reason})
    ledger.append(LedgerKind.RETRACTED, st.id, release.revision_hash, {
        "reason": release.retraction_reason, "by": {"username": actor.username, "name": actor.name},
        "title": release.revision.title, "unit": st.unit.code, "published_ledger_seq": release.ledger_seq,
        "channels": [d.channel for d in release.deliveries],
    })
    _enqueue_takedown(takedown)
    db.session.commit()
    return st


def _take_down(actor: User, st: Statement, release: Release, reason: str) -> list[tuple[int, str, str]]:
    """Stop every delivery of a release: cancel what never left Huiying, queue the channel's take-down for
    the rest; answers the take-downs to enqueue after the commit."""
    now = utcnow()
    st.updated_at = now
    release.retracted_at = now
    release.retraction_reason = reason
    takedown = []
    # every delivery as it is now, locked: a worker that claimed one a moment ago loses its claim here
    # (the version moves and the claim token goes), so its `succeed` cannot pass after this commit
    rows = db.session.scalars(
        select(Delivery).where(Delivery.release_id == release.id).order_by(Delivery.id).with_for_update()
        .execution_options(populate_existing=True)
    ).all()
    for d in rows:
        if d.state == DeliveryState.RETRACTED:
            continue
        maybe_out = d.state in (DeliveryState.PUBLISHED, DeliveryState.SENDING) or d.staged_at is not None
        if not maybe_out:  # never left Huiying: cancelled
            transition(d, DELIVERY, DeliveryEvent.CANCELLED, actor=actor,
                       values={"claim_token": None, "lease_until": None, "updated_at": now})
            continue
        # out there, maybe out (a send in flight), or staged (a WeChat draft): the channel's own take-down
        transition(d, DELIVERY, DeliveryEvent.TAKEDOWN, actor=actor,
                   values={"action": Action.RETRACT, "due_at": now, "next_attempt_at": None, "attempts": 0,
                           "claim_token": None, "lease_until": None, "updated_at": now})
        takedown.append((d.id, d.priority, d.delivery_key))
    return takedown


def _enqueue_takedown(takedown: list[tuple[int, str, str]]) -> None:
    def enqueue() -> None:
        for delivery_id, priority, key in takedown:
            queues.enqueue(delivery_id, "urgent" if priority == "urgent" else "high", key=key)

    after_commit(db.session, enqueue)


def cancel(actor: User, statement_id: int, data: Any) -> Statement:
    """取消发布: a leader stops a scheduled statement before its go-live time.

    Nothing has been said yet, so nothing goes on the public record: no ledger entry, no public page. A
    WeChat draft made ahead of go-live is deleted by the channel's take-down; the statement ends
    `retracted` (interface §3 statuses), and the drafter starts again from its text if it is still wanted.
    """
    rules.require_role(actor, Role.LEADER)
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st)
    reason = parse(CancelIn, data, _("理由不能超过 2000 个字符")).reason  # optional, ≤ 2,000 characters
    release = db.session.scalar(select(Release).where(Release.statement_id == st.id))
    if st.status != Status.SCHEDULED or release is None:
        raise WrongState(_("只有尚未到发布时间的定时发布可以取消；已发出的回应请使用撤回"))
    if release.go_live_at <= utcnow():
        raise WrongState(_("已到发布时间，正在发出，不能再取消；请在发出后使用撤回"))
    takedown = _take_down(actor, st, release, reason or _("发布前已取消"))
    transition(st, STATEMENT, StatementEvent.CANCELLED, actor=actor,
               before={"status": st.status, "go_live_at": release.go_live_at.isoformat()},
               after={"status": Status.RETRACTED.value, "reason": reason})
    title = release.revision.title
    told = [u for u in (st.author, release.approved_by, *people(st.unit, "spokespersons")) if u.id != actor.id]
    notify("release_cancelled", f"cancelled:{st.id}", told,
           subject=f"已取消发布：{title}",
           body=f"「{title}」原定 {format_local(release.go_live_at)} 发布，已由{actor.name}在发布前取消。"
                + (f"理由：{reason}" if reason else ""),
           url=f"/statements/{st.id}")
    _enqueue_takedown(takedown)
    db.session.commit()
    return st


def retry_delivery(actor: User, statement_id: int, channel: str) -> Delivery:
    """Office or the unit's leader sends a failed delivery again (interface §3)."""
    rules.require_role(actor, Role.OFFICE, Role.LEADER)
    begin_write()
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st, office_may=True)
    d = db.session.scalar(
        select(Delivery).where(Delivery.statement_id == st.id, Delivery.channel == channel).with_for_update()
        .execution_options(populate_existing=True)
    )
    if d is None:
        raise NotFound(_("该回应没有此渠道的投递"))
    if d.state != DeliveryState.FAILED:
        raise WrongState(_("只有失败的投递可以重试（当前：%(s)s）", s=d.state))
    transition(d, DELIVERY, DeliveryEvent.RETRIED, actor=actor, values={"next_attempt_at": None, "attempts": 0},
               before={"state": d.state, "last_error": d.last_error}, after={"state": DeliveryState.PENDING.value})
    if STATEMENT.allows(st.status, StatementEvent.RETRIED):
        st.updated_at = utcnow()
        transition(st, STATEMENT, StatementEvent.RETRIED, actor=actor)
    delivery_id, priority, ready, key = d.id, d.priority, d.ready_at, d.delivery_key
    after_commit(db.session, lambda: queues.enqueue(delivery_id, priority, ready, key=key))
    db.session.commit()
    return d


def connect() -> None:
    """Declare the approval's release step to review (review never imports publishing)."""
    lifecycle.declare_release_step(stage_release)
