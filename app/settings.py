"""Settings an admin keeps in the database, over the configuration's defaults (case deadlines, interface §11).

One row per key with a JSON value; the package that owns a setting validates it, this module only stores it
and audits every change with its value before and after (audit object type `settings`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, String, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from app import audit
from app.extensions import Model, db
from app.models import User
from app.timeutil import UTCDateTime, utcnow


class Setting(Model):
    """One stored setting; absent means "as configured"."""

    __tablename__ = "settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    updated_by: Mapped[User | None] = relationship()


def stored(key: str) -> Setting | None:
    """The stored row of `key`, or None when the configuration's default applies."""
    return db.session.scalar(select(Setting).where(Setting.key == key))


def get(key: str) -> Any:
    """The stored value of `key`, or None."""
    row = stored(key)
    return None if row is None else row.value


def put(actor: User, key: str, value: Any) -> bool:
    """Store `value` under `key` (None removes it: back to the configuration), audited before/after.

    Joins the caller's write transaction (`app.tx.begin_write()` first); the caller commits. False when
    nothing changed.
    """
    row = stored(key)
    before = None if row is None else row.value
    if before == value:
        return False
    if value is None:
        assert row is not None
        audit.record(actor, f"settings.{key}.reset", row, before={"value": before}, after={"value": None})
        db.session.delete(row)
        return True
    if row is None:
        row = Setting(key=key, value=value)
        db.session.add(row)
    row.value, row.updated_at, row.updated_by_id = value, utcnow(), actor.id
    db.session.flush()
    audit.record(actor, f"settings.{key}.update", row, before={"value": before}, after={"value": value})
    return True
