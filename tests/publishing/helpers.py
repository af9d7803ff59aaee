"""Driving the real release worker from tests."""

from __future__ import annotations

from typing import Any

from flask import Flask

from app.extensions import db
from publishing.models import Delivery
from publishing.worker import ReleaseWorker


def drain(app: Flask) -> None:
    """Run the real worker class in burst mode until the queues are empty (due jobs only)."""
    ReleaseWorker(app).work(burst=True, with_scheduler=True, logging_level="WARNING")


def deliveries(app: Flask, statement_id: int) -> dict[str, Any]:
    with app.app_context():
        rows = db.session.scalars(db.select(Delivery).where(Delivery.statement_id == statement_id)).all()
        return {d.channel: {"state": d.state, "url": d.url, "attempts": d.attempts, "key": d.delivery_key,
                            "error": d.last_error, "id": d.id, "action": d.action} for d in rows}
