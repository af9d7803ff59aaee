"""The outbox: deliveries are claimed by compare-and-set with a lease, settled in one transaction each,
and swept back onto the queues when RQ lost their job.

The database is the truth; a job is only a reminder to look at a row.
"""

from __future__ import annotations

import logging
import random
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Generic, TypeVar, cast

from flask import Flask, current_app
from sqlalchemy import and_, or_, select, update
from sqlalchemy.orm import joinedload
from werkzeug.local import LocalProxy

from app.door import Conflict, transition, transition_where
from app.extensions import db
from app.models import User
from app.notifications import notify
from app.register import people
from app.timeutil import utcnow
from app.tx import after_commit, begin_write
from cases.links import record_statement_published
from publishing import ledger, queues, readback
from publishing.lifecycle import DELIVERY, DeliveryEvent
from publishing.models import Action, Delivery, DeliveryState, LedgerKind, Release
from review.lifecycle import STATEMENT, StatementEvent
from review.models import Decision, Stage, Statement, Status, Verdict

log = logging.getLogger(__name__)
T = TypeVar("T")

MAX_ATTEMPTS = 8  # the default of DELIVERY_MAX_ATTEMPTS


def max_attempts() -> int:
    """Attempts at a delivery before it fails (DELIVERY_MAX_ATTEMPTS), each counted at its claim."""
    return int(current_app.config.get("DELIVERY_MAX_ATTEMPTS", MAX_ATTEMPTS))
#: Sweeps leave alone rows touched this recently: their enqueue is about to follow their commit.
SWEEP_GRACE = timedelta(seconds=5)


def backoff(attempts: int) -> timedelta:
    """2 s, 4 s, 8 s … capped at 5 minutes, with ±20 % jitter so retries do not march in step."""
    base = min(300.0, 2.0 * 2 ** max(0, attempts - 1))
    return timedelta(seconds=base * random.uniform(0.8, 1.2))


def lease() -> timedelta:
    """How long a claim holds before another worker may take over (interface §4: within 60 s)."""
    return timedelta(seconds=float(current_app.config["DELIVERY_LEASE_SECONDS"]))


def claim(delivery_id: int, key: str | None = None) -> str | None:
    """Take the delivery if it is ours to take (pending and ready, or its lease expired); None otherwise.

    The attempt is counted here, at the claim: a send that kills its worker every time still uses up its
    attempts, and once they are gone the delivery fails (with a ledger entry) instead of looping forever.
    With `key`, only the row carrying that delivery key (a job from another database's Redis is ignored).
    """
    taken: Taken[None] | None = take(delivery_id, key)  # nothing to prepare: a bare claim
    return taken.token if taken is not None else None


@dataclass(frozen=True)
class Taken(Generic[T]):
    """A claim that holds: its token, and what `prepare` read in the claiming transaction."""

    token: str
    prepared: T | None


