"""The desk's request and answer models (interface §15): the services validate with these and openapi.json
describes the same models."""

from __future__ import annotations

import unicodedata
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

from app.openapi import Out
from app.timeutil import utcnow
from app.validation import Body, Moment, Msg, Paging, fail
from interaction.models import Channel, InteractionStatus

TEXT_MAX = 5000
#: Clocks of other systems disagree a little with ours; a message this far ahead is still "now".
CLOCK_SKEW = timedelta(minutes=2)
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
#: A ticket's own deadline at most this far after its receipt.
MAX_DUE = timedelta(days=366)


def _received(value: datetime) -> datetime:
    if not EARLIEST <= value <= utcnow() + CLOCK_SKEW:
        raise fail(_("应在 2000 年之后，且不晚于当前时间"))
    return value


def clean_text(value: Any) -> Any:
    """Control characters stripped (line breaks and tabs kept), whitespace at the ends trimmed."""
    if not isinstance(value, str):
        return value
    return "".join(c for c in value if c in "\n\t" or unicodedata.category(c) != "Cc").strip()


def _text(value: Any) -> Any:
    value = clean_text(value)
    if isinstance(value, str) and not value:
        raise fail(_("必填"))
    if isinstance(value, str) and len(value) > TEXT_MAX:
        raise fail(_("不能超过 %(n)d 个字符", n=TEXT_MAX))
    return value


Text = Annotated[str, BeforeValidator(_text), Field(description="1–5,000 characters; control characters stripped")]


class InteractionIn(Body):
    """`POST /interactions` (integration, office): a message posted by another system."""

    channel: Annotated[Literal["portal_message", "hotline"],
                       Msg(lambda: _("应为 portal_message 或 hotline"))]
    external_id: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128),
                           Field(description="the posting system's id of the message; idempotency key with channel")]
    text: Text
    author: Annotated[Annotated[str, StringConstraints(max_length=64)] | None, BeforeValidator(clean_text),
                      Field(description="display name")] = None
    received_at: Annotated[Moment, AfterValidator(_received)]
    due_at: Annotated[Moment | None, Field(description="a hotline ticket's own deadline, after `received_at`")] = None
    unit: Annotated[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)] | None,
                    Field(description="unit code: the interaction arrives `assigned`")] = None


class AssignIn(Body):
    """`POST /interactions/{id}/assign` (office)."""

    unit: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32)]


class InteractionQuery(Paging):
    """`GET /interactions`: open ones by time left first, then the answered and closed ones."""

    status: InteractionStatus | None = None
    channel: Channel | None = None
    unit: Annotated[str, StringConstraints(strip_whitespace=True, max_length=32)] | None = None
    overdue: Annotated[bool | None, Field(description="`true`: open and past `due_at`")] = None


class ReplyOut(Out):
    text: str
    drafted_by: str | None = None
    approved_by: str | None = None
    sent_at: str | None = None
    external_id: str | None = None
    ledger_seq: int | None = None


class EventOut(Out):
    kind: str
    actor: str | None = None
    at: str
    data: dict[str, Any]


class InteractionOut(Out):
    """The interaction object (interface §15)."""

    id: int
    channel: Channel
    external_id: str
    author: str | None = None
    text: str
    received_at: str
    unit: str | None = None
    statement_id: int | None = None
    case_id: int | None = None
    status: InteractionStatus
    close_reason: str | None = None
    due_at: str
    overdue: bool
    reply: ReplyOut | None = None
    events: list[EventOut]


class InteractionList(Out):
    items: list[InteractionOut]
    total: int
