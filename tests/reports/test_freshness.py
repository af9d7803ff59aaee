"""The office is told once when a channel has been silent for 10 days, again at 14, and anew after it speaks."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from flask import Flask
from sqlalchemy import select, update

from app.extensions import db
from publishing.models import Delivery
from reports import freshness
from tests.factories import Api, Office, user
from tests.publishing.helpers import drain


def stale(api: Api) -> list[dict[str, Any]]:
    return [n for n in api.get("/notifications").get_json()["items"] if n["kind"] == "channel_stale"]


def published_at(app: Flask, statement_id: int) -> Any:
    with app.app_context():
        return db.session.scalar(select(Delivery.published_at).where(Delivery.statement_id == statement_id))


def test_silent_channels_are_announced_once_per_threshold(app: Flask) -> None:
    office = Office(app, "ZBS")
    office2 = Api(app, user(app, office.office_unit, "office"))
    first = office.approved(channels=["portal"])
    drain(app)
    last = published_at(app, first["id"])
    assert last is not None
    with app.app_context():
        assert freshness.sweep(now=last + timedelta(days=9, hours=23)) == 0
        assert freshness.sweep(now=last + timedelta(days=10)) == 2  # both office users; WeChat never published
        assert freshness.sweep(now=last + timedelta(days=12)) == 0
        assert freshness.sweep(now=last + timedelta(days=15)) == 2
        assert freshness.sweep(now=last + timedelta(days=30)) == 0
    for api in (office.office, office2):
        subjects = sorted(n["subject"] for n in stale(api))
        assert subjects == ["【更新提醒】门户网站已连续 10 天未发布信息", "【红色提醒】门户网站已连续 14 天未发布信息"]
        assert all(n["url"] == "/reports" for n in stale(api))
    assert stale(office.drafter) == [] and stale(office.leader) == []

    # the portal speaks again, then falls silent: a new silence, told again
    second = office.approved(channels=["portal"], title="第二篇回应")
    drain(app)
    with app.app_context():
        db.session.execute(update(Delivery).where(Delivery.statement_id == second["id"])
                           .values(published_at=last + timedelta(days=20)))
        db.session.commit()
        assert freshness.sweep(now=last + timedelta(days=30)) == 2
        assert freshness.sweep(now=last + timedelta(days=30)) == 0
    assert len(stale(office.office)) == 3
