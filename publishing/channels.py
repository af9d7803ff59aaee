"""The Channel protocol: what publishing asks of every place a statement goes out to.

Channels register themselves (`register`) so publishing never imports them (DESIGN.md directions).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol


class ChannelError(Exception):
    """A send that did not succeed; `reason` is shown to the office in Chinese."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class TransientError(ChannelError):
    """Try again later: timeouts, connection errors, 5xx, rate limits."""


class PermanentError(ChannelError):
    """Trying again will not help: the delivery fails and the office is alerted."""


@dataclass(frozen=True)
class Published:
    """The statement is out on this channel."""

    url: str | None
    external_id: str | None = None
    details: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Wait:
    """Submitted; the outcome is not known yet. Ask again after `seconds`."""

    seconds: float


@dataclass
class Dispatch:
    """What a channel sees of one claimed delivery."""

    delivery_id: int
    statement_id: int
    channel: str
    delivery_key: str
    title: str
    digest: str
    body: str
    revision_hash: str
    unit_code: str
    unit_name: str
    speaker: str
    approved_at: datetime
    go_live_at: datetime
    portal_url: str
    #: The unit's default WeChat cover (an uploaded image's sha256), if it set one.
    unit_cover: str | None
    data: dict[str, Any]
    remember: Callable[..., None]
    reason: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def keep(self, **values: Any) -> None:
        """Store ids durably first (`remember`, committed at once), then in this attempt's view of the data."""
        self.remember(**values)
        self.data.update(values)


class Channel(Protocol):
    """A destination for statements."""

    name: str

    def stage(self, job: Dispatch) -> None:
        """Prepare everything that can be prepared before go-live (render, upload, draft)."""

    def publish(self, job: Dispatch) -> Published | Wait:
        """Put the approved text out, or learn the outcome of an earlier submission."""

    def retract(self, job: Dispatch) -> None:
        """Take the statement down from this channel (`job.reason` says why)."""

    # Optional: `prepare(job) -> dict` — values to fix before the attempt that publishes (a timestamp every
    # retry must repeat, say). The dispatcher stores them in the delivery's data with the claim itself, in the
    # same transaction, and puts them in `job.data`; a channel without it stores what it needs by `remember`.


_CHANNELS: dict[str, Channel] = {}


def register(channel: Channel) -> None:
    _CHANNELS[channel.name] = channel


def get(name: str) -> Channel:
    return _CHANNELS[name]


def registered() -> list[str]:
    return sorted(_CHANNELS)
