"""Raising a notification, exactly once per (key, recipient), and reading one's own inbox."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any, cast

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import CursorResult, func, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from app import paging
from app.errors import NotFound
from app.extensions import db
from app.models import User
from app.notifications.models import Notification, NotificationSend, SendChannel, SendState
from app.notifications.texts import Text, stored
from app.paging import Cut
from app.timeutil import iso, utcnow
from app.tx import after_commit

log = logging.getLogger(__name__)


def channels_for(user: User) -> list[SendChannel]:
    """Where a copy of this person's notifications goes besides the inbox, as configured (interface §9)."""
    config = current_app.config
    found = []
    if config.get("SMTP_URL") and config.get("MAIL_FROM") and user.email:
        found.append(SendChannel.EMAIL)
    if config.get("NOTIFY_WEBHOOK_URL") and config.get("NOTIFY_WEBHOOK_SECRET"):
        found.append(SendChannel.WEBHOOK)
    return found


@dataclass(frozen=True)
class Notice:
    """One notification to raise: its kind, its key (exactly once per key and recipient), its people; subject
    and body as `_m(…)` messages so that each reader gets them in their own language."""

    kind: str
    key: str
    recipients: tuple[User, ...]
    subject: Text
    body: Text = ""
    url: str = ""


def notify(kind: str, key: str, recipients: Iterable[User | None], *, subject: Text, body: Text = "",
           url: str = "") -> int:
    """Put a notification in each active recipient's inbox once per `key`; how many were new.

    Joins the caller's transaction (the caller commits). INSERT … ON CONFLICT DO NOTHING on UNIQUE(key,
    recipient) makes a second call, a retry or a racing worker a no-op. Outgoing copies are queued after
    the commit; if that fails, the sweeper sends them.
    """
    return notify_many([Notice(kind, key, tuple(u for u in recipients if u is not None), subject, body, url)])


def notify_many(notices: Iterable[Notice]) -> int:
    """`notify` for many notices in two statements (a sweep that crosses a thousand thresholds)."""
    session = db.session
    now = utcnow()
    people: dict[int, User] = {}
    rows: list[dict[str, Any]] = []
    for notice in notices:
        subject, body, texts = stored(notice.subject, notice.body)
        seen: set[int] = set()
        for u in notice.recipients:
            if u is None or not u.active or u.id in seen:
                continue
            seen.add(u.id)
            people[u.id] = u
            rows.append({"recipient_id": u.id, "kind": notice.kind, "key": notice.key,
                         "subject": subject[:200], "body": body, "texts": texts, "url": notice.url[:512],
                         "created_at": now, "read_at": None})
    if not rows:
        return 0
    insert = pg_insert if session.get_bind().dialect.name == "postgresql" else sqlite_insert
    created = session.execute(
        insert(Notification).on_conflict_do_nothing(index_elements=["key", "recipient_id"])
        .returning(Notification.id, Notification.recipient_id),
        rows,
    ).all()
    sends: list[dict[str, Any]] = [
        {"notification_id": notification_id, "channel": channel.value, "state": SendState.PENDING.value,
         "key": str(uuid.uuid4()), "attempts": 0, "next_attempt_at": now, "last_error": "", "sent_at": None}
        for notification_id, recipient_id in created
        for channel in channels_for(people[recipient_id])
    ]
    if sends:
        session.execute(insert(NotificationSend).on_conflict_do_nothing(
            index_elements=["notification_id", "channel"]), sends)
        after_commit(session, _send_soon)
    return len(created)


def settle(keys: Iterable[str]) -> int:
    """Mark the notifications of these keys read for every recipient: their subject moved on, so they ask
    for nothing any more (请您审核 after another expert decided). Joins the caller's transaction; how many."""
    wanted = list(dict.fromkeys(keys))
    if not wanted:
        return 0
    # an UPDATE's result is a CursorResult, which counts rows; Session.execute is typed for any statement
    result = cast(CursorResult[Any], db.session.execute(
        update(Notification)
        .where(Notification.key.in_(wanted), Notification.read_at.is_(None))  # the (key, recipient) index
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ))
    return int(result.rowcount or 0)


def _send_soon() -> None:
    """After the commit: ask a worker to send now. Never raises — the sweeper covers a lost enqueue."""
    from app.notifications import outgoing

    try:
        outgoing.enqueue_drain()
    except Exception:
        log.exception("could not queue notification sends; the sweeper will send them")


# Reading ---------------------------------------------------------------------------------------


def notification_json(n: Notification) -> dict[str, Any]:
    """The inbox item (interface §9), in the reader's language."""
    return {"id": n.id, "kind": n.kind, "subject": n.shown_subject, "body": n.shown_body, "url": n.url,
            "created_at": iso(n.created_at), "read_at": iso(n.read_at)}


def inbox(user: User, *, unread: bool, at: Cut) -> tuple[list[Notification], int]:
    """One page of the person's own notifications, newest first, and how many there are."""
    query = select(Notification).where(Notification.recipient_id == user.id)
    if unread:
        query = query.where(Notification.read_at.is_(None))
    return paging.page_of(query.order_by(Notification.id.desc()), at)


def unread_count(user: User) -> int:
    """How many of the person's notifications are unread (one COUNT on the inbox index)."""
    return db.session.scalar(
        select(func.count(Notification.id))
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
    ) or 0


def mark_read(user: User, notification_id: int) -> Notification:
    """Mark one of the person's own notifications read (keeps the first reading time); 404 for anyone else's."""
    # The write first, then the read: no read-then-write upgrade of a SQLite transaction.
    db.session.execute(
        update(Notification)
        .where(Notification.id == notification_id, Notification.recipient_id == user.id,
               Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    )
    db.session.commit()
    found = db.session.scalar(
        select(Notification).where(Notification.id == notification_id, Notification.recipient_id == user.id)
    )
    if found is None:
        raise NotFound(_("没有这条通知"))
    return found


def mark_all_read(user: User) -> int:
    """Mark every unread notification of the person read; how many were."""
    result = cast(CursorResult[Any], db.session.execute(  # (a CursorResult, as in `settle`)
        update(Notification)
        .where(Notification.recipient_id == user.id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
        .execution_options(synchronize_session=False)
    ))
    db.session.commit()
    return int(result.rowcount or 0)
