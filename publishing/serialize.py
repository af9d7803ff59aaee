"""Publishing's part of the statement object: deliveries and ledger_seq (interface §3)."""

from __future__ import annotations

import functools
from typing import Any

from sqlalchemy import bindparam, select

from app.extensions import db
from app.timeutil import iso
from publishing.models import Delivery, Release
from review.models import Statement

#: What a delivery's `data` tells of a mass send (interface §14), in the delivery object as they are.
MASS_FIELDS = ("msg_id", "msg_data_id", "article_idx", "sent_count", "total_count")


def mass_fields(data: dict[str, Any] | None) -> dict[str, Any]:
    """`mode`, the mass send's ids and counts, `waiting_for_quota` (interface §14), from a delivery's data."""
    data = data or {}
    return {"mode": data.get("mode") or "publish", **{k: data.get(k) for k in MASS_FIELDS},
            "waiting_for_quota": bool(data.get("waiting_for_quota"))}


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
            **mass_fields(d.data),
        }
        for d in release.deliveries
    ]
    data["ledger_seq"] = release.ledger_seq


@functools.cache
def _bulk_query() -> Any:
    return (
        select(Release.statement_id, Release.ledger_seq, Delivery.channel, Delivery.state, Delivery.external_id,
               Delivery.url, Delivery.attempts, Delivery.last_error, Delivery.published_at, Delivery.readback,
               Delivery.data)
        .outerjoin(Delivery, Delivery.release_id == Release.id)
        .where(Release.statement_id.in_(bindparam("ids", expanding=True)))
        .order_by(Release.statement_id, Delivery.channel)
    )


def add_publishing_fields_bulk(ids: list[int], objects: dict[int, dict[str, Any]]) -> None:
    """`add_publishing_fields` for a page of statement objects (review/rows.py), in one query."""
    for r in db.session.execute(_bulk_query(), {"ids": ids}):
        data = objects[r.statement_id]
        data["ledger_seq"] = r.ledger_seq
        if r.channel is not None:
            data["deliveries"].append({
                "channel": r.channel,
                "state": r.state,
                "external_id": r.external_id,
                "url": r.url,
                "attempts": r.attempts,
                "last_error": r.last_error,
                "published_at": iso(r.published_at),
                "readback": r.readback,
                **mass_fields(r.data),
            })