def take(delivery_id: int, key: str | None = None, *, going_live: bool = False,
         prepare: Callable[[Delivery, str], T] | None = None, options: Sequence[Any] = ()) -> Taken[T] | None:
    """`claim`, and in the same transaction (one commit) what the attempt needs before its channel works.

    `prepare(delivery, token)` reads what the channel will be given while the claim's transaction is open, so
    no second transaction is needed to read it. With `going_live`, a due publication moves its statement to
    `publishing` here too (`went_live`): the statement row is locked before the delivery, in the order every
    settle and the retraction take them. `options` are loader options for the claimed row (what `prepare`
    reads, in one query rather than one per relationship). Should `prepare` fail, the claim is still
    committed (the attempt counts and its lease runs out), so a delivery that cannot even be read uses up its
    attempts and fails.
    """
    begin_write()
    now = utcnow()
    token = str(uuid.uuid4())
    ready = and_(
        Delivery.state == DeliveryState.PENDING,
        or_(Delivery.next_attempt_at.is_(None), Delivery.next_attempt_at <= now),
    )
    abandoned = and_(Delivery.state == DeliveryState.SENDING, Delivery.lease_until < now)
    mine = Delivery.delivery_key == key if key is not None else Delivery.id == delivery_id
    claimable = (mine, or_(ready, abandoned))
    st = _going_live(delivery_id, now) if going_live else None
    until = now + lease()
    claimed = transition_where(
        Delivery, DELIVERY, DeliveryEvent.CLAIMED, delivery_id,
        from_states=(DeliveryState.PENDING, DeliveryState.SENDING),
        where=(*claimable, Delivery.attempts < max_attempts()),
        values={"lease_until": until, "claim_token": token, "updated_at": now, "attempts": Delivery.attempts + 1},
        after={"lease_until": until.isoformat()},
    )
    if claimed:
        prepared = None
        try:
            d = db.session.scalar(select(Delivery).where(Delivery.id == delivery_id).options(*options)
                                  .execution_options(populate_existing=True))
            assert d is not None
            if st is not None and d.action == Action.PUBLISH and STATEMENT.allows(st.status, StatementEvent.WENT_LIVE):
                transition(st, STATEMENT, StatementEvent.WENT_LIVE, actor=None, values={"updated_at": now})
            if prepare is not None:
                prepared = prepare(d, token)
        except Exception:
            db.session.rollback()
            log.exception("delivery %s: could not prepare the attempt", delivery_id)
            claim(delivery_id, key)  # count the attempt all the same; its lease runs out, the sweep retries
            raise
        db.session.commit()
        return Taken(token, prepared)
    spent = db.session.execute(
        select(Delivery.attempts, Delivery.last_error).where(
            Delivery.id == delivery_id, *claimable, Delivery.attempts >= max_attempts())
    ).first()
    db.session.commit()
    if spent is not None:
        attempts, last_error = spent
        reason = f"已尝试 {attempts} 次仍未完成（发送中断或工作进程退出），停止自动重试"
        if last_error:
            reason += f"；最后一次错误：{last_error}"
        fail(delivery_id, None, reason[:1000])
    return None


def _going_live(delivery_id: int, now: datetime) -> Statement | None:
    """The statement, locked, if this delivery is a due publication of a statement not yet `publishing`."""
    row = db.session.execute(
        select(Delivery.statement_id, Delivery.action, Delivery.due_at, Statement.status)
        .join(Statement, Statement.id == Delivery.statement_id).where(Delivery.id == delivery_id)
    ).first()
    if (row is None or row.action != Action.PUBLISH or row.due_at > now
            or not STATEMENT.allows(row.status, StatementEvent.WENT_LIVE)):
        return None
    return _statement_locked(row.statement_id)


def keep(d: Delivery, values: dict[str, Any]) -> None:
    """In the claiming transaction (`take`'s `prepare`): store values in the claimed row's data with the claim."""
    d.data = {**(d.data or {}), **values}


def _locked(delivery_id: int) -> Delivery | None:
    """The delivery as it is now, row-locked for this transaction (the caller began it as a writer)."""
    return db.session.scalar(
        select(Delivery).where(Delivery.id == delivery_id).with_for_update()
        .execution_options(populate_existing=True)
    )


def _mine(delivery_id: int, token: str) -> Delivery | None:
    """The delivery, locked, if our claim still holds (a lease can expire under a slow send)."""
    d = _locked(delivery_id)
    if d is None or d.claim_token != token or d.state != DeliveryState.SENDING:
        return None
    return d


def _statement_locked(statement_id: int) -> Statement:
    """Lock the statement first: every settle takes this lock, so the last channel sees the others."""
    # the bare row first (a joined eager load under FOR UPDATE keeps stale joined rows on PostgreSQL)
    db.session.execute(select(Statement.id).where(Statement.id == statement_id).with_for_update())
    st = db.session.scalar(
        select(Statement).where(Statement.id == statement_id)
        .options(joinedload(Statement.unit), joinedload(Statement.author))  # the ledger entry names them
        .execution_options(populate_existing=True)
    )
    assert st is not None
    return st


def _as_claimant(d: Delivery, token: str) -> tuple[Any, ...]:
    """The compare-and-set condition of every step a claimant takes: its claim still holds."""
    return (Delivery.claim_token == token,)


