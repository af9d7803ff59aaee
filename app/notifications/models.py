"""An inbox row per (key, recipient), and the outgoing copies (e-mail, webhook) that retry on their own."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import User
from app.notifications.texts import shown
from app.timeutil import UTCDateTime, utcnow


class Notification(Model):
    """One message in one person's inbox; `key` names its subject and threshold (interface §9).

    UNIQUE(key, recipient) makes "exactly once" a fact of the database: however many workers race,
    only one insert of a given (key, recipient) ever succeeds.
    """

    __tablename__ = "notifications"
    __table_args__ = (
        UniqueConstraint("key", "recipient_id", name="uq_notifications_key_recipient"),
        Index("ix_notifications_inbox", "recipient_id", "read_at", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(32))
    key: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str] = mapped_column(String(512), default="")
    #: The subject's and body's message ids and parameters (`texts.Message`), rendered in each reader's
    #: language; `subject` and `body` hold them in the default language (and plain texts as given).
    texts: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    recipient: Mapped[User] = relationship()

    @property
    def shown_subject(self) -> str:
        """The subject in the current language (the page's)."""
        return shown(self.texts, "subject", self.subject)

    @property
    def shown_body(self) -> str:
        """The body in the current language (the page's)."""
        return shown(self.texts, "body", self.body)


class SendChannel(enum.StrEnum):
    """Where a notification goes beyond the inbox."""

    EMAIL = "email"
    WEBHOOK = "webhook"


class SendState(enum.StrEnum):
    """`pending` until sent, or until it has failed for good (a permanent refusal or too many tries)."""

    PENDING = "pending"
    SENT = "sent"
    FAILED = "failed"


class NotificationSend(Model):
    """An outgoing copy of a notification: the row, not a queued job, is the truth (a Redis flush loses nothing).

    A sender claims it by moving `next_attempt_at` forward as a lease; a failure schedules the next attempt
    with backoff. `key` is the webhook's `X-Huiying-Delivery`, the same on every retry.
    """

    __tablename__ = "notification_sends"
    __table_args__ = (
        UniqueConstraint("notification_id", "channel", name="uq_notification_sends_channel"),
        Index("ix_notification_sends_due", "state", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(8))
    state: Mapped[str] = mapped_column(String(8), default=SendState.PENDING)
    key: Mapped[str] = mapped_column(String(36), default=lambda: str(uuid.uuid4()))
    attempts: Mapped[int] = mapped_column(default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    notification: Mapped[Notification] = relationship()
