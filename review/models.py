"""Statements and their immutable revisions, the decisions and confirmations bound to a hash."""

from __future__ import annotations

import enum
import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy import true as sa_true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app.extensions import Model
from app.models import Unit, User
from app.timeutil import UTCDateTime, utcnow


def canonical(value: Any) -> bytes:
    """interface §3: sorted keys, no spaces, UTF-8, non-ASCII kept."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def revision_hash(title: str, digest: str, body: str) -> str:
    """sha256_hex(canonical({title, digest, body})): what every decision is bound to."""
    return hashlib.sha256(canonical({"title": title, "digest": digest, "body": body})).hexdigest()


class Status(enum.StrEnum):
    DRAFT = "draft"
    IN_REVIEW = "in_review"
    CHANGES_REQUESTED = "changes_requested"
    APPROVED = "approved"
    SCHEDULED = "scheduled"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    PARTIALLY_PUBLISHED = "partially_published"
    FAILED = "failed"
    REJECTED = "rejected"
    RETRACTED = "retracted"


EDITABLE = frozenset({Status.DRAFT, Status.IN_REVIEW, Status.CHANGES_REQUESTED})
SUBMITTABLE = frozenset({Status.DRAFT, Status.CHANGES_REQUESTED})
CORRECTABLE = frozenset({Status.PUBLISHED, Status.PARTIALLY_PUBLISHED, Status.RETRACTED})


class Stage(enum.StrEnum):
    EXPERT = "expert"
    AGENCY = "agency"
    LEADER = "leader"


class Verdict(enum.StrEnum):
    APPROVE = "approve"
    REQUEST_CHANGES = "request_changes"
    REJECT = "reject"


class Priority(enum.StrEnum):
    URGENT = "urgent"
    HIGH = "high"
    NORMAL = "normal"
    LOW = "low"

    @property
    def rank(self) -> int:
        """0 is most urgent: the order of the release queues."""
        return list(Priority).index(self)


class Channel(enum.StrEnum):
    PORTAL = "portal"
    WECHAT = "wechat"


class ConfirmMethod(enum.StrEnum):
    PHONE = "phone"
    DOCUMENT = "document"
    MEETING = "meeting"
    OTHER = "other"


class Statement(Model):
    """A public response of one unit; its text lives in revisions, its state here."""

    __tablename__ = "statements"
    __table_args__ = (
        Index("ix_statements_work", "unit_id", "status", "pending_stage", "priority_rank", "updated_at"),
        Index("ix_statements_author_status", "author_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    priority: Mapped[str] = mapped_column(String(8), default=Priority.NORMAL)
    # Denormalised from `priority` so "most urgent first" is an index scan.
    priority_rank: Mapped[int] = mapped_column(default=2)
    channels: Mapped[list[str]] = mapped_column(JSON, default=list)
    #: How the WeChat channel sends it (interface §14): `publish` (发布, not pushed) or `mass_send` (群发).
    wechat_mode: Mapped[str] = mapped_column(String(12), default="publish", server_default="publish")
    #: Whether the WeChat article is created with comments open (interface §14).
    comments_open: Mapped[bool] = mapped_column(default=True, server_default=sa_true())
    go_live_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    agencies: Mapped[list[str]] = mapped_column(JSON, default=list)
    case_ids: Mapped[list[int]] = mapped_column(JSON, default=list)
    corrects_id: Mapped[int | None] = mapped_column(ForeignKey("statements.id"))
    status: Mapped[str] = mapped_column(String(24), default=Status.DRAFT, index=True)
    #: Bumped by every transition (app/door.py): a writer that read an older version changes nothing.
    version: Mapped[int] = mapped_column(default=0, server_default="0")
    # Kept by `rules.refresh` after every change so work lists need no per-row computation.
    pending_stage: Mapped[str | None] = mapped_column(String(8))
    # A review round starts at each submit; decisions of earlier rounds stay as history only.
    review_round: Mapped[int] = mapped_column(default=0)
    current_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", use_alter=True, name="fk_statement_current_revision")
    )
    approved_revision_id: Mapped[int | None] = mapped_column(
        ForeignKey("revisions.id", use_alter=True, name="fk_statement_approved_revision")
    )
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: User ids of the experts the drafter asked for at the last submit (they are told first); None = anyone.
    requested_reviewers: Mapped[list[int] | None] = mapped_column(JSON)

    # Many-to-one links load on access: units and people are few and sit in the identity map.
    unit: Mapped[Unit] = relationship()
    author: Mapped[User] = relationship()
    current_revision: Mapped[Revision | None] = relationship(
        foreign_keys=[current_revision_id], post_update=True, lazy="joined"
    )
    approved_revision: Mapped[Revision | None] = relationship(
        foreign_keys=[approved_revision_id], post_update=True
    )
    revisions: Mapped[list[Revision]] = relationship(
        foreign_keys="Revision.statement_id", order_by="Revision.number", back_populates="statement"
    )
    decisions: Mapped[list[Decision]] = relationship(order_by="Decision.id")
    confirmations: Mapped[list[Confirmation]] = relationship(order_by="Confirmation.id")
    comments: Mapped[list[Comment]] = relationship(order_by="Comment.id")
    corrects: Mapped[Statement | None] = relationship(remote_side=[id])

    @property
    def title(self) -> str:
        return self.current_revision.title if self.current_revision else ""

    def current_decisions(self) -> list[Decision]:
        """Decisions that count: this round, on the current revision."""
        rev = self.current_revision_id
        return [d for d in self.decisions if d.revision_id == rev and d.round == self.review_round]

    def current_confirmations(self) -> list[Confirmation]:
        rev = self.current_revision_id
        return [c for c in self.confirmations if c.revision_id == rev and c.round == self.review_round]


class Revision(Model):
    """One immutable text of a statement; `hash` binds every decision to exactly this text."""

    __tablename__ = "revisions"
    __table_args__ = (
        UniqueConstraint("statement_id", "number"),
        # "not written by me" in every reviewer's work list
        Index("ix_revisions_statement_author", "statement_id", "author_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    number: Mapped[int] = mapped_column()
    title: Mapped[str] = mapped_column(String(64))
    digest: Mapped[str] = mapped_column(String(120), default="")
    body: Mapped[str] = mapped_column(Text)
    hash: Mapped[str] = mapped_column(String(64), index=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Pre-publication findings for this text (review/checks.py); renewed only when the term lists change.
    checks: Mapped[list[dict[str, Any]] | None] = mapped_column(JSON)

    statement: Mapped[Statement] = relationship(foreign_keys=[statement_id], back_populates="revisions")
    author: Mapped[User] = relationship()

    def verify(self) -> bool:
        """The stored text still hashes to the stored hash."""
        return revision_hash(self.title, self.digest, self.body) == self.hash


class Decision(Model):
    """An expert's or leader's verdict on one revision hash."""

    __tablename__ = "decisions"
    __table_args__ = (Index("ix_decisions_reviewer_hash", "statement_id", "reviewer_id", "revision_hash"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    revision_hash: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column()
    stage: Mapped[str] = mapped_column(String(8))
    decision: Mapped[str] = mapped_column(String(16))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: Set when the reviewer acted as someone's stand-in (代理): shown as "reviewer（代 X）".
    on_behalf_of_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    reviewer: Mapped[User] = relationship(foreign_keys=[reviewer_id])
    on_behalf_of: Mapped[User | None] = relationship(foreign_keys=[on_behalf_of_id])


class Confirmation(Model):
    """Another body's confirmation of one revision (拟发布信息涉及其他行政机关的，应沟通确认)."""

    __tablename__ = "confirmations"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    revision_hash: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column()
    agency: Mapped[str] = mapped_column(String(128))
    contact: Mapped[str] = mapped_column(String(128), default="")
    method: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(Text, default="")
    recorded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    #: The document that records the other body's agreement (a letter, a signed page): PDF or image.
    evidence_sha256: Mapped[str | None] = mapped_column(ForeignKey("evidence.sha256"))

    recorded_by: Mapped[User] = relationship()
    evidence: Mapped[Evidence | None] = relationship()


