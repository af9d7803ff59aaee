"""The interaction object of interface §15, as JSON-ready data. A follower's openid is never in it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app.timeutil import iso, utcnow
from interaction.models import Interaction


def interaction_json(item: Interaction, now: datetime | None = None) -> dict[str, Any]:
    reply = None
    if item.reply_text is not None:
        reply = {"text": item.reply_text, "drafted_by": item.drafter.username if item.drafter else None,
                 "approved_by": item.approver.username if item.approver else None, "sent_at": iso(item.reply_sent_at),
                 "external_id": item.reply_external_id, "ledger_seq": item.reply_ledger_seq}
    return {
        "id": item.id,
        "channel": item.channel,
        "external_id": item.external_id,
        "author": item.author,
        "text": item.text,
        "received_at": iso(item.received_at),
        "unit": item.unit.code if item.unit else None,
        "statement_id": item.statement_id,
        "case_id": item.case_id,
        "status": item.status,
        "close_reason": item.close_reason,
        "due_at": iso(item.due_at),
        "overdue": item.overdue(now or utcnow()),
        "reply": reply,
        "events": [{"kind": e.kind, "actor": e.actor.username if e.actor else None, "at": iso(e.at),
                    "data": e.data} for e in item.events],
    }
