"""The statement object of interface §3, as JSON-ready data."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from app.extensions import db
from app.models import User
from app.timeutil import iso
from review import checks
from review.models import Confirmation, Statement

#: Later packages add their fields (deliveries, ledger_seq) without review importing them.
EXTENSIONS: list[Callable[[Statement, dict[str, Any]], None]] = []


def evidence_json(c: Confirmation) -> dict[str, Any] | None:
    """The document attached to a confirmation: its name, type, size and where signed-in readers get it."""
    ev = c.evidence
    if ev is None:
        return None
    return {"sha256": ev.sha256, "name": ev.name, "mime": ev.mime, "size": ev.size,
            "url": f"/statements/{c.statement_id}/evidence/{ev.sha256}.{ev.ext}"}


def requested_reviewers(st: Statement) -> list[str]:
    """Usernames of the experts the drafter asked for at the last submit (empty: any expert of the unit)."""
    if not st.requested_reviewers:
        return []
    people = {u.id: u.username for u in db.session.scalars(select(User).where(User.id.in_(st.requested_reviewers)))}
    return [people[i] for i in st.requested_reviewers if i in people]


def requested_names(st: Statement) -> list[str]:
    """The asked experts' display names, for pages."""
    if not st.requested_reviewers:
        return []
    people = {u.id: u.name for u in db.session.scalars(select(User).where(User.id.in_(st.requested_reviewers)))}
    return [people[i] for i in st.requested_reviewers if i in people]


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
        "wechat_mode": st.wechat_mode,
        "comments_open": st.comments_open,
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
        "requested_reviewers": requested_reviewers(st),
        "reviews": [
            {
                "stage": d.stage,
                "decision": d.decision,
                "reviewer": d.reviewer.username,
                "revision_hash": d.revision_hash,
                "comment": d.comment,
                "at": iso(d.at),
                # 代理: the reviewer acted as this person's stand-in (null: in their own right)
                "on_behalf_of": d.on_behalf_of.username if d.on_behalf_of_id else None,
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
                "evidence": evidence_json(c),
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
