"""The account's mass sends (群发, interface §14): the quota per period, the statements waiting for a slot, the
mass sends themselves, and the previews sent to people's own WeChat.

A mass send is scarce (one a day on a subscription account), so it is a row here, not a side effect: the
period's count, the order of the waiting statements and the ids WeChat handed back are all in the database,
where a Redis flush or a worker restart at midnight cannot lose or double them.
"""

from __future__ import annotations

import enum
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from app.extensions import Model
from app.timeutil import UTCDateTime, utcnow


class MassPeriod(Model):
    """One quota period (a Shanghai day, a month, or a test window): how many mass sends WeChat accepted."""

    __tablename__ = "wechat_mass_periods"

    id: Mapped[int] = mapped_column(primary_key=True)
    start: Mapped[datetime] = mapped_column(UTCDateTime(), unique=True)
    end: Mapped[datetime] = mapped_column(UTCDateTime())
    #: Mass sends counted against the period: reserved for a send under way, or accepted by WeChat.
    used: Mapped[int] = mapped_column(default=0)
    limit: Mapped[int] = mapped_column()
    #: Set when WeChat answered 45028 (no quota) although our count had one left: spent elsewhere.
    spent_elsewhere_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class MassState(enum.StrEnum):
    RESERVED = "reserved"  # the slot is counted, the articles chosen; nothing sent yet
    SUBMITTING = "submitting"  # sendall may have happened: only ever repeat it with the same clientmsgid
    SENDING = "sending"  # WeChat accepted it (msg_id); pushing to followers, or held for a phone confirmation
    SENT = "sent"
    FAILED = "failed"
    NO_QUOTA = "no_quota"  # WeChat answered 45028: its members follow the no-quota rule
    CANCELLED = "cancelled"  # every member withdrawn before it was submitted


class MassSend(Model):
    """One mass send: up to 8 statements' articles, the first the headline, pushed to every follower."""

    __tablename__ = "wechat_mass_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    period_start: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)
    state: Mapped[str] = mapped_column(String(12), default=MassState.RESERVED)
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Fixed when it is first submitted ("hy-" + the headline delivery's key), the same on every retry.
    clientmsgid: Mapped[str | None] = mapped_column(String(64), unique=True)
    #: The draft that carries the articles in their order (a member's own draft when it is alone).
    media_id: Mapped[str | None] = mapped_column(String(128))
    msg_id: Mapped[str | None] = mapped_column(String(32), index=True)
    msg_data_id: Mapped[str | None] = mapped_column(String(32))
    sent_count: Mapped[int | None] = mapped_column()
    total_count: Mapped[int | None] = mapped_column()
    #: ArticleIdx (as a string) → the article's URL, from MASSSENDJOBFINISH.
    article_urls: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: When office was told to confirm it on a phone (群发保护), once.
    unconfirmed_notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Whichever member's worker drives the send holds it for a while, so two never call WeChat at once.
    driver_token: Mapped[str | None] = mapped_column(String(36))
    driver_until: Mapped[datetime | None] = mapped_column(UTCDateTime())


class ItemState(enum.StrEnum):
    WAITING = "waiting"  # no slot was left: waits for the next period
    BUNDLED = "bundled"  # one of a mass send's articles
    SWITCHED = "switched"  # a leader or office switched it to a free publication while it waited
    WITHDRAWN = "withdrawn"  # retracted or cancelled before its mass send was submitted


class MassItem(Model):
    """A `mass_send` statement's WeChat delivery in the quota: waiting, or an article of a mass send."""

    __tablename__ = "wechat_mass_items"
    __table_args__ = (Index("ix_wechat_mass_items_queue", "state", "priority_rank", "approved_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id"), unique=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    state: Mapped[str] = mapped_column(String(12), default=ItemState.WAITING)
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    priority_rank: Mapped[int] = mapped_column()
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime())
    queued_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    mass_send_id: Mapped[int | None] = mapped_column(ForeignKey("wechat_mass_sends.id"), index=True)
    #: 1-based position in its mass send (1 = the headline).
    article_idx: Mapped[int | None] = mapped_column()


class Preview(Model):
    """One article sent to a person's own WeChat (message/mass/preview): counted, never published."""

    __tablename__ = "wechat_previews"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    towxname: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    msg_id: Mapped[str | None] = mapped_column(String(32))
