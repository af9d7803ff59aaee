"""The interaction desk (互动回应, interface §15): one message from the public, its timeline and its reply."""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Unit, User
from app.timeutil import UTCDateTime, utcnow


class Channel(enum.StrEnum):
    """Where a message came from (interface §15)."""

    WECHAT_COMMENT = "wechat_comment"
    WECHAT_MESSAGE = "wechat_message"
    PORTAL_MESSAGE = "portal_message"
    HOTLINE = "hotline"


#: The channels another system posts to `POST /interactions` (the WeChat ones arrive from WeChat itself).
POSTED = (Channel.PORTAL_MESSAGE, Channel.HOTLINE)


class InteractionStatus(enum.StrEnum):
    """new → assigned → reply_pending → replied; or closed with a `close_reason`."""

    NEW = "new"
    ASSIGNED = "assigned"
    REPLY_PENDING = "reply_pending"
    REPLIED = "replied"
    CLOSED = "closed"


OPEN = frozenset({InteractionStatus.NEW, InteractionStatus.ASSIGNED, InteractionStatus.REPLY_PENDING})


class CloseReason(enum.StrEnum):
    SPAM = "spam"
    ABUSIVE = "abusive"
    DUPLICATE = "duplicate"
    NO_REPLY_NEEDED = "no_reply_needed"


class EventKind(enum.StrEnum):
    """The timeline's entries, oldest first."""

    RECEIVED = "received"
    ASSIGNED = "assigned"
    CASE_LINKED = "case_linked"
    REPLY_DRAFTED = "reply_drafted"
    REPLY_SENT = "reply_sent"
    CLOSED = "closed"


class Interaction(Model):
    """One message from the public and, once answered, its reply.

    A follower is known only by `author_key`, a keyed hash (HMAC-SHA256 with the app's SECRET_KEY) of their
    openid, and the nickname WeChat gives (`author`): the openid itself is never stored nor shown. The clock
    (`due_at`, counted from `received_at`) is announced at 80 % and when overdue by the worker's sweep
    (`interaction.clock`), exactly once each: `alerted` and `next_alert_at` as a case's deadline keeps them.
    """

    __tablename__ = "interactions"
    __table_args__ = (
        # idempotent intake: a channel's message id is taken once (a follower message's MsgId included)
        UniqueConstraint("channel", "external_id", name="uq_interactions_channel_external"),
        # the desk's first page: open ones by time left
        Index("ix_interactions_queue", "status", "due_at", "id"),
        Index("ix_interactions_unit", "unit_id", "status", "due_at"),
        Index("ix_interactions_next_alert", "next_alert_at"),
        # the 48 h window: a follower's latest message
        Index("ix_interactions_author", "author_key", "received_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(128))
    author: Mapped[str | None] = mapped_column(String(64))
    author_key: Mapped[str | None] = mapped_column(String(64))
    text: Mapped[str] = mapped_column(Text)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime())
    unit_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    statement_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id"))
    status: Mapped[str] = mapped_column(String(16), default=InteractionStatus.NEW)
    #: Bumped by every transition (app/door.py).
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    close_reason: Mapped[str | None] = mapped_column(String(16))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    #: The clock's spec ("48h", "5wd"), or "given" for a hotline ticket's own deadline.
    due_spec: Mapped[str] = mapped_column(String(16))
    alerted: Mapped[int] = mapped_column(default=0, server_default="0")
    next_alert_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_text: Mapped[str | None] = mapped_column(Text)
    reply_drafted_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reply_approved_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    reply_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    reply_external_id: Mapped[str | None] = mapped_column(String(128))
    reply_ledger_seq: Mapped[int | None] = mapped_column()
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit | None] = relationship(foreign_keys=[unit_id])
    drafter: Mapped[User | None] = relationship(foreign_keys=[reply_drafted_by])
    approver: Mapped[User | None] = relationship(foreign_keys=[reply_approved_by])
    events: Mapped[list[InteractionEvent]] = relationship(order_by="InteractionEvent.id",
                                                          back_populates="interaction")

    @property
    def started_at(self) -> datetime:
        """Where the clock starts (cases.clock.Clock): the moment the message was received."""
        return self.received_at

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    def overdue(self, now: datetime | None = None) -> bool:
        return self.is_open and (now or utcnow()) >= self.due_at


class InteractionEvent(Model):
    """One entry of an interaction's timeline: who did what, when, with what details."""

    __tablename__ = "interaction_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    interaction_id: Mapped[int] = mapped_column(ForeignKey("interactions.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(24))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)

    interaction: Mapped[Interaction] = relationship(back_populates="events")
    actor: Mapped[User | None] = relationship()
