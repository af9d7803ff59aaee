"""Outgoing copies of notifications — e-mail (smtplib) and a signed webhook — retried with backoff.

The `notification_sends` rows are the truth, not the queue: a job only says "drain what is due now".
A sender claims a row by moving its `next_attempt_at` forward (a lease) with a compare-and-set through the
door (app/notifications/lifecycle.py), so racing drains never send one row together, and a sender that dies
leaves a row that is due again when the lease ends. `sweep()` queues a drain whenever something is due, so a
Redis flush delays sends but loses none.
"""

from __future__ import annotations

import json
import logging
import smtplib
import ssl
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import unquote, urlsplit

import requests
from flask import current_app
from rq import Queue
from sqlalchemy import ColumnElement, func, select

from app.door import transition_where
from app.extensions import db, get_redis
from app.notifications.lifecycle import SEND, SendEvent
from app.notifications.models import NotificationSend, SendChannel, SendState
from app.notifications.texts import in_locale
from app.register import person
from app.signing import signed_headers
from app.timeutil import utcnow
from app.tx import begin_write

log = logging.getLogger(__name__)

QUEUE_NAME = "notify"
DRAIN_FUNC = "app.notifications.outgoing.drain"
MAX_ATTEMPTS = 6
#: A claimed row is due again after this long, should its sender die mid-send.
LEASE = timedelta(seconds=60)
#: Rows one drain job sends before it hands the rest to a fresh job.
BATCH = 100
SMTP_TIMEOUT = 10
WEBHOOK_TIMEOUT = 10


class SendFailed(Exception):
    """A send did not happen; `permanent` ones are not retried."""

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


def backoff(attempts: int) -> timedelta:
    """Wait before the next attempt after `attempts` failed ones: 30 s, 1, 2, 4, 8 min …"""
    return timedelta(seconds=min(30 * 2 ** (attempts - 1), 3600))


# Queueing ---------------------------------------------------------------------------------------


#: Long enough for a whole batch of sends at their own timeouts.
JOB_TIMEOUT = BATCH * (SMTP_TIMEOUT + 5)


def queue() -> Queue:
    """The `notify` queue, which `huiying worker` listens to after the release queues."""
    return Queue(QUEUE_NAME, connection=get_redis(), default_timeout=JOB_TIMEOUT)


def enqueue_drain(at: datetime | None = None) -> None:
    """Ask a worker on the `notify` queue to send what is due (at `at`, when given)."""
    options = {"job_id": f"notify-drain-{uuid.uuid4().hex[:12]}", "result_ttl": 600, "failure_ttl": 86400,
               "description": "send due notifications"}
    if at is not None and at > utcnow():
        queue().enqueue_at(at, DRAIN_FUNC, **options)
    else:
        queue().enqueue(DRAIN_FUNC, **options)


def _due(now: datetime) -> ColumnElement[bool]:
    return (NotificationSend.state == SendState.PENDING.value) & (NotificationSend.next_attempt_at <= now)


def sweep() -> int:
    """Queue a drain when any send is due (new, retry time reached, or lease run out); how many are due."""
    due = db.session.scalar(select(func.count(NotificationSend.id)).where(_due(utcnow()))) or 0
    if due:
        enqueue_drain()
    return due


# Sending ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    send_id: int
    attempt: int


def claim_next() -> Claim | None:
    """Take the most overdue pending send for one attempt (compare-and-set through the door), or None when
    nothing is due. The claim, its audit event and its commit are one transaction."""
    for _ in range(20):
        begin_write()
        now = utcnow()
        oldest = db.session.execute(
            select(NotificationSend.id, NotificationSend.attempts).where(_due(now))
            .order_by(NotificationSend.next_attempt_at, NotificationSend.id).limit(1)
        ).first()
        if oldest is None:
            db.session.rollback()
            return None
        send_id, attempts = oldest
        if transition_where(NotificationSend, SEND, SendEvent.CLAIMED, send_id, from_states=(SendState.PENDING,),
                            where=(NotificationSend.attempts == attempts, NotificationSend.next_attempt_at <= now),
                            values={"attempts": attempts + 1, "next_attempt_at": now + LEASE},
                            after={"attempt": attempts + 1}):
            db.session.commit()
            return Claim(send_id, attempts + 1)
        db.session.rollback()  # another sender took that one first: try the next
    return None


def drain() -> int:
    """The `notify` job: send every due copy, one claim at a time; how many were attempted."""
    db.session.rollback()
    done = 0
    while done < BATCH:
        claim = claim_next()
        if claim is None:
            return done
        send_claimed(claim)
        done += 1
    enqueue_drain()
    return done


@dataclass(frozen=True)
class Copy:
    """What one send needs, read before the network call so no transaction stays open across it."""

    channel: str
    key: str
    kind: str
    subject: str
    body: str
    url: str
    email: str
    active: bool
    recipient: dict[str, str]


def _copy(claim: Claim) -> Copy | None:
    """The send's content, or None when the claim is no longer ours (settled, or taken again after its lease)."""
    send = db.session.get(NotificationSend, claim.send_id)
    if send is None or send.state != SendState.PENDING or send.attempts != claim.attempt:
        db.session.rollback()
        return None
    n = send.notification
    user = n.recipient
    subject, body = in_locale(user.locale, n.texts, n.subject, n.body)  # the recipient's language, not the sender's
    found = Copy(send.channel, send.key, n.kind, subject, body, _absolute(n.url), user.email, user.active,
                 person(user) or {})
    db.session.rollback()
    return found