def remember(delivery_id: int, token: str, values: dict[str, Any]) -> None:
    """Store ids a channel just got back, committed at once: a crash after this cannot lose them.

    A worker that lost its claim may still record an id the channel really handed it (forgetting it is
    what would make a second submission possible), but only where the row has none: the row's own ids,
    stored by the claimant, always win, and the stale worker then stops (LostClaim).
    """
    begin_write()
    d = _locked(delivery_id)
    assert d is not None
    mine = d.claim_token == token and d.state == DeliveryState.SENDING
    current = dict(d.data or {})
    if mine:
        d.data = {**current, **values}
        d.lease_until = utcnow() + lease()
    else:
        late = {k: v for k, v in values.items() if k not in current}
        if late:
            d.data = {**current, **late, "late_ids": [*current.get("late_ids", []), values]}
            log.warning("delivery %s: a worker that lost its claim recorded %s", delivery_id, sorted(late))
    db.session.commit()
    if not mine:
        raise LostClaim(delivery_id)


class LostClaim(Exception):
    """Our lease expired and someone else holds the delivery now: stop without touching it."""


@contextmanager
def heartbeat(delivery_id: int, token: str) -> Iterator[threading.Event]:
    """Renew the claim's lease while a channel works, so a slow but live worker is never taken over.

    A thread of its own, with its own connection, extends `lease_until` every third of the lease while
    the claim holds; once it does not (retracted, taken over), the event it yields is set and it stops.
    A worker killed mid-send stops beating with it, and its lease runs out as before.
    """
    # Flask types `current_app` as the app it stands for; it is the proxy, which hands over the app itself
    app = cast(LocalProxy[Flask], current_app)._get_current_object()
    period = max(0.2, lease().total_seconds() / 3)
    stop, lost = threading.Event(), threading.Event()

    def beat() -> None:
        with app.app_context():
            while not stop.wait(period):
                try:
                    with db.engine.begin() as connection:
                        renewed = connection.execute(
                            update(Delivery)
                            .where(Delivery.id == delivery_id, Delivery.claim_token == token,
                                   Delivery.state == DeliveryState.SENDING)
                            .values(lease_until=utcnow() + lease())
                        ).rowcount
                except Exception:  # the database briefly away: the next beat tries again
                    log.warning("delivery %s: heartbeat failed", delivery_id, exc_info=True)
                    continue
                if renewed != 1:
                    lost.set()
                    return

    thread = threading.Thread(target=beat, name=f"heartbeat-{delivery_id}", daemon=True)
    thread.start()
    try:
        yield lost
    finally:
        stop.set()
        thread.join(timeout=period + 5)


def _staged(d: Delivery, token: str, at: datetime | None) -> None:
    """The channel staged this attempt's delivery (`at`): recorded with the step that settles the attempt.

    No commit of its own: until the attempt settles the row is `sending`, which every reader (the retraction,
    the sweep) already treats as "maybe out there", and a channel's stage stores its own ids as it gets them
    (`remember`), so a worker that dies before the settle leaves nothing a takeover cannot find.
    """
    if at is not None and d.staged_at is None:
        _step(d, token, DeliveryEvent.STAGED, {"staged_at": at})


def _step(d: Delivery, token: str, event: DeliveryEvent, values: dict[str, Any], **audit_args: Any) -> None:
    """A claimant's step: compare-and-set on state, version and its claim token; LostClaim when gone."""
    try:
        transition(d, DELIVERY, event, actor=None, values=values, where=_as_claimant(d, token), **audit_args)
    except Conflict as error:
        db.session.rollback()
        raise LostClaim(d.id) from error


def release(delivery_id: int, token: str, *, at: datetime | None, error: str | None = None,
            attempt: bool = True, staged_at: datetime | None = None) -> Delivery | None:
    """Give the delivery back as pending (ready at `at`) and queue its next attempt after the commit.

    `attempt=False` when nothing was tried (staged ahead of go-live, waiting for WeChat's answer): the
    attempt counted at the claim is given back. `staged_at`: the channel staged it in this attempt.
    """
    begin_write()
    d = _mine(delivery_id, token)
    if d is None:
        db.session.rollback()
        return None
    _staged(d, token, staged_at)
    values: dict[str, Any] = {"claim_token": None, "lease_until": None, "next_attempt_at": at}
    if not attempt:
        values["attempts"] = max(0, d.attempts - 1)
    if error is not None:
        values["last_error"] = error
    _step(d, token, DeliveryEvent.RELEASED, values,
          after={"state": DeliveryState.PENDING.value, "error": error, "at": at.isoformat() if at else None})
    priority, ready, key = d.priority, d.ready_at, d.delivery_key
    after_commit(db.session, lambda: queues.enqueue(delivery_id, priority, ready, key=key))
    db.session.commit()
    return d


