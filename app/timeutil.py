"""Aware UTC times in the database, whatever the backend keeps."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

SHANGHAI = ZoneInfo("Asia/Shanghai")


def utcnow() -> datetime:
    """Now, aware, in UTC."""
    return datetime.now(UTC)


def iso(value: datetime | None) -> str | None:
    """ISO 8601 with offset (interface §3: times), or None."""
    return None if value is None else value.astimezone(UTC).isoformat()


def local(value: datetime | None) -> datetime | None:
    """The same instant in Asia/Shanghai, for pages."""
    return None if value is None else value.astimezone(SHANGHAI)


class UTCDateTime(TypeDecorator[datetime]):
    """Stores naive UTC (SQLite has no zones), always hands back aware UTC."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to UTCDateTime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC)


def format_local(value: datetime | str | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """A time (or an ISO string) as pages show it: Asia/Shanghai."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(SHANGHAI).strftime(fmt)


