"""The job a worker runs for a delivery: claim, re-check the hash, stage, send, settle.

Only the claimant sends; a job that finds nothing to claim does nothing, so a duplicate job is harmless.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from flask import current_app

from app.extensions import db
from app.timeutil import utcnow
from publishing import channels, outbox, readback
from publishing.channels import Dispatch, PermanentError, Published, TransientError
from publishing.models import Action, Delivery
from review.models import revision_hash

log = logging.getLogger(__name__)


def portal_url(statement_id: int) -> str:
    """The statement's public page, which is also the WeChat article's `content_source_url`."""
    return f"{current_app.config['PUBLIC_BASE_URL']}/releases/{statement_id}"


def _dispatch(d: Delivery, token: str) -> Dispatch:
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
        remember=lambda **values: outbox.remember(d.id, token, values),
        reason=rel.retraction_reason,
        extra={"statement_unit_id": st.unit_id, "published_at": rel.published_at, "ledger_seq": rel.ledger_seq},
    )


def _hash_holds(d: Delivery) -> bool:
    """The text about to go out is exactly the approved text (CONTRACT rule 5)."""
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


def _run(delivery_id: int, key: str | None, *, stage_only: bool) -> str:
    token = outbox.claim(delivery_id, key)
    if token is None:
        return "not claimed"
    d = db.session.get(Delivery, delivery_id)
    assert d is not None
    try:
        return _attempt(d, token, stage_only=stage_only)
    except outbox.LostClaim:
        db.session.rollback()
        return "lost claim"


def _attempt(d: Delivery, token: str, *, stage_only: bool) -> str:
    delivery_id = d.id
    if not _hash_holds(d):
        outbox.fail(delivery_id, token, "待发布文本与领导批准的修订稿哈希不一致，已拒绝发送")
        return "hash mismatch"
    channel = channels.get(d.channel)
    job = _dispatch(d, token)
    action, staged, due_at, attempts, statement_id = d.action, d.staged_at, d.due_at, d.attempts, d.statement_id
    db.session.commit()  # end the read transaction: channel calls take seconds and hold no locks
    try:
        with outbox.heartbeat(delivery_id, token):
            return _send(channel, job, delivery_id, token, action=action, staged=staged, due_at=due_at,
                         statement_id=statement_id, stage_only=stage_only)
    except outbox.LostClaim:
        raise
    except PermanentError as error:
        db.session.rollback()
        outbox.fail(delivery_id, token, error.reason)
        return "failed"
    except TransientError as error:
        db.session.rollback()
        return _retry_later(delivery_id, token, attempts, error.reason)
    except Exception as error:  # a bug or an unforeseen library error: retry, bounded, and keep the trace
        log.exception("delivery %s: unexpected error", delivery_id)
        db.session.rollback()
        return _retry_later(delivery_id, token, attempts, f"内部错误：{type(error).__name__}: {error}"[:500])


def _send(channel: channels.Channel, job: Dispatch, delivery_id: int, token: str, *, action: str,
          staged: object, due_at: datetime, statement_id: int, stage_only: bool) -> str:
    if action == Action.RETRACT:
        channel.retract(job)
        outbox.retracted(delivery_id, token)
        return "retracted"
    if staged is None:
        channel.stage(job)
        outbox.mark_staged(delivery_id, token)
    if stage_only or utcnow() < due_at:
        outbox.release(delivery_id, token, at=None, attempt=False)
        return "staged"
    outbox.begin_publishing(statement_id)
    result = channel.publish(job)
    if isinstance(result, Published):
        if outbox.succeed(delivery_id, token, url=result.url, external_id=result.external_id, details=result.details):
            readback.after_published(delivery_id)  # CONTRACT §10: read what the channel now shows
        return "published"
    outbox.release(delivery_id, token, at=utcnow() + timedelta(seconds=result.seconds), attempt=False)
    return "waiting"


def _retry_later(delivery_id: int, token: str, attempts: int, reason: str) -> str:
    """`attempts` already counts this one (it was counted at the claim)."""
    if attempts >= outbox.max_attempts():
        outbox.fail(delivery_id, token, f"重试 {attempts} 次仍失败：{reason}")
        return "failed"
    outbox.release(delivery_id, token, at=utcnow() + outbox.backoff(attempts), error=reason)
    return "retry"
