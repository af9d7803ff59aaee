"""The outbox's smaller holes, each reproduced: crash loops, stale workers, retraction racing a claim,
a Redis failure after commit, and an approval with nothing to release it.

The crash-loop test starts real workers and kills them with SIGKILL (slow); the others drive the outbox's
own functions from threads or through HTTP, as a worker and a leader would at the same instant.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from flask import Flask
from sqlalchemy import select

from app.extensions import db
from publishing import outbox
from publishing.models import Delivery, LedgerEntry
from review import lifecycle
from tests.factories import Office
from tests.publishing.test_pages import login
from tests.publishing.workers import (
    LEASE_SECONDS,
    SWEEP_SECONDS,
    WEBHOOK_SECRET,
    Reply,
    Webhook,
    Workers,
    serve_webhook,
)

LIMIT = 3


@pytest.fixture
def webhook() -> Iterator[Webhook]:
    yield from serve_webhook()


@pytest.fixture
def app_config(webhook: Webhook) -> dict[str, Any]:
    return {"DELIVERY_LEASE_SECONDS": LEASE_SECONDS, "SWEEP_INTERVAL_SECONDS": SWEEP_SECONDS,
            "PORTAL_WEBHOOK_URL": webhook.url, "PORTAL_WEBHOOK_SECRET": WEBHOOK_SECRET,
            "DELIVERY_MAX_ATTEMPTS": LIMIT}


@pytest.fixture
def office(app: Flask) -> Office:
    return Office(app, "OUTB")


def row(app: Flask, statement_id: int) -> dict[str, Any]:
    with app.app_context():
        d = db.session.scalar(select(Delivery).where(Delivery.statement_id == statement_id))
        assert d is not None
        return {"id": d.id, "state": d.state, "attempts": d.attempts, "error": d.last_error, "key": d.delivery_key,
                "token": d.claim_token, "action": d.action, "data": dict(d.data or {})}


@pytest.mark.slow
def test_a_send_that_kills_its_worker_every_time_fails_after_the_limit(
    app: Flask, office: Office, webhook: Webhook, workers: Workers, database_url: str, tmp_path: Any
) -> None:
    webhook.respond = lambda hit, index: Reply(delay=9)  # every send hangs until its worker is killed
    st = office.approved(channels=["portal"])
    env = {"DELIVERY_MAX_ATTEMPTS": str(LIMIT)}
    for attempt in range(1, LIMIT + 1):
        worker = workers.start(env=env)
        workers.wait(f"attempt {attempt} at the webhook", lambda n=attempt: len(webhook.requests()) >= n,
                     timeout=30)
        assert row(app, st["id"])["attempts"] == attempt  # counted when claimed, not when it ends
        worker.kill()
    workers.start(env=env)  # finds it abandoned and out of attempts
    failed = workers.wait("the delivery to fail", lambda: (r := row(app, st["id"]))["state"] == "failed" and r,
                          timeout=30)
    assert failed["attempts"] == LIMIT and "已尝试 3 次" in failed["error"], failed
    assert len(webhook.requests()) == LIMIT  # no fourth send
    status = office.office.get(f"/statements/{st['id']}").get_json()["status"]
    assert status == "failed"
    with app.app_context():
        kinds = db.session.scalars(select(LedgerEntry.kind).where(LedgerEntry.statement_id == st["id"])).all()
    assert kinds == ["delivery_failed"]
    desk = login(app, office.office.user.username).get("/desk").get_data(as_text=True)
    assert "已尝试 3 次" in desk  # the office sees it, with the reason


@pytest.fixture
def workers(app: Flask, database_url: str, tmp_path: Any, webhook: Webhook) -> Iterator[Workers]:
    pool = Workers(database_url, tmp_path, webhook)
    try:
        yield pool
    finally:
        pool.stop_all()
        print(pool.logs())


def _race(app: Flask, office: Office, st: dict[str, Any], delivery_id: int) -> dict[str, Any]:
    """A worker claims and reports success while the leader retracts, released at the same instant."""
    gate = threading.Barrier(2)
    outcome: dict[str, Any] = {}

    def worker() -> None:
        with app.app_context():
            gate.wait()
            token = outbox.claim(delivery_id)
            outcome["claimed"] = token is not None
            if token is not None:
                outcome["succeeded"] = outbox.succeed(delivery_id, token, url="https://cms.example/1",
                                                      external_id="1", details={})
            db.session.remove()

    def leader() -> None:
        gate.wait()
        outcome["retract"] = office.leader.post(f"/statements/{st['id']}/retract", {"reason": "内容有误"})

    threads = [threading.Thread(target=worker), threading.Thread(target=leader)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcome


def test_retraction_racing_a_claim_never_lets_the_claimant_publish(app: Flask, office: Office) -> None:
    """50 times. Either the retraction saw the claim (the claimant's success is refused, or it had settled
    and the delivery is queued for take-down), or the retraction came first (nothing left to claim).
    Never a delivery left `published` after a retraction."""
    from review.models import Statement

    for i in range(50):
        st = office.approved(channels=["portal"], body=f"经核实，网传信息不实。（{i}）")
        delivery_id = row(app, st["id"])["id"]
        outcome = _race(app, office, st, delivery_id)
        resp = outcome["retract"]
        assert resp.status_code == 200, resp.get_json()
        after = row(app, st["id"])
        assert after["state"] in ("retracted", "pending"), (i, outcome, after)
        if after["state"] == "pending":  # it may have gone out: the channel's take-down is queued
            assert after["action"] == "retract" and after["token"] is None, (i, outcome, after)
        if outcome.get("succeeded"):
            assert after["action"] == "retract", (i, outcome, after)
        with app.app_context():
            final = db.session.get(Statement, st["id"])
            assert final is not None and final.status == "retracted"


def test_a_stale_worker_cannot_overwrite_the_rows_ids(app: Flask, office: Office) -> None:
    st = office.approved(channels=["portal"])
    delivery_id = row(app, st["id"])["id"]
    with app.app_context():
        stale = outbox.claim(delivery_id)
        assert stale is not None
        outbox.remember(delivery_id, stale, {"media_id": "M-1"})
        # its lease runs out; another worker takes over and records its own id
        db.session.execute(db.update(Delivery).where(Delivery.id == delivery_id).values(
            lease_until=datetime(2000, 1, 1, tzinfo=UTC)))
        db.session.commit()
        fresh = outbox.claim(delivery_id)
        assert fresh is not None and fresh != stale
        outbox.remember(delivery_id, fresh, {"publish_id": "P-2"})
        with pytest.raises(outbox.LostClaim):
            outbox.remember(delivery_id, stale, {"media_id": "M-stale", "publish_id": "P-stale", "article_id": "A"})
        assert not outbox.succeed(delivery_id, stale, url="x", external_id="x", details={})
        assert outbox.release(delivery_id, stale, at=None) is None
    data = row(app, st["id"])["data"]
    assert data["media_id"] == "M-1" and data["publish_id"] == "P-2"  # the row's own ids win
    assert data["article_id"] == "A"  # a fact the channel really handed out is not forgotten
    assert row(app, st["id"])["token"] == fresh


def test_a_redis_failure_after_commit_does_not_undo_the_answer(
    app: Flask, office: Office, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The approval is committed before its jobs are queued: Redis away then is the sweeper's business."""
    st = office.submitted(channels=["portal"])
    assert office.review(office.expert, st, "expert").status_code == 201
    saved = app.extensions.pop("huiying_redis", None)
    app.config["REDIS_URL"], url = "redis://127.0.0.1:1/0", app.config["REDIS_URL"]  # nothing listens there
    try:
        resp = office.review(office.leader, st, "leader")
    finally:
        app.config["REDIS_URL"] = url
        app.extensions.pop("huiying_redis", None)
        if saved is not None:
            app.extensions["huiying_redis"] = saved
    assert resp.status_code == 201, resp.get_data(as_text=True)
    assert resp.get_json()["status"] == "approved"
    assert row(app, st["id"])["state"] == "pending"  # saved, waiting for the sweeper
    monkeypatch.setattr(outbox, "SWEEP_GRACE", timedelta(0))
    with app.app_context():
        assert outbox.sweep() == 1  # and the sweeper does queue it


def test_an_app_without_a_release_step_refuses_to_start(app: Flask) -> None:
    saved = lifecycle._release_step
    lifecycle._release_step = None
    try:
        with pytest.raises(RuntimeError, match="release step"):
            lifecycle.require_release_step(app)
    finally:
        lifecycle._release_step = saved
