"""The statement object of CONTRACT §3, as JSON-ready data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from app.timeutil import iso
from review import checks
from review.models import Statement

#: Later packages add their fields (deliveries, ledger_seq) without review importing them.
EXTENSIONS: list[Callable[[Statement, dict[str, Any]], None]] = []


def revision_checks(st: Statement) -> list[dict[str, Any]]:
    """The current revision's stored findings; a revision saved before checks existed is checked now."""
    rev = st.current_revision
    assert rev is not None
    if rev.checks is not None:
        return list(rev.checks)
    return checks.run(checks.Draft(rev.title, rev.digest, rev.body, tuple(st.channels)))


def statement_json(st: Statement) -> dict[str, Any]:
    """Every field of the contract's statement object."""
    rev = st.current_revision
    assert rev is not None
    data: dict[str, Any] = {
        "id": st.id,
        "title": rev.title,
        "digest": rev.digest,
        "body": rev.body,
        "unit": st.unit.code,
        "priority": st.priority,
        "channels": list(st.channels),
        "go_live_at": iso(st.go_live_at),
        "agencies": list(st.agencies),
        "case_ids": list(st.case_ids),
        "corrects": st.corrects_id,
        "status": st.status,
        "author": st.author.username,
        "revision": {
            "number": rev.number,
            "hash": rev.hash,
            "author": rev.author.username,
            "created_at": iso(rev.created_at),
            "checks": revision_checks(st),
        },
        "pending_stage": st.pending_stage,
        "reviews": [
            {
                "stage": d.stage,
                "decision": d.decision,
                "reviewer": d.reviewer.username,
                "revision_hash": d.revision_hash,
                "comment": d.comment,
                "at": iso(d.at),
            }
            for d in st.decisions
        ],
        "confirmations": [
            {
                "agency": c.agency,
                "contact": c.contact,
                "method": c.method,
                "note": c.note,
                "recorded_by": c.recorded_by.username,
                "revision_hash": c.revision_hash,
                "at": iso(c.at),
            }
            for c in st.confirmations
        ],
        "comments": [
            {"author": c.author.username, "revision_hash": c.revision_hash, "comment": c.comment, "at": iso(c.at)}
            for c in st.comments
        ],
        "deliveries": [],
        "ledger_seq": None,
    }
    for extend in EXTENSIONS:
        extend(st, data)
    return data
