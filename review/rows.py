"""The statement object of interface §3 straight from rows: the read API's fast path.

`review.serialize.statement_json` builds the same object from ORM instances, one lazy load at a time (a
dozen queries for one statement); here a page of statements costs two Core queries in review — the
statements with their current revision, unit and authors, then every decision, confirmation and comment of
them in one UNION ALL — plus one per package that adds fields (`BULK_EXTENSIONS`; publishing's deliveries).
Both must produce identical objects: tests/review/test_read_fast.py compares them field by field, so a field
added to one and not the other fails there.
"""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Sequence
from typing import Any

import orjson
from sqlalchemy import Integer, Select, String, bindparam, cast, literal, null, select, union_all
from sqlalchemy.orm import aliased

from app.extensions import db
from app.models import Unit, User
from app.timeutil import iso
from review import checks
from review.models import Comment, Confirmation, Decision, Evidence, Revision, Statement

#: Later packages add their fields to a whole page at once: (statement ids, {id: object}) → None.
BULK_EXTENSIONS: list[Callable[[list[int], dict[int, dict[str, Any]]], None]] = []

_author = aliased(User)
_rev_author = aliased(User)


def statement_query() -> Select[Any]:
    """Statements with what their object needs from one row each; filter, order and page it as you like."""
    return (
        select(
            Statement.id, Statement.unit_id, Statement.priority, Statement.channels, Statement.wechat_mode,
            Statement.comments_open, Statement.go_live_at,
            Statement.agencies, Statement.case_ids, Statement.corrects_id, Statement.status, Statement.version,
            Statement.pending_stage, Statement.requested_reviewers,
            Revision.number, Revision.title, Revision.digest, Revision.body, Revision.hash,
            Revision.created_at.label("rev_created_at"), Revision.checks,
            Unit.code.label("unit_code"), _author.username.label("author"),
            _rev_author.username.label("rev_author"),
        )
        .join(Revision, Revision.id == Statement.current_revision_id)
        .join(Unit, Unit.id == Statement.unit_id)
        .join(_author, _author.id == Statement.author_id)
        .join(_rev_author, _rev_author.id == Revision.author_id)
    )


def _text(value: Any = None) -> Any:
    return cast(null(), String) if value is None else value


@functools.cache
def by_id() -> Select[Any]:
    """`statement_query()` for one id (`sid`), built once: building a statement costs more than running it."""
    return statement_query().where(Statement.id == bindparam("sid"))


@functools.cache
def _children_query() -> Any:
    """Every decision, confirmation and comment of the statements `ids`, in one UNION ALL (built once)."""
    ids = bindparam("ids", expanding=True)
    reviewer, behalf, recorder, commenter = aliased(User), aliased(User), aliased(User), aliased(User)
    decisions = (
        select(literal("d").label("kind"), Decision.statement_id.label("sid"), Decision.id.label("id"),
               Decision.stage.label("a"), Decision.decision.label("b"), Decision.comment.label("c"),
               _text().label("d"), Decision.revision_hash.label("h"), Decision.at.label("at"),
               reviewer.username.label("u"), behalf.username.label("u2"), _text().label("ev_sha"),
               _text().label("ev_name"), _text().label("ev_mime"), cast(null(), Integer).label("ev_size"),
               _text().label("ev_ext"))
        .join(reviewer, reviewer.id == Decision.reviewer_id)
        .outerjoin(behalf, behalf.id == Decision.on_behalf_of_id)
        .where(Decision.statement_id.in_(ids))
    )
    confirmations = (
        select(literal("c"), Confirmation.statement_id, Confirmation.id, Confirmation.agency, Confirmation.contact,
               Confirmation.method, Confirmation.note, Confirmation.revision_hash, Confirmation.at,
               recorder.username, _text(), Evidence.sha256, Evidence.name, Evidence.mime, Evidence.size,
               Evidence.ext)
        .join(recorder, recorder.id == Confirmation.recorded_by_id)
        .outerjoin(Evidence, Evidence.sha256 == Confirmation.evidence_sha256)
        .where(Confirmation.statement_id.in_(ids))
    )
    comments = (
        select(literal("m"), Comment.statement_id, Comment.id, _text(), _text(), Comment.comment, _text(),
               Comment.revision_hash, Comment.at, commenter.username, _text(), _text(), _text(), _text(),
               cast(null(), Integer), _text())
        .join(commenter, commenter.id == Comment.author_id)
        .where(Comment.statement_id.in_(ids))
    )
    return union_all(decisions, confirmations, comments)


