"""Publishing's request and answer models (interface §3 ledger, §4 pull API, §10 authenticity)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from flask_babel import gettext as _
from pydantic import Field, StringConstraints

from app.openapi import Out
from app.params import MAX_ID
from app.validation import Body, Msg, Query
from review.models import Channel
from review.schemas import BODY_MAX

REASON_MAX = 2000
#: A ledger seq is a row's INTEGER: past 2³¹−1 it names nothing, and PostgreSQL would refuse to compare it.
SEQ_MAX = MAX_ID


def _seq_msg() -> str:
    return _("应为 %(lo)d–%(hi)d 的整数", lo=0, hi=SEQ_MAX)


class LedgerQuery(Query):
    after: Annotated[int, Field(ge=0, le=SEQ_MAX, description="entries after this seq"), Msg(_seq_msg)] = 0
    limit: Annotated[int, Field(ge=1, le=1000), Msg(lambda: _("应为 %(lo)d–%(hi)d 的整数", lo=1, hi=1000))] = 100


class PublicReleasesQuery(Query):
    after: Annotated[int, Field(ge=0, le=SEQ_MAX, description="events after this ledger seq"), Msg(_seq_msg)] = 0
    limit: Annotated[int, Field(ge=1, le=200), Msg(lambda: _("应为 %(lo)d–%(hi)d 的整数", lo=1, hi=200))] = 50


class RetractIn(Body):
    """`POST /statements/{id}/retract` (leader of the unit): down from every channel, kept on the record."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=REASON_MAX),
                      Msg(lambda: _("必填"), string_too_long=lambda: _("过长"))]


class CancelIn(Body):
    """`POST /statements/{id}/cancel` (leader of the unit): stop a scheduled statement before its go-live time;
    nothing reaches a channel or the public record."""

    reason: Annotated[str, StringConstraints(strip_whitespace=True, max_length=REASON_MAX),
                      Msg(lambda: _("必须是字符串"), string_too_long=lambda: _("过长"))] = ""


class VerifyIn(Body):
    """`POST /public/verify`: a text to check against everything published (no sign-in; 30 a minute)."""

    text: Annotated[str, Field(min_length=1),
                    Field(json_schema_extra={"maxLength": BODY_MAX}, description="at most 50,000 characters (413)"),
                    Msg(lambda: _("请粘贴要核验的文字"))]


RETRY_CHANNEL = {"type": "string", "enum": [c.value for c in Channel]}


# --- answers ----------------------------------------------------------------------------------------------

class LedgerEntryOut(Out):
    """One ledger entry: `hash = sha256_hex(prev_hash + "\\n" + canonical(entry without hash))`."""

    seq: int
    kind: Literal["published", "retracted", "corrected", "delivery_failed", "readback_mismatch"]
    statement_id: int
    revision_hash: str
    at: str
    payload: dict[str, Any]
    prev_hash: str
    hash: str


class Head(Out):
    seq: int
    hash: str


class LedgerOut(Out):
    """Entries after a seq, and the head."""

    entries: list[LedgerEntryOut]
    head: Head
    checkpoint: dict[str, Any] | None = None
    checkpoint_key: Any = None


class CheckpointsOut(Out):
    """Signed checkpoints of the ledger's head, and the key that signs them."""

    checkpoints: list[dict[str, Any]]
    checkpoint_key: Any = None


class LedgerVerifyOut(Out):
    """`{ok: true, entries, head}` or `{ok: false, first_bad_seq}`."""

    ok: bool
    entries: int | None = None
    head: str | None = None
    first_bad_seq: int | None = None
    reason: str | None = None
    checkpoint: dict[str, Any] | None = None


class ReleaseEvent(Out):
    event: Literal["statement.published", "statement.retracted"]
    statement_id: int
    revision_hash: str
    title: str
    digest: str
    html: str
    published_at: datetime | None
    ledger_seq: int
    url: str | None
    reason: str | None


class PublicReleasesOut(Out):
    """Publications and retractions after a ledger seq, for a CMS that pulls."""

    items: list[ReleaseEvent]
    last_seq: int


class VerdictOut(Out):
    """Whether a text was published, changed, retracted or never said."""

    verdict: Literal["authentic", "excerpt", "modified", "retracted", "not_found"]
    statement_id: int | None
    title: str | None
    unit: str | None
    published_at: datetime | None
    url: str | None
    similarity: float
    ledger_seq: int | None
    differences: list[dict[str, Any]]
    revision_hash: str | None = None
    retraction: dict[str, Any] | None = None
    #: how the text relates to the matched statement: `exact`, `excerpt` or `similar` (also when retracted)
    relation: Literal["exact", "excerpt", "similar"] | None = None
