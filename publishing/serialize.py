"""Publishing's part of the statement object: deliveries and ledger_seq (CONTRACT §3)."""

from __future__ import annotations

from typing import Any

from app.timeutil import iso
from review.models import Statement


def add_publishing_fields(st: Statement, data: dict[str, Any]) -> None:
    release = getattr(st, "release", None)
    if release is None:
        return
    data["deliveries"] = [
        {
            "channel": d.channel,
            "state": d.state,
            "external_id": d.external_id,
            "url": d.url,
            "attempts": d.attempts,
            "last_error": d.last_error,
            "published_at": iso(d.published_at),
            "readback": d.readback,
        }
        for d in release.deliveries
    ]
    data["ledger_seq"] = release.ledger_seq