class Comment(Model):
    """A reviewer's remark on one revision that is not a decision: it counts for nothing in the workflow.

    Kept when someone's decision arrived after the stage had moved on (another expert was quicker), so
    what they wrote is not lost; anyone may read it beside the decisions.
    """

    __tablename__ = "review_comments"

    id: Mapped[int] = mapped_column(primary_key=True)
    statement_id: Mapped[int] = mapped_column(ForeignKey("statements.id"), index=True)
    revision_id: Mapped[int] = mapped_column(ForeignKey("revisions.id"))
    revision_hash: Mapped[str] = mapped_column(String(64))
    round: Mapped[int] = mapped_column()
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    comment: Mapped[str] = mapped_column(Text)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    author: Mapped[User] = relationship()


class Image(Model):
    """An uploaded image, named by the sha256 of its bytes; the only images a body may show."""

    __tablename__ = "images"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    ext: Mapped[str] = mapped_column(String(4))
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column()
    width: Mapped[int] = mapped_column()
    height: Mapped[int] = mapped_column()
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    @property
    def url(self) -> str:
        return f"/media/{self.sha256}.{self.ext}"


class Evidence(Model):
    """A document recording another body's agreement, named by the sha256 of its bytes (kept like media,
    but shown only to those who may see a statement it confirms)."""

    __tablename__ = "evidence"

    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    ext: Mapped[str] = mapped_column(String(4))
    mime: Mapped[str] = mapped_column(String(32))
    size: Mapped[int] = mapped_column()
    #: The file name as uploaded, for people to recognise it (never used as a path).
    name: Mapped[str] = mapped_column(String(128), default="", server_default="")
    uploaded_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)


class Delegation(Model):
    """代理: an expert or leader who is away names a stand-in of their unit for a period.

    The stand-in sees and does that role's work in their own name, recorded as on behalf of the principal;
    separation of duties is judged on the person who acts. Ended early by revoking, never deleted.
    """

    __tablename__ = "delegations"
    __table_args__ = (
        Index("ix_delegations_deputy", "deputy_id", "role", "ends_at"),
        Index("ix_delegations_principal", "principal_id", "ends_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    principal_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    deputy_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    role: Mapped[str] = mapped_column(String(16))
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime())
    note: Mapped[str] = mapped_column(Text, default="", server_default="")
    created_by_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    principal: Mapped[User] = relationship(foreign_keys=[principal_id])
    deputy: Mapped[User] = relationship(foreign_keys=[deputy_id])