def _children(ids: list[int]) -> dict[int, dict[str, list[Any]]]:
    """Every decision, confirmation and comment of these statements, each kind in id order."""
    out: dict[int, dict[str, list[Any]]] = {i: {"d": [], "c": [], "m": []} for i in ids}
    for row in sorted(db.session.execute(_children_query(), {"ids": ids}), key=lambda r: r.id):
        out[row.sid][row.kind].append(row)
    return out


def _usernames(ids: set[int]) -> dict[int, str]:
    if not ids:
        return {}
    return {uid: name for uid, name in db.session.execute(select(User.id, User.username).where(User.id.in_(ids)))}


def objects(rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Statement objects for rows of `statement_query()`, in the rows' order."""
    ids = [r.id for r in rows]
    if not ids:
        return []
    children = _children(ids)
    asked = _usernames({i for r in rows for i in (r.requested_reviewers or [])})
    lexicon = checks.lexicon() if any(r.checks is None for r in rows) else None
    out: dict[int, dict[str, Any]] = {}
    for r in rows:
        kids = children[r.id]
        # a revision saved before checks were stored is checked now, as `serialize.revision_checks` does
        findings = r.checks if r.checks is not None else checks.run(
            checks.Draft(r.title, r.digest, r.body, tuple(r.channels)), lexicon)
        out[r.id] = {
            "id": r.id,
            "title": r.title,
            "digest": r.digest,
            "body": r.body,
            "unit": r.unit_code,
            "priority": r.priority,
            "channels": list(r.channels),
            "wechat_mode": r.wechat_mode,
            "comments_open": r.comments_open,
            "go_live_at": iso(r.go_live_at),
            "agencies": list(r.agencies),
            "case_ids": list(r.case_ids),
            "corrects": r.corrects_id,
            "status": r.status,
            "author": r.author,
            "revision": {
                "number": r.number,
                "hash": r.hash,
                "author": r.rev_author,
                "created_at": iso(r.rev_created_at),
                "checks": list(findings),
            },
            "pending_stage": r.pending_stage,
            "requested_reviewers": [asked[i] for i in r.requested_reviewers or [] if i in asked],
            "reviews": [
                {"stage": d.a, "decision": d.b, "reviewer": d.u, "revision_hash": d.h, "comment": d.c,
                 "at": iso(d.at), "on_behalf_of": d.u2}
                for d in kids["d"]
            ],
            "confirmations": [
                {"agency": c.a, "contact": c.b, "method": c.c, "note": c.d, "recorded_by": c.u,
                 "revision_hash": c.h, "at": iso(c.at),
                 "evidence": None if c.ev_sha is None else {
                     "sha256": c.ev_sha, "name": c.ev_name, "mime": c.ev_mime, "size": c.ev_size,
                     "url": f"/statements/{r.id}/evidence/{c.ev_sha}.{c.ev_ext}"}}
                for c in kids["c"]
            ],
            "comments": [
                {"author": m.u, "revision_hash": m.h, "comment": m.c, "at": iso(m.at)} for m in kids["m"]
            ],
            "deliveries": [],
            "ledger_seq": None,
        }
    for extend in BULK_EXTENSIONS:
        extend(ids, out)
    return [out[i] for i in ids]


def dumps(value: Any) -> bytes:
    """JSON as Flask's provider writes it here (sorted keys, compact, UTF-8 kept), only faster."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS)


def etag(row: Any, body: bytes) -> str:
    """A strong validator: the revision hash, status and version, and a digest of the exact bytes (decisions,
    comments and deliveries change an object without moving its version)."""
    digest = hashlib.blake2b(body, digest_size=12).hexdigest()
    return f"{row.hash[:16]}-{row.status}-{row.version}-{digest}"
