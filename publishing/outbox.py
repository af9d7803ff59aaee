"""The outbox: deliveries are claimed by compare-and-set with a lease, settled in one transaction each,
and swept back onto the queues when RQ lost their job.

The database is the truth; a job is only a reminder to look at a row.
"""

from __future__ import annotations

import logging
import random
import uuid
from datetime import datetime, timedelta
from typing import Any

from flask import current_app
from sqlalchemy import and_, or_, select, update

from app import audit
from app.extensions import db
from app.timeutil import utcnow
from app.tx import after_commit
from publishing import ledger, queues
from publishing.models import Action, Delivery, DeliveryState, LedgerKind, Release
from review.models import Decision, Stage, Statement, Status, Verdict

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
#: Sweeps leave alone rows touched this recently: their enqueue is about to follow their commit.
SWEEP_GRACE = timedelta(seconds=5)


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 5 minutes, with ±20 % jitter so retries do not march in step."""
    base = min(300.0, 2.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def lease() -> timedelta:
    """How long a claim holds before another worker may take over (CONTRACT §4: within 60 s)."""
    return timedelta(seconds=float(current_app.config["DELIVERY_LEASE_SECONDS"]))


def claim(delivery_id: int, key: str | None = None) -> str | None:
    """Take the delivery if it is ours to take (pending and ready, or its lease expired); None otherwise.

    With `key`, only the row carrying that delivery key (a job from another database's Redis is ignored).
    """
    now = utcnow()
    token = str(uuid.uuid4())
    ready = and_(
        Delivery.state == DeliveryState.PENDING,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )
    abandoned = and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now)
    mine = Delivery.delivery_key == key if key is not None else Delivery.id == delivery_id
    result = db.session.execute(
        update(Delivery)
        .where(Delivery.id == delivery_id, mine, or_(ready, abandoned))
        .values(state=DeliveryState.SENDING, lease_until=now + lease(), claim_token=token, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    return token if result.rowcount == 1 else None


def _locked(delivery_id: int) -> Delivery | None:
    """The delivery as it is now, row-locked for this transaction."""
    return db.session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
        .execution_options(populate_existing=True)
    )


def _mine(delivery_id: int, token: str) -> Delivery | None:
    """The delivery, locked, if our claim still holds (a lease can expire under a slow send)."""
    d = _locked(delivery_id)
    if d is None or d.claim_token != token:
        return None
    return d


def _statement_locked(statement_id: int) -> Statement:
    """Lock the statement first: every settle takes this lock, so the last channel sees the others."""
    st = db.session.scalar(
        select(Statement).where(Statement.id == statement_id).with_for_update(of=Statement)
        .execution_options(populate_existing=True)
    )
    assert st is not None
    return st


def remember(delivery_id: int, token: str, values: dict[str, Any]) -> None:
    """Store ids a channel just got back, committed at once: a crash after this cannot lose them.

    Stored even when our lease was lost meanwhile: an id WeChat handed out is a fact, and forgetting it
    is what would make a second submission possible.
    """
    d = _locked(delivery_id)
    assert d is not None
    d.data = {**(d.data or {}), **values}
    mine = d.claim_token == token
    if mine:
        d.lease_until = utcnow() + lease()
    db.session.commit()
    if not mine:
        raise LostClaim(delivery_id)


class LostClaim(Exception):
    """Our lease expired and someone else holds the delivery now: stop without touching it."""


def mark_staged(delivery_id: int, token: str) -> None:
    d = _mine(delivery_id, token)
    if d is None:
        db.session.rollback()
        raise LostClaim(delivery_id)
    d.staged_at = utcnow()
    d.lease_until = utcnow() + lease()
    db.session.commit()


def release(delivery_id: int, token: str, *, at: datetime | None, error: str | None = None,
            count_attempt: bool = False) -> Delivery | None:
    """Give the delivery back as pending (ready at `at`) and queue its next attempt after the commit."""
    d = _mine(delivery_id, token)
    if d is None:
        db.session.rollback()
        return None
    d.state = DeliveryState.PENDING
    d.claim_token = None
    d.lease_until = None
    d.next_attempt_at = at
    if count_attempt:
        d.attempts += 1
    if error is not None:
        d.last_error = error
    priority, ready, key = d.priority, d.ready_at, d.delivery_key
    after_commit(db.session, lambda: queues.enqueue(delivery_id, priority, ready, key=key))
    db.session.commit()
    return d


def begin_publishing(statement_id: int) -> None:
    """At go-live the statement shows `publishing` until every channel has settled."""
    st = _statement_locked(statement_id)
    if st.status in (Status.APPROVED, Status.SCHEDULED):
        st.status = Status.PUBLISHING.value
        st.updated_at = utcnow()
    db.session.commit()


def succeed(delivery_id: int, token: str, *, url: str | None, external_id: str | None,
            details: dict[str, Any]) -> bool:
    """The channel has the statement out: record it, and the ledger entry once every channel is out."""
    d = db.session.get(Delivery, delivery_id)
    assert d is not None
    st = _statement_locked(d.statement_id)
    d = _mine(delivery_id, token)
    if d is None:
        db.session.rollback()
        return False
    now = utcnow()
    before = {"state": d.state}
    d.state = DeliveryState.PUBLISHED
    d.url, d.external_id = url, external_id
    d.published_at = now
    d.attempts += 1
    d.last_error = None
    d.claim_token = d.lease_until = None
    d.data = {**(d.data or {}), **details}
    audit.record(None, f"delivery.{d.channel}.published", d, before=before,
                 after={"state": d.state, "url": url, "external_id": external_id})
    _settle_statement(st, d.release)
    db.session.commit()
    return True


def fail(delivery_id: int, token: str | None, reason: str) -> bool:
    """The delivery cannot succeed: record the reason, a `delivery_failed` ledger entry, alert the office."""
    d = db.session.get(Delivery, delivery_id)
    assert d is not None
    st = _statement_locked(d.statement_id)
    d = _mine(delivery_id, token) if token else d
    if d is None:
        db.session.rollback()
        return False
    before = {"state": d.state}
    d.state = DeliveryState.FAILED
    d.attempts += 1
    d.last_error = reason
    d.claim_token = d.lease_until = None
    rel = d.release
    ledger.append(LedgerKind.DELIVERY_FAILED, st.id, rel.revision_hash, {
        "channel": d.channel, "reason": reason, "attempts": d.attempts, "action": d.action,
        "title": rel.revision.title, "unit": st.unit.code,
    })
    audit.record(None, f"delivery.{d.channel}.failed", d, before=before, after={"state": d.state, "reason": reason})
    _settle_statement(st, rel)
    db.session.commit()
    log.warning("delivery %s (%s) of statement %s failed: %s", d.id, d.channel, st.id, reason)
    return True


def retracted(delivery_id: int, token: str) -> bool:
    """The channel took the statement down."""
    d = _mine(delivery_id, token)
    if d is None:
        db.session.rollback()
        return False
    d.state = DeliveryState.RETRACTED
    d.claim_token = d.lease_until = None
    d.last_error = None
    audit.record(None, f"delivery.{d.channel}.retracted", d, after={"state": d.state})
    db.session.commit()
    return True


def approvers(release: Release) -> list[dict[str, Any]]:
    """Who approved the released revision, stage by stage (for the ledger and the pages)."""
    rows = db.session.scalars(
        select(Decision).where(
            Decision.statement_id == release.statement_id,
            Decision.revision_id == release.revision_id,
            Decision.decision == Verdict.APPROVE,
        ).order_by(Decision.id)
    )
    latest_round = max((d.round for d in release.statement.decisions if d.revision_id == release.revision_id),
                       default=0)
    return [
        {"stage": d.stage, "username": d.reviewer.username, "name": d.reviewer.name, "at": d.at.isoformat()}
        for d in rows if d.round == latest_round and d.stage in (Stage.EXPERT, Stage.LEADER)
    ]


def _settle_statement(st: Statement, rel: Release) -> None:
    """Derive the statement's status from its deliveries; write the `published` entry exactly once."""
    if st.status == Status.RETRACTED:
        return
    publish = [d for d in rel.deliveries if d.action == Action.PUBLISH]
    states = {d.state for d in publish}
    now = utcnow()
    if states == {DeliveryState.PUBLISHED}:
        if rel.ledger_seq is None:
            rel.published_at = now
            entry = ledger.append(LedgerKind.PUBLISHED, st.id, rel.revision_hash, _published_payload(st, rel))
            rel.ledger_seq = entry.seq
            if st.corrects_id is not None:
                ledger.append(LedgerKind.CORRECTED, st.corrects_id, rel.revision_hash, {
                    "original_statement_id": st.corrects_id, "correction_statement_id": st.id,
                    "correction_ledger_seq": entry.seq, "title": rel.revision.title,
                })
        st.status = Status.PUBLISHED.value
    elif states <= {DeliveryState.PUBLISHED, DeliveryState.FAILED}:
        st.status = (Status.PARTIALLY_PUBLISHED if DeliveryState.PUBLISHED in states else Status.FAILED).value
    else:
        st.status = Status.PUBLISHING.value
    st.updated_at = now


def _published_payload(st: Statement, rel: Release) -> dict[str, Any]:
    return {
        "title": rel.revision.title,
        "digest": rel.revision.digest,
        "unit": {"code": st.unit.code, "name": st.unit.name},
        "speaker": {"username": st.author.username, "name": st.author.name},
        "approvers": approvers(rel),
        "agencies": [c.agency for c in st.confirmations if c.revision_id == rel.revision_id],
        "priority": st.priority,
        "approved_at": rel.approved_at.isoformat(),
        "published_at": rel.published_at.isoformat() if rel.published_at else None,
        "corrects": st.corrects_id,
        "channels": {
            d.channel: {"url": d.url, "external_id": d.external_id, "published_at": d.published_at.isoformat()
                        if d.published_at else None, **{k: v for k, v in (d.data or {}).items()
                                                          if k in ("article_id", "publish_id", "media_id")}}
            for d in rel.deliveries
        },
    }


def sweep() -> int:
    """Re-enqueue deliveries whose job RQ lost (or never got): pending ones and expired leases."""
    now = utcnow()
    candidates = db.session.execute(
        select(Delivery.id, Delivery.priority, Delivery.due_at, Delivery.next_attempt_at, Delivery.state,
               Delivery.delivery_key).where(
            or_(
                and_(Delivery.state == DeliveryState.PENDING, Delivery.updated_at < now - SWEEP_GRACE),
                and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now),
            )
        )
    ).all()
    db.session.rollback()
    if not candidates:
        return 0
    waiting, running = queues.live_jobs()
    count = 0
    for delivery_id, priority, due_at, next_attempt_at, state, key in candidates:
        if delivery_id in waiting:
            continue
        # a running job keeps a pending row alive; an expired lease means its worker died mid-send
        if state == DeliveryState.PENDING and delivery_id in running:
            continue
        ready = max(due_at, next_attempt_at or due_at)
        queues.enqueue(delivery_id, priority, ready if ready > now else None, key=key)
        count += 1
    if count:
        log.info("sweeper re-enqueued %d deliveries", count)
    return count


def wake(delivery_id: int) -> bool:
    """An outside event (a WeChat callback) says this delivery has news: make it ready now and queue it."""
    d = _locked(delivery_id)
    if d is None or d.state != DeliveryState.PENDING:
        db.session.rollback()
        return False
    d.next_attempt_at = utcnow()
    priority, ready, key = d.priority, d.ready_at, d.delivery_key
    after_commit(db.session, lambda: queues.enqueue(delivery_id, priority, ready, key=key))
    db.session.commit()
    return True


def in_flight(channel: str) -> list[Delivery]:
    """Deliveries of a channel not yet settled (few at any time): for matching callbacks to them."""
    return list(db.session.scalars(
        select(Delivery).where(
            Delivery.channel == channel,
            Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        )
    ))