def succeed(delivery_id: int, token: str, *, url: str | None, external_id: str | None,
            details: dict[str, Any], staged_at: datetime | None = None, statement_id: int | None = None) -> bool:
    """The channel has the statement out: record it, and the ledger entry once every channel is out.

    One commit settles the attempt: the delivery, the statement, the ledger entry, and the read-back's due
    time (interface §10), whose job is queued after the commit (the sweep queues it should that be lost).
    `statement_id`: the delivery's, when the caller knows it (saves reading the row twice).
    """
    begin_write()
    if statement_id is None:
        found = db.session.get(Delivery, delivery_id)
        assert found is not None
        statement_id = found.statement_id
    st = _statement_locked(statement_id)
    d = _mine(delivery_id, token)
    if d is None:
        db.session.rollback()
        return False
    now = utcnow()
    try:
        _staged(d, token, staged_at)
        transition(d, DELIVERY, DeliveryEvent.OUT, actor=None, where=_as_claimant(d, token),
                   values={"url": url, "external_id": external_id, "published_at": now, "last_error": None,
                           "claim_token": None, "lease_until": None, "data": {**(d.data or {}), **details},
                           "readback_due_at": now + readback.LEASE},
                   after={"state": DeliveryState.PUBLISHED.value, "url": url, "external_id": external_id})
    except (Conflict, LostClaim):
        db.session.rollback()
        return False
    _settle_statement(st, d.release, out=True)
    after_commit(db.session, lambda: readback.enqueue(delivery_id))
    db.session.commit()
    return True


def fail(delivery_id: int, token: str | None, reason: str, *, staged_at: datetime | None = None) -> bool:
    """The delivery cannot succeed: record the reason, a `delivery_failed` ledger entry, alert the office.

    Without a token, only a delivery nobody holds (pending, or sending under an expired lease) is failed:
    one found out of attempts.
    """
    begin_write()
    d = db.session.get(Delivery, delivery_id)
    assert d is not None
    st = _statement_locked(d.statement_id)
    if token:
        d = _mine(delivery_id, token)
        where: tuple[Any, ...] = (Delivery.claim_token == token,)
    else:
        d = _locked(delivery_id)
        if d is not None and not (
            d.state == DeliveryState.PENDING
            or (d.state == DeliveryState.SENDING and d.lease_until is not None and d.lease_until < utcnow())
        ):
            d = None
        where = ()
    if d is None:
        db.session.rollback()
        return False
    try:
        if token:
            _staged(d, token, staged_at)
        transition(d, DELIVERY, DeliveryEvent.FAILED, actor=None, where=where,
                   values={"last_error": reason, "claim_token": None, "lease_until": None},
                   after={"state": DeliveryState.FAILED.value, "reason": reason})
    except (Conflict, LostClaim):
        db.session.rollback()
        return False
    rel = d.release
    ledger.append(LedgerKind.DELIVERY_FAILED, st.id, rel.revision_hash, {
        "channel": d.channel, "reason": reason, "attempts": d.attempts, "action": d.action,
        "title": rel.revision.title, "unit": st.unit.code,
    })
    _settle_statement(st, rel, out=False)
    # the office is told, and the unit's leaders: a statement that did not go out is a public matter
    notify("delivery_failed", f"delivery_failed:{d.id}:{d.version}", [*people(st.unit, "office", "leaders")],
           subject=f"发布失败：{rel.revision.title}（{d.channel}）",
           body=f"「{rel.revision.title}」在 {d.channel} 渠道发布失败：{reason}", url=f"/statements/{st.id}")
    db.session.commit()
    log.warning("delivery %s (%s) of statement %s failed: %s", d.id, d.channel, st.id, reason)
    return True


def retracted(delivery_id: int, token: str) -> bool:
    """The channel took the statement down."""
    begin_write()
    d = _mine(delivery_id, token)
    if d is None:
        db.session.rollback()
        return False
    try:
        _step(d, token, DeliveryEvent.TAKEN_DOWN, {"claim_token": None, "lease_until": None, "last_error": None},
              after={"state": DeliveryState.RETRACTED.value})
    except LostClaim:
        return False
    db.session.commit()
    return True