def send_claimed(claim: Claim) -> None:
    """Make one attempt at a claimed send and record how it went (only if the claim is still ours)."""
    copy = _copy(claim)
    if copy is None:
        return
    try:
        if not copy.active:
            raise SendFailed("recipient deactivated", permanent=True)
        if copy.channel == SendChannel.EMAIL:
            send_email(copy)
        else:
            send_webhook(copy)
    except SendFailed as failure:
        _record_failure(claim, str(failure)[:500], permanent=failure.permanent)
        return
    except Exception as error:  # a bug or an unexpected library error: retry like any transient failure
        log.exception("notification send %s failed unexpectedly", claim.send_id)
        _record_failure(claim, f"{type(error).__name__}: {error}"[:500], permanent=False)
        return
    _settle(claim, SendEvent.SENT, sent_at=utcnow(), last_error="")


def _record_failure(claim: Claim, reason: str, *, permanent: bool) -> None:
    log.warning("notification send %s attempt %s failed: %s", claim.send_id, claim.attempt, reason)
    if permanent or claim.attempt >= MAX_ATTEMPTS:
        _settle(claim, SendEvent.FAILED, last_error=reason)
        return
    retry_at = utcnow() + backoff(claim.attempt)
    if _settle(claim, SendEvent.DEFERRED, next_attempt_at=retry_at, last_error=reason):
        try:
            enqueue_drain(retry_at)
        except Exception:
            log.exception("could not schedule the retry; the sweeper will")


def _settle(claim: Claim, event: SendEvent, **values: object) -> bool:
    """Write an attempt's outcome unless a later claim has taken the row since (its lease ran out)."""
    begin_write()
    done = transition_where(NotificationSend, SEND, event, claim.send_id, from_states=(SendState.PENDING,),
                            where=(NotificationSend.attempts == claim.attempt,), values=values,
                            after={"attempt": claim.attempt, "error": values.get("last_error", "")})
    db.session.commit()
    return done


def _absolute(url: str) -> str:
    if url.startswith("/"):
        return current_app.config["PUBLIC_BASE_URL"] + url
    return url


def fold(value: str) -> str:
    """A header value on one line: line breaks (CR, LF, U+2028 …) and other control characters become single
    spaces. A case title typed with a line break would otherwise make every attempt fail, or add a header."""
    return " ".join("".join(c if c.isprintable() else " " for c in value).split())


def _compose(copy: Copy, sender: str) -> EmailMessage:
    """The e-mail of one copy; an error here would recur on every retry, so it is permanent."""
    message = EmailMessage()
    try:
        message["From"] = sender
    except (ValueError, TypeError) as error:
        raise SendFailed(f"MAIL_FROM cannot be an e-mail header: {error}", permanent=True) from None
    try:
        message["To"] = copy.email
        message["Subject"] = fold(copy.subject)
        message["Date"] = formatdate(usegmt=True)
        message["Message-ID"] = f"<{copy.key}@huiying>"  # the same on every retry: a mailbox can tell a repeat
        text = "\n\n".join(part for part in (copy.body, copy.url) if part)
        message.set_content(text or fold(copy.subject))
    except (ValueError, TypeError) as error:
        raise SendFailed(f"cannot compose the e-mail: {type(error).__name__}: {error}", permanent=True) from None
    return message


def send_email(copy: Copy) -> None:
    """One e-mail through the SMTP server of `SMTP_URL` (`smtp://` or `smtp+starttls://`)."""
    config = current_app.config
    if not copy.email:
        raise SendFailed("recipient has no e-mail address", permanent=True)
    target = urlsplit(config["SMTP_URL"])
    if target.scheme not in ("smtp", "smtp+starttls") or not target.hostname:
        raise SendFailed(f"SMTP_URL scheme must be smtp or smtp+starttls, not {target.scheme!r}", permanent=True)
    starttls = target.scheme == "smtp+starttls"
    message = _compose(copy, config["MAIL_FROM"])
    try:
        with smtplib.SMTP(target.hostname, target.port or (587 if starttls else 25), timeout=SMTP_TIMEOUT) as smtp:
            if starttls:
                smtp.starttls(context=ssl.create_default_context())
            if target.username:
                smtp.login(unquote(target.username), unquote(target.password or ""))
            smtp.send_message(message)
    except smtplib.SMTPRecipientsRefused as error:
        codes = [code for code, _ in error.recipients.values()]
        raise SendFailed(f"SMTP refused the recipient: {codes}", permanent=all(c >= 500 for c in codes)) from None
    except smtplib.SMTPResponseException as error:
        raise SendFailed(f"SMTP {error.smtp_code}: {error.smtp_error!r}", permanent=error.smtp_code >= 500) from None
    except (smtplib.SMTPException, OSError) as error:
        raise SendFailed(f"SMTP unreachable: {type(error).__name__}: {error}") from None


def send_webhook(copy: Copy) -> None:
    """One signed POST to `NOTIFY_WEBHOOK_URL` (the portal webhook's headers and signature, interface §4, §9)."""
    config = current_app.config
    payload = {
        "event": "notification",
        "kind": copy.kind,
        "recipient": copy.recipient,
        "subject": copy.subject,
        "body": copy.body,
        "url": copy.url,
    }
    raw = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode()
    headers = signed_headers(config["NOTIFY_WEBHOOK_SECRET"], copy.key, raw,
                             user_agent="Huiying/1 (+notification webhook)")
    try:
        resp = requests.post(config["NOTIFY_WEBHOOK_URL"], data=raw, headers=headers,
                             timeout=(3, WEBHOOK_TIMEOUT), allow_redirects=False)
    except requests.RequestException as error:
        raise SendFailed(f"webhook unreachable: {type(error).__name__}") from None
    if 200 <= resp.status_code < 300:
        return
    transient = resp.status_code >= 500 or resp.status_code in (408, 425, 429)
    raise SendFailed(f"webhook answered HTTP {resp.status_code}", permanent=not transient)
