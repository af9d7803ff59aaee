"""What one attempt at a delivery costs the database, and that the commits it no longer makes lose nothing.

A portal delivery commits twice (the claim, read and went-live in one transaction; the settle with the ledger
entry and the read-back's due time in another), with or without the CMS webhook. A WeChat draft staged ahead
of go-live commits three times (claim, the draft's ids the moment WeChat returns them, the give-back with the
`staged` step). The `staged` step no longer has a commit of its own, so a worker that dies after the draft
exists but before it settles leaves a `sending` row whose ids are stored: the next worker must neither make a
second draft nor submit twice, and a retraction meanwhile must delete the draft.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import event, select, update

from app.extensions import db
from app.models import AuditEvent
from publishing import dispatch
from publishing.models import Delivery
from review.models import Statement
from tests.factories import Office
from tests.live import serving
from tests.publishing.workers import WEBHOOK_SECRET, Webhook, serve_webhook
from tests.wechat.test_client import Sandbox
from wechat.channel import WechatChannel


@contextmanager
def counting(app: Flask) -> Iterator[dict[str, int]]:
    """Commits the database receives while the block runs: of transactions that wrote to the outbox (an
    UPDATE or INSERT touching `deliveries`), and of transactions that wrote nothing at all."""
    seen = {"outbox": 0, "read-only": 0}

    def executed(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        head = statement.lstrip()[:7].upper()
        if head in ("INSERT ", "UPDATE ", "DELETE "):
            conn.info["wrote"] = True
            if "deliveries" in statement.split("SET")[0].split("VALUES")[0]:
                conn.info["outbox"] = True

    def committed(conn: Any) -> None:
        if conn.info.pop("outbox", False):
            seen["outbox"] += 1
        elif not conn.info.get("wrote"):
            seen["read-only"] += 1
        conn.info.pop("wrote", None)

    def rolled_back(conn: Any) -> None:
        conn.info.pop("outbox", None)
        conn.info.pop("wrote", None)

    with app.app_context():
        engine = db.engine
    listeners = (("before_cursor_execute", executed), ("commit", committed), ("rollback", rolled_back))
    for name, fn in listeners:
        event.listen(engine, name, fn)
    try:
        yield seen
    finally:
        for name, fn in listeners:
            event.remove(engine, name, fn)


def delivery(app: Flask, statement_id: int, channel: str) -> Delivery:
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.statement_id == statement_id,
                                                     Delivery.channel == channel))
        assert d is not None
        db.session.expunge(d)
        return d


def audit_actions(app: Flask, delivery_id: int) -> list[str]:
    with app.app_context():
        return list(db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "delivery", AuditEvent.object_id == delivery_id).order_by(AuditEvent.id)))


# --- the portal ---------------------------------------------------------------------------------------------------


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    yield from serve_webhook()


@pytest.mark.parametrize("with_webhook", [False, True], ids=["pages", "webhook"])
def test_a_portal_delivery_commits_twice(app: Flask, webhook: Webhook, with_webhook: bool) -> None:
    if with_webhook:
        app.config.update(PORTAL_WEBHOOK_URL=webhook.url, PORTAL_WEBHOOK_SECRET=WEBHOOK_SECRET)
    office = Office(app, "CMT")
    st = office.approved(channels=["portal"])
    d = delivery(app, st["id"], "portal")
    with counting(app) as seen, app.app_context():
        assert dispatch.run(d.id) == "published"
        db.session.remove()
    assert seen == {"outbox": 2, "read-only": 0}  # the claim and the settle; nothing else, not even a read

    after = delivery(app, st["id"], "portal")
    assert after.state == "published" and after.attempts == 1 and after.staged_at is not None
    assert after.readback_due_at is not None  # the read-back is due (and queued) with the settle itself
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "published"
    # every step went through the door, in order, and each is audited in its own transaction (the claim too)
    assert audit_actions(app, d.id) == ["delivery.claimed", "delivery.staged", "delivery.portal.published"]
    with app.app_context():
        assert db.session.get(Statement, st["id"]).status == "published"
        went_live = db.session.scalars(select(AuditEvent.action).where(
            AuditEvent.object_type == "statement", AuditEvent.object_id == st["id"],
            AuditEvent.action.like("statement.%"))).all()
    assert "statement.went_live" in went_live and "statement.channel_out" in went_live
    if with_webhook:
        (hit,) = webhook.requests()
        assert hit.signature_ok() and hit.key == after.delivery_key
        # fixed in the claim's transaction, before the send: a retry would send the very same body
        assert hit.json()["published_at"] == after.data["published_at"]
    else:
        assert webhook.requests() == []


# --- WeChat -------------------------------------------------------------------------------------------------------


@pytest.fixture
def live(app: Flask) -> Iterator[Sandbox]:
    with serving(app) as origin:
        app.config["WECHAT_SANDBOX_BASE"] = f"{origin}/sandbox/wechat"
        yield Sandbox.on(app, app.config["WECHAT_SANDBOX_BASE"])


def test_a_wechat_draft_staged_ahead_of_go_live_commits_three_times(app: Flask, live: Sandbox) -> None:
    office = Office(app, "CMT")
    go_live = (datetime.now(UTC) + timedelta(hours=1)).replace(microsecond=0)
    st = office.approved(channels=["wechat"], go_live_at=go_live.isoformat())
    assert st["status"] == "scheduled"
    d = delivery(app, st["id"], "wechat")
    with counting(app) as seen, app.app_context():
        assert dispatch.stage(d.id) == "staged"
        db.session.remove()
    assert seen["outbox"] == 3  # claim; the draft's ids as WeChat returned them; given back, staged

    after = delivery(app, st["id"], "wechat")
    assert after.state == "pending" and after.staged_at is not None and after.attempts == 0
    assert after.data["media_id"] and after.data["thumb_media_id"]
    assert audit_actions(app, d.id) == ["delivery.claimed", "delivery.staged", "delivery.wechat.released"]
    assert len(live.calls("draft/add")) == 1 and live.calls("freepublish/submit") == []
    assert office.drafter.get(f"/statements/{st['id']}").get_json()["status"] == "scheduled"  # not live yet


class Crash(BaseException):
    """The worker process dies here (nothing in the dispatcher catches it, as nothing survives a kill -9)."""


def _crash_after_staging(app: Flask, office: Office, live: Sandbox, monkeypatch: pytest.MonkeyPatch) -> Delivery:
    """A WeChat delivery whose worker died after WeChat made the draft, before anything settled the attempt."""
    st = office.approved(channels=["wechat"])

    def dies(self: WechatChannel, job: Any) -> Any:
        raise Crash

    monkeypatch.setattr(WechatChannel, "publish", dies)
    d = delivery(app, st["id"], "wechat")
    with app.app_context():
        with pytest.raises(Crash):
            dispatch.run(d.id)
        db.session.remove()
    monkeypatch.undo()
    left = delivery(app, st["id"], "wechat")
    assert left.state == "sending" and left.staged_at is None  # `staged` was never committed …
    assert left.data["media_id"]  # … but the draft's id was, the moment WeChat returned it
    assert len(live.calls("draft/add")) == 1
    with app.app_context():  # its lease runs out
        db.session.execute(update(Delivery).where(Delivery.id == d.id).values(
            lease_until=datetime(2000, 1, 1, tzinfo=UTC)))
        db.session.commit()
    return left


def test_a_worker_dying_after_the_draft_leaves_one_draft_and_one_submit(
    app: Flask, live: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = Office(app, "CMT")
    left = _crash_after_staging(app, office, live, monkeypatch)
    outcomes = []
    deadline = time.monotonic() + 15
    with app.app_context():
        while not outcomes or outcomes[-1] != "published":
            assert time.monotonic() < deadline, outcomes
            outcomes.append(dispatch.run(left.id))
            db.session.remove()
            time.sleep(0.3)
    assert outcomes[0] == "waiting"  # taken over: the draft found, submitted once, now waiting for WeChat
    assert len(live.calls("draft/add")) == 1 and len(live.calls("freepublish/submit")) == 1
    done = delivery(app, left.statement_id, "wechat")
    assert done.state == "published" and done.staged_at is not None and done.attempts >= 2
    assert audit_actions(app, left.id).count("delivery.staged") == 1
    assert office.drafter.get(f"/statements/{left.statement_id}").get_json()["status"] == "published"


def test_a_retraction_after_a_worker_died_mid_attempt_deletes_the_draft(
    app: Flask, live: Sandbox, monkeypatch: pytest.MonkeyPatch
) -> None:
    office = Office(app, "CMT")
    left = _crash_after_staging(app, office, live, monkeypatch)
    resp = office.leader.post(f"/statements/{left.statement_id}/retract", {"reason": "内容有误"})
    assert resp.status_code == 200, resp.get_json()
    takedown = delivery(app, left.statement_id, "wechat")
    assert takedown.state == "pending" and takedown.action == "retract"  # `sending` was "maybe out there"
    with app.app_context():
        assert dispatch.run(left.id) == "retracted"
        db.session.remove()
    assert [c["errcode"] for c in live.calls("draft/delete")] == [0]
    assert live.calls("freepublish/submit") == []
    assert delivery(app, left.statement_id, "wechat").state == "retracted"
