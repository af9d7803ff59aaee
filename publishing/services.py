"""Publishing's state changes: stage a release at approval, retract, retry a failed delivery."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask_babel import gettext as _
from sqlalchemy import select

from app import audit
from app.api import require_mapping
from app.errors import Invalid, NotFound, WrongState
from app.extensions import db
from app.models import Role, User
from app.timeutil import utcnow
from app.tx import after_commit
from publishing import ledger, queues
from publishing.models import Action, Delivery, DeliveryState, LedgerKind, Release
from review import rules
from review.models import Statement, Status
from review.services import get_statement, statement_approved

RETRACTABLE = frozenset({
    Status.APPROVED, Status.SCHEDULED, Status.PUBLISHING, Status.PUBLISHED, Status.PARTIALLY_PUBLISHED,
    Status.FAILED,
})


def stage_release(sender: Flask, statement: Statement, actor: User, **_: Any) -> None:
    """At the leader's approval, in the same transaction: the release and one outbox row per channel."""
    now = utcnow()
    go_live = statement.go_live_at if statement.go_live_at and statement.go_live_at > now else now
    rev = statement.approved_revision
    assert rev is not None
    release = Release(statement=statement, revision=rev, revision_hash=rev.hash, approved_by_id=actor.id,
                      approved_at=now, go_live_at=go_live)
    db.session.add(release)
    deliveries = [
        Delivery(release=release, statement_id=statement.id, channel=channel, action=Action.PUBLISH,
                 state=DeliveryState.PENDING, priority=statement.priority, due_at=go_live)
        for channel in statement.channels
    ]
    db.session.add_all(deliveries)
    if go_live > now:
        statement.status = Status.SCHEDULED.value
    db.session.flush()
    plan = [(d.id, d.priority, d.delivery_key) for d in deliveries]

    def enqueue() -> None:
        for delivery_id, priority, key in plan:
            if go_live > utcnow():
                queues.enqueue_stage(delivery_id, priority, key=key)
            queues.enqueue(delivery_id, priority, go_live, key=key)

    after_commit(db.session, enqueue)


def retract(actor: User, statement_id: int, data: Any) -> Statement:
    """A leader takes a statement down from every channel; the record keeps it, the ledger says so."""
    rules.require_role(actor, Role.LEADER)
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st)
    body = require_mapping(data)
    reason = body.get("reason")
    if not isinstance(reason, str) or not reason.strip():
        raise Invalid(_("撤回必须填写理由"), fields={"reason": _("必填")})
    if len(reason) > 2000:
        raise Invalid(_("理由不能超过 2000 个字符"), fields={"reason": _("过长")})
    release = db.session.scalar(select(Release).where(Release.statement_id == st.id))
    if st.status not in RETRACTABLE or release is None:
        raise WrongState(_("只有已批准或已发布的回应可以撤回"))
    before = {"status": st.status}
    now = utcnow()
    st.status = Status.RETRACTED.value
    st.updated_at = now
    release.retracted_at = now
    release.retraction_reason = reason.strip()
    takedown = []
    for d in release.deliveries:
        maybe_out = d.state in (DeliveryState.PUBLISHED, DeliveryState.SENDING) or d.staged_at is not None
        if not maybe_out or d.state == DeliveryState.RETRACTED:
            d.state = DeliveryState.RETRACTED
            continue
        # out there, maybe out (a send in flight), or staged (a WeChat draft): the channel's own call
        d.action = Action.RETRACT
        d.state = DeliveryState.PENDING
        d.due_at = now
        d.next_attempt_at = None
        d.attempts = 0
        d.claim_token = None  # a send in flight loses its claim and cannot settle as published
        d.lease_until = None
        takedown.append((d.id, d.priority, d.delivery_key))
    ledger.append(LedgerKind.RETRACTED, st.id, release.revision_hash, {
        "reason": release.retraction_reason, "by": {"username": actor.username, "name": actor.name},
        "title": release.revision.title, "unit": st.unit.code, "published_ledger_seq": release.ledger_seq,
        "channels": [d.channel for d in release.deliveries],
    })
    audit.record(actor, "statement.retract", st, before=before, after={"status": st.status, "reason": reason})

    def enqueue() -> None:
        for delivery_id, priority, key in takedown:
            queues.enqueue(delivery_id, "urgent" if priority == "urgent" else "high", key=key)

    after_commit(db.session, enqueue)
    db.session.commit()
    return st


def retry_delivery(actor: User, statement_id: int, channel: str) -> Delivery:
    """Office or the unit's leader sends a failed delivery again (CONTRACT …/deliveries/{channel}/retry)."""
    rules.require_role(actor, Role.OFFICE, Role.LEADER)
    st = get_statement(actor, statement_id, for_update=True)
    rules.require_own_unit(actor, st, office_may=True)
    d = db.session.scalar(select(Delivery).where(Delivery.statement_id == st.id, Delivery.channel == channel))
    if d is None:
        raise NotFound(_("该回应没有此渠道的投递"))
    if d.state != DeliveryState.FAILED:
        raise WrongState(_("只有失败的投递可以重试（当前：%(s)s）", s=d.state))
    before = {"state": d.state, "last_error": d.last_error}
    d.state = DeliveryState.PENDING
    d.next_attempt_at = None
    d.attempts = 0
    if st.status in (Status.FAILED, Status.PARTIALLY_PUBLISHED):
        st.status = Status.PUBLISHING.value
        st.updated_at = utcnow()
    audit.record(actor, f"delivery.{channel}.retry", d, before=before, after={"state": d.state})
    delivery_id, priority, ready, key = d.id, d.priority, d.ready_at, d.delivery_key
    after_commit(db.session, lambda: queues.enqueue(delivery_id, priority, ready, key=key))
    db.session.commit()
    return d


def connect() -> None:
    """Subscribe to review's approval signal (review never imports publishing)."""
    statement_approved.connect(stage_release)
