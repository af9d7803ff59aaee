"""The job a worker runs for a delivery: claim, re-check the hash, stage, send, settle.

Only the claimant sends; a job that finds nothing to claim does nothing, so a duplicate job is harmless.
An attempt commits twice: the claim (with everything the channel needs read in its transaction, and the
statement's `went_live` at go-live) and the settle (with the `staged` step if the channel staged in this
attempt). In between only a channel's own ids are committed, the moment they come back (`remember`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy.orm import joinedload

from app.extensions import db
from app.timeutil import utcnow
from publishing import channels, corrections, outbox
from publishing.channels import Dispatch, PermanentError, Published, TransientError
from publishing.models import Action, Delivery, Release
from review.models import Statement, revision_hash

log = logging.getLogger(__name__)


def portal_url(statement_id: int) -> str:
    """The statement's public page, which is also the WeChat article's `content_source_url`."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/releases/{statement_id}"


def _dispatch(d: Delivery, token: str) -> Dispatch:
    delivery_id = d.id  # the row is expired once the claim commits: nothing below may read it again
    rel = d.release
    st = rel.statement
    rev = rel.revision
    portal = next((x for x in rel.deliveries if x.channel == "portal" and x.url), None)
    return Dispatch(
        delivery_id=d.id, statement_id=st.id, channel=d.channel, delivery_key=d.delivery_key,
        title=rev.title, digest=rev.digest, body=rev.body, revision_hash=rev.hash,
        unit_code=st.unit.code, unit_name=st.unit.name, speaker=st.author.name,
        approved_at=rel.approved_at, go_live_at=rel.go_live_at,
        portal_url=portal.url if portal and portal.url else portal_url(st.id),
        unit_cover=st.unit.wechat_cover,
        data=dict(d.data or {}),
        remember=lambda **values: outbox.remember(delivery_id, token, values),
        reason=rel.retraction_reason,
        extra={"statement_unit_id": st.unit_id, "published_at": rel.published_at, "ledger_seq": rel.ledger_seq,
               "corrects": corrections.original_of(st), "priority": st.priority,
               "comments_open": st.comments_open},
    )


def _hash_holds(d: Delivery) -> bool:
    """The text about to go out is exactly the approved text (interface §3, rule 5)."""
    rel = d.release
    rev = rel.revision
    return (
        rel.statement.approved_revision_id == rev.id
        and rev.hash == rel.revision_hash
        and revision_hash(rev.title, rev.digest, rev.body) == rel.revision_hash
    )


def stage(delivery_id: int, key: str | None = None) -> str:
    """Prepare a scheduled delivery ahead of its go-live (the go-live job then only submits)."""
    return _run(delivery_id, key, stage_only=True)


def run(delivery_id: int, key: str | None = None) -> str:
    """One attempt at a delivery; returns what happened, for the job's result and the logs."""
    return _run(delivery_id, key, stage_only=False)


@dataclass
class _Plan:
    """What an attempt needs, read in its claim's transaction; `staged_at` is set once the channel staged."""

    job: Dispatch | None  # None: the text is not the approved text
    statement_id: int
    channel: str
    action: str
    staged: datetime | None
    due_at: datetime
    attempts: int
    staged_at: datetime | None = None


#: What `_dispatch` and `_hash_holds` read of a claimed delivery, loaded with it in one query.
_LOAD = (joinedload(Delivery.release).options(
    joinedload(Release.revision),
    joinedload(Release.statement).options(joinedload(Statement.unit), joinedload(Statement.author)),
),)


def _prepare(stage_only: bool) -> Callable[[Delivery, str], _Plan]:
    def prepare(d: Delivery, token: str) -> _Plan:
        plan = _Plan(job=None, statement_id=d.statement_id, channel=d.channel, action=d.action,
                     staged=d.staged_at, due_at=d.due_at, attempts=d.attempts)
        if not _hash_holds(d):
            return plan
        plan.job = _dispatch(d, token)
        fix = getattr(channels.get(d.channel), "prepare", None)
        if fix is not None and d.action == Action.PUBLISH and not stage_only and d.due_at <= utcnow():
            values = fix(plan.job)
            if values:  # fixed once, with the claim: what every retry of this delivery must send alike
                outbox.keep(d, values)
                plan.job.data.update(values)
        return plan

    return prepare


def _run(delivery_id: int, key: str | None, *, stage_only: bool) -> str:
    """Claim (and read, and go live) in one transaction; the channel works with no transaction open; then
    one more transaction settles the attempt (published, failed, or given back)."""
    taken = outbox.take(delivery_id, key, going_live=not stage_only, prepare=_prepare(stage_only), options=_LOAD)
    if taken is None:
        return "not claimed"
    plan = taken.prepared
    assert plan is not None
    try:
        return _attempt(plan, delivery_id, taken.token, stage_only=stage_only)
    except outbox.LostClaim:
        db.session.rollback()
        return "lost claim"


def _attempt(plan: _Plan, delivery_id: int, token: str, *, stage_only: bool) -> str:
    if plan.job is None:
        outbox.fail(delivery_id, token, "待发布文本与领导批准的修订稿哈希不一致，已拒绝发送")
        return "hash mismatch"
    channel = channels.get(plan.channel)
    try:
        with outbox.heartbeat(delivery_id, token):
            return _send(channel, plan, delivery_id, token, stage_only=stage_only)
    except outbox.LostClaim:
        raise
    except PermanentError as error:
        db.session.rollback()
        outbox.fail(delivery_id, token, error.reason, staged_at=plan.staged_at)
        return "failed"
    except TransientError as error:
        db.session.rollback()
        return _retry_later(plan, delivery_id, token, error.reason)
    except Exception as error:  # a bug or an unforeseen library error: retry, bounded, and keep the trace
        log.exception("delivery %s: unexpected error", delivery_id)
        db.session.rollback()
        return _retry_later(plan, delivery_id, token, f"内部错误：{type(error).__name__}: {error}"[:500])


def _send(channel: channels.Channel, plan: _Plan, delivery_id: int, token: str, *, stage_only: bool) -> str:
    job = plan.job
    assert job is not None
    if plan.action == Action.RETRACT:
        channel.retract(job)
        outbox.retracted(delivery_id, token)
        return "retracted"
    if plan.staged is None:
        channel.stage(job)
        plan.staged_at = utcnow()  # recorded with whatever settles this attempt, not in a commit of its own
    if stage_only or utcnow() < plan.due_at:
        outbox.release(delivery_id, token, at=None, attempt=False, staged_at=plan.staged_at)
        return "staged"
    result = channel.publish(job)
    if isinstance(result, Published):
        outbox.succeed(delivery_id, token, url=result.url, external_id=result.external_id, details=result.details,
                       staged_at=plan.staged_at, statement_id=plan.statement_id)  # and queues the read-back
        return "published"
    outbox.release(delivery_id, token, at=utcnow() + timedelta(seconds=result.seconds), attempt=False,
                   staged_at=plan.staged_at)
    return "waiting"


def _retry_later(plan: _Plan, delivery_id: int, token: str, reason: str) -> str:
    """`plan.attempts` already counts this one (it was counted at the claim)."""
    attempts = plan.attempts
    if attempts >= outbox.max_attempts():
        outbox.fail(delivery_id, token, f"重试 {attempts} 次仍失败：{reason}", staged_at=plan.staged_at)
        return "failed"
    outbox.release(delivery_id, token, at=utcnow() + outbox.backoff(attempts), error=reason, staged_at=plan.staged_at)
    return "retry"
