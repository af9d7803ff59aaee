"""People and places: units, users with their roles, API tokens, the audit trail."""

from __future__ import annotations

import enum
import hashlib
import secrets
from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app
from flask_login import UserMixin
from sqlalchemy import JSON, Column, ForeignKey, Index, Integer, String, Table, UniqueConstraint, select
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from app.extensions import Model, db
from app.timeutil import UTCDateTime, utcnow


class Role(enum.StrEnum):
    """What a person may do (interface §1 `users create --role`)."""

    DRAFTER = "drafter"
    EXPERT = "expert"
    LEADER = "leader"
    OFFICE = "office"
    ADMIN = "admin"
    #: Another system's token (a portal's message box, the hotline): may only post interactions (interface §15).
    INTEGRATION = "integration"


#: A unit's spokespersons (新闻发言人), in the order the register lists them.
unit_spokespersons = Table(
    "unit_spokespersons",
    db.metadata,
    Column("unit_id", ForeignKey("units.id", ondelete="CASCADE"), primary_key=True),
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("position", Integer, nullable=False, default=0),
)


class Unit(Model):
    """A unit of the institution; it speaks for what it is in charge of (谁主管谁发声).

    Its responsibility register names real people (interface §11): the 第一责任人, the 直接责任人, the
    spokespersons, and a 24-hour duty phone — whom to call when something breaks at night.
    """

    __tablename__ = "units"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("units.id"))
    first_responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True,
                                                                        name="fk_units_first_responsible"))
    direct_responsible_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", use_alter=True,
                                                                         name="fk_units_direct_responsible"))
    duty_phone: Mapped[str] = mapped_column(String(32), default="")
    #: An uploaded image (sha256) used as the WeChat cover when a statement has no image of its own.
    wechat_cover: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    parent: Mapped[Unit | None] = relationship(remote_side=[id])
    first_responsible: Mapped[User | None] = relationship(foreign_keys=[first_responsible_id])
    direct_responsible: Mapped[User | None] = relationship(foreign_keys=[direct_responsible_id])
    spokespersons: Mapped[list[User]] = relationship(
        secondary=unit_spokespersons, order_by=unit_spokespersons.c.position, viewonly=True
    )

    @classmethod
    def by_code(cls, code: str) -> Unit | None:
        """The unit with this code, or None."""
        return db.session.scalar(select(cls).where(cls.code == code))


class User(UserMixin, Model):
    """A person who signs in; holds one or more roles in one unit."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    display_name: Mapped[str] = mapped_column(String(64), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    unit_id: Mapped[int] = mapped_column(ForeignKey("units.id"), index=True)
    email: Mapped[str] = mapped_column(String(254), default="", server_default="")
    phone: Mapped[str] = mapped_column(String(32), default="", server_default="")
    active: Mapped[bool] = mapped_column(default=True)
    #: Part of every session's id: bumping it ends every session and remember-me cookie of this person.
    session_epoch: Mapped[int] = mapped_column(default=0, server_default="0")
    #: Set by an admin: the person must choose a new password before doing anything else.
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: The language the person last chose on the site (`?lang=`): what is sent to them is written in it.
    locale: Mapped[str | None] = mapped_column(String(16))
    #: The person's own WeChat ID, where previews of articles are sent (interface §14).
    wechat_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)

    unit: Mapped[Unit] = relationship(foreign_keys=[unit_id])
    role_rows: Mapped[list[UserRole]] = relationship(
        cascade="all, delete-orphan"
    )

    @property
    def roles(self) -> frozenset[Role]:
        return frozenset(Role(r.role) for r in self.role_rows)

    def has_role(self, *roles: Role) -> bool:
        """True when the user holds any of these roles."""
        return bool(self.roles.intersection(roles))

    @property
    def sees_all_units(self) -> bool:
        return self.has_role(Role.OFFICE, Role.ADMIN)

    @property
    def is_active(self) -> bool:  # Flask-Login reads this
        return self.active

    @property
    def name(self) -> str:
        return self.display_name or self.username

    #: Set for the request by sign-in and by the session loader (`app.sessions`): which browser session this is.
    if TYPE_CHECKING:
        session_nonce: str | None
    else:
        # unannotated at run time: the declarative mapper refuses a non-`Mapped` annotation, and this is no column
        session_nonce = None

    def get_id(self) -> str:
        """Flask-Login's session id: the user, the session epoch (an old cookie stops working) and the nonce of
        this browser's `app.sessions.UserSession` (so that one session can be ended alone)."""
        return f"{self.id}:{self.session_epoch}:{self.session_nonce or ''}"

    def end_sessions(self) -> None:
        """End every session and remember-me cookie of this person (sign-out everywhere)."""
        self.session_epoch = (self.session_epoch or 0) + 1

    def set_password(self, password: str) -> None:
        self.password_hash = generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])

    def check_password(self, password: str) -> bool:
        return check_password_hash(self.password_hash, password)

    @classmethod
    def by_username(cls, username: str) -> User | None:
        return db.session.scalar(select(cls).where(cls.username == username))


class UserRole(Model):
    __tablename__ = "user_roles"
    __table_args__ = (UniqueConstraint("user_id", "role"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))


def hash_token(token: str) -> str:
    """Tokens are stored as sha256: a leaked table does not leak credentials."""
    return hashlib.sha256(token.encode()).hexdigest()


class ApiToken(Model):
    """A bearer token for the API; only its hash is kept."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoked: Mapped[bool] = mapped_column(default=False)
    #: After this moment the token no longer authenticates; None = until revoked.
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    label: Mapped[str] = mapped_column(String(64), default="", server_default="")

    user: Mapped[User] = relationship()

    @staticmethod
    def new_secret() -> str:
        return "hy_" + secrets.token_urlsafe(32)


class AuditEvent(Model):
    """Who changed what, from where, and how it looked before and after."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_object", "object_type", "object_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str] = mapped_column(String(32))
    object_id: Mapped[int | None] = mapped_column()
    before: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    after: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, index=True)
    remote_addr: Mapped[str | None] = mapped_column(String(64))

    actor: Mapped[User | None] = relationship()
