"""Releases, their deliveries (the outbox) and the statement ledger."""

from __future__ import annotations

import enum
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ColumnElement, ForeignKey, Index, String, Text, UniqueConstraint, and_, text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model, db
from app.models import User
from app.timeutil import UTCDateTime, utcnow
from review.models import Revision, Statement


class DeliveryState(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    PUBLISHED = "published"
    FAILED = "failed"
    RETRACTED = "retracted"


class Action(enum.StrEnum):
    """What a claimed delivery must do next: put the statement out, or take it down."""

    PUBLISH = "publish"
    RETRACT = "retract"


class LedgerKind(enum.StrEnum):
    PUBLISHED = "published"
    RETRACTED = "retracted"
    CORRECTED = "corrected"
    DELIVERY_FAILED = "delivery_failed"
    READBACK_MISMATCH = "readback_mismatch"


class Release(Model):
    """The licence to publish: exactly the approved revision, at one go-live time."""

    __tablename__ = "releases"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), unique=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    revision_hash: Mapped[str] = mapped_column(String(64))
    approved_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    approved_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    go_live_at: Mapped[datetime] = mapped_column(UTCDateTime())
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retracted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    retraction_reason: Mapped[str | None] = mapped_column(Text)
    ledger_seq: Mapped[int | None] = mapped_column()

    statement: Mapped[Statement] = relationship(
        backref=db.backref("release", uselist=False)
    )
    revision: Mapped[Revision] = relationship()
    approved_by: Mapped[User] = relationship()
    deliveries: Mapped[list[Delivery]] = relationship(
        back_populates="release", order_by="Delivery.channel", lazy="selectin"
    )

    @hybrid_property
    def cancelled(self) -> bool:
        """取消发布: stopped before its go-live time, so nothing went out (the statement still ends `retracted`)."""
        return self.retracted_at is not None and self.retracted_at < self.go_live_at

    @cancelled.inplace.expression
    @classmethod
    def _cancelled_expression(cls) -> ColumnElement[bool]:
        return and_(cls.retracted_at.is_not(None), cls.retracted_at < cls.go_live_at)


class Delivery(Model):
    """One statement × one channel: the outbox row a worker claims, sends and settles."""

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("statement_id", "channel"),
        Index("ix_deliveries_due", "state", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    release_id: Mapped[int] = mapped_column(ForeignKey("releases.id"), index=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"))
    channel: Mapped[str] = mapped_column(String(16))
    action: Mapped[str] = mapped_column(String(8), default=Action.PUBLISH)
    state: Mapped[str] = mapped_column(String(12), default=DeliveryState.PENDING)
    #: Bumped by every transition (app/door.py); with `claim_token` it decides who may write the row.
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    priority: Mapped[str] = mapped_column(String(8))
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    attempts: Mapped[int] = mapped_column(default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claim_token: Mapped[str | None] = mapped_column(String(36))
    #: The idempotency key an external system sees on every retry (X-Huiying-Delivery).
    delivery_key: Mapped[str] = mapped_column(String(36), default=lambda: str(uuid.uuid4()))
    staged_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    external_id: Mapped[str | None] = mapped_column(String(128))
    url: Mapped[str | None] = mapped_column(String(512))
    last_error: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    #: Ids a channel got back from the outside world, stored the moment they were returned.
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    #: What the channel showed when read back after publication (publishing/readback.py, interface §10).
    readback: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    #: When a read-back is (next) due; the worker's sweep re-queues it, so a lost job or a flushed Redis loses none.
    readback_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime(), index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, onupdate=utcnow)

    release: Mapped[Release] = relationship(back_populates="deliveries")

    @property
    def ready_at(self) -> datetime:
        """When this delivery may next be attempted."""
        return max(self.due_at, self.next_attempt_at or self.due_at)


class LedgerEntry(Model):
    """One line of the permanent record; hash-chained to the one before (interface §3 Ledger)."""

    __tablename__ = "ledger_entries"
    __table_args__ = (
        Index("ux_ledger_published_once", "statement_id", unique=True,
              sqlite_where=text("kind = 'published'"), postgresql_where=text("kind = 'published'")),
    )

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    kind: Mapped[str] = mapped_column(String(32))
    statement_id: Mapped[int] = mapped_column(index=True)
    revision_hash: Mapped[str] = mapped_column(String(64))
    # Kept as the exact ISO text that was hashed, so verification never depends on a driver's clock types.
    at: Mapped[str] = mapped_column(String(40))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64), unique=True)

    def body(self) -> dict[str, Any]:
        """The entry as hashed and as served: every field but `hash`."""
        return {
            "seq": self.seq,
            "kind": self.kind,
            "statement_id": self.statement_id,
            "revision_hash": self.revision_hash,
            "at": self.at,
            "payload": self.payload,
            "prev_hash": self.prev_hash,
        }


class LedgerCheckpoint(Model):
    """The head at one seq, signed with the checkpoint key (kept outside the database) — docs/ledger.md.

    A copy of every row also goes to `LEDGER_CHECKPOINT_DIR`, so that rewriting or truncating the chain and
    this table together is still found against the copy.
    """

    __tablename__ = "ledger_checkpoints"

    seq: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    key_id: Mapped[str] = mapped_column(String(16), primary_key=True)
    hash: Mapped[str] = mapped_column(String(64))
    at: Mapped[str] = mapped_column(String(40))
    signature: Mapped[str] = mapped_column(String(128))


class LedgerHead(Model):
    """A single row locked by every append, so concurrent writers cannot fork the chain."""

    __tablename__ = "ledger_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(default=0)
    hash: Mapped[str] = mapped_column(String(64), default="0" * 64)
