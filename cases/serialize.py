"""The case object of interface §8, as JSON-ready data."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from app import register
from app.timeutil import iso, utcnow
from cases import links
from cases.models import Case, Deadline


def deadline_json(deadline: Deadline, now: datetime | None = None) -> dict[str, Any]:
    """`{kind, due_at, met_at, state}`, and `waived_at` (the closing moment) for a clock waived at closing."""
    return {"kind": deadline.kind, "due_at": iso(deadline.due_at), "met_at": iso(deadline.met_at),
            "state": deadline.state(now).value, "waived_at": iso(deadline.waived_at)}


def statements_json(case: Case) -> list[dict[str, Any]]:
    """`[{id, title, status, published_at}]` of the statements linked to the case."""
    found = links.statement_rows(link.statement_id for link in case.statement_links)
    return [
        {"id": link.statement_id, "title": found.get(link.statement_id, {}).get("title", ""),
         "status": found.get(link.statement_id, {}).get("status"), "published_at": iso(link.published_at)}
        for link in case.statement_links
    ]


def case_json(case: Case) -> dict[str, Any]:
    """Every field of the contract's case object, plus the responses and the close."""
    now = utcnow()
    return {
        "id": case.id,
        "title": case.title,
        "summary": case.summary,
        "source": case.source,
        "source_url": case.source_url,
        "discovered_at": iso(case.discovered_at),
        "status": case.status,
        "level": case.level,
        "must_respond": case.must_respond,
        "lead_unit": case.lead_unit.code,
        "assisting_units": [u.code for u in case.assisting_units],
        "units": [u.code for u in case.units],
        "responsible": register.responsible(case.lead_unit),
        "deadlines": [deadline_json(d, now) for d in case.deadlines],
        "events": [
            {"kind": e.kind, "actor": e.actor.username if e.actor else None, "at": iso(e.at), "data": e.data}
            for e in case.events
        ],
        "statements": statements_json(case),
        "responses": [
            {"form": r.form, "statement_id": r.statement_id, "held_at": iso(r.held_at), "note": r.note,
             "evidence_url": r.evidence_url, "counted": r.counted,
             "recorded_by": r.recorder.username if r.recorder else None, "at": iso(r.created_at)}
            for r in case.responses
        ],
        "outcome": case.outcome,
        "closed_at": iso(case.closed_at),
        "created_at": iso(case.created_at),
    }