def approvers(release: Release) -> list[dict[str, Any]]:
    """Who approved the released revision, stage by stage (for the ledger and the pages): one query."""
    rows = db.session.execute(
        select(Decision.round, Decision.stage, Decision.decision, Decision.at, User.username, User.display_name)
        .join(User, User.id == Decision.reviewer_id)
        .where(Decision.statement_id == release.statement_id, Decision.revision_id == release.revision_id)
        .order_by(Decision.id)
    ).all()
    latest_round = max((r.round for r in rows), default=0)
    return [
        {"stage": r.stage, "username": r.username, "name": r.display_name or r.username, "at": r.at.isoformat()}
        for r in rows
        if r.round == latest_round and r.decision == Verdict.APPROVE and r.stage in (Stage.EXPERT, Stage.LEADER)
    ]


def _settle_statement(st: Statement, rel: Release, *, out: bool) -> None:
    """A channel settled (`out`, or failed): the statement takes the event its deliveries now add up to (one
    query), and the `published` entry is written exactly once.

    The statement row is locked by the caller, so the last channel to settle sees every other one; the
    unique index on published ledger entries makes a second `published` entry impossible regardless.
    """
    if st.status == Status.RETRACTED:
        return
    states = set(db.session.scalars(
        select(Delivery.state).where(Delivery.release_id == rel.id, Delivery.action == Action.PUBLISH).distinct()
    ))
    now = utcnow()
    if states == {DeliveryState.PUBLISHED}:
        event = StatementEvent.OUT_EVERYWHERE
        if rel.ledger_seq is None:
            rel.published_at = now
            entry = ledger.append(LedgerKind.PUBLISHED, st.id, rel.revision_hash, _published_payload(st, rel))
            rel.ledger_seq = entry.seq
            if st.corrects_id is not None:
                ledger.append(LedgerKind.CORRECTED, st.corrects_id, rel.revision_hash, {
                    "original_statement_id": st.corrects_id, "correction_statement_id": st.id,
                    "correction_ledger_seq": entry.seq, "title": rel.revision.title,
                })
            # the cases this statement answers get their response at the ledger entry's time
            record_statement_published(st.id, datetime.fromisoformat(entry.at))
            notify("statement_published", f"published:{st.id}", [st.author, *people(st.unit, "spokespersons")],
                   subject=f"已发布：{rel.revision.title}",
                   body=f"「{rel.revision.title}」已在全部渠道发布（记录第 {entry.seq} 号）。",
                   url=f"/statements/{st.id}")
    elif states == {DeliveryState.FAILED}:
        event = StatementEvent.FAILED_EVERYWHERE
    elif states <= {DeliveryState.PUBLISHED, DeliveryState.FAILED}:
        event = StatementEvent.OUT_PARTLY if out else StatementEvent.FAILED_PARTLY
    else:
        event = StatementEvent.OUT_WAITING if out else StatementEvent.FAILED_WAITING
    transition(st, STATEMENT, event, actor=None, values={"updated_at": now})


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
    begin_write()
    woken = ready_now([delivery_id])
    db.session.commit()
    return woken == 1


def ready_now(delivery_ids: Sequence[int]) -> int:
    """In the caller's transaction: these deliveries, if pending, may be attempted now (or at their go-live,
    if it is still ahead); their jobs are queued once it commits (the sweep queues them should that be lost).
    One that a worker holds is left alone. Answers how many were pending."""
    if not delivery_ids:
        return 0
    now = utcnow()
    db.session.execute(update(Delivery).where(Delivery.id.in_(delivery_ids), Delivery.state == DeliveryState.PENDING)
                       .values(next_attempt_at=now).execution_options(synchronize_session=False))
    ready = db.session.execute(select(Delivery.id, Delivery.priority, Delivery.delivery_key, Delivery.due_at)
                               .where(Delivery.id.in_(delivery_ids), Delivery.state == DeliveryState.PENDING)).all()

    def enqueue() -> None:
        for delivery_id, priority, key, due_at in ready:
            queues.enqueue(delivery_id, priority, max(due_at, now), key=key)

    after_commit(db.session, enqueue)
    return len(ready)


def in_flight(channel: str) -> list[Delivery]:
    """Deliveries of a channel not yet settled (few at any time): for matching callbacks to them."""
    return list(db.session.scalars(
        select(Delivery).where(
            Delivery.channel == channel,
            Delivery.state.in_([DeliveryState.PENDING, DeliveryState.SENDING]),
        )
    ))
