"""Publishing's JSON: the ledger, the public feed for CMSs, retract and retry (interface §3, §4)."""

from __future__ import annotations

from typing import Any

from flask import Response, jsonify, request
from flask_babel import gettext as _
from redis.exceptions import RedisError
from sqlalchemy import select

from app.api import actor, api_blueprint, json_body
from app.errors import Busy, NotFound
from app.extensions import db
from app.limits import rate_limited
from app.openapi import operation
from app.validation import parse_query
from publishing import checkpoints, ledger, ledger_verdict, services, verify_views
from publishing.models import LedgerEntry, LedgerKind, Release
from publishing.schemas import (
    RETRY_CHANNEL,
    CancelIn,
    CheckpointsOut,
    LedgerOut,
    LedgerQuery,
    LedgerVerifyOut,
    PublicReleasesOut,
    PublicReleasesQuery,
    RetractIn,
)
from review import renderings
from review.models import Channel, Statement
from review.schemas import StatementOut
from review.serialize import statement_json

bp = api_blueprint("publishing_api", __name__)


@bp.get("/ledger")
@operation("Ledger entries after a seq (public)", query=LedgerQuery, responses={200: LedgerOut}, public=True)
def ledger_entries() -> Response:
    """The public record (no sign-in, interface §13), with the latest signed checkpoint and its key."""
    wanted = parse_query(LedgerQuery, request.args)
    latest = checkpoints.latest_stored()
    return jsonify({"entries": [ledger.entry_json(e) for e in ledger.entries_after(wanted.after, wanted.limit)],
                    "head": ledger.head(), "checkpoint": latest.json() if latest else None,
                    "checkpoint_key": checkpoints.public_key_info()})


@bp.get("/ledger/checkpoints")
@operation("Signed ledger checkpoints after a seq (public)", query=LedgerQuery, responses={200: CheckpointsOut},
           public=True)
def ledger_checkpoints() -> Response:
    """Signed checkpoints after a seq, for whoever keeps copies of them (no sign-in)."""
    wanted = parse_query(LedgerQuery, request.args)
    return jsonify({"checkpoints": [c.json() for c in checkpoints.stored_after(wanted.after, wanted.limit)],
                    "checkpoint_key": checkpoints.public_key_info()})


@bp.get("/ledger/verify")
@rate_limited("ledger-verify", verify_views.too_often)
@operation("Verify the ledger's hash chain (public; 30 a minute per address)", responses={200: LedgerVerifyOut},
           errors=(429, 503), public=True)
def ledger_verify() -> Response:
    """The chain held to the latest signed checkpoints (no sign-in, interface §13): rate-limited like
    `/public/verify`, and answered from the verdict kept per head (publishing/ledger_verdict.py). With Redis
    down there is no kept verdict and no lock: 503 `busy`, never a recomputation of the whole chain per call."""
    try:
        result = ledger_verdict.current()
    except RedisError:
        raise Busy(_("账本核验暂不可用，请稍后再试")) from None
    if result.ok:
        answer: dict[str, Any] = {"ok": True, "entries": result.entries, "head": result.head}
        if result.checkpoint is not None:
            answer["checkpoint"] = result.checkpoint.json()
        return jsonify(answer)
    answer = {"ok": False, "first_bad_seq": result.first_bad_seq}
    if result.reason:
        answer["reason"] = result.reason
    return jsonify(answer)


@bp.get("/public/releases")
@operation("Publications and retractions, for a CMS that pulls", query=PublicReleasesQuery,
           responses={200: PublicReleasesOut}, public=True)
def public_releases() -> Response:
    """Publications and retractions after a ledger seq, for a CMS that pulls (no sign-in)."""
    wanted = parse_query(PublicReleasesQuery, request.args)
    after, limit = wanted.after, wanted.limit
    entries = db.session.scalars(
        select(LedgerEntry)
        .where(LedgerEntry.seq > after, LedgerEntry.kind.in_([LedgerKind.PUBLISHED, LedgerKind.RETRACTED]))
        .order_by(LedgerEntry.seq).limit(limit)
    ).all()
    releases = {r.statement_id: r for r in db.session.scalars(
        select(Release).where(Release.statement_id.in_({e.statement_id for e in entries}))
    )}
    items: list[dict[str, Any]] = []
    for entry in entries:
        rel = releases[entry.statement_id]
        portal = next((d for d in rel.deliveries if d.channel == Channel.PORTAL), None)
        published = entry.kind == LedgerKind.PUBLISHED
        items.append({
            "event": "statement.published" if published else "statement.retracted",
            "statement_id": entry.statement_id,
            "revision_hash": entry.revision_hash,
            "title": rel.revision.title,
            "digest": rel.revision.digest,
            "html": renderings.html("portal", rel.revision.body) if published else "",
            "published_at": rel.published_at.isoformat() if rel.published_at else None,
            "ledger_seq": entry.seq,
            "url": portal.url if portal and portal.url else None,
            "reason": None if published else rel.retraction_reason,
        })
    last = entries[-1].seq if entries else after
    return jsonify({"items": items, "last_seq": last})


def _reread(statement_id: int) -> Statement:
    """The statement as the service just committed it, for the answer."""
    st = db.session.get(Statement, statement_id)
    if st is None:  # statements are never deleted; only a database emptied meanwhile gets here
        raise NotFound(_("回应不存在"))
    return st


@bp.post("/statements/<int:statement_id>/retract")
@operation("Retract a statement from every channel (leader)", body=RetractIn, responses={200: StatementOut},
           errors=(403, 409))
def retract(statement_id: int) -> Response:
    st = services.retract(actor(), statement_id, json_body())
    return jsonify(statement_json(_reread(st.id)))


@bp.post("/statements/<int:statement_id>/cancel")
@operation("Cancel a scheduled statement before its go-live time (leader); it ends retracted, off the record",
           body=CancelIn, responses={200: StatementOut}, errors=(403, 409))
def cancel(statement_id: int) -> Response:
    st = services.cancel(actor(), statement_id, json_body())
    return jsonify(statement_json(_reread(st.id)))


@bp.post("/statements/<int:statement_id>/deliveries/<channel>/retry")
@operation("Retry a failed delivery (office, leader)", responses={200: StatementOut}, errors=(403, 409),
           path_schemas={"channel": RETRY_CHANNEL})
def retry(statement_id: int, channel: str) -> Response:
    delivery = services.retry_delivery(actor(), statement_id, channel)
    return jsonify(statement_json(_reread(delivery.statement_id)))
